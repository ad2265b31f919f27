"""The rules around the workflow linters: a finding may only be silenced inline
(`# zizmor: ignore[rule] reason`) with a written reason, and a missing linter fails the run.
The linters themselves run in tests/functional/cicd/test_workflow_linters.py.
"""

from __future__ import annotations

import re

import pytest

from tests.unit.cicd.conftest import require_tool, workflow_files


def test_the_repository_has_the_ci_and_deploy_workflows():
    assert {path.name for path in workflow_files()} >= {"ci.yml", "deploy.yml"}


def test_every_zizmor_suppression_names_its_rule_and_gives_a_reason():
    pattern = re.compile(r"#\s*zizmor:\s*ignore\[([a-z0-9,\s-]+)\](.*)$")
    suppressions = [(path.name, number, line)
                    for path in workflow_files()
                    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                    if "zizmor:" in line]
    for name, number, line in suppressions:
        match = pattern.search(line)
        assert match, f"{name}:{number}: malformed suppression: {line.strip()}"
        assert len(match.group(2).strip()) >= 10, f"{name}:{number}: a suppression needs a reason"


def test_a_missing_linter_fails_the_run_instead_of_skipping(monkeypatch, tmp_path):
    monkeypatch.setattr("sys.executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match="zizmor is not installed"):
        require_tool("zizmor")
