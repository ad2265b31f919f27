"""The embedded default, end to end: moto server, API, event pump and clock on free ports."""

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
import requests

from sluice.local import LocalStack

ROOT = Path(__file__).resolve().parents[3]
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def stack():
    with LocalStack(ROOT, api_port=0, aws_port=0, schedule_interval=3600) as running:
        yield running


def test_the_api_answers_on_localhost(stack):
    response = requests.get(f"{stack.info.api_url}/health", timeout=10)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_a_boto3_upload_to_raw_reaches_the_upload_handler(stack):
    s3 = boto3.client("s3", endpoint_url=stack.info.aws_endpoint, region_name=stack.info.region)
    s3.upload_fileobj(io.BytesIO(b"a,b\n1,2\n"), stack.info.bucket, "raw/e2e/first.csv")
    delivery = stack.pump.wait_for("on_raw_object", "raw/e2e/first.csv", timeout=30)
    assert delivery.ok, delivery.error


def test_objects_outside_the_trigger_prefixes_reach_no_handler(stack):
    s3 = boto3.client("s3", endpoint_url=stack.info.aws_endpoint, region_name=stack.info.region)
    s3.put_object(Bucket=stack.info.bucket, Key="curated/e2e/x.parquet", Body=b"x")
    s3.put_object(Bucket=stack.info.bucket, Key="raw/e2e/after.csv", Body=b"a\n1\n")
    stack.pump.wait_for("on_raw_object", "raw/e2e/after.csv", timeout=30)
    assert [d.what for d in stack.pump.deliveries] == ["raw/e2e/after.csv"]


def test_asynchronous_invocations_are_delivered_to_the_named_function(stack, monkeypatch):
    from chalicelib.storage.invoke import invoke_async

    calls = []
    stack.pump._handlers["probe"] = lambda event, context: calls.append((event, context.function_name))
    invoke_async("probe", {"run": "r1"})
    stack.pump.wait_for("probe", timeout=30)
    assert calls == [({"run": "r1"}, "probe")]


def test_a_failing_handler_is_retried_then_given_up(stack, monkeypatch):
    from chalicelib.storage.invoke import invoke_async
    from sluice.local.pump import MAX_ATTEMPTS

    def boom(event, context):
        raise RuntimeError("handler failed")

    stack.pump._handlers["boom"] = boom
    invoke_async("boom", {})
    deadline = time.monotonic() + 30
    while sum(d.function == "boom" for d in stack.pump.deliveries) < MAX_ATTEMPTS:
        assert time.monotonic() < deadline, stack.pump.deliveries
        time.sleep(0.1)
    failures = [d for d in stack.pump.deliveries if d.function == "boom"]
    assert all(not d.ok and "handler failed" in d.error for d in failures)
    time.sleep(MAX_ATTEMPTS + 1)
    assert sum(d.function == "boom" for d in stack.pump.deliveries) == MAX_ATTEMPTS


def test_sluice_up_prints_endpoints_env_exports_them_and_ctrl_c_stops_cleanly(tmp_path):
    state = tmp_path / "local.json"
    sluice = [sys.executable, "-m", "sluice.cli"]
    proc = subprocess.Popen([*sluice, "up", "--api-port", "0", "--aws-port", "0",
                             "--state-file", str(state)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
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
        s3 = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"])
        s3.put_object(Bucket=env["SLUICE_BUCKET"], Key="raw/cli/f.csv", Body=b"a\n1\n")
        seen = ""
        while "on_raw_object ← raw/cli/f.csv" not in seen:
            assert time.monotonic() < deadline + 30, seen
            seen += proc.stdout.readline()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
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
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not state.exists():
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline
            time.sleep(0.2)
        api = json.loads(state.read_text())["api_url"]
        health = requests.get(f"{api}/health", timeout=10).json()
        assert health["status"] == "ok"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
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


def test_a_malformed_message_is_dropped_once_not_redelivered_forever(stack):
    sqs = boto3.client("sqs", endpoint_url=stack.info.aws_endpoint, region_name=stack.info.region)
    sqs.send_message(QueueUrl=stack.info.events_queue_url, MessageBody="not json")
    delivery = stack.pump.wait_for("(unknown)", timeout=30)
    assert not delivery.ok and delivery.error == "malformed message"
    time.sleep(2)
    assert sum(d.function == "(unknown)" for d in stack.pump.deliveries) == 1


def test_bursts_of_parallel_requests_are_all_answered(stack):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=24) as pool:
        codes = list(pool.map(lambda _: requests.get(f"{stack.info.api_url}/health", timeout=30).status_code,
                              range(48)))
    assert codes == [200] * 48
