"""Serving on the real registry (DynamoDB in moto) and real training artifacts (SHA-256-verified loading)."""

from __future__ import annotations

import io
import json
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
import pytest

from chalicelib.core.events import ObjectRef, eventbridge_object_created
from chalicelib.core.settings import get_settings
from chalicelib.services.serving import PredictionService, default_loader, default_registry, set_service
from chalicelib.storage import client as aws_client
from chalicelib.storage import resource
from tests.functional.serving.conftest import FEATURES, MODEL, FakeClock, features_only, training_frame

pytestmark = pytest.mark.slow  # real registry on moto DynamoDB, real training pipelines

HEADERS = {"Content-Type": "application/json"}
NAMES = [f["name"] for f in FEATURES]


def train_and_register(rows: list[dict[str, Any]], *, estimator: str, params: dict, alias: str | None) -> int:
    """What a training run leaves behind: artifacts under models/{model}/{version}/, then the registration."""
    from chalicelib.core.training.features import Feature
    from chalicelib.core.training.pipeline import build_pipeline
    from chalicelib.core.training.spec import TrainingSpec
    from chalicelib.services.registry import get_registry
    from chalicelib.storage.artifacts import write_artifacts

    spec = TrainingSpec.model_validate({
        "dataset": "customers", "target": "churned", "features": NAMES, "task": "classification",
        "estimator": {"name": estimator, "params": params}})
    features = [Feature(f["name"], f["type"]) for f in FEATURES]
    frame = training_frame(rows)
    pipeline = build_pipeline(spec, features).fit(frame[NAMES], frame["churned"])
    registry = get_registry()
    version = registry.reserve_version(MODEL)
    metadata = {"task": "classification", "target": "churned", "features": [f.to_dict() for f in features],
                "classes": [0, 1], "metrics": {}, "spec": spec.model_dump(mode="json")}
    info = write_artifacts(MODEL, version, pipeline, metadata, {})
    registry.register_model_version(MODEL, version, source=info.source, artifact_sha256=info.sha256,
                                    run_id=f"run-{version}", metrics={}, dataset_versions=[], spec_version=1)
    if alias:
        registry.set_alias(MODEL, alias, version, actor="test")
    return version


@pytest.fixture
def real(moto_world, rows):
    set_service(None)
    versions = {
        "forest": train_and_register(rows, estimator="RandomForestClassifier",
                                     params={"n_estimators": 15, "max_depth": 4}, alias="production"),
        "linear": train_and_register(rows[:120], estimator="LogisticRegression", params={}, alias=None),
    }
    yield versions
    set_service(None)


def bare(version: int, records: list[dict[str, Any]]) -> Any:
    from chalicelib.services.registry import get_registry
    from chalicelib.storage.artifacts import load_model

    sha256 = get_registry().get_model_version(MODEL, version).artifact_sha256
    pipeline = load_model(MODEL, version, sha256).pipeline
    frame = training_frame(records)[NAMES]
    return pipeline.predict(frame).tolist(), pipeline.predict_proba(frame)


def count_calls() -> Counter:
    calls: Counter = Counter()
    for service, boto in (("s3", aws_client("s3")), ("dynamodb", resource("dynamodb").meta.client)):
        boto.meta.events.register(
            f"before-call.{service}.*", lambda model, _s=service, **_: calls.update([f"{_s}.{model.name}"]))
    return calls


def test_a_registered_trained_model_answers_over_http_like_bare_scikit_learn(real, client, rows):
    records = [features_only(r) for r in rows[:10]]
    response = client.http.post(f"/models/{MODEL}/predict", body=json.dumps({"records": records}),
                                headers=HEADERS)
    assert response.status_code == 200, response.body
    answer = response.json_body
    assert (answer["version"], answer["alias"]) == (real["forest"], "production")
    predictions, proba = bare(real["forest"], records)
    assert answer["predictions"] == predictions
    assert np.allclose([[p["0"], p["1"]] for p in answer["probabilities"]], proba)


def test_the_cold_path_reads_the_alias_version_serving_settings_and_artifact_once(real, rows, monkeypatch):
    monkeypatch.setenv("SLUICE_CAPTURE_PERCENT", "0")
    calls = count_calls()
    from chalicelib.services.serving import get_service

    service = get_service()
    service.predict(MODEL, {"records": [features_only(rows[0])]})
    cold = Counter(calls)
    for _ in range(3):
        service.predict(MODEL, {"records": [features_only(rows[1])]})
    assert calls == cold  # warm predictions read nothing
    # get_alias: one GetItem; the version's record (its SHA-256 and status): one GetItem; the model's
    # serving settings (capture percentage, shadow alias): one GetItem;
    # the artifact: model.joblib + metadata.json (training's loader reads both).
    assert cold == Counter({"dynamodb.GetItem": 3, "s3.GetObject": 2}), cold


