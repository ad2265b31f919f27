"""Fixtures of the import tests: a rides dataset (the training tests' own), a scikit-learn pipeline
trained outside sluice on it, and the import round trip through the API (request, PUT, start, run)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import requests

from tests.functional.training.conftest import drain_invocations, make_dataset, registry, send  # noqa: F401
from tests.unit.training.conftest import rides_frame

FEATURES = ["distance_km", "zone", "night"]
SPEC = {"dataset": "rides", "target": "tipped", "task": "classification", "features": FEATURES,
        "estimator": {"name": "LogisticRegression", "params": {"C": 0.5}}, "seed": 3,
        "split": {"method": "stratified", "test_size": 0.25}}


def external_pipeline(estimator: Any = None, rows: int = 300, seed: int = 7) -> Any:
    """A pipeline as a notebook would train it: plain scikit-learn on a DataFrame (it names its columns)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = rides_frame(rows, seed=seed)
    X = frame[FEATURES].astype({"night": "float64", "zone": "object"})
    pipeline = Pipeline([
        ("prep", ColumnTransformer([
            ("num", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]),
             ["distance_km", "night"]),
            ("cat", Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                              ("onehot", OneHotEncoder(handle_unknown="ignore"))]), ["zone"]),
        ])),
        ("model", estimator if estimator is not None else LogisticRegression(C=1.0)),
    ])
    return pipeline.fit(X, frame["tipped"])


def skops_bytes(pipeline: Any) -> bytes:
    import skops.io

    return bytes(skops.io.dumps(pipeline))


def request_import(client: Any, body: bytes, fmt: str, *, model: str = "tips", pickle_route: bool = False,
                   **extra: Any) -> tuple[int, dict]:
    request = {"format": fmt, "dataset": "rides", "sha256": hashlib.sha256(body).hexdigest(),
               "size": len(body), **extra}
    path = f"/models/{model}/imports" + ("/pickle" if pickle_route else "")
    return send(client, "post", path, request)


def put_file(grant: dict, body: bytes) -> requests.Response:
    upload = grant["upload"]
    return requests.put(upload["url"], data=body, headers=upload["headers"], timeout=30)


def import_model(client: Any, moto_world: Any, body: bytes, fmt: str, *, model: str = "tips",
                 pickle_route: bool = False, **extra: Any) -> dict:
    """Request, upload, start and run an import; the run record."""
    status, grant = request_import(client, body, fmt, model=model, pickle_route=pickle_route, **extra)
    assert status == 201, grant
    assert put_file(grant, body).status_code == 200
    status, started = send(client, "post", grant["start"], {})
    assert status == 202, started
    drain_invocations(client, moto_world)
    return send(client, "get", f"/models/{model}/runs/{started['run_id']}")[1]


@pytest.fixture
def rides(make_dataset: Any) -> Any:  # noqa: F811
    return make_dataset()


@pytest.fixture
def tips_spec(client: Any, rides: Any) -> None:
    status, body = send(client, "put", "/models/tips/spec", SPEC)
    assert status == 201, body
