"""Batch scoring and monitoring under faults: ``on_batch_object`` killed or failed at each storage call
of a file, and a new dataset version's once-only drift check killed or failed at its writes; then
Lambda's retries, the failed-events queue and the reconciler. Each input gets exactly one output, each
check is stored with its reports, and no claim stays taken past its lease."""

from __future__ import annotations

import io

import pytest
from botocore.exceptions import ClientError

from tests.functional.faults.conftest import (
    assert_invariants,
    dead_letter,
    faults,
    later,
    queued_letters,
    record,
    run_invocations,
    time_passes,
    train_now,
)
from tests.functional.faults.injector import Fault, FaultPlan, Killed
from tests.unit.training.conftest import rides_frame

pytestmark = pytest.mark.slow

BATCH_FAULTS = [Fault("batch_objects.download"), Fault("batch_objects.upload_output"),
                Fault("batch_objects.already_scored", "fail"), Fault("batch_objects.upload_output", "fail")]


def put_batch_input(bucket: str) -> dict:
    import boto3

    from chalicelib.core.ops.reconcile import object_event

    frame = rides_frame(40).drop(columns=["tipped", "fare"])
    body = io.StringIO()
    frame.to_csv(body, index=False)
    key = "batch/tips/input/today.csv"
    out = boto3.client("s3", region_name="us-east-1").put_object(Bucket=bucket, Key=key, Body=body.getvalue())
    return object_event(bucket, key, out.get("VersionId"), out["ETag"].strip('"'))


def attempt(plan: FaultPlan, wraps: dict, work) -> str:
    try:
        with faults(plan, wraps):
            work()
    except Killed:
        return "killed"
    except ClientError:
        return "raised"
    return "returned"


@pytest.mark.parametrize("fault", BATCH_FAULTS, ids=str)
def test_a_batch_file_broken_at_a_storage_call_is_scored_once_after_the_redrive(fault, tips, dlq, moto_world):
    import boto3

    from chalicelib.services import batch
    from chalicelib.triggers.batch import handle_batch_objects
    from chalicelib.triggers.reconcile import reconcile

    train_now()
    event = put_batch_input(moto_world.bucket)
    plan = FaultPlan((fault,))
    ended = attempt(plan, {"batch_objects": (batch, "batch_objects")}, lambda: handle_batch_objects(event))
    assert plan.fired == [fault] and ended in ("killed", "raised")
    s3 = boto3.client("s3", region_name="us-east-1")
    listed = s3.list_object_versions(Bucket=moto_world.bucket, Prefix="batch/tips/output/")
    assert listed.get("Versions", []) == []  # a broken attempt leaves no partial output
    dead_letter(dlq, event)  # Lambda's two retries failed too: the event is a dead letter

    pass_ = reconcile(dry_run=False, now=later())
    [(invocation, result)] = run_invocations(moto_world)
    assert invocation["function"] == "on_batch_object"
    assert [o["status"] for o in result["objects"]] == ["written"]
    versions = s3.list_object_versions(Bucket=moto_world.bucket, Prefix="batch/tips/output/")["Versions"]
    assert [v["Key"] for v in versions] == ["batch/tips/output/today.csv"]  # exactly one output
    s3.head_object(Bucket=moto_world.bucket, Key="batch/tips/input/today.csv")  # the input is still there
    assert queued_letters(dlq) == []
    assert_invariants(moto_world, later(), queue=dlq)
    actions = sorted(f"{r['action']}:{r['outcome']}" for r in pass_["findings"])
    record("batch (on_batch_object)", fault, f"{ended}; no partial output; reconciler: {', '.join(actions)}; "
           "redriven: one output, input kept")


MONITORING_FAULTS = [Fault("store.put_check"), Fault("s3.put_json"), Fault("store.put_check", "fail"),
                     Fault("s3.put_json", "fail")]


@pytest.mark.parametrize("fault", MONITORING_FAULTS, ids=str)
def test_a_new_versions_drift_check_broken_at_a_write_is_stored_once_with_its_reports(fault, tips, dlq,
                                                                                   moto_world, make_dataset):
    from chalicelib.services import drift
    from chalicelib.services.schedule import check_new_dataset_version
    from chalicelib.storage import checks
    from chalicelib.triggers.reconcile import reconcile

    train_now()
    new = make_dataset()
    plan = FaultPlan((fault,))
    ended = attempt(plan, {"store": (drift, "store"), "s3": (drift, "s3")},
                    lambda: check_new_dataset_version("rides", new.version))
    assert plan.fired == [fault] and ended in ("killed", "raised")
    # Lambda retries the event a minute later
    retry = check_new_dataset_version("rides", new.version)["checked"]
    [retried] = retry
    check_id = f"dataset-rides-v{new.version}"
    pass_ = reconcile(dry_run=False, now=later())
    time_passes()
    run_invocations(moto_world)
    stored = [c for c in checks.list_checks("tips", limit=10)[0] if c["check_id"] == check_id]
    assert len(stored) == 1 and stored[0]["reports"]
    assert_invariants(moto_world, later(), queue=dlq)
    actions = sorted(f"{r['action']}:{r['outcome']}" for r in pass_["findings"])
    record("monitoring (dataset drift check)", fault,
           f"{ended}; the retry a minute later: {retried['status']}; reconciler: "
           f"{', '.join(actions) or 'nothing to do'}; check stored once with its reports")
    if ended == "killed":  # the claim outlived the retries: only the reconciler could finish the check
        assert retried["status"] == "duplicate" and "retry_check:done" in actions
    else:  # a failed attempt gave its claim back: the retry ran the check
        assert retried["status"] != "duplicate" and actions == []
