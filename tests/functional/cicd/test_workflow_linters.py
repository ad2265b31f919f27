"""The workflows pass actionlint (with shellcheck on every `run:`) and zizmor, offline, with no finding.

A finding may only be silenced inline (`# zizmor: ignore[rule] reason`) and with a written reason.
"""

from __future__ import annotations

import os
import subprocess

from tests.unit.cicd.conftest import REPO_ROOT, WORKFLOWS_DIR, require_tool, workflow_files


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    tokens = {"GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN"}  # offline: no token to tempt it
    env = {k: v for k, v in os.environ.items() if k not in tokens}
    env["NO_COLOR"] = "1"
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def test_actionlint_finds_nothing_in_the_workflows_including_their_shell_scripts():
    actionlint = require_tool("actionlint")
    shellcheck = require_tool("shellcheck")
    files = [str(path.relative_to(REPO_ROOT)) for path in workflow_files()]
    result = _run([actionlint, "-no-color", f"-shellcheck={shellcheck}", "-pyflakes=", *files])
    assert result.returncode == 0, f"actionlint findings:\n{result.stdout}{result.stderr}"


def test_shellcheck_finds_nothing_in_the_scripts_the_workflows_run():
    shellcheck = require_tool("shellcheck")
    scripts = sorted((REPO_ROOT / ".github" / "scripts").glob("*.sh"))
    assert scripts
    result = _run([shellcheck, *map(str, scripts)])
    assert result.returncode == 0, f"shellcheck findings:\n{result.stdout}{result.stderr}"


def test_zizmor_offline_finds_nothing_in_the_workflows_and_the_dependabot_config():
    zizmor = require_tool("zizmor")
    result = _run([zizmor, "--offline", "--no-progress", "--color", "never", "--persona", "regular",
                   str(WORKFLOWS_DIR.parent.relative_to(REPO_ROOT))])
    # 0: no finding; 1: zizmor itself failed; 10-14: findings by highest severity
    assert result.returncode == 0, f"zizmor findings:\n{result.stdout}{result.stderr}"
    assert "No findings to report" in result.stdout
