"""The upload path killed or failed at each AWS write it makes, in turn (issue 16, deliver 8).

A clean upload records the writes the handler makes (every curated part, every quarantine part, the
quarantine manifest, the report, the Glue table and partition, the claim's updates, the version record's
transaction, the dataset summary, the follow-up invocation); then, for each, a fresh dataset's upload is
killed (or gets a transient AWS error) at that write, Lambda's retries run (a minute, then three, later:
the dead attempt's lease has run out), then the reconciler, and the invariants must hold: no claim in
progress, exactly one version, which points to objects that exist, no output folder it does not point
to, the raw object still there.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from chalicelib.core.events import ObjectRef
from chalicelib.services import uploads as service
from chalicelib.storage import datasets as store
from chalicelib.storage import ops
from tests.functional.datasets.conftest import (
    Ahead,
    all_objects,
    glue_database,  # noqa: F401 - a fixture
    put_contract,
    put_raw,
    rides_contract,
    rides_csv,
)
from tests.functional.faults.conftest import discard_invocations, later, record
from tests.functional.faults.injector import Fault, FaultPlan, Killed, aws_writes

pytestmark = pytest.mark.slow  # ~40 uploads with their retries and a reconciler pass each

RETRIES = (60, 180)  # Lambda retries a failed asynchronous event about 1 and 3 minutes later
# The lease's heartbeat renews the claim every 10 s: an upload here takes less, so a renewal is not one
# of its writes in every run (tests/functional/datasets/test_one_pass_upload.py fences lost leases).
TIMING_DEPENDENT = ("lease_until = :lease",)


def upload(client: Any, dataset: str) -> ObjectRef:
    put_contract(client, rides_contract(dataset, policy="quarantine_rows"))
    return put_raw(f"raw/{dataset}/jan.csv", rides_csv(40, bad=(3, 25)))  # 4 chunks, 2 with bad rows


@pytest.fixture
def writes(client: Any, moto_world: Any, glue_database: str,  # noqa: F811 - the fixture imported above
           monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """The writes of one clean upload, in order: (label, its count among writes of that label)."""
    monkeypatch.setattr(service, "CHUNK_ROWS", 10)
    ref = upload(client, "clean")
    with aws_writes(FaultPlan(())) as plan:
        assert service.process_object(ref).status == "passed"
    discard_invocations(moto_world)
    made = [w for w in plan.log if not any(t in w[0] for t in TIMING_DEPENDENT)]
    labels = {label for label, _ in made}
    assert {"s3.PutObject curated", "s3.PutObject quarantine", "s3.PutObject reports/validation",
            "glue.CreateTable", "glue.BatchCreatePartition", "dynamodb.TransactWriteItems",
            "dynamodb.UpdateItem OBJECT# status = :done"} <= labels, labels
    assert sum(label == "s3.PutObject curated" for label, _ in made) == 4
    return made


@pytest.mark.parametrize("kind", ["kill", "fail"])
def test_an_upload_faulted_at_each_of_its_writes_ends_as_exactly_one_complete_version(
        client, moto_world, writes, kind, monkeypatch):
    broken = []
    for number, (label, nth) in enumerate(writes):
        dataset = f"f{kind}-{number}"
        fault = Fault(label, kind, nth)
        ref = upload(client, dataset)
        # a killed process, or the error Lambda sees
        with aws_writes(FaultPlan((fault,))) as plan, contextlib.suppress(Killed, Exception):
            service.process_object(ref)
        assert plan.fired == [fault], f"{fault} never went off"
        with monkeypatch.context() as only:  # the earlier datasets were checked: the pass sees this one
            only.setattr(ops, "dataset_names", lambda current=dataset: [current])
            outcome = _retries_and_reconciler(ref, moto_world, monkeypatch)
        problems = _invariants(dataset, ref, moto_world.bucket)
        record("validation", f"{fault}", outcome if not problems else f"BROKEN: {problems}")
        if problems:
            broken.append(f"{fault}: {problems}")
    assert broken == []


def _retries_and_reconciler(ref: ObjectRef, moto_world: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    from chalicelib.triggers.reconcile import reconcile

    steps = []
    for seconds in RETRIES:
        with monkeypatch.context() as clock:
            clock.setattr(store, "time", Ahead(seconds))
            try:
                outcome = service.process_object(ref)
            except Exception as exc:  # the retry failed too: Lambda's next one, then the dead letter
                steps.append(f"retry failed ({type(exc).__name__})")
                continue
        steps.append(f"retry: version {outcome.version} {outcome.status or outcome.skipped or ''}".strip())
        if outcome.status or outcome.duplicate:
            break
    discard_invocations(moto_world)  # on_dataset_version's follow-ups are not the upload's
    done = reconcile(dry_run=False, now=later())
    actions = sorted(f"{f['action']} {f['outcome']}" for f in done["findings"])
    return "; ".join(steps + ([f"reconciler: {', '.join(actions)}"] if actions else ["reconciler: nothing"]))


def _invariants(dataset: str, ref: ObjectRef, bucket: str) -> list[str]:
    import boto3

    from chalicelib.triggers.reconcile import scan

    problems = []
    if ops.claims_in_progress(dataset):
        problems.append("a claim is still in progress")
    versions = store.list_versions(dataset, 10)[0]
    if len(versions) != 1:
        return [*problems, f"{len(versions)} versions"]
    [version] = versions
    paths = (version.curated_path, version.quarantine_path)
    pointed = {p.removeprefix(f"s3://{bucket}/") for p in paths if p}
    for prefix in [*pointed, version.report_key]:
        if not all_objects(bucket, prefix):
            problems.append(f"the version points to nothing at {prefix}")
    folders = {k.rsplit("/", 1)[0] + "/" for area in ("curated", "quarantine")
               for k in all_objects(bucket, f"{area}/{dataset}/")}
    stray = {f for f in folders if not any(f.startswith(p) for p in pointed)}
    if stray or scan(later(), kinds=("orphan_outputs",)):
        problems.append(f"orphan folders {sorted(stray)}")
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.head_object(Bucket=bucket, Key=ref.key, VersionId=ref.version_id)  # raises when the raw is gone
    return problems
