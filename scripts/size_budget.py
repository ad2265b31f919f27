"""``make size-budget``: per function, the unzipped bytes of its code package plus each of its layers.

    python scripts/size_budget.py --stage dev [--measure-managed]

Reads build/<stage>/sam.json (``make package``) and fails when any function exceeds Lambda's limit of
262,144,000 bytes for code and layers together, unzipped. Built artifacts (the deployment package, the
ML layer) are measured from their zips. The AWS-managed "AWS SDK for pandas" layer is not downloadable
without an AWS account, so it counts as a documented measured constant (``MANAGED_LAYERS``);
``--measure-managed`` instead installs awswrangler with its dependencies (the versions of
requirements-dev.txt) for the Lambda platform from PyPI and measures that, an upper bound: the managed
layer ships the same packages with their ``.so`` files stripped.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 262_144_000  # Lambda: function code + all its layers, unzipped
# The AWS SDK for pandas layer for python3.12 x86_64 (pandas, numpy, pyarrow, awswrangler): ~167 MB
# unzipped, measured (DESIGN.md); counted with a margin for drift between layer versions.
MANAGED_LAYERS = {"AwsSdkPandasLayerArn": ("aws-sdk-pandas (managed)", 175_000_000)}
PLATFORM = ["--platform", "manylinux_2_28_x86_64", "--platform", "manylinux2014_x86_64",
            "--implementation", "cp", "--python-version", "3.12", "--only-binary=:all:"]
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six.py", "bin"}


def unzipped_bytes(path: Path) -> int:
    with zipfile.ZipFile(path) as archive:
        return sum(info.file_size for info in archive.infolist())


def measure_managed() -> int:
    """Install awswrangler + pandas + pyarrow + numpy (pinned as in requirements-dev.txt) and measure."""
    pins = dict(re.findall(r"^(awswrangler|pandas|pyarrow|numpy)==(\S+)",
                           (ROOT / "requirements-dev.txt").read_text(), re.M))
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-compile",
                        "--disable-pip-version-check", *PLATFORM, "--target", tmp,
                        *[f"{name}=={version}" for name, version in sorted(pins.items())]], check=True)
        total = 0
        for path in Path(tmp).rglob("*"):
            parts = path.relative_to(tmp).parts
            if path.is_file() and parts[0] not in RUNTIME_PROVIDED and "tests" not in parts:
                total += path.stat().st_size
    return total


def layer_size(layer: Any, template: dict[str, Any], base: Path,
               managed: dict[str, tuple[str, int]]) -> tuple[str, int]:
    """(label, unzipped bytes) of one entry of a function's ``Layers``."""
    ref = layer.get("Ref") if isinstance(layer, dict) else None
    resource = template["Resources"].get(ref or "", {})
    if resource.get("Type") in ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"):
        props = resource["Properties"]
        uri = props.get("ContentUri") or props.get("Content")
        path = (base / uri).resolve()
        if not path.exists():
            raise SystemExit(f"layer {ref}: {path} is missing - run `make layers` (or `make package`)")
        return ref, unzipped_bytes(path)
    if ref in managed:
        return managed[ref]
    raise SystemExit(f"unknown layer {layer!r}: add its size to MANAGED_LAYERS in {Path(__file__).name}")


def budget(template_path: Path, managed: dict[str, tuple[str, int]], limit: int = LIMIT
           ) -> list[dict[str, Any]]:
    template = json.loads(template_path.read_text())
    base = template_path.parent
    rows = []
    for name, resource in sorted(template["Resources"].items()):
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        code = unzipped_bytes(base / props["CodeUri"])
        layers = [layer_size(layer, template, base, managed) for layer in props.get("Layers", [])]
        total = code + sum(size for _, size in layers)
        rows.append({"function": name, "code": code, "layers": layers, "total": total,
                     "ok": total <= limit})
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'function':<18} {'code':>12}  {'layers':<44} {'total':>13} {'headroom':>12}",
             "-" * 104]
    for row in rows:
        layers = " + ".join(f"{label} {size:,}" for label, size in row["layers"]) or "-"
        lines.append(f"{row['function']:<18} {row['code']:>12,}  {layers:<44} {row['total']:>13,} "
                     f"{LIMIT - row['total']:>12,}{'' if row['ok'] else '  OVER THE LIMIT'}")
    lines.append(f"limit: {LIMIT:,} bytes unzipped (code + layers) per function")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--measure-managed", action="store_true",
                        help="measure the managed pandas layer's packages from PyPI instead of the constant")
    args = parser.parse_args(argv)
    template = ROOT / "build" / args.stage / "sam.json"
    if not template.exists():
        raise SystemExit(f"{template.relative_to(ROOT)} is missing: run `make package STAGE={args.stage}`")
    managed = dict(MANAGED_LAYERS)
    if args.measure_managed:
        label, _ = managed["AwsSdkPandasLayerArn"]
        managed["AwsSdkPandasLayerArn"] = (label.replace("managed", "measured"), measure_managed())
    rows = budget(template, managed)
    print(render(rows))
    over = [row["function"] for row in rows if not row["ok"]]
    if over:
        print(f"FAILED: over Lambda's size limit: {', '.join(over)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
