"""The loop heals drift once labelled live traffic arrives: a model trained on winter serves summer, drift
is found but nothing is retrained until summer's labels are feedback rows; then a run trains on winter and
summer, the recent holdout (summer) judges champion and challenger, and production moves. The healed
model is as good on summer as a bare scikit-learn model trained on the same rows."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pandas as pd
import pytest

from chalicelib.services.drift import CheckRequest, run_drift_check
from chalicelib.storage import s3
from sluice.demo.seasons import CONTRACT, SUMMER, WINTER, bare_accuracy, season
from tests.functional.training.conftest import drain_invocations, send
from tests.functional.training.test_retrain_on_new_data import queued_trains

pytestmark = pytest.mark.slow

MODEL = "heal"
FEEDBACK_CONTRACT = {"dataset": f"{MODEL}-feedback", "columns": [
    *CONTRACT["columns"], {"name": "_request_id", "type": "string"}, {"name": "_record_index", "type": "int"},
    {"name": "_captured_at", "type": "timestamp"}, {"name": "_labelled_at", "type": "timestamp"}]}
FOREST = {"name": "RandomForestClassifier", "params": {"n_estimators": 60, "max_depth": 8}}
SPEC = {"dataset": "weather", "target": "busy", "task": "classification", "features": ["day", "temperature"],
        "estimator": FOREST, "split": {"method": "recent", "test_size": 0.25}, "seed": 5,
        "data": {"versions": "latest", "feedback": True},
        "retrain": {"on_drift": True, "min_new_feedback_rows": 30}, "cooldown_minutes": 0}


def capture(frame: pd.DataFrame, version: int) -> list[str]:
    """Serve ``frame``'s days, one request per day, captured as serving captures them; the request ids."""
    from chalicelib.services.registry import get_registry
    from chalicelib.storage import artifacts

    record = get_registry().get_model_version(MODEL, version)
    model = artifacts.load_model(MODEL, version, record.artifact_sha256)
    frame = frame.assign(prediction=model.pipeline.predict(frame[["day", "temperature"]]))
    ids = []
    for day, rows in frame.groupby("day", sort=True):
        when = dt.datetime.fromisoformat(day).replace(hour=12, tzinfo=dt.UTC)
        request_id = str(uuid.uuid4())
        ids += [request_id] * len(rows)
        lines = [json.dumps({"request_id": request_id, "record_index": i, "time": when.isoformat(),
                             "model": MODEL, "version": version, "alias": "production",
                             "input": {"day": row.day, "temperature": row.temperature},
                             "prediction": row.prediction})
                 for i, row in enumerate(rows.itertuples())]
        s3.put_bytes(f"capture/{MODEL}/date={when:%Y-%m-%d}/hour={when:%H}/{uuid.uuid4()}.jsonl",
                     ("\n".join(lines) + "\n").encode())
    return ids


def feedback_rows(frame: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    """The labelled summer days as the feedback writer stores them: inputs, true label, metadata."""
    out = frame.copy()
    out["_request_id"] = ids
    out["_record_index"] = out.groupby("_request_id").cumcount()
    out["_captured_at"] = pd.to_datetime(out["day"], utc=True) + pd.Timedelta(hours=12)
    out["_labelled_at"] = pd.Timestamp("2026-09-01", tz="UTC")
    return out


def accuracy(version: int, frame: pd.DataFrame) -> float:
    predictions = load(version).pipeline.predict(frame[["day", "temperature"]])
    return float((predictions == frame["busy"].to_numpy()).mean())


def test_a_winter_model_heals_on_summer_feedback_and_matches_bare_scikit_learn(client, moto_world,
                                                                                make_dataset, registry):
    winter = season(*WINTER, seed=1)
    make_dataset(winter, dataset="weather", contract=CONTRACT, created_at="2026-04-01T00:00:00.000Z")
    assert send(client, "put", f"/models/{MODEL}/spec", SPEC)[0] == 201
    send(client, "post", f"/models/{MODEL}/train", {})
    drain_invocations(client, moto_world)
    assert registry.get_alias(MODEL, "production") == 1

    summer = season(*SUMMER, seed=2)
    served, august = summer[summer["day"] < "2026-08-01"], summer[summer["day"] >= "2026-08-01"]
    ids = capture(served, 1)  # June and July served by the winter model
    first_of_august = dt.datetime(2026, 8, 1, tzinfo=dt.UTC)
    drifted = run_drift_check(CheckRequest(MODEL, now=first_of_august, window_hours=24 * 61))
    assert drifted["status"] == "drift"
    by_name = {f["name"]: f for f in drifted["features"]}
    assert by_name["temperature"]["status"] == "drift" and by_name["day.month"]["status"] == "drift"
    assert drifted["retrain"]["reason"] == "no new data since version 1" and queued_trains(moto_world) == []

    make_dataset(feedback_rows(served, ids), dataset=f"{MODEL}-feedback", contract=FEEDBACK_CONTRACT,
                 created_at="2026-08-01T06:00:00.000Z")  # June's and July's labels arrive
    healing = run_drift_check(CheckRequest(MODEL, now=first_of_august + dt.timedelta(hours=8),
                                           window_hours=24 * 61))
    assert healing["retrain"]["status"] == "started"
    assert healing["retrain"]["new_data"]["reason"] == f"new data: {len(served)} new labelled feedback row(s)"
    drain_invocations(client, moto_world)
    _, run = send(client, "get", f"/models/{MODEL}/runs/{healing['run_id']}")
    assert run["status"] == "succeeded", run.get("error")
    holdout_rows = round((len(winter) + len(served)) * 0.25)
    assert run["rows"]["holdout"] == run["rows"]["holdout_feedback"] == holdout_rows  # the newest: July
    assert run["rows"]["train_feedback"] == len(served) - holdout_rows
    evidence = run["decision"]["evidence"]
    assert run["promotion"]["promoted"] is True, run["decision"]["reasons"]
    assert evidence["champion"]["accuracy"] < 0.7 < 0.85 < evidence["challenger"]["accuracy"]
    assert registry.get_alias(MODEL, "production") == 2

    trained_on = pd.concat([winter, served], ignore_index=True).iloc[:-holdout_rows]  # ingestion order
    before, after = accuracy(1, august), accuracy(2, august)
    bare = bare_accuracy(trained_on, august, FOREST["params"], SPEC["seed"])
    print(f"\nAugust accuracy: winter model {before:.3f}, healed {after:.3f}, "
          f"bare scikit-learn on the same rows {bare:.3f}")
    assert before < 0.7 and after > 0.85
    assert after == pytest.approx(bare, abs=0.02)


def load(version: int):
    from chalicelib.services.registry import get_registry
    from chalicelib.storage import artifacts

    sha256 = get_registry().get_model_version(MODEL, version).artifact_sha256
    return artifacts.load_model(MODEL, version, sha256)
