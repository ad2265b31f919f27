"""A training run's lease, its fence and cancel (issue 16, defect 2): a run whose function died frees its
model within the function's timeout, is recorded from the registry when its version was registered, and
a cancelled or taken-over run stops at its next checkpoint without registering."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from chalicelib.services import training as service
from tests.functional.faults.injector import Fault, FaultPlan, Killed, install
from tests.functional.training.conftest import send
from tests.unit.training.conftest import spec_body

ROOT = Path(__file__).resolve().parents[3]


def train_timeout() -> int:
    """The ``train`` function's timeout as deployed: infra/sizing.json's (measured sizes), else every
    deployed stage's of .chalice/config.json (one value)."""
    sizing = ROOT / "infra" / "sizing.json"
    if sizing.exists() and "train" in json.loads(sizing.read_text()).get("functions", {}):
        return int(json.loads(sizing.read_text())["functions"]["train"]["timeout_s"])
    stages = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"]
    timeouts = {s["lambda_functions"]["train"]["lambda_timeout"] for s in stages.values()
                if "train" in s.get("lambda_functions", {})}
    assert len(timeouts) == 1
    return timeouts.pop()


def start(client, model="tips"):
    status, out = send(client, "post", f"/models/{model}/train", {"reason": "test"})
    assert status == 202, out
    return out["run_id"]


def lock(model="tips"):
    from chalicelib.storage import table as state
    from chalicelib.storage.layout import model_pk

    return state.plain_item(state.table().get_item(Key={"pk": model_pk(model), "sk": "RUNLOCK"})["Item"])


def lease_runs_out(model="tips"):
    """Time passes: the lock's lease is over (the function that held it is long dead)."""
    from chalicelib.storage import table as state
    from chalicelib.storage.layout import model_pk

    state.table().update_item(Key={"pk": model_pk(model), "sk": "RUNLOCK"},
                              UpdateExpression="SET lock_until = :p", ExpressionAttributeValues={":p": 1})


@contextmanager
def faults(*planned):
    """Within: the train function's storage calls go through a fault plan (its runs, artifacts, registry
    and the artifacts' S3 writes)."""
    from chalicelib.storage import artifacts

    plan = FaultPlan(tuple(planned))
    with pytest.MonkeyPatch.context() as patch:
        install(patch, plan, {"runs": (service, "runs"), "artifacts": (service, "artifacts"),
                              "registry": (service, "get_registry"), "s3": (artifacts, "s3")})
        yield plan


def artifact_keys(moto_world, model="tips"):
    import boto3

    out = boto3.client("s3", region_name="us-east-1").list_objects_v2(Bucket=moto_world.bucket,
                                                                       Prefix=f"models/{model}/")
    return sorted(o["Key"] for o in out.get("Contents", []))


@pytest.fixture
def tips(client, make_dataset):
    make_dataset()
    send(client, "put", "/models/tips/spec", spec_body())


def test_a_run_whose_function_died_frees_its_model_within_the_functions_timeout(client, tips):
    run_id = start(client)
    with faults(Fault("artifacts.write_artifacts")) as plan, pytest.raises(Killed):
        service.execute_run("tips", run_id)
    assert [str(f) for f in plan.fired] == ["kill at artifacts.write_artifacts"]
    held = lock()
    assert held["run_id"] == run_id
    # the lease of a running run outlasts no function: its model is free well within 15 minutes
    assert held["lock_until"] - time.time() <= train_timeout() / 3
    status, body = send(client, "post", "/models/tips/train", {})
    assert status == 409 and body["error"]["code"] == "run_in_progress"  # while the lease lasts
    lease_runs_out()
    start(client)
    _, lost = send(client, "get", f"/models/tips/runs/{run_id}")
    assert lost["status"] == "failed" and lost["error"]["code"] == "run_lost"


def test_a_run_killed_after_registering_is_recorded_with_its_version_not_as_lost(client, tips, registry):
    run_id = start(client)
    with faults(Fault("runs.finish_run")), pytest.raises(Killed):
        service.execute_run("tips", run_id)
    assert registry.get_model_version("tips", 1).run_id == run_id  # registered, gate applied
    lease_runs_out()
    start(client)  # takes the model over and resolves the dead run from the registry
    _, run = send(client, "get", f"/models/tips/runs/{run_id}")
    assert run["status"] == "succeeded", run.get("error")
    assert run["version"] == 1 and "recovered from the registry" in run["recovered"]["reason"]
    assert run["decision"]["promote"] is True and run["promotion"] == {"promoted": True, "status": "approved"}
    assert run["metrics"] == registry.get_model_version("tips", 1).metrics


def test_cancelling_a_running_run_stops_it_before_the_fit_and_frees_the_model(client, tips, registry,
                                                                              moto_world):
    run_id = start(client)
    answers = []

    def cancel():
        answers.append(send(client, "post", f"/models/tips/runs/{run_id}/cancel", {"reason": "wrong data"}))

    with faults(Fault("runs.checkpoint", "hook", hook=cancel)):  # the checkpoint before the fit
        run = service.execute_run("tips", run_id)
    [(status, cancelled)] = answers
    assert status == 200 and cancelled["status"] == "cancelled" and cancelled["phase"] == "loading"
    assert run["status"] == "cancelled" and run["error"]["code"] == "run_cancelled"
    assert "wrong data" in run["error"]["message"] and run["cancelled_by"] == "anonymous"
    assert "version" not in run and artifact_keys(moto_world) == []
    start(client)  # the model is free at once
    [audit] = [e for e in registry.list_audit_events("tips").items if e.event == "run_cancelled"]
    assert audit.details["run_id"] == run_id and audit.details["reason"] == "wrong data"


