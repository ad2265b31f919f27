"""The deploy job's summary step writes the stack's outputs (API URL, bucket) into the run summary."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.unit.cicd.conftest import SCRIPTS_DIR

SCRIPT = SCRIPTS_DIR / "stack-summary.sh"

FAKE_AWS = r"""#!/usr/bin/env bash
# Stands in for the AWS CLI: records its arguments, answers describe-stacks from the environment.
echo "$*" >> "$FAKE_AWS_LOG"
case "$*" in
  *StackStatus*) echo "UPDATE_COMPLETE" ;;
  *Outputs*) printf '%b' "$FAKE_AWS_OUTPUTS" ;;
esac
"""


@pytest.fixture
def run_summary(tmp_path: Path):
    if shutil.which("bash") is None:
        pytest.fail("bash is required")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "aws"
    fake.write_text(FAKE_AWS)
    fake.chmod(0o755)

    def run(outputs: str, **env: str) -> tuple[str, list[str]]:
        summary, log = tmp_path / "summary.md", tmp_path / "aws.log"
        summary.write_text("")
        environ = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "GITHUB_STEP_SUMMARY": str(summary),
                   "GITHUB_SHA": "0123abc", "GITHUB_REF_NAME": "main", "FAKE_AWS_LOG": str(log),
                   "FAKE_AWS_OUTPUTS": outputs, **env}
        subprocess.run(["bash", str(SCRIPT)], env=environ, check=True, capture_output=True, timeout=30)
        return summary.read_text(), log.read_text().splitlines()

    return run


def test_the_summary_lists_every_stack_output_of_the_stage(run_summary):
    summary, calls = run_summary("EndpointURL\thttps://abc.execute-api.eu-west-1.amazonaws.com/api/\n"
                                 "DataBucketName\tsluice-dev-databucket-1x2y\n", STAGE="dev")
    assert "stack `sluice-dev` is UPDATE_COMPLETE" in summary
    assert "| `EndpointURL` | https://abc.execute-api.eu-west-1.amazonaws.com/api/ |" in summary
    assert "| `DataBucketName` | sluice-dev-databucket-1x2y |" in summary
    assert "`0123abc` (main)" in summary
    assert all("--stack-name sluice-dev" in call for call in calls)


def test_the_summary_says_so_when_the_stack_has_no_outputs(run_summary):
    summary, _ = run_summary("None\n", STAGE="prod")
    assert "stack `sluice-prod`" in summary
    assert "The stack has no outputs." in summary


def test_the_stack_name_can_be_overridden(run_summary):
    _, calls = run_summary("None\n", STAGE="dev", SLUICE_STACK_NAME="my-sluice")
    assert all("--stack-name my-sluice" in call for call in calls)


def test_the_summary_refuses_to_run_without_a_stage(tmp_path):
    result = subprocess.run(["bash", str(SCRIPT)], env={"PATH": os.environ["PATH"]},
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode != 0
    assert "STAGE is required" in result.stderr
