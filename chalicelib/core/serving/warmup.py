"""The predict path, imported and run once before the first request (the API function's init).

A fitted pipeline is a pickle: ``joblib.load`` imports the modules of every class in it, and the first
``transform``/``predict`` pays one-time costs of its own (pandas' and scikit-learn's lazy imports,
validation set-up, thread pools). :func:`warm_up` pays them at init: it imports the modules every
allow-listed estimator and training's preprocessing live in, builds training's own pipeline
(``build_pipeline``: one feature of every contract type), fits it on a few in-memory rows, round-trips it
through ``joblib`` like an artifact and scores rows built by :func:`~chalicelib.core.serving.frame.
frame_from_rows`, the real-time path's frame. With Lambda SnapStart all of this is in the snapshot.

scikit-learn 1.9 imports ``scipy.stats`` (0.6 s of the 1.5 s of imports) with ``sklearn.base`` itself
(``sklearn.utils.fixes`` imports it at module level): no fitted pipeline loads without it, so it cannot
be cut from the predict path, only moved to init.

Nothing here reads or writes anything outside the process.
"""

from __future__ import annotations

import importlib
import io
import time
from typing import Any

from chalicelib.core.training.estimators import ALLOWED

# What unpickling a fitted sluice pipeline imports (training's pipeline module: its transformers are
# module-level functions pickled by reference), and what scoring and the frame need.
BASE_MODULES = ("numpy", "pandas", "joblib", "sklearn.pipeline", "sklearn.compose", "sklearn.impute",
                "sklearn.preprocessing", "chalicelib.core.training.pipeline",
                "chalicelib.core.serving.frame", "chalicelib.core.serving.scoring")

# One feature of every contract type the serving schema accepts.
WARM_FEATURES = ({"name": "count", "type": "int"}, {"name": "amount", "type": "float"},
                 {"name": "plan", "type": "category"}, {"name": "active", "type": "bool"},
                 {"name": "since", "type": "date"})
# Estimators fitted at warm-up: a linear model, a forest (joblib threads in predict_proba) and a
# histogram booster (OpenMP): between them, the one-time costs of every allow-listed family.
WARM_ESTIMATORS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("LogisticRegression", {}), ("RandomForestClassifier", {"n_estimators": 2}),
    ("HistGradientBoostingClassifier", {"max_iter": 2}))


def predict_modules() -> tuple[str, ...]:
    """Every module a first prediction may import: the base set and each allow-listed estimator's."""
    return BASE_MODULES + tuple(sorted({allowed.module for allowed in ALLOWED.values()}))


def import_predict_modules() -> None:
    for name in predict_modules():
        importlib.import_module(name)


def warm_rows(n: int = 12) -> list[dict[str, Any]]:
    """Checked, typed rows (what ``check_records`` hands ``frame_from_rows``), both classes present."""
    return [{"count": i, "amount": 1.5 * i, "plan": ("basic", "pro", None)[i % 3], "active": i % 2 == 0,
             "since": f"2024-0{1 + i % 9}-1{i % 10}", "label": i % 2} for i in range(n)]


def warm_up() -> dict[str, float]:
    """Import the predict path and run it end to end on in-memory models; seconds per step."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    import_predict_modules()
    timings["imports"] = time.perf_counter() - started
    started = time.perf_counter()
    for name, params in WARM_ESTIMATORS:
        _score_once(name, params)
    timings["warm_up"] = time.perf_counter() - started
    return timings


def _score_once(estimator: str, params: dict[str, Any]) -> None:
    import joblib
    import pandas as pd

    from chalicelib.core.serving.frame import frame_from_rows
    from chalicelib.core.serving.schema import features_from_metadata
    from chalicelib.core.serving.scoring import score
    from chalicelib.core.training.features import Feature
    from chalicelib.core.training.pipeline import build_pipeline
    from chalicelib.core.training.spec import TrainingSpec

    names = [f["name"] for f in WARM_FEATURES]
    spec = TrainingSpec.model_validate({"dataset": "warm-up", "target": "label", "features": names,
                                        "task": "classification",
                                        "estimator": {"name": estimator, "params": params}})
    features = features_from_metadata({"features": list(WARM_FEATURES)})
    rows = warm_rows()
    train = frame_from_rows(rows, features)
    pipeline = build_pipeline(spec, [Feature(f["name"], f["type"]) for f in WARM_FEATURES])
    pipeline.fit(train, pd.Series([row["label"] for row in rows]))
    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer)
    loaded = joblib.load(io.BytesIO(buffer.getvalue()))
    scores = score(loaded, frame_from_rows(rows[:1], features))
    scores.probabilities()
