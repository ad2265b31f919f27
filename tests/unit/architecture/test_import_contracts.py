"""Nothing imports app.py (grimp cannot see a top-level module, so this is checked here, on the source),
and the check finds such an import in a copy of the tree (tests/functional/architecture runs lint-imports)."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("tree")
    for package in ("chalicelib", "sluice"):
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "app.py", copy / "app.py")
    shutil.copy(ROOT / ".importlinter", copy / ".importlinter")
    return copy


def app_imports(root: Path) -> list[str]:
    """Modules under chalicelib/ and sluice/ that import ``app`` (app.py only wires: nothing may depend on
    it; the local stack loads it by name to serve it, which is not a dependency of its code)."""
    found = []
    for path in sorted([*root.glob("chalicelib/**/*.py"), *root.glob("sluice/**/*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            if any(n == "app" or n.startswith("app.") for n in names):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_nothing_imports_app_py():
    assert app_imports(ROOT) == []


def test_an_import_of_app_is_found(tree_copy: Path):
    path = tree_copy / "sluice" / "api_client.py"
    original = path.read_text(encoding="utf-8")
    wired = "\n\ndef _wired():\n    from app import app\n\n    return app\n"
    path.write_text(original + wired, encoding="utf-8")
    try:
        assert [hit.split(":")[0] for hit in app_imports(tree_copy)] == ["sluice/api_client.py"]
    finally:
        path.write_text(original, encoding="utf-8")
