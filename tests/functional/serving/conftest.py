"""Serving fixtures: small fitted pipelines in moto S3, a fake registry and loader that count their calls.

The pipelines use training's own preprocessing helpers (``chalicelib.core.training.pipeline``), so the
frames serving builds are checked against what real models see.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from chalicelib.core.settings import get_settings
from chalicelib.services.serving import PredictionService, set_service
from chalicelib.storage import capture as capture_mod
from chalicelib.storage.capture import CaptureWriter, Sampler

MODEL = "churn"
FEATURES = [{"name": "tenure", "type": "int"}, {"name": "charges", "type": "float"},
            {"name": "plan", "type": "category"}, {"name": "autopay", "type": "bool"},
            {"name": "signup", "type": "date"}]
PLANS = ("basic", "pro", "team")


def make_rows(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """JSON-ready records (dates as ISO strings) with a learnable target ``churned``."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        tenure = rng.randint(0, 72)
        charges = round(rng.uniform(10, 120), 2)
        plan = rng.choice(PLANS)
        autopay = rng.random() < 0.5
        signup = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 700))
        churned = int(charges / 120 - tenure / 72 + (0.3 if plan == "basic" else 0) + rng.gauss(0, 0.2) > 0.2)
        rows.append({"tenure": tenure, "charges": charges, "plan": plan, "autopay": autopay,
                     "signup": signup.isoformat(), "churned": churned})
    return rows


