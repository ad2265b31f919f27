"""``sluice up`` and ``sluice env`` as a person runs them: a process that prints where the stack answers,
exports its environment, and stops cleanly on Ctrl-C, from any folder."""

import json
import os
import signal
import subprocess
import sys
import time

import boto3
import pytest
import requests

from tests.conftest import aws_credentials  # noqa: F401  (the suite's: no endpoint or profile leaks into sluice up)
from tests.e2e.conftest import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
WITH_FAULTHANDLER = {**os.environ, "PYTHONFAULTHANDLER": "1"}  # a hung process can be asked for its stacks


def stop_with_ctrl_c(proc: subprocess.Popen) -> str:
    """Ctrl-C, then the exit code and the rest of the output (read while waiting: a full pipe would
    block the process). A process still running 30 s later is dumped (faulthandler) and fails."""
    proc.send_signal(signal.SIGINT)
    try:
        rest, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)  # PYTHONFAULTHANDLER: every thread's stack to stdout
        rest, _ = proc.communicate(timeout=30)
        pytest.fail(f"still running 30 s after Ctrl-C:\n{rest[-12000:]}")
    assert proc.returncode == 0, rest[-6000:]
    return rest


def test_sluice_up_prints_endpoints_env_exports_them_and_ctrl_c_stops_cleanly(tmp_path):
    state = tmp_path / "local.json"
    sluice = [sys.executable, "-m", "sluice.cli"]
    proc = subprocess.Popen([*sluice, "up", "--api-port", "0", "--aws-port", "0",
                             "--state-file", str(state)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=WITH_FAULTHANDLER)
    try:
        deadline = time.monotonic() + 60
        while not state.exists():
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline
            time.sleep(0.2)
        exports = subprocess.run([*sluice, "env", "--state-file", str(state)], cwd=ROOT,
                                 capture_output=True, text=True, check=True).stdout
        env = dict(line.removeprefix("export ").split("=", 1) for line in exports.splitlines())
        assert set(env) >= {"AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID",
                            "AWS_SECRET_ACCESS_KEY", "SLUICE_API", "SLUICE_BUCKET"}
        assert requests.get(env["SLUICE_API"] + "/health", timeout=10).json()["status"] == "ok"
        s3 = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"],
                          aws_access_key_id=env["AWS_ACCESS_KEY_ID"],  # as `eval "$(sluice env)"` would
                          aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
        s3.put_object(Bucket=env["SLUICE_BUCKET"], Key="raw/cli/f.csv", Body=b"a\n1\n")
        seen = ""
        while "on_raw_object ← raw/cli/f.csv" not in seen:
            assert time.monotonic() < deadline + 30, seen
            seen += proc.stdout.readline()
        stop_with_ctrl_c(proc)
        assert not state.exists()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_sluice_up_runs_the_installed_app_from_any_folder_not_an_app_py_found_there(tmp_path):
    """Run where sluice's checkout is not, beside another project's app.py: the stack still starts
    sluice's API (before: ModuleNotFoundError: No module named 'app')."""
    elsewhere = tmp_path / "another-project"
    elsewhere.mkdir()
    (elsewhere / "app.py").write_text("raise SystemExit('not sluice: the app.py of the current folder')\n")
    state = tmp_path / "local.json"
    proc = subprocess.Popen([sys.executable, "-m", "sluice.cli", "up", "--api-port", "0", "--aws-port", "0",
                             "--state-file", str(state)], cwd=elsewhere, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=WITH_FAULTHANDLER)
    try:
        deadline = time.monotonic() + 60
        while not state.exists():
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline
            time.sleep(0.2)
        api = json.loads(state.read_text())["api_url"]
        health = requests.get(f"{api}/health", timeout=10).json()
        assert health["status"] == "ok"
        stop_with_ctrl_c(proc)
        assert not state.exists()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_sluice_env_without_a_running_stack_says_so(tmp_path):
    out = subprocess.run([sys.executable, "-m", "sluice.cli", "env", "--state-file",
                          str(tmp_path / "none.json")], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "COLUMNS": "200"})
    assert out.returncode == 1
    assert "sluice up" in out.stdout
