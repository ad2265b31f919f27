"""Shell completion: ``sluice completion SHELL`` prints argcomplete's shell code, and the CLI answers
the shell's completion protocol (``_ARGCOMPLETE``, ``COMP_LINE``, ``COMP_POINT``) from its parser."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SLUICE = [sys.executable, "-m", "sluice.cli"]


def candidates(line: str, tmp_path: Path) -> set[str]:
    """What the CLI offers for TAB at the end of ``line``, asked as bash's completion function asks."""
    answer = tmp_path / "completions.txt"
    env = {**os.environ, "_ARGCOMPLETE": "1", "_ARGCOMPLETE_SHELL": "bash", "COMP_LINE": line,
           "COMP_POINT": str(len(line)), "_ARGCOMPLETE_IFS": "\n",
           "_ARGCOMPLETE_STDOUT_FILENAME": str(answer)}
    done = subprocess.run(SLUICE, env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return {c.strip() for c in answer.read_text().split("\n") if c.strip()}


@pytest.mark.parametrize(("line", "expected"), [
    ("sluice mo", {"models"}),
    ("sluice dr", {"drift"}),
    ("sluice models pro", {"promote"}),
    ("sluice aliases ", {"show", "get", "set", "delete", "history", "-h", "--help"}),
    ("sluice contract infer rides --format ", {"csv", "parquet", "jsonl"}),
    ("sluice drift history fare --k", {"--kind"}),
    ("sluice completion ", {"bash", "zsh", "fish", "-h", "--help"}),
])
def test_the_cli_offers_the_commands_options_and_choices_its_parser_has(tmp_path, line, expected):
    assert candidates(line, tmp_path) == expected


def test_the_verbs_of_a_noun_are_offered_in_full(tmp_path):
    assert {"list", "versions", "show", "update", "promote", "reject", "rollback", "audit", "lineage",
            "predict"} <= candidates("sluice models ", tmp_path)


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_a_command_through_the_printed_shell_code(tmp_path):
    """The whole path a user has: eval the code, then bash's own completion function asks sluice."""
    launcher = tmp_path / "bin" / "sluice"
    launcher.parent.mkdir()
    launcher.write_text(f'#!/bin/sh\nexec {sys.executable} -m sluice.cli "$@"\n')
    launcher.chmod(0o755)
    script = ('eval "$(sluice completion bash)"\n'
              'COMP_LINE="sluice datasets up"; COMP_POINT=${#COMP_LINE}\n'
              'COMP_WORDS=(sluice datasets up); COMP_CWORD=2\n'
              '_python_argcomplete sluice\n'
              'printf "%s\\n" "${COMPREPLY[@]}"\n'
              'complete -p sluice\n')
    env = {**os.environ, "PATH": f"{launcher.parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].strip() == "upload"
    assert lines[-1].endswith("-F _python_argcomplete sluice")


@pytest.mark.parametrize(("shell", "registers"), [
    ("bash", "complete -o nospace -o default -o bashdefault -F _python_argcomplete sluice"),
    ("zsh", "compdef _python_argcomplete sluice"),
    ("fish", "complete --command sluice"),
])
def test_completion_prints_the_code_for_each_shell(tmp_path, shell, registers):
    done = subprocess.run([*SLUICE, "completion", shell], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert registers in done.stdout
    if shell == "bash":
        script = tmp_path / "sluice.bash"
        script.write_text(done.stdout)
        assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
