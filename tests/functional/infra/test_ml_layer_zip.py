"""The built ML layer (build/layers/ml-layer.zip, `make layers`): what Lambda will import."""

from __future__ import annotations

import importlib.util
import json
import zipfile
from pathlib import Path

import pytest

LAYERS = Path(__file__).resolve().parents[3] / "build" / "layers"
ZIP = LAYERS / "ml-layer.zip"
pytestmark = pytest.mark.skipif(not ZIP.exists(), reason="the ML layer is built by `make layers`")


@pytest.fixture(scope="module")
def names() -> list[str]:
    with zipfile.ZipFile(ZIP) as archive:
        return archive.namelist()


def test_everything_sits_under_python_where_lambda_looks_and_nothing_is_a_test_or_pyarrow(names):
    assert all(name.startswith("python/") for name in names)
    assert not any("/tests/" in name for name in names)
    forbidden = ("python/pyarrow/", "python/awswrangler/", "python/boto")
    assert not any(name.startswith(forbidden) for name in names)
    assert any(name.startswith("python/fastparquet/") for name in names)


def test_the_pycs_are_unchecked_hash_based_for_this_python(names):
    pycs = [name for name in names if name.endswith(".pyc")]
    assert len(pycs) > 500
    with zipfile.ZipFile(ZIP) as archive:
        for name in pycs:
            with archive.open(name) as handle:
                header = handle.read(8)
            assert header[:4] == importlib.util.MAGIC_NUMBER, name
            assert int.from_bytes(header[4:8], "little") == 0b01, f"{name}: not unchecked-hash"


def test_the_hot_modules_ship_their_pyc(names):
    present = set(names)
    for module in ("sklearn/__init__", "pandas/__init__", "scipy/stats/__init__", "numpy/__init__",
                   "sklearn/ensemble/__init__", "fastparquet/api"):
        directory, stem = module.rsplit("/", 1)
        assert f"python/{directory}/__pycache__/{stem}.cpython-312.pyc" in present, module


def test_the_manifest_describes_the_zip():
    manifest = json.loads((LAYERS / "ml-layer.json").read_text())
    with zipfile.ZipFile(ZIP) as archive:
        assert manifest["unzipped_bytes"] == sum(i.file_size for i in archive.infolist())
    assert "pyarrow" not in manifest["packages"]
