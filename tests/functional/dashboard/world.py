"""A small but complete world for the report pages, made through the real services: a rides dataset with a
passing, a partly quarantined and a rejected upload; a model trained twice (the gate deciding each time);
captured traffic checked for drift three times; performance check summaries as the labels check stores
them. Used by the functional tests on moto and, against the local stack, by the browser tests."""

from __future__ import annotations

import datetime as dt
import io
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.unit.training.conftest import CONTRACT, rides_frame, spec_body

DATASET, MODEL = "rides", "fare"
FEATURES = ["distance_km", "zone", "night", "pickup_ts"]


@dataclass
class World:
    dataset: str = DATASET
    model: str = MODEL
    run_ids: list[str] = field(default_factory=list)
    drift_checks: list[dict[str, Any]] = field(default_factory=list)
    performance_checks: list[dict[str, Any]] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)  # every e-mail address uploaded (PII)


def contract() -> dict[str, Any]:
    columns = [dict(c) for c in CONTRACT["columns"]]
    for column in columns:
        if column["name"] == "fare":
            column.update(min=0, max=500)
    return {**CONTRACT, "dataset": DATASET, "columns": columns, "format": {"type": "csv"},
            "failure_policy": {"action": "quarantine_rows", "max_invalid_fraction": 0.2}}


def csv_of(frame: Any, *, bad_fares: tuple[int, ...] = (), drop: tuple[str, ...] = ()) -> bytes:
    frame = frame.copy()
    frame["pickup_ts"] = frame["pickup_ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    frame["rider_email"] = [f"rider.{i:04d}@example.com" for i in range(len(frame))]
    for i in bad_fares:
        frame.loc[i, "fare"] = -10.0
    buffer = io.StringIO()
    frame.drop(columns=list(drop)).to_csv(buffer, index=False)
    return buffer.getvalue().encode()


def upload(name: str, body: bytes) -> dict[str, Any]:
    from chalicelib.core.datasets.errors import ObjectInProgressError
    from chalicelib.core.events import ObjectRef
    from chalicelib.core.settings import get_settings
    from chalicelib.services.uploads import process_object
    from chalicelib.storage import client, datasets

    bucket = get_settings().bucket
    key = f"raw/{DATASET}/{name}"
    out = client("s3").put_object(Bucket=bucket, Key=key, Body=body)
    ref = ObjectRef(bucket, key, out.get("VersionId"), out["ETag"].strip('"'), len(body))
    deadline = time.monotonic() + 120
    while True:  # on the local stack the pump may be validating the same object: wait for its outcome
        try:
            outcome = process_object(ref)  # a delivery while another attempt holds it is acknowledged
        except ObjectInProgressError:
            outcome = None
        if outcome is not None and outcome.version and outcome.skipped is None:
            break  # recorded (now or before); an acknowledged delivery's version may not be recorded yet
        assert time.monotonic() < deadline, f"{key} was never processed"
        time.sleep(0.5)
    record = datasets.get_version(DATASET, int(outcome.version or 0))
    return {"version": record.version, "status": record.status}


def train(model: str, **spec_overrides: Any) -> dict[str, Any]:
    """Put the spec and run one training run to its end (here, or by the local stack's pump)."""
    from chalicelib.core.training.spec import TrainingSpec
    from chalicelib.services import training
    from chalicelib.storage import runs

    training.put_spec(model, TrainingSpec.model_validate(spec_body(**spec_overrides)), actor="world")
    run_id = training.start_run(model, actor="world", reason="dashboard world")
    training.execute_run(model, run_id)
    deadline = time.monotonic() + 180
    while (run := runs.get_run(model, run_id))["status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, f"run {run_id} did not finish"
        time.sleep(0.5)
    assert run["status"] == "succeeded", run.get("error")
    return dict(run)


def capture(model: str, version: int, frame: Any, when: dt.datetime) -> None:
    from chalicelib.storage import s3

    records = frame[FEATURES].copy()
    records["pickup_ts"] = records["pickup_ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    request_id = str(uuid.uuid4())
    lines = [json.dumps({"request_id": request_id, "record_index": i, "time": when.isoformat(),
                         "model": model, "version": version, "alias": "production",
                         "input": {k: (None if v != v else v) for k, v in row.items()},
                         "prediction": "yes" if i % 3 else "no"})
             for i, row in enumerate(records.to_dict("records"))]
    key = f"capture/{model}/date={when:%Y-%m-%d}/hour={when:%H}/{uuid.uuid4()}.jsonl"
    s3.put_bytes(key, ("\n".join(lines) + "\n").encode())


def performance_summary(model: str, version: int, when: dt.datetime, live: float, holdout: float,
                        status: str) -> dict[str, Any]:
    """A performance check's stored summary (the fields services.performance writes)."""
    return {"kind": "performance", "check_id": f"labels-{uuid.uuid4().hex[:20]}",
            "checked_at": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "model": model, "version": version,
            "labels_key": f"labels/{model}/{when:%Y%m%d%H}.csv", "labels": 200, "matched": 200,
            "unmatched": 0,
            "window_hours": 168.0, "status": status, "metric": "accuracy", "holdout": holdout, "live": live,
            "change": live - holdout, "tolerance": 0.05, "rows": 200, "metrics": {"accuracy": live},
            "run_id": None, "feedback": {}}


def build(now: dt.datetime | None = None) -> World:
    from chalicelib.services import contracts
    from chalicelib.services.drift import CheckRequest, run_drift_check
    from chalicelib.storage import checks

    now = now or dt.datetime.now(dt.UTC)
    world = World()
    contracts.put_contract(DATASET, contract())
    first = rides_frame(300, seed=7)
    world.emails = [f"rider.{i:04d}@example.com" for i in range(300)]
    assert upload("january.csv", csv_of(first))["status"] == "passed"
    second = csv_of(rides_frame(300, seed=8), bad_fares=(4, 9, 11))
    assert upload("february.csv", second)["status"] == "passed"
    assert upload("march.csv", csv_of(rides_frame(100, seed=9), drop=("fare",)))["status"] != "passed"
    world.run_ids.append(train(MODEL)["run_id"])
    world.run_ids.append(train(MODEL, estimator={"name": "LogisticRegression",
                                                 "params": {"C": 0.001, "max_iter": 50}})["run_id"])
    production = _production(MODEL)
    for hours, shift in ((6, 0.0), (3, 0.5), (0, 8.0)):
        drifted = rides_frame(300, seed=20 + hours)
        drifted["distance_km"] = drifted["distance_km"] + shift
        capture(MODEL, production, drifted, now - dt.timedelta(hours=hours, minutes=30))
        world.drift_checks.append(run_drift_check(CheckRequest(MODEL, now=now - dt.timedelta(hours=hours),
                                                               window_hours=1)))
    for hours, live, status in ((20, 0.86, "ok"), (12, 0.84, "ok"), (2, 0.71, "degraded")):
        summary = performance_summary(MODEL, production, now - dt.timedelta(hours=hours), live, 0.85, status)
        checks.put_check(MODEL, summary)
        world.performance_checks.append(summary)
    return world


def _production(model: str) -> int:
    from chalicelib.services.registry import get_registry

    version = get_registry().get_alias(model, "production")
    assert version is not None
    return version
