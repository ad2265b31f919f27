"""Shell completion in-process: an unknown shell is refused (tests/e2e/cli runs the completion protocol)."""

from __future__ import annotations

import pytest


def test_completion_refuses_a_shell_it_has_no_code_for(capsys):
    from sluice.cli import main

    with pytest.raises(SystemExit) as done:
        main(["completion", "cmd.exe"])
    assert done.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
