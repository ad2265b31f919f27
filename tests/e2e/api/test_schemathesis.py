"""Property-based API testing: schemathesis against the local stack finds no response ≥ 500."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


def test_no_generated_request_gets_a_server_error(seeded_stack):
    ARTIFACTS.mkdir(exist_ok=True)
    cli = Path(sys.executable).with_name("schemathesis")
    out = subprocess.run(
        [str(cli), "run", f"{seeded_stack.info.api_url}/openapi.json", "--checks", "not_a_server_error",
         "--max-examples", "15", "--seed", "7", "--request-timeout", "60", "--workers", "1",
         "--report", "junit", "--report-junit-path", str(ARTIFACTS / "schemathesis.xml")],
        capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-6000:]