def test_an_alias_moved_in_the_registry_is_served_after_the_ttl(real, rows):
    from chalicelib.services.registry import get_registry

    clock = FakeClock()
    service = PredictionService(registry_factory=default_registry, loader=default_loader,
                                settings=get_settings().with_overrides(capture_percent=0,
                                                                       alias_ttl_seconds=5),
                                clock=clock)
    body = {"records": [features_only(rows[0])]}
    assert service.predict(MODEL, body)["version"] == real["forest"]
    get_registry().set_alias(MODEL, "production", real["linear"], actor="test")
    assert service.predict(MODEL, body)["version"] == real["forest"]
    clock.advance(5.1)
    assert service.predict(MODEL, body)["version"] == real["linear"]


def test_a_tampered_artifact_is_refused_with_a_409(real, client, rows):
    key = f"models/{MODEL}/{real['linear']}/model.joblib"
    aws_client("s3").put_object(Bucket=get_settings().bucket, Key=key, Body=b"not the model")
    response = client.http.post(f"/models/{MODEL}/predict?version={real['linear']}",
                                body=json.dumps({"records": [features_only(rows[0])]}), headers=HEADERS)
    assert response.status_code == 409
    assert response.json_body["error"]["code"] == "artifact_tampered"


def test_an_unknown_version_is_a_404_from_the_real_registry(real, client, rows):
    response = client.http.post(f"/models/{MODEL}/predict?version=99",
                                body=json.dumps({"records": [features_only(rows[0])]}), headers=HEADERS)
    assert response.status_code == 404
    assert response.json_body["error"]["code"] == "model_version_not_found"


def test_shadow_scoring_with_the_real_registry(real, rows, monkeypatch):
    from chalicelib.services.registry import get_registry
    from chalicelib.services.serving import get_service

    monkeypatch.setenv("SLUICE_CAPTURE_PERCENT", "100")
    get_registry().set_alias(MODEL, "shadow", real["linear"], actor="test")
    service = get_service()
    records = [features_only(r) for r in rows[:5]]
    answer = service.predict(MODEL, {"records": records})
    service.capture.drain()
    s3 = aws_client("s3")
    bucket = get_settings().bucket
    (item,) = s3.list_objects_v2(Bucket=bucket, Prefix=f"capture/{MODEL}/")["Contents"]
    lines = [json.loads(x) for x in s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().splitlines()]
    assert [x["prediction"] for x in lines] == answer["predictions"]
    assert [x["shadow"]["prediction"] for x in lines] == bare(real["linear"], records)[0]
    assert "shadow" not in answer


def test_batch_through_the_lambda_matches_real_time(real, client, rows):
    records = [features_only(r) for r in rows[:30]]
    buffer = io.BytesIO()
    pd.DataFrame(records).to_parquet(buffer, index=False)
    s3 = aws_client("s3")
    bucket = get_settings().bucket
    out = s3.put_object(Bucket=bucket, Key=f"batch/{MODEL}/input/today.parquet", Body=buffer.getvalue())
    event = eventbridge_object_created(ObjectRef(bucket, f"batch/{MODEL}/input/today.parquet",
                                                 out.get("VersionId"), out["ETag"].strip('"')))
    payload = client.lambda_.invoke("on_batch_object", event).payload
    assert payload["objects"][0]["status"] == "written", payload
    output = pd.read_parquet(io.BytesIO(s3.get_object(
        Bucket=bucket, Key=f"batch/{MODEL}/output/today.parquet")["Body"].read()))
    predictions, proba = bare(real["forest"], records)
    assert output["prediction"].tolist() == predictions
    assert np.allclose(output[["probability_0", "probability_1"]].to_numpy(), proba)


def test_a_rejected_version_does_not_answer(real, client, rows):
    from chalicelib.services.registry import get_registry

    get_registry().reject(MODEL, real["linear"], actor="test", reason="bias found")
    response = client.http.post(f"/models/{MODEL}/predict?version={real['linear']}",
                                body=json.dumps({"records": [features_only(rows[0])]}), headers=HEADERS)
    assert response.status_code == 409
    assert response.json_body["error"]["code"] == "version_rejected"
