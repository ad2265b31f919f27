"""infra/cicd.yaml passes cfn-lint (its policies are checked in tests/unit/cicd/test_cicd_template.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.cicd.conftest import CICD_TEMPLATE, REPO_ROOT


@pytest.mark.slow
def test_cfn_lint_passes_the_cicd_template():
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    command = [str(cfn_lint)] if cfn_lint.exists() else [sys.executable, "-m", "cfnlint"]
    result = subprocess.run([*command, "--", str(CICD_TEMPLATE)], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
