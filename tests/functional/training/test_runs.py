"""Training runs end to end: queued through the async-invocation queue, trained, registered, gated."""

import pytest

from chalicelib.core.errors import NotFoundError
from chalicelib.services import training as service
from tests.functional.training.conftest import drain_invocations, send
from tests.unit.training.conftest import rides_frame, spec_body


def start(client, model="tips", body=None):
    status, out = send(client, "post", f"/models/{model}/train", body or {"reason": "test"})
    assert status == 202, out
    return out["run_id"]


@pytest.mark.slow
def test_a_run_goes_from_queued_to_succeeded_and_promotes_the_first_version(client, moto_world,
                                                                          make_dataset, registry):
    dataset = make_dataset()
    send(client, "put", "/models/tips/spec", spec_body())
    run_id = start(client)
    _, queued = send(client, "get", f"/models/tips/runs/{run_id}")
    assert queued["status"] == "queued" and queued["actor"] == "anonymous" and queued["reason"] == "test"

    [(message, _)] = drain_invocations(client, moto_world)
    assert message == {"function": "train", "payload": {"model": "tips", "run_id": run_id}}
    _, run = send(client, "get", f"/models/tips/runs/{run_id}")
    assert run["status"] == "succeeded", run.get("error")
    assert run["version"] == 1 and run["metrics"]["accuracy"] > run["baseline"]["accuracy"]
    assert {"fit_s", "evaluate_s", "importance_s", "total_s", "load_s"} <= set(run["timings"])
    assert run["decision"]["promote"] is True
    assert run["dataset"] == {"dataset": "rides", "version": dataset.version,
                              "curated_path": dataset.curated_path, "contract_version": 1, "rows": 300}

    version = registry.get_model_version("tips", 1)
    assert version.status == "approved" and version.run_id == run_id
    assert version.decision["evidence"]["champion"] is None
    assert registry.get_alias("tips", "production") == 1
    assert version.dataset_versions == [run["dataset"]]


@pytest.mark.slow
def test_same_spec_data_and_seed_give_the_same_metrics_and_the_gate_scores_the_champion(
        client, moto_world, make_dataset, registry):
    make_dataset()
    send(client, "put", "/models/tips/spec", spec_body(promotion={"min_improvement": 0.001}))
    first = start(client)
    drain_invocations(client, moto_world)
    second = start(client)
    drain_invocations(client, moto_world)
    _, run1 = send(client, "get", f"/models/tips/runs/{first}")
    _, run2 = send(client, "get", f"/models/tips/runs/{second}")
    assert run1["metrics"] == run2["metrics"]
    # the champion (v1) was scored on v2's holdout: equal, so no improvement ≥ 0.001
    evidence = run2["decision"]["evidence"]
    assert evidence["champion_version"] == 1
    assert evidence["champion"]["accuracy"] == run2["metrics"]["accuracy"]
    assert run2["decision"]["promote"] is False and run2["promotion"]["status"] == "rejected"
    assert registry.get_alias("tips", "production") == 1
    assert registry.get_model_version("tips", 2).status == "rejected"
    _, page = send(client, "get", "/models/tips/runs?limit=1")
    assert [r["run_id"] for r in page["items"]] == [second] and page["next_token"]
    _, rest = send(client, "get", f"/models/tips/runs?limit=1&next_token={page['next_token']}")
    assert [r["run_id"] for r in rest["items"]] == [first]


def test_only_one_run_per_model_is_in_flight(client, moto_world, make_dataset, registry):
    make_dataset()
    send(client, "put", "/models/tips/spec", spec_body())
    start(client)
    status, body = send(client, "post", "/models/tips/train", {})
    assert status == 409 and body["error"]["code"] == "run_in_progress"
    assert "one run per model at a time" in body["error"]["message"]


def test_training_a_model_without_a_spec_is_a_404(client, moto_world):
    status, body = send(client, "post", "/models/ghost/train", {})
    assert status == 404 and body["error"]["code"] == "spec_not_found"


