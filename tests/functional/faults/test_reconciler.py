"""The reconciler as an operator meets it: a dry run that changes nothing, the default actions and the
ones left off, redriving chosen dead letters, every action in the audit logs, and the ops routes."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from chalicelib.services import training
from tests.functional.faults.conftest import (
    dead_letter,
    discard_invocations,
    later,
    queued_letters,
    run_invocations,
)


@pytest.fixture
def ops_client(client: Any) -> Any:
    """The app's own client: app.py registers the ops routes."""
    return client


def call(client, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    kwargs: dict[str, Any] = {"headers": {"Content-Type": "application/json"}}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    response = getattr(client.http, method)(path, **kwargs)
    return response.status_code, json.loads(response.body or b"null")


def lost_run() -> str:
    """A run queued whose function never started (its invocation is dropped)."""
    run_id = training.start_run("tips", "test", "lost")
    discard_invocations()
    return run_id


def orphan(moto_world, version: int = 7) -> None:
    import boto3

    s3 = boto3.client("s3", region_name="us-east-1")
    for name in ("model.joblib", "metadata.json"):
        s3.put_object(Bucket=moto_world.bucket, Key=f"models/tips/{version}/{name}", Body=b"x")


def batch_event(bucket: str) -> dict:
    from chalicelib.core.ops.reconcile import object_event

    return object_event(bucket, "batch/tips/input/a.csv", "v1", "e1")


def test_a_dry_run_lists_every_finding_and_changes_nothing(tips, dlq, moto_world):
    from chalicelib.storage import artifacts, runs
    from chalicelib.triggers.reconcile import reconcile

    run_id = lost_run()
    orphan(moto_world)
    dead_letter(dlq, batch_event(moto_world.bucket))
    dead_letter(dlq, {"what": "no idea"})
    found = reconcile(dry_run=True, now=later())
    kinds = sorted((f["kind"], f["action"], f["outcome"]) for f in found["findings"])
    assert kinds == [("dead_letter", "inspect", "not_enabled"), ("dead_letter", "redrive", "planned"),
                     ("orphan_artifacts", "delete_orphan_artifacts", "planned"),
                     ("run_past_lease", "resolve_run", "planned")]
    assert runs.get_run("tips", run_id)["status"] == "queued"
    assert [(p.model, p.version) for p in artifacts.list_artifact_prefixes()] == [("tips", 7)]
    assert len(queued_letters(dlq)) == 2  # visible again
    assert all("handle" not in f for f in found["findings"])  # receipt handles never leave the function


def test_the_default_pass_finishes_what_it_can_and_audits_each_action(tips, dlq, moto_world, registry):
    from chalicelib.storage import artifacts, ops, runs
    from chalicelib.triggers.reconcile import reconcile

    run_id = lost_run()
    orphan(moto_world)
    dead_letter(dlq, batch_event(moto_world.bucket))
    dead_letter(dlq, {"what": "no idea"})
    done = reconcile(dry_run=False, now=later())
    assert done["counts"] == {"done": 3, "not_enabled": 1}
    run = runs.get_run("tips", run_id)
    assert run["status"] == "failed" and run["error"]["code"] == "run_lost"
    assert "did not start within" in run["error"]["message"]
    assert artifacts.list_artifact_prefixes() == []
    assert queued_letters(dlq) == [{"what": "no idea"}]  # left for a person
    assert [b["function"] for b, _ in _invocations(moto_world)] == ["on_batch_object"]
    audit, _ = ops.list_audit(limit=10)
    assert sorted(a["action"] for a in audit) == ["delete_orphan_artifacts", "redrive", "resolve_run"]
    assert all(a["actor"] == "reconciler" and a["outcome"] == "done" for a in audit)
    model_log = {e.event: e for e in registry.list_audit_events("tips").items}
    assert model_log["reconciler_resolve_run"].details["subject"] == {"model": "tips", "run_id": run_id}
    assert model_log["reconciler_delete_orphan_artifacts"].version == 7
    again = reconcile(dry_run=False, now=later())["findings"]  # only the unknown letter is left
    assert [(f["kind"], f["action"], f["outcome"]) for f in again] == [
        ("dead_letter", "inspect", "not_enabled")]


def _invocations(moto_world, wait: int = 0):
    import boto3

    sqs = boto3.client("sqs", region_name="us-east-1")
    out = sqs.receive_message(QueueUrl=moto_world.invoke_queue_url, MaxNumberOfMessages=10,
                              WaitTimeSeconds=wait)
    return [(json.loads(m["Body"]), None) for m in out.get("Messages", [])]


def test_artifacts_still_within_a_functions_lifetime_are_not_orphans(tips, moto_world):
    from chalicelib.triggers.reconcile import scan

    orphan(moto_world)
    assert scan(time.time(), kinds=("orphan_artifacts",)) == []
    [found] = scan(later(), kinds=("orphan_artifacts",))
    assert found.subject == {"model": "tips", "version": 7, "prefix": "models/tips/7/"}


def test_an_upload_whose_attempt_died_and_whose_retries_ran_out_is_finished_by_the_reconciler(
        client, moto_world):
    """Lambda's two retries came and went while the dead attempt's claim was still leased (or failed
    too): the raw object has a claim in progress and no version. The scheduled pass re-invokes its
    upload, which takes the claim over and records the version once."""
    from chalicelib.core.events import ObjectRef, parse_object_events
    from chalicelib.services.uploads import LEASE_SECONDS
    from chalicelib.storage import datasets, layout
    from chalicelib.triggers.reconcile import reconcile
    from tests.functional.datasets.conftest import put_contract, put_raw, rides_contract, rides_csv

    put_contract(client, rides_contract())
    ref = put_raw("raw/rides/jan.csv", rides_csv(30))
    key = layout.object_hash(ObjectRef(ref.bucket, ref.key, ref.version_id, ref.etag).identity)
    identity = {"bucket": ref.bucket, "key": ref.key, "version_id": ref.version_id, "etag": ref.etag}
    dead = datasets.claim_object("rides", key, {**identity, "identity": ref.identity},
                                 lease_seconds=0.1)  # the attempt that was killed
    assert dead.state == "acquired"
    assert reconcile(dry_run=False, now=time.time())["findings"] == []  # its lease still runs
    time.sleep(2.1)  # its lease runs out (whole seconds, +1); a real one is LEASE_SECONDS
    done = reconcile(dry_run=False, now=time.time())  # the default actions
    [claim] = [f for f in done["findings"] if f["kind"] == "upload_claim_past_lease"]
    assert (claim["action"], claim["outcome"]) == ("retry_upload", "done")
    assert claim["subject"] == {"dataset": "rides", "key": ref.key, "version_id": ref.version_id}
    [(body, _)] = _invocations(moto_world, wait=1)
    [event_ref] = parse_object_events(body["payload"])
    assert (event_ref.key, event_ref.version_id) == (ref.key, ref.version_id)
    client.lambda_.invoke(body["function"], body["payload"])
    [version] = datasets.list_versions("rides", limit=10)[0]
    assert (version.version, version.status, version.rows) == (1, "passed", 30)
    assert reconcile(dry_run=False, now=time.time() + LEASE_SECONDS + 5)["findings"] == []  # healed


def test_redrive_takes_only_the_messages_named(tips, dlq, moto_world):
    from chalicelib.triggers.reconcile import reconcile, scan

    dead_letter(dlq, batch_event(moto_world.bucket))
    dead_letter(dlq, {"dataset": "rides", "version": 1})
    from chalicelib.storage import dead_letters

    found = scan(kinds=("dead_letter",))
    dead_letters.unhide(dlq, [f.handle for f in found if f.handle])
    letters = {f.details["function"]: f.subject["message_id"] for f in found}
    out = reconcile(dry_run=False, kinds=("dead_letter",), actions={"redrive"},
                    message_ids=[letters["on_dataset_version"]])
    redriven = [(f["details"]["function"], f["outcome"]) for f in out["findings"]]
    assert redriven == [("on_dataset_version", "done")]
    assert queued_letters(dlq) == [batch_event(moto_world.bucket)]
    [(invocation, _)] = run_invocations(moto_world)
    assert invocation == {"function": "on_dataset_version", "payload": {"dataset": "rides", "version": 1}}


def test_the_schedule_applies_the_defaults_and_an_ops_request_answers_like_a_synchronous_function(tips, dlq):
    from chalicelib.triggers.reconcile import handle_reconcile, ops_event

    lost_run()  # queued just now: within its lease, so the pass leaves it
    scheduled = {"version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events",
                 "account": "1", "time": "2026-12-01T00:00:00Z", "region": "us-east-1", "resources": [],
                 "detail": {}}
    assert handle_reconcile(scheduled)["dry_run"] is False
    answer = handle_reconcile(ops_event({"operation": "audit"}))
    assert [a["subject"] for a in answer["result"]["items"]] == []  # nothing was past its lease yet
    assert handle_reconcile(ops_event({"operation": "nonsense"}))["error"]["code"] == "invalid_operation"


def test_the_ops_routes(ops_client, tips, dlq, moto_world):
    lost_run()
    status, found = call(ops_client, "get", "/ops/findings")
    assert status == 200 and found["dry_run"] is True and found["findings"] == []  # all leases live now
    status, body = call(ops_client, "post", "/ops/reconcile", {"dry_run": True, "actions": ["explode"]})
    assert status == 400 and body["error"]["code"] == "invalid_action"
    status, body = call(ops_client, "post", "/ops/reconcile", {"dry_run": "maybe"})
    assert status == 400
    dead_letter(dlq, batch_event(moto_world.bucket))
    status, out = call(ops_client, "post", "/ops/redrive", {})
    assert status == 200 and [f["outcome"] for f in out["findings"]] == ["done"]
    status, audit = call(ops_client, "get", "/ops/audit?limit=1")
    assert status == 200 and audit["items"][0]["action"] == "redrive"
    assert audit["items"][0]["actor"] == "anonymous"
    status, body = call(ops_client, "get", "/ops/audit?next_token=eyJwayI6ICJNT0RFTCN4In0=")
    assert status == 400 and body["error"]["code"] == "invalid_token"


def test_the_reconcile_schedule_function_as_app_py_wires_it_takes_both_events(tips, dlq, moto_world):
    """The lines app.py gets (docs/operations.md): a Chalice schedule whose handler passes the raw event."""
    from chalice import Chalice

    from chalicelib.triggers.reconcile import handle_reconcile, ops_event

    app = Chalice(app_name="reconcile-test")

    @app.schedule("rate(15 minutes)", name="reconcile")
    def reconcile(event: Any) -> dict:
        return handle_reconcile(event.to_dict())

    answer = reconcile(ops_event({"operation": "findings"}), None)  # as Lambda calls it
    assert answer["result"]["dry_run"] is True
    scheduled = {"version": "0", "id": "e1", "detail-type": "Scheduled Event", "source": "aws.events",
                 "account": "1", "time": "2026-12-01T00:00:00Z", "region": "us-east-1",
                 "resources": ["arn:aws:events:us-east-1:1:rule/r"], "detail": {}}
    assert reconcile(scheduled, None)["dry_run"] is False
