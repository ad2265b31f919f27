"""The architecture is enforced, not remembered: the import contracts in .importlinter hold for the code,
and each one fails when a module breaks it (checked on a copy of the tree with one violating import)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LINT = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
        "sys.exit(lint_imports_command())"]


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LINT, str(root / ".importlinter"), "--no-cache"], cwd=root,
                          capture_output=True, text=True, env={"PYTHONPATH": str(root), "PATH": ""},
                          timeout=120)


def test_the_code_keeps_every_import_contract():
    out = lint(ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


VIOLATIONS = {
    # contract name (as printed) → (module that breaks it, the import it gains)
    "Layers point down": ("chalicelib/core/training/gate.py", "from chalicelib.services import training"),
    "The core is pure": ("chalicelib/core/drift/stats.py", "import boto3"),
    "Only the triggers know Chalice": ("chalicelib/storage/s3.py", "import chalice"),
}


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("tree")
    for package in ("chalicelib", "sluice"):
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "app.py", copy / "app.py")
    shutil.copy(ROOT / ".importlinter", copy / ".importlinter")
    return copy


@pytest.mark.parametrize("contract", sorted(VIOLATIONS))
def test_a_violating_import_breaks_its_contract(tree_copy: Path, contract: str):
    module, line = VIOLATIONS[contract]
    path = tree_copy / module
    original = path.read_text(encoding="utf-8")
    path.write_text(original + f"\n{line}  # noqa\n", encoding="utf-8")
    try:
        out = lint(tree_copy)
    finally:
        path.write_text(original, encoding="utf-8")
    assert out.returncode != 0
    broken = out.stdout.split("Broken contracts", 1)[-1]
    assert f"{contract}" in broken and module.removesuffix(".py").replace("/", ".") in broken, out.stdout