def test_a_run_without_passing_data_fails_and_leaves_no_version(client, moto_world, make_dataset, registry):
    make_dataset(status="failed")
    send(client, "put", "/models/tips/spec", spec_body())
    run_id = start(client)
    drain_invocations(client, moto_world)
    _, run = send(client, "get", f"/models/tips/runs/{run_id}")
    assert run["status"] == "failed"
    assert run["error"]["code"] == "dataset_not_ready"
    assert "has no passing version" in run["error"]["message"]
    assert registry.get_alias("tips", "production") is None
    with pytest.raises(NotFoundError):
        registry.get_model_version("tips", 1)
    status, body = send(client, "get", "/models/tips/versions")
    assert status == 404 or body["items"] == []
    start(client)  # the lock was released


def test_a_run_whose_data_cannot_train_fails_with_a_clear_error(client, moto_world, make_dataset, registry):
    frame = rides_frame()
    frame["tipped"] = "yes"
    make_dataset(frame)
    send(client, "put", "/models/tips/spec", spec_body(split={"method": "random"}))
    run_id = start(client)
    drain_invocations(client, moto_world)
    _, run = send(client, "get", f"/models/tips/runs/{run_id}")
    assert run["status"] == "failed" and run["error"]["code"] == "training_data_error"
    assert "one class only" in run["error"]["message"]
    with pytest.raises(NotFoundError):
        registry.get_model_version("tips", 1)


def test_a_redelivered_train_invocation_does_nothing(client, moto_world, make_dataset, registry):
    make_dataset(status="failed")
    send(client, "put", "/models/tips/spec", spec_body())
    run_id = start(client)
    drain_invocations(client, moto_world)
    again = client.lambda_.invoke("train", {"model": "tips", "run_id": run_id}).payload
    assert again["status"] == "failed" and again["run_id"] == run_id


def test_a_new_dataset_version_starts_runs_for_specs_that_ask_for_new_data(client, moto_world, make_dataset,
                                                                         registry):
    make_dataset()
    new = make_dataset()
    send(client, "put", "/models/eager/spec", spec_body(retrain={"on_new_data": True}))
    send(client, "put", "/models/lazy/spec", spec_body())
    send(client, "put", "/models/pinned/spec", spec_body(dataset_version=1, retrain={"on_new_data": True}))
    send(client, "put", "/models/other/spec", spec_body(dataset="trips", retrain={"on_new_data": True}))
    out = client.lambda_.invoke("on_dataset_version", {"dataset": "rides", "version": new.version}).payload
    assert [s["model"] for s in out["started"]] == ["eager"]
    _, run = send(client, "get", f"/models/eager/runs/{out['started'][0]['run_id']}")
    assert run["status"] == "queued" and run["actor"] == "system"
    assert run["cause"] == {"trigger": "new_data", "dataset": "rides", "version": 2}
    # within the cooldown a second new version starts nothing (and the first run still holds the lock)
    again = service.on_dataset_version("rides", 3)
    assert again["started"] == [] and [s["model"] for s in again["skipped"]] == ["eager"]


@pytest.mark.slow
def test_a_better_challenger_takes_production_and_the_decision_is_audited(client, moto_world, make_dataset,
                                                                         registry):
    make_dataset()
    stump = {"name": "DecisionTreeClassifier", "params": {"max_depth": 1}}
    send(client, "put", "/models/tips/spec", spec_body(estimator=stump))
    start(client)
    drain_invocations(client, moto_world)
    assert registry.get_alias("tips", "production") == 1
    send(client, "put", "/models/tips/spec", spec_body(promotion={"min_improvement": 0.01,
                                                                  "guardrails": {"f1": 0.1}}))
    run_id = start(client)
    drain_invocations(client, moto_world)
    _, run = send(client, "get", f"/models/tips/runs/{run_id}")
    evidence = run["decision"]["evidence"]
    assert run["decision"]["promote"] is True, run["decision"]["reasons"]
    assert evidence["challenger"]["accuracy"] - evidence["champion"]["accuracy"] >= 0.01
    assert evidence["guardrails"]["f1"]["ok"] is True
    assert run["promotion"] == {"promoted": True, "status": "approved", "alias": "production", "from": 1}
    assert registry.get_alias("tips", "production") == 2
    [move] = [m for m in registry.alias_history("tips", "production") if m.to_version == 2]
    assert move.from_version == 1 and move.actor == "gate" and run_id in (move.cause or "")
    assert registry.get_model_version("tips", 2).decision["evidence"]["champion_version"] == 1


