"""The fault-injection suite's world: a trained model in moto, the failed-events queue, the reconciler
run after every lease, and the invariants every scenario must leave true (issue 16, deliver 8).

Invariants (:func:`assert_invariants`):

- no run in flight past its lease, and no model lock whose lease outlives one heartbeat lease;
- no registered model version pointing to a missing artifact (each file there, its SHA-256 the
  registry's), and no ``models/{model}/{version}/`` prefix the registry does not hold;
- no once-only check claim ``running`` past its lease; every stored check's reports exist;
- the failed-events queue holds nothing the reconciler could finish.

``SLUICE_FAULT_TABLE=path`` writes the table of faults and outcomes the tests record (:func:`record`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.functional.faults.injector import FaultPlan, install
from tests.functional.training.conftest import make_dataset, one_thread, registry  # noqa: F401 - fixtures
from tests.unit.training.conftest import spec_body

OUTCOMES: list[dict[str, str]] = []


def record(component: str, fault: Any, outcome: str) -> None:
    OUTCOMES.append({"component": component, "fault": str(fault), "outcome": outcome})


@pytest.fixture(scope="session", autouse=True)
def fault_table() -> Iterator[None]:
    yield
    path = os.environ.get("SLUICE_FAULT_TABLE")
    if path and OUTCOMES:
        lines = ["| component | fault injected | outcome after retries and the reconciler |", "|---|---|---|"]
        lines += [f"| {o['component']} | {o['fault']} | {o['outcome']} |" for o in OUTCOMES]
        with open(path, "a", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")


def later() -> float:
    """A moment after every lease and grace period of now has run out (the functions are long dead)."""
    from chalicelib.core.ops.reconcile import ORPHAN_GRACE_SECONDS

    return time.time() + ORPHAN_GRACE_SECONDS + 60


@contextmanager
def faults(plan: FaultPlan, wraps: dict[str, tuple[Any, str]]) -> Iterator[FaultPlan]:
    with pytest.MonkeyPatch.context() as patch:
        install(patch, plan, wraps)
        yield plan


@pytest.fixture
def dlq(moto_world: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The failed-events queue, as the reconcile function sees it."""
    import boto3

    url = boto3.client("sqs", region_name="us-east-1").create_queue(
        QueueName=f"{moto_world.table}-failed")["QueueUrl"]
    monkeypatch.setenv("SLUICE_DEAD_LETTER_QUEUE_URL", url)
    return url


def dead_letter(url: str, payload: dict[str, Any], error: str = "Runtime.ExitError") -> None:
    """What Lambda does with an asynchronous event whose attempts all failed."""
    import boto3

    boto3.client("sqs", region_name="us-east-1").send_message(
        QueueUrl=url, MessageBody=json.dumps(payload),
        MessageAttributes={"ErrorCode": {"DataType": "String", "StringValue": error},
                           "RequestID": {"DataType": "String", "StringValue": "r-1"}})


def queued_letters(url: str) -> list[dict[str, Any]]:
    import boto3

    sqs = boto3.client("sqs", region_name="us-east-1")
    out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    return [json.loads(m["Body"]) for m in out.get("Messages", [])]


def run_invocations(moto_world: Any) -> list[tuple[dict[str, Any], Any]]:
    """Deliver every queued asynchronous invocation to the app's function (as Lambda would)."""
    import boto3

    import app

    sqs = boto3.client("sqs", region_name="us-east-1")
    done = []
    while True:
        out = sqs.receive_message(QueueUrl=moto_world.invoke_queue_url, MaxNumberOfMessages=10)
        messages = out.get("Messages", [])
        if not messages:
            return done
        for message in messages:
            sqs.delete_message(QueueUrl=moto_world.invoke_queue_url, ReceiptHandle=message["ReceiptHandle"])
            body = json.loads(message["Body"])
            handler = getattr(app, body["function"])
            payload = body["payload"]
            done.append((body, handler(payload, None)))


def discard_invocations(moto_world: Any = None) -> None:
    """Drop the queued asynchronous invocations (the test plays the function itself)."""
    import boto3

    from chalicelib.core.settings import get_settings

    sqs = boto3.client("sqs", region_name="us-east-1")
    url = moto_world.invoke_queue_url if moto_world is not None else get_settings().invoke_queue_url
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:  # not PurgeQueue: SQS allows one a minute
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def tips(moto_world: Any, make_dataset: Any) -> Any:  # noqa: F811 - the fixture imported above
    """The rides dataset and the tips model's spec."""
    from chalicelib.core.training.spec import TrainingSpec
    from chalicelib.services import training

    version = make_dataset()
    training.put_spec("tips", TrainingSpec.model_validate(spec_body()), actor="test")
    return version


