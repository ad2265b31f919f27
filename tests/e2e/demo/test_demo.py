"""`make demo`'s loop runs end to end on a fresh local stack and leaves its reports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[3]


def test_the_demo_runs_the_whole_loop_and_redeploys_after_drift(tmp_path):
    out = tmp_path / "reports"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SLUICE_"))}
    done = subprocess.run([sys.executable, "-m", "sluice.cli", "demo", "--out", str(out)], cwd=ROOT,
                          env={**env, "COLUMNS": "200"}, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    text = done.stdout
    for milestone in ("passed", "production = version 1", "drift check", "retraining run",
                      "production: version 1 → version 3", "answered by version 3",
                      "retrain: skipped (no new data since version 1)", "busy-feedback version 1 passed",
                      "scikit-learn alone on the same rows", "nothing new: runs started 0"):
        assert milestone in text, milestone
    assert (out / "drift-report.html").read_text().startswith("<!DOCTYPE html>")
    assert list(out.glob("validation/*.json"))
