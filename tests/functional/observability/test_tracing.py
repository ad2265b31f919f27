"""X-Ray traces of invocations (chalicelib/triggers/tracing.py), read from what the X-Ray SDK would send
to the daemon. Each case runs in a child process that looks like Lambda (``LAMBDA_TASK_ROOT``, a trace
header): the SDK patches botocore for the life of a process, which must not leak into other tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"

CHILD = textwrap.dedent("""
    import json, sys
    import pytest
    from chalice.test import Client

    from tests.functional.conftest import MotoSession, WarmClients, fresh_world, REGION
    from tests.functional.datasets.conftest import put_contract, put_raw, rides_contract, rides_csv

    entities = []

    class CapturingEmitter:  # what the SDK's UDP emitter would send to the X-Ray daemon
        def send_entity(self, entity):
            entities.append(json.loads(entity.serialize()))

        def set_daemon_address(self, address):
            pass

    import boto3
    from moto import mock_aws
    from sluice.local.template import load_template
    from sluice.local.atomic import make_dynamodb_atomic

    make_dynamodb_atomic()
    session = MotoSession(mock_aws(), WarmClients(boto3.session.Session(region_name=REGION)), load_template())
    with fresh_world(session, lambda k, v: __import__("os").environ.__setitem__(k, v)):
        import app
        from chalicelib.triggers import tracing
        if "aws_xray_sdk" in sys.modules:  # app's init made the tracer (on Lambda)
            from aws_xray_sdk.core import xray_recorder
            xray_recorder.configure(emitter=CapturingEmitter())
        with Client(app.app, stage_name="local") as client:
            put_contract(client, rides_contract(policy="quarantine_rows"))
            ref = put_raw("raw/rides/jan.csv", rides_csv(40, bad=(2, 5)))
            event = {"version": "0", "id": "e1", "detail-type": "Object Created", "source": "aws.s3",
                     "account": "123456789012", "time": "2026-12-06T00:00:00Z", "region": "us-east-1",
                     "resources": [], "detail": {"bucket": {"name": ref.bucket},
                                                 "object": {"key": ref.key, "version-id": ref.version_id,
                                                            "etag": ref.etag, "size": ref.size}}}
            client.lambda_.invoke("on_raw_object", event)
            assert client.http.get("/models/nobody/versions/7").status_code == 404
            try:
                client.lambda_.invoke("train", {"model": "nobody"})  # no run_id: the handler raises
            except KeyError:
                pass
    print(json.dumps({"entities": entities, "xray_imported": "aws_xray_sdk" in sys.modules,
                      "emails": rides_csv(40, bad=(2, 5)).decode().count("@")}))
""")


def run_child(**env: str) -> dict:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("LAMBDA_TASK_ROOT", "_X_AMZN_TRACE_ID", "POWERTOOLS_TRACE_DISABLED")}
    environment.update(env)
    done = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def on_lambda() -> dict:
    return run_child(LAMBDA_TASK_ROOT=str(ROOT), AWS_LAMBDA_FUNCTION_NAME="sluice-dev-handler",
                     _X_AMZN_TRACE_ID=TRACE_HEADER)


def invocations(entities: list[dict]) -> list[dict]:
    return [e for e in entities if e["name"].startswith("## ")]


@pytest.mark.slow
def test_each_invocation_is_one_subsegment_with_cold_start_and_service(on_lambda):
    traced = sorted(invocations(on_lambda["entities"]), key=lambda e: e["start_time"])
    # the contract PUT, the upload, the 404 route, the failing train invocation
    assert len(traced) == 4
    assert [e["annotations"]["ColdStart"] for e in traced] == [True, False, False, False]
    assert {e["annotations"]["Service"] for e in traced} == {"sluice"}
    assert {e["parent_id"] for e in traced} == {"53995c3f42cd8ad8"}  # under Lambda's own segment


@pytest.mark.slow
def test_the_aws_calls_of_an_upload_are_children_of_its_invocation(on_lambda):
    entities = on_lambda["entities"]
    upload = next(e for e in invocations(entities) if "Route" not in e.get("annotations", {}))
    calls = [e for e in entities if e.get("parent_id") == upload["id"] and e.get("namespace") == "aws"]
    operations = {(e["name"], e["aws"]["operation"]) for e in calls}
    assert ("s3", "GetObject") in operations  # the raw object read (ranged GETs)
    assert any(service == "dynamodb" for service, _ in operations)  # claim and version record
    assert any(op in ("PutObject", "CompleteMultipartUpload") for _, op in operations)  # curated parts


@pytest.mark.slow
def test_api_invocations_carry_the_route_not_the_path_and_their_answer_status(on_lambda):
    routes = {e["annotations"]["Route"]: e for e in invocations(on_lambda["entities"])
              if "Route" in e.get("annotations", {})}
    assert set(routes) == {"PUT /datasets/{dataset}/contract", "GET /models/{model}/versions/{version}"}
    missing = routes["GET /models/{model}/versions/{version}"]
    assert missing["http"]["response"]["status"] == 404 and missing.get("error") is True
    assert "fault" not in missing
    assert "nobody" not in json.dumps(missing)  # names and ids in the path stay out of the trace


@pytest.mark.slow
def test_a_failing_invocation_is_a_fault_with_its_exception_type(on_lambda):
    failed = [e for e in invocations(on_lambda["entities"]) if e.get("fault")]
    assert len(failed) == 1
    assert [x["type"] for x in failed[0]["cause"]["exceptions"]] == ["KeyError"]


@pytest.mark.slow
def test_no_row_values_reach_the_trace(on_lambda):
    text = json.dumps(on_lambda["entities"])
    assert on_lambda["emails"] == 40 and "@example" not in text and "rider" not in text


@pytest.mark.slow
def test_off_lambda_nothing_is_traced_and_the_xray_sdk_is_not_imported():
    off = run_child()
    assert off["entities"] == [] and off["xray_imported"] is False


@pytest.mark.slow
def test_powertools_switch_turns_tracing_off_on_lambda():
    off = run_child(LAMBDA_TASK_ROOT=str(ROOT), _X_AMZN_TRACE_ID=TRACE_HEADER,
                    POWERTOOLS_TRACE_DISABLED="true")
    assert off["entities"] == [] and off["xray_imported"] is False
