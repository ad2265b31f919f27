"""``sluice up`` and ``sluice env`` as a person runs them: a process that prints where the stack answers,
exports its environment, stops cleanly on Ctrl-C or SIGTERM within 5 s (a handler still running is
left, and its event delivered again on the next start), keeps its state across restarts, and loses
to a kill -9 only what came after its last snapshot."""

import hashlib
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
SLOW_APP = """
import os, pathlib, time
from chalice import Chalice

app = Chalice(app_name="slow")


@app.lambda_function(name="on_raw_object")
def on_raw_object(event, context):  # a run far longer than any stop may wait
    marker = pathlib.Path(os.environ["SLOW_MARKER"])
    marker.write_text(marker.read_text() + "started\\n" if marker.exists() else "started\\n")
    time.sleep(120)
"""


def sluice_up(tmp_path, *options, cwd=ROOT, env=None) -> tuple[subprocess.Popen, dict]:
    """``sluice up`` on free ports with its state under ``tmp_path``; returns it once it is up, and the
    stack's state file (endpoints)."""
    state = tmp_path / "local.json"
    state.unlink(missing_ok=True)  # a kill -9 leaves the last one behind
    proc = subprocess.Popen([sys.executable, "-m", "sluice.cli", "up", "--api-port", "0", "--aws-port", "0",
                             "--state-file", str(state), "--state-dir", str(tmp_path / ".sluice"), *options],
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**WITH_FAULTHANDLER, "SLUICE_HOME": str(tmp_path / "home"), **(env or {})})
    deadline = time.monotonic() + 60
    while not state.exists():
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return proc, json.loads(state.read_text())


def s3_of(info: dict):
    return boto3.client("s3", endpoint_url=info["aws_endpoint"], region_name=info["region"],
                        aws_access_key_id="testing", aws_secret_access_key="testing")


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
    proc, _ = sluice_up(tmp_path)
    deadline = time.monotonic() + 60
    try:
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
    proc, info = sluice_up(tmp_path, cwd=elsewhere)
    try:
        api = info["api_url"]
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


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_sluice_up_within_5_s_though_a_handler_runs_and_its_event_comes_back(tmp_path, stop):
    """Before: the stop waited for every running handler (SIGTERM > 15 s, SIGINT under load > 30 s)."""
    (tmp_path / "slow").mkdir()
    (tmp_path / "slow" / "app.py").write_text(SLOW_APP)
    marker = tmp_path / "handler-runs"
    options = ("--project-dir", str(tmp_path / "slow"))
    proc, info = sluice_up(tmp_path, *options, env={"SLOW_MARKER": str(marker)})
    try:
        s3 = s3_of(info)
        version = s3.put_object(Bucket=info["bucket"], Key="raw/slow/a.csv", Body=b"a\n1\n")["VersionId"]
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        proc.send_signal(stop)
        sent = time.monotonic()
        out, _ = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    print(f"{stop.name} to exit: {took:.2f} s")  # pytest -rP shows it
    assert proc.returncode == 0, out[-6000:]
    assert took <= 5, f"stopped after {took:.1f} s"
    assert not (tmp_path / "local.json").exists()

    again, info = sluice_up(tmp_path, *options, env={"SLOW_MARKER": str(marker)})
    try:
        head = s3_of(info).head_object(Bucket=info["bucket"], Key="raw/slow/a.csv")
        assert head["VersionId"] == version  # the state was saved at the stop
        deadline = time.monotonic() + 30
        while marker.read_text().count("started") < 2:  # the event the stop interrupted, delivered again
            assert time.monotonic() < deadline and again.poll() is None
            time.sleep(0.05)
        stop_with_ctrl_c(again)
    finally:
        if again.poll() is None:
            again.kill()


def test_a_kill_9_loses_only_what_came_after_the_last_snapshot(tmp_path):
    proc, info = sluice_up(tmp_path, "--snapshot-interval", "0.2")
    try:
        s3_of(info).put_object(Bucket=info["bucket"], Key="curated/kept/a.txt", Body=b"kept")
        saved = tmp_path / ".sluice" / "aws-state.bin"
        # a snapshot holding the object writes its body first, then the state file over the last one
        body = tmp_path / ".sluice" / "blobs" / hashlib.sha256(b"kept").hexdigest()
        deadline = time.monotonic() + 30
        while not body.exists() or saved.stat().st_mtime_ns < body.stat().st_mtime_ns:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
    finally:
        proc.kill()  # SIGKILL: no stop, no final save
        proc.communicate(timeout=30)

    again, info = sluice_up(tmp_path)
    try:
        kept = s3_of(info).get_object(Bucket=info["bucket"], Key="curated/kept/a.txt")
        assert kept["Body"].read() == b"kept"
        stop_with_ctrl_c(again)
    finally:
        if again.poll() is None:
            again.kill()


TGKILL = {"x86_64": 234, "aarch64": 131}  # syscall numbers: a signal to one thread of another process


@pytest.mark.skipif(sys.platform != "linux" or os.uname().machine not in TGKILL, reason="Linux tgkill")
def test_a_sigterm_the_kernel_hands_to_another_thread_still_stops_sluice_up_within_5_s(tmp_path):
    """A process-wide signal goes to any thread that does not block it; Python runs its handler only
    when the main thread runs Python code (before: the main thread slept in a wait without timeout
    and never woke)."""
    import ctypes

    proc, _ = sluice_up(tmp_path, "--no-state")
    try:
        other = next(int(t) for t in os.listdir(f"/proc/{proc.pid}/task") if int(t) != proc.pid)
        libc = ctypes.CDLL(None, use_errno=True)
        assert libc.syscall(TGKILL[os.uname().machine], proc.pid, other, signal.SIGTERM) == 0
        sent = time.monotonic()
        out, _ = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    print(f"SIGTERM to a non-main thread to exit: {took:.2f} s")
    assert proc.returncode == 0, out[-6000:]
    assert took <= 5, f"stopped after {took:.1f} s"
