"""Pure parts of crash recovery: a lost run's outcome from the registry, the heartbeat, and what the
reconciler decides for each thing it finds."""

from __future__ import annotations

import json
import threading

import pytest

from chalicelib.core.ops.reconcile import (
    ORPHAN_GRACE_SECONDS,
    DeadLetter,
    artifact_finding,
    check_claim_finding,
    dead_letter_finding,
    object_event,
    run_finding,
    upload_claim_finding,
)
from chalicelib.core.training.lease import Heartbeat, lease_live, lost_run_outcome

RUN = {"model": "tips", "run_id": "r1", "status": "running", "version": 4, "phase": "registering"}
TRIGGERS = {"raw/": ["on_raw_object"], "labels/": ["on_label_object"], "batch/": ["on_batch_object"]}


def functions_for_key(key: str) -> list[str]:
    return [f for prefix, fs in TRIGGERS.items() if key.startswith(prefix) for f in fs]


def test_a_lost_run_whose_version_the_registry_holds_succeeded_with_the_registry_s_record():
    registered = {"version": 4, "run_id": "r1", "status": "approved", "metrics": {"accuracy": 0.9},
                  "artifact_sha256": "ab", "decision": {"promote": True}}
    outcome = lost_run_outcome(RUN, registered, production=4, reason="lease ran out")
    assert outcome.status == "succeeded"
    assert outcome.fields["promotion"] == {"promoted": True, "status": "approved"}
    assert outcome.fields["metrics"] == {"accuracy": 0.9} and outcome.fields["decision"] == {"promote": True}
    assert "gate did not run" not in outcome.fields["recovered"]["reason"]


def test_a_lost_run_registered_before_its_gate_says_the_version_awaits_a_person():
    outcome = lost_run_outcome(RUN, {"version": 4, "run_id": "r1", "status": "candidate"}, None, "x")
    assert outcome.status == "succeeded" and "decision" not in outcome.fields
    assert "promote or reject it by hand" in outcome.fields["recovered"]["reason"]


@pytest.mark.parametrize("registered", [None, {"version": 4, "run_id": "another", "status": "approved"}])
def test_a_lost_run_without_its_own_registered_version_failed_with_the_reason(registered):
    outcome = lost_run_outcome(RUN, registered, 4, "its function stopped")
    assert outcome.status == "failed"
    assert outcome.fields == {"error": {"code": "run_lost", "message": "its function stopped"}}


def test_a_lease_is_live_only_for_its_holder_until_it_runs_out():
    lock = {"run_id": "r1", "lock_until": 100}
    assert lease_live(lock, "r1", 100) and not lease_live(lock, "r1", 100.5)
    assert not lease_live(lock, "r2", 50) and not lease_live(None, "r1", 0)


def test_the_heartbeat_renews_until_the_lease_is_refused():
    answers = iter([True, True, False, True])
    calls = []

    def renew() -> bool:
        calls.append(1)
        return next(answers)

    with Heartbeat(renew, every=0.01) as beat:
        assert beat.lost.wait(2)
    assert len(calls) == 3  # it stopped at the refusal


def test_the_heartbeat_tolerates_one_unreachable_table_but_not_two_in_a_row():
    answers = iter([RuntimeError, True, RuntimeError, RuntimeError])

    def renew() -> bool:
        answer = next(answers)
        if answer is RuntimeError:
            raise RuntimeError("table unreachable")
        return answer

    with Heartbeat(renew, every=0.01) as beat:
        assert beat.lost.wait(2)
    assert next(answers, None) is None  # it went on after the first error, stopped after the second


def test_the_heartbeat_stops_with_the_run():
    calls = []
    with Heartbeat(lambda: calls.append(1) or True, every=0.01):
        pass
    settled = len(calls)
    threading.Event().wait(0.05)
    assert len(calls) == settled


def test_a_run_is_past_its_lease_when_the_lock_no_longer_names_it_live():
    assert run_finding(RUN, {"run_id": "r1", "lock_until": 200}, now=150) is None
    found = run_finding(RUN, {"run_id": "r1", "lock_until": 100}, now=150)
    assert found.action == "resolve_run" and "ran out 50 s ago" in found.reason
    assert found.details == {"status": "running", "phase": "registering", "version": 4}
    taken = run_finding(RUN, {"run_id": "r2", "lock_until": 900}, now=150)
    assert "another run holds the model's lock" in taken.reason
    assert run_finding({**RUN, "status": "succeeded"}, None, now=150) is None


