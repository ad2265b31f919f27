"""Training under faults: the train function killed (or failed) at each storage call of a run, then what
follows on AWS — no retry (``retries: 0``), the event in the failed-events queue — and the reconciler
after every lease ran out. Each run ends recorded as what happened, no version points to nothing, no
artifact prefix is left without a version, and the model trains again."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from chalicelib.services import training
from tests.functional.faults.conftest import (
    assert_invariants,
    dead_letter,
    discard_invocations,
    faults,
    later,
    queued_letters,
    record,
    time_passes,
    train_now,
)
from tests.functional.faults.injector import Fault, FaultPlan, Killed

pytestmark = pytest.mark.slow


def wraps():
    from chalicelib.storage import artifacts

    return {"runs": (training, "runs"), "artifacts": (training, "artifacts"),
            "registry": (training, "get_registry"), "s3": (artifacts, "s3")}


# fault → (run status, error code or None, version 1 registered)
CASES = {
    Fault("runs.start_running"): ("failed", "run_lost", False),  # died before it started
    Fault("runs.checkpoint"): ("failed", "run_lost", False),  # before the fit
    Fault("registry.reserve_version"): ("failed", "run_lost", False),
    Fault("s3.put_bytes"): ("failed", "run_lost", False),  # model.joblib
    Fault("s3.put_json", nth=2): ("failed", "run_lost", False),  # metadata.json, after the model and profile
    Fault("runs.checkpoint", nth=3): ("failed", "run_lost", False),  # artifacts written, before registration
    Fault("registry.register_model_version"): ("failed", "run_lost", False),
    Fault("registry.set_status"): ("succeeded", None, True),  # registered; the gate did not run
    Fault("runs.finish_run"): ("succeeded", None, True),  # registered and gated; no outcome written
    Fault("runs.release_lock"): ("succeeded", None, True),
    Fault("s3.put_json", "fail", nth=2): ("failed", "training_failed", False),
    Fault("registry.register_model_version", "fail"): ("failed", "training_failed", False),
    Fault("registry.set_alias", "fail"): ("succeeded", None, True),
    Fault("runs.finish_run", "fail"): ("succeeded", None, True),
}


@pytest.mark.parametrize("fault", list(CASES), ids=str)
def test_a_run_broken_at_a_storage_call_ends_recorded_and_leaves_nothing_behind(fault, tips, dlq, moto_world,
                                                                                registry):
    from chalicelib.core.errors import NotFoundError
    from chalicelib.storage import runs
    from chalicelib.triggers.reconcile import reconcile

    run_id = training.start_run("tips", "test", "fault suite")
    discard_invocations(moto_world)  # the test is the train function
    plan = FaultPlan((fault,))
    try:
        with faults(plan, wraps()):
            training.execute_run("tips", run_id)
        ended = "returned"
    except Killed:
        ended = "killed"
    except ClientError:
        ended = "raised"
    assert plan.fired == [fault]
    if ended != "returned":  # Lambda: retries 0, then the event goes to the failed-events queue
        dead_letter(dlq, {"model": "tips", "run_id": run_id})

    pass_ = reconcile(dry_run=False, now=later())
    assert_invariants(moto_world, later(), queue=dlq)
    assert queued_letters(dlq) == []

    status, code, registered = CASES[fault]
    run = runs.get_run("tips", run_id)
    assert (run["status"], (run.get("error") or {}).get("code")) == (status, code), run
    try:
        version = registry.get_model_version("tips", 1)
    except NotFoundError:
        version = None
    assert (version is not None) == registered
    if version is not None:
        assert version.run_id == run_id and run["version"] == 1
    actions = sorted(f"{r['action']}:{r['outcome']}" for r in pass_["findings"])
    record("training", fault, f"{ended}; run {status}" + (f" ({code})" if code else "")
           + (f", version 1 {version.status}" if version else ", no version")
           + (f"; reconciler: {', '.join(actions)}" if actions else "; reconciler: nothing to do"))

    time_passes()
    again = train_now()  # the model trains again; a number the broken run reserved stays burned
    assert again["version"] == (run["version"] + 1 if "version" in run else 1)

