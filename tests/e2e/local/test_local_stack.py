"""The embedded default, end to end: moto server, API, event pump and clock on free ports, in this process.

One stack for the module (starting and stopping one costs seconds): each test looks at its own
requests and at deliveries to its own functions, and the first one checks every delivery the
stack made. ``sluice up`` itself, as a process: test_sluice_up.py.
"""

import io
import time

import boto3
import pytest
import requests

from sluice.local import LocalStack
from tests.e2e.conftest import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def stack():
    with LocalStack(ROOT, api_port=0, aws_port=0, schedule_interval=3600) as running:
        yield running


def test_the_api_answers_on_localhost(stack):
    response = requests.get(f"{stack.info.api_url}/health", timeout=10)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_objects_outside_the_trigger_prefixes_reach_no_handler(stack):
    assert stack.pump.deliveries == []  # the module's first delivery: every one the stack makes is checked
    s3 = boto3.client("s3", endpoint_url=stack.info.aws_endpoint, region_name=stack.info.region)
    s3.put_object(Bucket=stack.info.bucket, Key="curated/e2e/x.parquet", Body=b"x")
    s3.put_object(Bucket=stack.info.bucket, Key="raw/e2e/after.csv", Body=b"a\n1\n")
    stack.pump.wait_for("on_raw_object", "raw/e2e/after.csv", timeout=30)
    assert [d.what for d in stack.pump.deliveries] == ["raw/e2e/after.csv"]


def test_a_boto3_upload_to_raw_reaches_the_upload_handler(stack):
    s3 = boto3.client("s3", endpoint_url=stack.info.aws_endpoint, region_name=stack.info.region)
    s3.upload_fileobj(io.BytesIO(b"a,b\n1,2\n"), stack.info.bucket, "raw/e2e/first.csv")
    delivery = stack.pump.wait_for("on_raw_object", "raw/e2e/first.csv", timeout=30)
    assert delivery.ok, delivery.error


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


def test_the_api_answers_a_kept_alive_connection_without_waiting_for_delayed_acks(stack):
    """With Nagle's algorithm on, each answer on a kept-alive connection (schemathesis, the CLI, browsers)
    waited out the client's delayed ACK, ~40 ms a request (schemathesis: 97 s instead of 15 s)."""
    handler = stack._api.server.RequestHandlerClass  # chalice binds the app: functools.partial(handler, …)
    assert getattr(handler, "func", handler).disable_nagle_algorithm is True
    with requests.Session() as session:  # and such a connection is answered, request after request
        codes = [session.get(f"{stack.info.api_url}/health", timeout=10).status_code for _ in range(5)]
    assert codes == [200] * 5