@pytest.mark.parametrize(("registered", "live", "age", "orphan"), [
    (False, False, ORPHAN_GRACE_SECONDS + 1, True),
    (True, False, ORPHAN_GRACE_SECONDS + 1, False),  # a registered version's files are never touched
    (False, True, ORPHAN_GRACE_SECONDS * 10, False),  # a live run reserved it
    (False, False, ORPHAN_GRACE_SECONDS - 1, False),  # a function may still be writing
])
def test_artifacts_are_an_orphan_only_unregistered_unreserved_and_older_than_any_function(registered, live,
                                                                                        age, orphan):
    found = artifact_finding("tips", 3, objects=2, newest=1000.0, registered=registered,
                             live_reservation=live, now=1000.0 + age)
    assert (found is not None) == orphan
    if found:
        assert found.subject == {"model": "tips", "version": 3, "prefix": "models/tips/3/"}


def test_an_upload_claim_is_stuck_only_in_progress_past_its_lease():
    claim = {"status": "in_progress", "lease_until": 100, "version": 7, "attempts": 1,
             "identity": {"bucket": "b", "key": "raw/rides/a.csv", "version_id": "v", "etag": "e"}}
    found = upload_claim_finding("rides", claim, now=160)
    assert found.action == "retry_upload" and "60 s past its lease (version 7 allocated)" in found.reason
    assert upload_claim_finding("rides", claim, now=90) is None
    assert upload_claim_finding("rides", {**claim, "status": "complete"}, now=160) is None


@pytest.mark.parametrize(("check_id", "dataset", "version"), [
    ("dataset-rides-v3", "rides", 3), ("dataset-my-v1-data-v12", "my-v1-data", 12)])
def test_a_dataset_check_claim_past_its_lease_is_retried_for_its_dataset_version(check_id, dataset, version):
    claim = {"sk": f"CLAIM#{check_id}", "status": "running", "lease_until": 5}
    found = check_claim_finding("tips", claim, 10)
    assert found.action == "retry_check" and found.details == {"dataset": dataset, "version": version}


def test_a_labels_check_claim_past_its_lease_is_for_a_person_and_a_done_claim_is_nothing():
    stuck = {"sk": "CLAIM#labels-0123456789abcdef0123", "status": "running", "lease_until": 5}
    assert check_claim_finding("tips", stuck, 10).action == "inspect"
    assert check_claim_finding("tips", {**stuck, "status": "done"}, 10) is None
    assert check_claim_finding("tips", stuck, 4) is None


def letter(body, **attributes) -> DeadLetter:
    return DeadLetter("m1", body if isinstance(body, str) else json.dumps(body), attributes, "h", 1)


@pytest.mark.parametrize(("key", "function"), [("raw/rides/a.csv", "on_raw_object"),
                                               ("labels/tips/l.csv", "on_label_object"),
                                               ("batch/tips/input/x.csv", "on_batch_object")])
def test_an_object_event_is_redriven_to_the_function_its_key_triggers(key, function):
    event = object_event("b", key, "v", "e")
    found = dead_letter_finding(letter(event, ErrorCode="Runtime.ExitError", ErrorMessage="x" * 1000),
                                functions_for_key)
    assert (found.action, found.details["function"], found.details["payload"]) == ("redrive", function, event)
    assert found.details["error"] == {"code": "Runtime.ExitError", "message": "x" * 300}


def test_an_event_two_functions_take_is_redriven_to_the_target_eventbridge_named():
    def two(key: str) -> list[str]:
        return ["on_raw_object", "other"]

    event = object_event("b", "raw/rides/a.csv", None, None)
    arn = "arn:aws:lambda:us-east-1:1:function:stack-other"
    assert dead_letter_finding(letter(event, TARGET_ARN=arn), two).details["function"] == "other"
    assert dead_letter_finding(letter(event), two).action == "inspect"


@pytest.mark.parametrize(("body", "action", "function"), [
    ({"model": "tips", "run_id": "r1"}, "acknowledge", "train"),
    ({"dataset": "rides", "version": 2}, "redrive", "on_dataset_version"),
    ({"source": "aws.events", "detail-type": "Scheduled Event"}, "acknowledge", None),
    ({"what": 1}, "inspect", None), ("not json", "inspect", None), ([1, 2], "inspect", None),
    (object_event("b", "curated/x/y.parquet", None, None), "inspect", None),
])
def test_other_dead_letters_are_acknowledged_redriven_or_left_for_a_person(body, action, function):
    found = dead_letter_finding(letter(body), functions_for_key)
    assert found.action == action and found.details.get("function") == function
    assert ("payload" in found.details) == (action == "redrive")


def test_a_finding_s_id_is_stable_and_its_handle_is_never_shown():
    event = object_event("b", "raw/rides/a.csv", None, None)
    first, second = (dead_letter_finding(letter(event), functions_for_key) for _ in range(2))
    assert first.id == second.id and "handle" not in first.to_dict()
