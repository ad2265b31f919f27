"""Build the ML Lambda layer zip from the pinned ``requirements-layer-ml.txt``.

    python scripts/build_ml_layer.py [--requirements FILE] [--out build/layers] [--force]

What it does, and why:

* installs manylinux wheels for the Lambda platform (x86_64, CPython 3.12) with ``--only-binary``, so
  the result does not depend on the machine that builds it; every installed distribution must be pinned
  in the requirements file (an unpinned transitive dependency fails the build);
* drops what no Lambda function executes: ``tests`` directories, type stubs, Cython sources and C
  headers, console scripts. The bundled ``.so`` files are NOT stripped (stripping breaks scipy's
  OpenBLAS — measured);
* compiles the modules with ``compileall --invalidation-mode unchecked-hash``: Lambda's storage is
  read-only, so without shipped ``.pyc`` each cold start recompiles (``import sklearn`` ~5 s instead
  of ~1.3 s — measured); unchecked-hash pycs are valid whatever the files' timestamps;
* keeps the ``.pyc`` of the modules sluice's functions import (the import closure of ``HOT_IMPORTS``
  plus the allow-listed estimators of ``chalicelib.core.training.estimators``, measured in an isolated
  interpreter) and drops the others: all pycs cost ~42 MB, the hot ones ~31 MB, and the ~10 MB saved
  is what lets code + layer stay under Lambda's 262,144,000 bytes with a Parquet reader in the layer.
  A module outside the closure still works, it is just compiled in memory at import;
* imports the heavy modules from the staged layer alone (an isolated interpreter) as a smoke test;
* writes ``<out>/ml-layer.zip`` (entries under ``python/``, deterministic) and ``ml-layer.json``
  (input hash, unzipped bytes, packages). A second run with the same inputs does nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements-layer-ml.txt"
OUT_DIR = ROOT / "build" / "layers"
LAYER_NAME = "ml-layer"
# The Lambda platform: manylinux_2_28 wheels run on the python3.12 runtime (Amazon Linux 2023,
# glibc 2.34); numpy >= 2.3 publishes no manylinux2014 wheels any more (measured), pip accepts both.
PIP_PLATFORM = ["--platform", "manylinux_2_28_x86_64", "--platform", "manylinux2014_x86_64",
                "--implementation", "cp", "--python-version", "3.12", "--abi", "cp312",
                "--only-binary=:all:"]
PRUNE_DIRS = {"tests", "__pycache__"}
PRUNE_SUFFIXES = {".pyi", ".pxd", ".pyx", ".pxi", ".c", ".cpp", ".h", ".hpp"}
HOT_IMPORTS = ("numpy", "pandas", "scipy.stats", "scipy.sparse", "scipy.spatial.distance", "joblib",
               "fastparquet", "sklearn", "sklearn.pipeline", "sklearn.compose", "sklearn.preprocessing",
               "sklearn.impute", "sklearn.metrics", "sklearn.inspection", "sklearn.model_selection")
RECIPE_VERSION = "4"  # bump when this script changes what goes into the zip
FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def input_hash(requirements: Path) -> str:
    """What the layer is a function of: the pinned requirements, the platform, the recipe, the hot set."""
    digest = hashlib.sha256()
    digest.update(requirements.read_bytes())
    digest.update(" ".join([*PIP_PLATFORM, RECIPE_VERSION, *hot_imports()]).encode())
    return digest.hexdigest()


def pinned(requirements: Path) -> dict[str, str]:
    """``{normalized name: version}`` of the ``name==version`` lines."""
    pins = {}
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        if not sep:
            raise SystemExit(f"{requirements}: every line must pin a version (name==X): {line!r}")
        pins[_normalize(name)] = version.strip()
    return pins


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed(site: Path) -> dict[str, str]:
    found = {}
    for meta in site.glob("*.dist-info/METADATA"):
        fields = dict(re.findall(r"^(Name|Version): (.+)$", meta.read_text(errors="replace"), re.M))
        found[_normalize(fields["Name"])] = fields["Version"].strip()
    return found


def check_pins(site: Path, pins: dict[str, str]) -> None:
    got = installed(site)
    unpinned = sorted(set(got) - set(pins))
    wrong = sorted(f"{n} {got[n]} != {pins[n]}" for n in got if n in pins and got[n] != pins[n])
    if unpinned or wrong:
        raise SystemExit(f"layer dependencies not pinned in the requirements: unpinned={unpinned} "
                         f"mismatched={wrong}")


def prune(site: Path) -> int:
    """Remove what no function executes; returns bytes removed. Never touches ``.so`` files."""
    removed = 0
    shutil.rmtree(site / "bin", ignore_errors=True)
    for path in sorted(site.rglob("*"), reverse=True):
        if path.is_dir() and path.name in PRUNE_DIRS:
            removed += sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
            shutil.rmtree(path)
        elif path.is_file() and path.suffix in PRUNE_SUFFIXES:
            removed += path.stat().st_size
            path.unlink()
    return removed


def compile_pyc(site: Path) -> None:
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0",
                    "--invalidation-mode", "unchecked-hash",
                    "-s", str(site), "-p", "/opt/python", str(site)], check=True,
                   stdout=subprocess.DEVNULL)


def hot_imports() -> tuple[str, ...]:
    """HOT_IMPORTS plus the modules of the estimators a training spec may name."""
    sys.path.insert(0, str(ROOT))
    try:
        from chalicelib.core.training.estimators import ALLOWED
    except ImportError:  # the training feature is not there: the fixed list alone
        return HOT_IMPORTS
    finally:
        sys.path.remove(str(ROOT))
    return HOT_IMPORTS + tuple(sorted({entry.module for entry in ALLOWED.values()}))


def drop_cold_pyc(site: Path, modules: tuple[str, ...]) -> int:
    """Delete the ``.pyc`` of modules outside the import closure of ``modules``; returns bytes removed."""
    code = (
        "import sys, json\n"
        f"sys.path.insert(0, {str(site)!r})\n"
        f"for name in {modules!r}: __import__(name)\n"
        "print(json.dumps(sorted({m.__cached__ for m in list(sys.modules.values())\n"
        "      if (getattr(m, '__cached__', None) or '').startswith(sys.path[0])})))\n"
    )
    out = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", code], check=True, capture_output=True,
                         text=True).stdout
    hot = {Path(p) for p in json.loads(out.strip().splitlines()[-1])}
    removed = 0
    for pyc in site.rglob("*.pyc"):
        if pyc not in hot:
            removed += pyc.stat().st_size
            pyc.unlink()
    return removed


def smoke_test(site: Path, modules: tuple[str, ...]) -> None:
    """Import the heavy modules from the staged layer only (no site-packages), as Lambda would, and
    round-trip a snappy Parquet file through fastparquet (the layer's Parquet reader). ``-B``: the
    probes must not leave timestamp-based pycs of their own in the layer."""
    code = (
        "import sys, tempfile, os\n"
        f"sys.path.insert(0, {str(site)!r})\n"
        f"for name in {modules!r}: __import__(name)\n"
        "import numpy, pandas as pd, fastparquet\n"
        f"assert numpy.__file__.startswith({str(site)!r}), numpy.__file__\n"
        "import importlib.util; assert importlib.util.find_spec('pyarrow') is None, 'pyarrow leaked'\n"
        "path = os.path.join(tempfile.mkdtemp(), 'x.parquet')\n"
        "fastparquet.write(path, pd.DataFrame({'a': [1, 2], 'b': ['x', 'y']}), compression='SNAPPY')\n"
        "assert fastparquet.ParquetFile(path).to_pandas()['a'].tolist() == [1, 2]\n"
    )
    subprocess.run([sys.executable, "-I", "-S", "-B", "-c", code], check=True)


def write_zip(site: Path, target: Path) -> tuple[int, int]:
    """Deterministic zip (sorted entries, fixed dates); returns (files, unzipped bytes)."""
    files = sorted(p for p in site.rglob("*") if p.is_file())
    total = 0
    tmp = target.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path in files:
            info = zipfile.ZipInfo("python/" + path.relative_to(site).as_posix(), FIXED_DATE)
            info.external_attr = (0o755 if path.suffix == ".so" or ".so." in path.name else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            data = path.read_bytes()
            total += len(data)
            archive.writestr(info, data)
    tmp.replace(target)
    return len(files), total


def build(requirements: Path = REQUIREMENTS, out_dir: Path = OUT_DIR, force: bool = False) -> dict:
    if sys.version_info[:2] != (3, 12):
        raise SystemExit("build the layer with Python 3.12: the .pyc files must match the python3.12 runtime")
    out_dir.mkdir(parents=True, exist_ok=True)
    target, manifest_path = out_dir / f"{LAYER_NAME}.zip", out_dir / f"{LAYER_NAME}.json"
    key = input_hash(requirements)
    if not force and target.exists() and manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("input_hash") == key:
            print(f"{target.relative_to(ROOT)}: up to date ({manifest['unzipped_bytes']:,} bytes unzipped)")
            return manifest
    staging = out_dir / f"{LAYER_NAME}-staging"
    shutil.rmtree(staging, ignore_errors=True)
    site = staging / "python"
    print(f"building {target.relative_to(ROOT)} from {requirements.name} ...", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-compile",
                    "--disable-pip-version-check", *PIP_PLATFORM, "--target", str(site),
                    "-r", str(requirements)], check=True)
    pins = pinned(requirements)
    check_pins(site, pins)
    pruned = prune(site)
    compile_pyc(site)
    modules = hot_imports()
    cold = drop_cold_pyc(site, modules)
    smoke_test(site, modules)
    files, unzipped = write_zip(site, target)
    shutil.rmtree(staging)
    manifest = {"input_hash": key, "zip": target.name, "files": files, "unzipped_bytes": unzipped,
                "zip_bytes": target.stat().st_size, "pruned_bytes": pruned, "cold_pyc_bytes": cold,
                "hot_imports": list(modules), "packages": pins}
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    print(f"{target.relative_to(ROOT)}: {files:,} files, {unzipped:,} bytes unzipped, "
          f"{manifest['zip_bytes']:,} zipped ({pruned:,} bytes of tests/stubs/sources and {cold:,} of cold "
          ".pyc left out)")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", type=Path, default=REQUIREMENTS)
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--force", action="store_true", help="rebuild even when the inputs are unchanged")
    args = parser.parse_args(argv)
    build(args.requirements.resolve(), args.out.resolve(), args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
