"""A production model with its reference profile, and helpers to capture requests and upload labels."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from chalicelib.storage import s3

FEATURES = [{"name": "distance", "type": "float"}, {"name": "city", "type": "category"}]
CITIES = ["berlin", "hamburg", "munich"]


def make_frame(n: int, *, seed: int, shift: float = 0.0, city_p=(0.5, 0.3, 0.2)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    distance = rng.gamma(2.0, 3.0, n) + shift
    city = rng.choice(CITIES, size=n, p=list(city_p))
    label = ((distance + (city == "berlin") * 2 + rng.normal(0, 1.5, n)) > 7).astype(int)
    return pd.DataFrame({"distance": distance, "city": city, "label": label})


@dataclass
class ProductionModel:
    name: str
    version: int
    pipeline: object
    holdout_accuracy: float


def _fit(frame: pd.DataFrame):
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    prep = ColumnTransformer([("city", OneHotEncoder(handle_unknown="ignore"), ["city"])],
                             remainder="passthrough")
    return Pipeline([("prep", prep), ("model", LogisticRegression())]).fit(
        frame[["distance", "city"]], frame["label"])


def register_model(name: str, *, retrain_on_drift: bool = False, cooldown_minutes: int = 60,
                   on_performance_drop: bool = False) -> ProductionModel:
    """Train, write artifacts the way training does, register and make it production."""
    from chalicelib.core.drift.profile import build_profile
    from chalicelib.core.training.spec import TrainingSpec
    from chalicelib.services.registry import get_registry
    from chalicelib.storage import artifacts
    from chalicelib.storage import specs as store

    train, holdout = make_frame(3000, seed=1), make_frame(1000, seed=2)
    pipeline = _fit(train)
    accuracy = float((pipeline.predict(holdout[["distance", "city"]]) == holdout["label"]).mean())
    types = {"distance": "numeric", "city": "categorical"}
    profile = {"features": build_profile(train, types).to_dict(),
               "prediction": build_profile(pd.DataFrame({"prediction": pipeline.predict(
                   holdout[["distance", "city"]]).astype(str)}), {"prediction": "categorical"}).to_dict()}
    spec = TrainingSpec.model_validate({
        "dataset": "rides", "target": "label", "features": ["distance", "city"], "task": "classification",
        "estimator": {"name": "LogisticRegression"}, "cooldown_minutes": cooldown_minutes,
        "retrain": {"on_drift": retrain_on_drift, "on_performance_drop": on_performance_drop},
        "performance_tolerance": 0.05})
    store.put_spec(name, spec, actor="test", now="2026-01-01T00:00:00.000Z")
    registry = get_registry()
    version = registry.reserve_version(name)
    metadata = {"task": "classification", "target": "label", "features": FEATURES, "classes": [0, 1],
                "metrics": {"accuracy": accuracy}, "spec": spec.model_dump(mode="json")}
    info = artifacts.write_artifacts(name, version, pipeline, metadata, profile)
    registry.register_model_version(name, version, source=info.source, artifact_sha256=info.sha256,
                                    run_id="run-test", metrics={"accuracy": accuracy},
                                    dataset_versions=[], spec_version=1)
    registry.set_alias(name, "production", version, expected=None, actor="test")
    return ProductionModel(name, version, pipeline, accuracy)


def capture(model: ProductionModel, frame: pd.DataFrame, when: dt.datetime, *,
            per_request: int = 500) -> list[str]:
    """Captured requests in serving's format; returns the request ids."""
    predictions = model.pipeline.predict(frame[["distance", "city"]])
    ids = []
    for start in range(0, len(frame), per_request):
        request_id = str(uuid.uuid4())
        ids.append(request_id)
        lines = []
        rows = frame.iloc[start:start + per_request].to_dict("records")
        for index, (row, prediction) in enumerate(zip(rows, predictions[start:start + per_request],
                                                      strict=True)):
            lines.append(json.dumps({
                "request_id": request_id, "record_index": index, "time": when.isoformat(),
                "model": model.name, "version": model.version, "alias": "production",
                "input": {"distance": row["distance"], "city": row["city"]}, "prediction": int(prediction)}))
        key = f"capture/{model.name}/date={when:%Y-%m-%d}/hour={when:%H}/{uuid.uuid4()}.jsonl"
        s3.put_bytes(key, ("\n".join(lines) + "\n").encode())
    return ids


@pytest.fixture
def production_model(moto_world) -> ProductionModel:
    return register_model(f"fare-{uuid.uuid4().hex[:6]}")