def training_frame(rows: list[dict[str, Any]]) -> Any:
    """How curated data looks to training: typed columns (dates as datetimes)."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    frame["signup"] = pd.to_datetime(frame["signup"])
    return frame


def fit_pipeline(rows: list[dict[str, Any]], *, task: str = "classification", seed: int = 0) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    from chalicelib.core.training.pipeline import date_parts, to_float, to_strings

    pre = ColumnTransformer([
        ("numeric", Pipeline([("float", FunctionTransformer(to_float)), ("impute", SimpleImputer()),
                              ("scale", StandardScaler())]), ["tenure", "charges"]),
        ("bool", Pipeline([("float", FunctionTransformer(to_float)),
                           ("impute", SimpleImputer(strategy="most_frequent"))]), ["autopay"]),
        ("categorical", Pipeline([("strings", FunctionTransformer(to_strings)),
                                  ("impute", SimpleImputer(strategy="most_frequent")),
                                  ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False))]),
         ["plan"]),
        ("date", Pipeline([("parts", FunctionTransformer(date_parts, kw_args={"parts": ("year", "month")})),
                           ("impute", SimpleImputer())]), ["signup"]),
    ], sparse_threshold=0.0)
    frame = training_frame(rows)
    X = frame[[f["name"] for f in FEATURES]]
    if task == "classification":
        estimator: Any = LogisticRegression(C=0.5 if seed else 1.0, max_iter=500)
        y = frame["churned"]
    else:
        estimator, y = LinearRegression(), frame["charges"] * 2 + frame["tenure"]
    return Pipeline([("preprocess", pre), ("estimator", estimator)]).fit(X, y)


@dataclass
class FakeVersion:
    model: str
    version: int
    artifact_sha256: str
    status: str = "approved"


@dataclass
class FakeRegistry:
    """The three registry reads serving makes, counted."""

    versions: dict[tuple[str, int], FakeVersion] = field(default_factory=dict)
    aliases: dict[tuple[str, str], int] = field(default_factory=dict)
    serving: dict[str, Any] = field(default_factory=dict)  # model → ServingSettings
    calls: Counter = field(default_factory=Counter)

    def get_model_version(self, model: str, version: int, *, with_aliases: bool = True) -> FakeVersion:
        from chalicelib.core.errors import NotFoundError

        self.calls["get_model_version"] += 1
        found = self.versions.get((model, version))
        if found is None:
            raise NotFoundError(f"no version {version} of {model}", code="model_version_not_found")
        return found

    def get_alias(self, model: str, alias: str) -> int | None:
        self.calls["get_alias"] += 1
        return self.aliases.get((model, alias))

    def set_alias(self, model: str, alias: str, version: int, **_: Any) -> None:
        self.aliases[(model, alias)] = version

    def get_serving_settings(self, model: str) -> Any:
        from chalicelib.core.registry.entities import ServingSettings

        self.calls["get_serving_settings"] += 1
        return self.serving.get(model) or ServingSettings(model)


@dataclass(frozen=True)
class FakeLoaded:
    pipeline: Any
    metadata: dict[str, Any]


@dataclass
class FakeLoader:
    """Reads ``models/{model}/{version}/model.joblib`` from S3, checks its SHA-256, counts calls."""

    registry: FakeRegistry
    calls: Counter = field(default_factory=Counter)
    metadata: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    fail: set[tuple[str, int]] = field(default_factory=set)

    def __call__(self, model: str, version: int, sha256: str) -> FakeLoaded:
        import joblib

        from chalicelib.core.errors import IntegrityError
        from chalicelib.storage import s3

        self.calls[(model, version)] += 1
        if (model, version) in self.fail:
            raise IntegrityError("artifact tampered", code="artifact_tampered")
        body = s3.get_bytes(f"models/{model}/{version}/model.joblib")
        if hashlib.sha256(body).hexdigest() != sha256:
            raise IntegrityError("artifact tampered", code="artifact_tampered")
        return FakeLoaded(joblib.load(io.BytesIO(body)), self.metadata[(model, version)])


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class World:
    """A moto bucket with registered model versions, the fakes, and a service wired to them."""

    bucket: str
    registry: FakeRegistry
    loader: FakeLoader
    clock: FakeClock
    pipelines: dict[int, Any] = field(default_factory=dict)

    def add_version(self, version: int, pipeline: Any, *, model: str = MODEL, task: str = "classification",
                    aliases: tuple[str, ...] = ()) -> None:
        import joblib

        from chalicelib.storage import s3

        buffer = io.BytesIO()
        joblib.dump(pipeline, buffer)
        stored = s3.put_bytes(f"models/{model}/{version}/model.joblib", buffer.getvalue())
        self.registry.versions[(model, version)] = FakeVersion(model, version, stored.sha256 or "")
        classes = getattr(pipeline[-1], "classes_", None)
        self.loader.metadata[(model, version)] = {
            "task": task, "target": "churned", "features": FEATURES,
            "classes": None if classes is None else classes.tolist()}
        for alias in aliases:
            self.registry.aliases[(model, alias)] = version
        self.pipelines[version] = pipeline

    def service(self, *, capture_percent: float = 0.0, seed: int = 0, put: Any = None,
                wait_seconds: float = 5.0, **settings: Any) -> PredictionService:
        writer = CaptureWriter(put or capture_mod.s3_put, wait_seconds=wait_seconds)
        return PredictionService(
            registry_factory=lambda: self.registry, loader=self.loader,
            settings=get_settings().with_overrides(capture_percent=capture_percent, **settings),
            clock=self.clock, sampler=Sampler(capture_percent, random.Random(seed)), capture=writer)

    def captured(self, model: str = MODEL) -> list[tuple[str, list[dict[str, Any]]]]:
        """Every capture object of ``model``: (key, parsed lines)."""
        import json

        from chalicelib.storage import client

        s3 = client("s3")
        listing = s3.list_objects_v2(Bucket=self.bucket, Prefix=f"capture/{model}/")
        out = []
        for item in sorted(listing.get("Contents", []), key=lambda o: o["Key"]):
            body = s3.get_object(Bucket=self.bucket, Key=item["Key"])["Body"].read().decode()
            out.append((item["Key"], [json.loads(line) for line in body.splitlines()]))
        return out


@pytest.fixture(scope="session")
def rows() -> list[dict[str, Any]]:
    return make_rows(200)


@pytest.fixture(scope="session")
def champion(rows) -> Any:
    return fit_pipeline(rows)


@pytest.fixture(scope="session")
def challenger(rows) -> Any:
    return fit_pipeline(make_rows(60, seed=7), seed=1)


@pytest.fixture
def bucket(moto_world: Any) -> str:
    """The moto world's bucket (SLUICE_BUCKET names it)."""
    return moto_world.bucket


@pytest.fixture
def world(bucket, champion, challenger) -> Iterator[World]:
    registry = FakeRegistry()
    world = World(bucket, registry, FakeLoader(registry), FakeClock())
    world.add_version(1, champion, aliases=("production",))
    world.add_version(2, challenger, aliases=("staging",))
    capture_mod.COUNTERS.clear()
    yield world
    set_service(None)


def features_only(row: dict[str, Any]) -> dict[str, Any]:
    return {f["name"]: row[f["name"]] for f in FEATURES}


def bare_frame(records: list[dict[str, Any]]) -> Any:
    """The records as a plain scikit-learn user would pass them (typed like the training data)."""
    return training_frame([features_only(r) for r in records])[[f["name"] for f in FEATURES]]