def test_under_a_manual_policy_the_version_stays_a_candidate_with_the_evidence(client, moto_world,
                                                                                make_dataset, registry):
    make_dataset()
    send(client, "put", "/models/tips/spec", spec_body(promotion={"mode": "manual"}))
    start(client)
    drain_invocations(client, moto_world)
    version = registry.get_model_version("tips", 1)
    assert version.status == "candidate" and version.decision["promote"] is False
    assert version.decision["reasons"][0].startswith("promotion policy is manual")
    assert registry.get_alias("tips", "production") is None


def test_a_run_that_outlived_its_lease_is_marked_failed_when_the_next_one_starts(client, moto_world,
                                                                               make_dataset):
    from chalicelib.storage import table as state
    from chalicelib.storage.layout import model_pk

    make_dataset()
    send(client, "put", "/models/tips/spec", spec_body())
    lost = start(client)
    state.table().update_item(Key={"pk": model_pk("tips"), "sk": "RUNLOCK"},  # the lease ran out
                              UpdateExpression="SET lock_until = :past",
                              ExpressionAttributeValues={":past": 1})
    start(client)
    _, run = send(client, "get", f"/models/tips/runs/{lost}")
    assert run["status"] == "failed" and run["error"]["code"] == "run_lost"


def imbalanced_tips(seed: int = 5):
    """Tips unrelated to the features, 15 % "yes": a class-balanced model trades accuracy for f1."""
    import numpy as np

    frame = rides_frame()
    frame["tipped"] = np.where(np.random.default_rng(seed).random(len(frame)) < 0.15, "yes", "no")
    return frame


def test_a_first_version_whose_guard_rail_regresses_against_the_trivial_baseline_is_rejected(
        client, moto_world, make_dataset, registry):
    make_dataset(imbalanced_tips())
    balanced = {"name": "LogisticRegression", "params": {"class_weight": "balanced", "max_iter": 500}}
    send(client, "put", "/models/tips/spec", spec_body(
        estimator=balanced, metrics={"primary": "f1"},
        promotion={"guardrails": {"accuracy": 0.05}, "thresholds": {"balanced_accuracy": {"min": 0.4}}}))
    run_id = start(client)
    drain_invocations(client, moto_world)
    _, run = send(client, "get", f"/models/tips/runs/{run_id}")
    assert run["status"] == "succeeded", run.get("error")
    metrics, baseline = run["metrics"], run["baseline"]
    assert metrics["f1"] > baseline["f1"] and metrics["accuracy"] < baseline["accuracy"] - 0.05
    decision = run["decision"]
    assert decision["promote"] is False and run["promotion"]["status"] == "rejected"
    primary, guard, threshold = decision["reasons"]
    assert primary.startswith("primary f1: ") and primary.endswith("— pass")
    assert guard.startswith(f"guard rail accuracy: {metrics['accuracy']:.6g} vs the trivial baseline's "
                            f"{baseline['accuracy']:.6g}") and guard.endswith("— fail")
    assert threshold.startswith("threshold balanced_accuracy ≥ 0.4: ")
    assert [c["check"] for c in decision["evidence"]["checks"]] == ["primary", "guardrail", "threshold"]
    assert registry.get_alias("tips", "production") is None
    assert registry.get_model_version("tips", 1).decision["evidence"]["guardrails"]["accuracy"]["ok"] is False


def test_a_stratified_split_that_cannot_stratify_falls_back_and_the_run_says_why(client, moto_world,
                                                                                 make_dataset, registry):
    frame = rides_frame()
    frame.loc[0, "tipped"] = "maybe"  # one row of its own class: sklearn cannot stratify on it
    make_dataset(frame)
    send(client, "put", "/models/tips/spec", spec_body())  # split: stratified
    run_id = start(client)
    drain_invocations(client, moto_world)
    _, run = send(client, "get", f"/models/tips/runs/{run_id}")
    assert run["status"] == "succeeded", run.get("error")
    fallback = run["warnings"][0]
    assert fallback["code"] == "stratified_split_fallback"
    assert fallback["reason"] == ("1 of the 3 classes has a single row (stratifying needs at least 2 rows "
                                  "per class)")
    assert "maybe" not in str(run["warnings"])  # counts, never the values
    assert "split at random instead" in fallback["message"]
    assert run["rows"]["holdout"] == 75 and run["version"] == 1
