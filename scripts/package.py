"""``make package``: render the merge template, run ``chalice package``, check what came out.

    python scripts/package.py --stage dev        # -> build/dev/sam.json + build/dev/deployment.zip

Fails loudly (exit 1) when chalice prints "Could not install dependencies" (it exits 0 and leaves the
package incomplete - measured on Python 3.11), when a function keeps chalice's placeholder role, or
when chalice is not run by Python 3.12 (the Lambda runtime is taken from the packaging interpreter).
The ML layer zip is built separately (scripts/build_ml_layer.py); the template only points at it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import render_template  # noqa: E402

FAILURE_MARKERS = ("Could not install dependencies",)
# What the python3.12 Lambda runtime provides besides the standard library: chalice still packages them when
# a requirement depends on them (aws-xray-sdk needs botocore: 22 MB of the 250 MB every function may hold),
# and the runtime's copy is the one sluice's code uses anyway (requirements.txt never names boto3).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six")
RUNTIME_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python_dateutil", "six")
INPUT_GLOBS = ("app.py", "chalicelib/**/*.py", "requirements.txt", ".chalice/config.json", "infra/*.yaml",
               "infra/sizing.json", "scripts/package.py", "scripts/render_template.py")


def inputs_hash(stage: str) -> str:
    digest = hashlib.sha256(f"{stage} {sys.version_info[:2]}".encode())
    for pattern in INPUT_GLOBS:
        for path in sorted(ROOT.glob(pattern)):
            if "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def package(stage: str, out_dir: Path | None = None, force: bool = False) -> Path:
    """Write ``<out>/sam.json`` and ``<out>/deployment.zip``; returns the template path."""
    if sys.version_info[:2] != (3, 12):
        raise SystemExit(f"package with Python 3.12 (this is {sys.version.split()[0]}): chalice takes the "
                         "Lambda runtime from the packaging interpreter")
    out_dir = out_dir or ROOT / "build" / stage
    out_dir.mkdir(parents=True, exist_ok=True)
    template, stamp = out_dir / "sam.json", out_dir / ".inputs"
    key = inputs_hash(stage)
    if not force and template.exists() and stamp.exists() and stamp.read_text() == key:
        print(f"{_rel(template)}: up to date")
        return template
    rendered = render_template.render(stage)
    for warning in rendered.warnings:
        print(f"WARNING: {warning}", file=sys.stderr)
    merge = out_dir / "merge.json"
    merge.write_text(json.dumps(rendered.template, indent=1) + "\n")
    env = {**os.environ}
    env.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION", "us-east-1"))
    # app.py decides the dashboard's authorization at import: from the stage's setting, never the shell's
    env.pop("SLUICE_PUBLIC_DASHBOARD", None)
    stage_env = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"].get(stage, {}).get(
        "environment_variables", {})
    if "SLUICE_PUBLIC_DASHBOARD" in stage_env:
        env["SLUICE_PUBLIC_DASHBOARD"] = str(stage_env["SLUICE_PUBLIC_DASHBOARD"])
    for var in ("AWS_ENDPOINT_URL",):  # a local stack's endpoint must not leak into packaging
        env.pop(var, None)
    chalice = Path(sys.executable).with_name("chalice")
    result = subprocess.run([str(chalice), "package", "--stage", stage, "--merge-template", str(merge),
                             str(out_dir)], cwd=ROOT, env=env, capture_output=True, text=True)
    output = result.stdout + result.stderr
    sys.stdout.write(output)
    try:
        check_chalice_output(output, result.returncode)
        check(json.loads(template.read_text()))
        removed = strip_runtime_packages(out_dir / "deployment.zip")
        if removed:
            print(f"left out of the package, the Lambda runtime provides them: {', '.join(removed)}")
    except SystemExit:
        stamp.unlink(missing_ok=True)
        raise
    stamp.write_text(key)
    print(f"wrote {_rel(template)} and {_rel(out_dir / 'deployment.zip')}")
    return template


def strip_runtime_packages(archive: Path) -> list[str]:
    """Rewrite ``archive`` without what the Lambda runtime provides (:data:`RUNTIME_PROVIDED`); the
    top-level names removed, sorted."""
    def provided(name: str) -> str | None:
        top = name.split("/", 1)[0]
        module = top.removesuffix(".py")
        dist = top.split("-", 1)[0] if top.endswith((".dist-info", ".data")) else None
        return top if module in RUNTIME_PROVIDED or dist in RUNTIME_DISTRIBUTIONS else None

    with zipfile.ZipFile(archive) as source:
        entries = source.infolist()
        removed = sorted({top for e in entries if (top := provided(e.filename))})
        if not removed:
            return []
        rewritten = archive.with_suffix(".tmp")
        with zipfile.ZipFile(rewritten, "w") as target:
            for entry in entries:
                if provided(entry.filename) is None:
                    target.writestr(entry, source.read(entry), compress_type=entry.compress_type)
    rewritten.replace(archive)
    return removed


def check_chalice_output(output: str, returncode: int) -> None:
    """SystemExit when chalice failed, including the failures it reports with exit code 0."""
    failed = [marker for marker in FAILURE_MARKERS if marker in output]
    if returncode != 0 or failed:
        raise SystemExit(f"chalice package FAILED (exit {returncode}"
                         f"{', printed ' + repr(failed[0]) if failed else ''}): the package would be "
                         "incomplete. Package with Python 3.12 and check requirements.txt.")


def check(template: dict) -> None:
    """What chalice's merge could silently get wrong."""
    for name, resource in template["Resources"].items():
        if "Type" not in resource:
            raise SystemExit(f"{name}: merged without a Type (an entry for a resource chalice did not make)")
        if resource["Type"] == "AWS::Serverless::Function":
            role = resource["Properties"].get("Role")
            if not isinstance(role, dict) or render_template.PLACEHOLDER_ROLE in json.dumps(role):
                raise SystemExit(f"{name}: still has chalice's placeholder role {role!r}")
    check_api_invokes_alias(template)


def check_api_invokes_alias(template: dict) -> None:
    """A SnapStart API function answers from its published alias only: an integration chalice added that
    the merge did not rewire would invoke ``$LATEST`` (a full cold start on every new environment)."""
    resources = template["Resources"]
    api = resources.get(render_template.API_LOGICAL_ID, {}).get("Properties", {})
    if not api.get("AutoPublishAlias") or render_template.API_REST_ID not in resources:
        return
    unqualified = f"${{{render_template.API_LOGICAL_ID}.Arn}}"
    body = json.dumps(resources[render_template.API_REST_ID]["Properties"].get("DefinitionBody", {}))
    if unqualified in body:
        raise SystemExit(f"{render_template.API_REST_ID}: an integration still invokes {unqualified}, not "
                         "the alias (scripts/render_template.py alias_wiring)")
    permission = resources.get(render_template.API_PERMISSION_ID, {}).get("Properties", {})
    if permission.get("FunctionName") != {"Ref": f"{render_template.API_LOGICAL_ID}.Alias"}:
        raise SystemExit(f"{render_template.API_PERMISSION_ID} does not grant API Gateway the alias")


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    package(args.stage, args.out, args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