def test_a_run_cancelled_after_writing_its_artifacts_deletes_them_and_registers_nothing(
        client, tips, registry, moto_world):
    from chalicelib.core.errors import NotFoundError

    run_id = start(client)
    seen = []

    def cancel():
        seen.append(artifact_keys(moto_world))
        send(client, "post", f"/models/tips/runs/{run_id}/cancel", {})

    # checkpoints: 1 before the fit, 2 before the artifacts, 3 before registration
    with faults(Fault("runs.checkpoint", "hook", nth=3, hook=cancel)):
        run = service.execute_run("tips", run_id)
    assert seen == [["models/tips/1/metadata.json", "models/tips/1/model.joblib",
                     "models/tips/1/reference_profile.json"]]
    assert run["status"] == "cancelled" and run["version"] == 1  # the number it reserved: burned
    assert artifact_keys(moto_world) == []
    with pytest.raises(NotFoundError):
        registry.get_model_version("tips", 1)


def test_a_run_registering_its_version_cannot_be_cancelled_and_an_ended_one_neither(client, tips):
    run_id = start(client)
    answers = []
    with faults(Fault("registry.register_model_version", "hook", hook=lambda: answers.append(
            send(client, "post", f"/models/tips/runs/{run_id}/cancel", {})))):
        run = service.execute_run("tips", run_id)
    [(status, body)] = answers
    assert status == 409 and body["error"]["code"] == "run_not_cancellable"
    assert "registering its version" in body["error"]["message"]
    assert run["status"] == "succeeded" and run["version"] == 1
    status, body = send(client, "post", f"/models/tips/runs/{run_id}/cancel", {})
    assert status == 409 and "already ended (succeeded)" in body["error"]["message"]
    status, body = send(client, "post", "/models/tips/runs/20990101T000000000Z-00000000/cancel", {})
    assert status == 404 and body["error"]["code"] == "run_not_found"
    status, body = send(client, "post", "/models/tips/runs/..%2F..%2Fx/cancel", {})
    assert status == 404 and body["error"]["code"] == "run_not_found"


def test_a_queued_run_cancelled_before_its_function_starts_does_nothing_when_it_starts(client, tips,
                                                                                     registry):
    run_id = start(client)
    status, cancelled = send(client, "post", f"/models/tips/runs/{run_id}/cancel", {})
    assert status == 200 and cancelled["status"] == "cancelled"
    run = client.lambda_.invoke("train", {"model": "tips", "run_id": run_id}).payload
    assert run["status"] == "cancelled" and "version" not in run


def test_a_run_that_lost_its_lease_to_a_newer_run_stops_without_registering(client, tips, registry,
                                                                            moto_world):
    from chalicelib.core.errors import NotFoundError

    old = start(client)
    newer = []

    def take_over():  # the old run stalled past its lease; a new run takes the model
        lease_runs_out()
        newer.append(start(client))

    with faults(Fault("runs.checkpoint", "hook", nth=2, hook=take_over)):
        run = service.execute_run("tips", old)
    assert run["status"] == "failed" and run["error"]["code"] == "run_lost"
    with pytest.raises(NotFoundError):
        registry.get_model_version("tips", 1)
    assert artifact_keys(moto_world) == []
    assert lock()["run_id"] == newer[0] and lock()["lock_until"] > time.time()  # the newer run keeps it
    _, queued = send(client, "get", f"/models/tips/runs/{newer[0]}")
    assert queued["status"] == "queued"


def test_a_queued_run_whose_function_starts_after_its_lease_does_nothing(client, tips, registry):
    first = start(client)
    lease_runs_out()
    second = start(client)
    late = client.lambda_.invoke("train", {"model": "tips", "run_id": first}).payload
    assert late["status"] == "failed" and late["error"]["code"] == "run_lost"
    assert "did not start within" in late["error"]["message"]
    assert lock()["run_id"] == second


def test_a_heartbeat_keeps_a_long_run_s_lease_alive(client, tips):
    from chalicelib.core.training.lease import LEASE_SECONDS

    run_id = start(client)
    beats = []

    def slow_fit():  # the fit takes a while: the heartbeat renews the lease meanwhile
        first = lock()["heartbeat_at"]
        deadline = time.time() + 5
        while lock()["heartbeat_at"] == first and time.time() < deadline:
            time.sleep(0.05)
        beats.append(lock())

    with faults(Fault("runs.checkpoint", "hook", hook=slow_fit)):
        run = service.execute_run("tips", run_id, heartbeat_seconds=0.2)
    assert run["status"] == "succeeded"
    [renewed] = beats
    assert renewed["run_id"] == run_id and renewed["lock_until"] == renewed["heartbeat_at"] + LEASE_SECONDS


def test_the_lease_fits_the_train_functions_timeout():
    from chalicelib.core.training.lease import (
        FUNCTION_TIMEOUT_SECONDS,
        HEARTBEAT_SECONDS,
        LEASE_SECONDS,
        QUEUED_LEASE_SECONDS,
    )

    assert train_timeout() == FUNCTION_TIMEOUT_SECONDS
    assert 2 * HEARTBEAT_SECONDS < LEASE_SECONDS < FUNCTION_TIMEOUT_SECONDS
    assert QUEUED_LEASE_SECONDS < FUNCTION_TIMEOUT_SECONDS
