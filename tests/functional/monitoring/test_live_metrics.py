"""Live performance metrics equal scikit-learn on the same joined labels, predictions and probabilities."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid

import numpy as np
import pandas as pd
import pytest

from chalicelib.core.training.spec import TASK_METRICS
from chalicelib.services.performance import LabelsRequest, run_performance_check
from chalicelib.storage import s3
from tests.unit.training.oracle import sklearn_says

NOW = dt.datetime.now(dt.UTC)
CLASSES = ["charter", "long", "medium", "short"]
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def register(name: str, primary: str, classes: list, holdout: float) -> int:
    """A production classifier whose metadata names ``classes`` (the artifact itself is never scored)."""
    from sklearn.dummy import DummyClassifier

    from chalicelib.core.training.spec import TrainingSpec
    from chalicelib.services.registry import get_registry
    from chalicelib.storage import artifacts
    from chalicelib.storage import specs as store

    spec = TrainingSpec.model_validate({
        "dataset": "trips", "target": "kind", "features": ["distance"], "task": "classification",
        "estimator": {"name": "LogisticRegression"}, "metrics": {"primary": primary}})
    store.put_spec(name, spec, actor="test", now="2026-01-01T00:00:00.000Z")
    registry = get_registry()
    version = registry.reserve_version(name)
    model = DummyClassifier().fit(np.zeros((len(classes), 1)), classes)
    metadata = {"task": "classification", "target": "kind", "classes": classes,
                "features": [{"name": "distance", "type": "float"}], "metrics": {primary: holdout},
                "spec": spec.model_dump(mode="json")}
    info = artifacts.write_artifacts(name, version, model, metadata, {"features": {}, "prediction": {}})
    registry.register_model_version(name, version, source=info.source, artifact_sha256=info.sha256,
                                    run_id="run-test", metrics={primary: holdout}, dataset_versions=[],
                                    spec_version=1)
    registry.set_alias(name, "production", version, expected=None, actor="test")
    return version


def capture(name: str, version: int, predictions: list, proba: np.ndarray, classes: list) -> str:
    request_id = str(uuid.uuid4())
    lines = [json.dumps({"request_id": request_id, "record_index": i, "time": NOW.isoformat(), "model": name,
                         "version": version, "alias": "production", "input": {"distance": 1.0},
                         "prediction": p, "probabilities": dict(zip(map(str, classes), row.tolist(),
                                                                    strict=True))})
             for i, (p, row) in enumerate(zip(predictions, proba, strict=True))]
    key = f"capture/{name}/date={NOW:%Y-%m-%d}/hour={NOW:%H}/{uuid.uuid4()}.jsonl"
    s3.put_bytes(key, ("\n".join(lines) + "\n").encode())
    return request_id


def upload_labels(name: str, request_id: str, labels: list) -> str:
    out = io.StringIO()
    pd.DataFrame({"request_id": request_id, "record_index": range(len(labels)), "label": labels}).to_csv(
        out, index=False)
    key = f"labels/{name}/{uuid.uuid4().hex}.csv"
    s3.put_bytes(key, out.getvalue().encode())
    return key


@pytest.mark.parametrize("primary", ["f1_macro", "balanced_accuracy", "roc_auc", "log_loss"])
def test_the_live_metric_equals_sklearn_when_a_class_is_absent_from_labels_and_predictions(moto_world,
                                                                                          primary):
    rng = np.random.default_rng(4)
    n = 120
    present = CLASSES[1:]  # "charter" is never true and never predicted
    labels = rng.choice(present, n).tolist()
    predictions = [y if rng.random() < 0.6 else rng.choice(present).item() for y in labels]
    proba = rng.dirichlet(np.ones(len(CLASSES)), n)
    name = f"trips-{uuid.uuid4().hex[:6]}"
    version = register(name, primary, CLASSES, holdout=0.5)
    request_id = capture(name, version, predictions, proba, CLASSES)
    key = upload_labels(name, request_id, labels)
    summary = run_performance_check(LabelsRequest(name, key, now=NOW))
    assert summary["matched"] == n
    assert summary["live"] == sklearn_says(primary, CLASSES, labels, predictions, proba)
    assert summary["metrics"] == {m: sklearn_says(m, CLASSES, labels, predictions, proba)
                                  for m in TASK_METRICS["classification"]}


def test_numeric_looking_classes_read_back_as_floats_are_matched_to_the_models_classes(moto_world):
    rng = np.random.default_rng(8)
    classes = ["1", "2", "3"]  # a rating kept as text; a labels column with a gap reads as 1.0, 2.0, NaN
    labels = rng.choice(classes[:2], 60).tolist()
    predictions = rng.choice(classes, 60).tolist()
    proba = rng.dirichlet(np.ones(3), 60)
    name = f"ratings-{uuid.uuid4().hex[:6]}"
    version = register(name, "f1_macro", classes, holdout=0.4)
    request_id = capture(name, version, predictions, proba, classes)
    key = upload_labels(name, request_id, [float(v) for v in labels[:-1]] + [None])
    summary = run_performance_check(LabelsRequest(name, key, now=NOW))
    assert summary["matched"] == 59
    assert summary["live"] == sklearn_says("f1_macro", classes, labels[:-1], predictions[:-1], proba[:-1])
    assert summary["metrics"]["log_loss"] == sklearn_says("log_loss", classes, labels[:-1], predictions[:-1],
                                                          proba[:-1])


def test_probability_metrics_are_none_when_a_captured_row_lacks_a_class_probability(moto_world):
    rng = np.random.default_rng(9)
    labels = rng.choice(CLASSES, 40).tolist()
    proba = rng.dirichlet(np.ones(4), 40)
    name = f"gaps-{uuid.uuid4().hex[:6]}"
    version = register(name, "log_loss", CLASSES, holdout=1.0)
    request_id = capture(name, version, labels, proba, [*CLASSES[:3], "unknown"])  # "short" never given
    key = upload_labels(name, request_id, labels)
    summary = run_performance_check(LabelsRequest(name, key, now=NOW))
    assert summary["live"] is None and summary["metrics"]["roc_auc"] is None
    assert summary["metrics"]["accuracy"] == 1.0


def test_yes_no_labels_match_a_model_whose_classes_are_booleans(moto_world):
    """Contract inference types a yes/no column as bool, so the model's classes are False/True while the
    user's labels file says no/yes (as the training file did)."""
    rng = np.random.default_rng(11)
    classes = [False, True]
    truth = rng.choice(classes, 50).tolist()
    predictions = [bool(y) if rng.random() < 0.7 else not y for y in truth]
    proba = rng.dirichlet(np.ones(2), 50)
    name = f"choice-{uuid.uuid4().hex[:6]}"
    version = register(name, "f1", classes, holdout=0.7)
    request_id = capture(name, version, predictions, proba, classes)
    key = upload_labels(name, request_id, ["yes" if y else "no" for y in truth])
    summary = run_performance_check(LabelsRequest(name, key, now=NOW))
    assert summary["matched"] == 50
    assert summary["live"] == sklearn_says("f1", classes, truth, predictions, proba)
    assert summary["status"] in ("ok", "degraded")


def test_enough_labels_but_an_undefined_metric_is_not_computable_not_insufficient_data(moto_world):
    classes = ["a", "b"]
    truth = ["a"] * 40  # one class only: ROC AUC is undefined
    name = f"onecls-{uuid.uuid4().hex[:6]}"
    version = register(name, "roc_auc", classes, holdout=0.8)
    request_id = capture(name, version, truth, np.full((40, 2), 0.5), classes)
    key = upload_labels(name, request_id, truth)
    summary = run_performance_check(LabelsRequest(name, key, now=NOW))
    assert summary["matched"] == 40 and summary["live"] is None
    assert summary["status"] == "not_computable"
