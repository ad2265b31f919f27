"""Import the deployed code the way Lambda will: the deployment package, the function's layer and the
runtime's boto3 — nothing from this virtual environment (an isolated interpreter, ``-I -S``)."""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LAYER_ZIP = ROOT / "build" / "layers" / "ml-layer.zip"
# what the python3.12 runtime provides besides the standard library
RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six.py")
PROBE = """
import importlib, json, os, pkgutil, sys
sys.path[:0] = json.loads(sys.argv[1])
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
import app, chalicelib
failed = {}
for module in pkgutil.walk_packages(chalicelib.__path__, "chalicelib."):
    try:
        importlib.import_module(module.name)
    except Exception as exc:
        failed[module.name] = repr(exc)[:200]
print(json.dumps({"functions": sorted(app.app.handler_map), "failed": failed,
                  "pyarrow": importlib.util.find_spec("pyarrow") is not None}))
"""


def _extract(archive: Path, target: Path) -> Path:
    """``archive`` unpacked into ``target`` (kept while the archive is unchanged; xdist-safe)."""
    target.mkdir(parents=True, exist_ok=True)
    key = f"{archive.stat().st_size}-{archive.stat().st_mtime_ns}"
    with open(target.with_name(target.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = target / ".source"
        if not (stamp.exists() and stamp.read_text() == key):
            shutil.rmtree(target)
            with zipfile.ZipFile(archive) as z:
                z.extractall(target)
            stamp.write_text(key)
    return target


@pytest.fixture(scope="module")
def runtime(tmp_path_factory) -> Path:
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    directory = tmp_path_factory.mktemp("runtime")
    for name in RUNTIME:
        (directory / name).symlink_to(site / name)
    return directory


def _probe(paths: list[Path]) -> dict:
    out = subprocess.run([sys.executable, "-I", "-S", "-c", PROBE, json.dumps([str(p) for p in paths])],
                         capture_output=True, text=True, timeout=300, cwd="/")
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_deployment_package_alone_holds_every_function_and_imports_without_layers(
        sam_template, tmp_path, runtime):
    code = _extract(ROOT / "build" / "dev" / "deployment.zip", tmp_path / "code")
    result = _probe([code, runtime])
    handlers = {f["Properties"]["Handler"].removeprefix("app.") for f in sam_template["Resources"].values()
                if f["Type"] == "AWS::Serverless::Function"}
    assert handlers - {"app"} <= set(result["functions"]) | {"app"}
    assert result["failed"] == {}


def test_the_deployment_package_leaves_out_what_the_runtime_provides(sam_template):
    """aws-xray-sdk depends on botocore: chalice packages it (22 MB of every function's 250 MB) unless
    scripts/package.py leaves it out; the runtime's copy is the one imported (the probe above)."""
    with zipfile.ZipFile(ROOT / "build" / "dev" / "deployment.zip") as archive:
        tops = {name.split("/", 1)[0] for name in archive.namelist()}
    assert "aws_xray_sdk" in tops and "wrapt" in tops  # the tracer's own code is packaged
    packaged = {t for t in tops if t in RUNTIME or t.split("-", 1)[0] in ("boto3", "botocore", "s3transfer",
                                                                            "jmespath", "urllib3",
                                                                            "python_dateutil", "six")}
    assert packaged == set()


@pytest.mark.skipif(not LAYER_ZIP.exists(), reason="the ML layer is built by `make layers`")
def test_every_module_imports_with_the_ml_layer_and_pyarrow_is_not_there(sam_template, runtime):
    code = _extract(ROOT / "build" / "dev" / "deployment.zip", ROOT / "build" / "sandbox" / "code")
    layer = _extract(LAYER_ZIP, ROOT / "build" / "sandbox" / "ml-layer")
    result = _probe([code, layer / "python", runtime])
    assert result["failed"] == {}
    assert result["pyarrow"] is False