def train_now(model: str = "tips") -> dict[str, Any]:
    """A run started and executed here (its queued invocation dropped)."""
    from chalicelib.services import training

    run_id = training.start_run(model, "test", "fault suite")
    discard_invocations()
    run = training.execute_run(model, run_id)
    assert run["status"] == "succeeded", run.get("error")
    return run


def time_passes(model: str = "tips") -> None:
    """Every lease of ``model`` taken before now runs out (the run lock, once-only check claims): what
    the reconciler's clock (:func:`later`) assumed, for the functions that run after it."""
    from chalicelib.storage import ops, runs
    from chalicelib.storage import table as state
    from chalicelib.storage.layout import model_pk

    if runs.get_lock(model):
        state.table().update_item(Key={"pk": model_pk(model), "sk": "RUNLOCK"},
                                  UpdateExpression="SET lock_until = :p", ExpressionAttributeValues={":p": 1})
    for claim in ops.check_claims_running(model):
        state.table().update_item(Key={"pk": claim["pk"], "sk": claim["sk"]},
                                  UpdateExpression="SET lease_until = :p",
                                  ExpressionAttributeValues={":p": 1})


def assert_invariants(moto_world: Any, now: float, *, queue: str | None = None) -> None:
    from chalicelib.storage import runs
    from chalicelib.triggers.reconcile import scan

    left = [f.to_dict() for f in scan(now, kinds=("run_past_lease", "orphan_artifacts",
                                                    "check_claim_past_lease"))]
    assert left == [], left
    assert [r["run_id"] for r in runs.in_flight_runs()] == [], "runs still in flight after the reconciler"
    _versions_point_to_their_artifacts()
    _checks_point_to_their_reports(moto_world.bucket)
    if queue:
        _nothing_left_to_redrive(queue, now)


def _versions_point_to_their_artifacts() -> None:
    """Every registered version's artifacts load with the registry's SHA-256; no other prefix; no lock
    outlives a lease."""
    from chalicelib.core.errors import NotFoundError
    from chalicelib.core.training.lease import LEASE_SECONDS, QUEUED_LEASE_SECONDS
    from chalicelib.services.registry import get_registry
    from chalicelib.storage import artifacts, runs

    versions_of = get_registry()
    prefixes = {(p.model, p.version) for p in artifacts.list_artifact_prefixes()}
    models = {m for m, _ in prefixes} | {m for m, _ in versions_of.models_with_alias("production")}
    for model in models:
        lock = runs.get_lock(model) or {}
        assert float(lock.get("lock_until", 0)) <= time.time() + max(LEASE_SECONDS, QUEUED_LEASE_SECONDS)
        try:
            versions = versions_of.search_model_versions(model, limit=1000).items
        except NotFoundError:
            versions = []
        for version in versions:
            loaded = artifacts.load_model(model, version.version, version.artifact_sha256)
            assert loaded.sha256 == version.artifact_sha256
            prefixes.discard((model, version.version))
    assert prefixes == set(), f"orphan prefixes left: {sorted(prefixes)}"


def _checks_point_to_their_reports(bucket: str) -> None:
    import boto3

    from chalicelib.services.registry import get_registry
    from chalicelib.storage import checks

    s3 = boto3.client("s3", region_name="us-east-1")
    for model, _ in get_registry().models_with_alias("production"):
        for check in checks.list_checks(model, limit=100)[0]:
            for key in (check.get("reports") or {}).values():
                if isinstance(key, str) and key.startswith("reports/"):
                    s3.head_object(Bucket=bucket, Key=key)  # raises when the report is missing


def _nothing_left_to_redrive(queue: str, now: float) -> None:
    from chalicelib.core.ops.reconcile import INSPECT
    from chalicelib.storage import dead_letters
    from chalicelib.triggers.reconcile import scan

    found = scan(now, kinds=("dead_letter",))
    dead_letters.unhide(queue, [f.handle for f in found if f.handle])
    assert [f.to_dict() for f in found if f.action != INSPECT] == []
