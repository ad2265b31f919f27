"""Which app the local stack serves (the running stack is tested in tests/e2e/local)."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def test_the_stack_finds_the_app_beside_chalicelib_or_in_the_folder_it_is_given(tmp_path):
    import chalicelib
    from sluice.local.stack import find_app

    assert find_app() == Path(chalicelib.__file__).resolve().parents[1] / "app.py"
    assert find_app(ROOT) == ROOT.resolve() / "app.py"
    with pytest.raises(FileNotFoundError, match="--project-dir"):
        find_app(tmp_path)
