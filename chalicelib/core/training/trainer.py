"""Pure: one training run's compute — split, fit, evaluate, explain, baseline, reference profiles.

No I/O: the service hands in the curated frame and stores what comes out. The same spec, data and
seed give the same metrics (seeded split, seeded estimator, seeded importance and profile samples).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from chalicelib.core.labels import Label
from chalicelib.core.training import evaluate
from chalicelib.core.training.errors import TrainingDataError
from chalicelib.core.training.features import Feature
from chalicelib.core.training.pipeline import build_pipeline, prepare_frame, split_rows
from chalicelib.core.training.spec import TrainingSpec

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from chalicelib.core.drift.profile import Profile

MIN_ROWS = 10
# chalicelib.core.drift.profile.build_profile, handed in (training does not import drift)
BuildProfile = Callable[..., "Profile"]


@dataclass
class TrainingResult:
    pipeline: Any  # the fitted scikit-learn Pipeline (untyped library)
    features: list[Feature]
    classes: list[Label]  # the labels (JSON scalars), sorted
    metrics: dict[str, float | None]
    baseline: dict[str, float | None]
    evaluation: dict[str, Any]  # confusion matrix or residual summary
    importance: list[dict[str, Any]]
    X_test: pd.DataFrame
    y_test: pd.Series
    rows: dict[str, int]
    timings: dict[str, float] = field(default_factory=dict)
    feature_profile: Profile | None = None  # drift Profile of the features on the training rows
    prediction_profile: Profile | None = None  # drift Profile of "prediction" on the holdout rows
    warnings: list[dict[str, str]] = field(default_factory=list)  # {code, message, ...}: kept in the run


PREDICTION = "prediction"


def prediction_type(task: str) -> str:
    return "categorical" if task == "classification" else "numeric"


def profile_types(features: list[Feature]) -> dict[str, str]:
    """Drift profile type per feature: int/float numeric; string, category and bool categorical.

    Dates/timestamps are not profiled (their raw values drift by construction); the metadata lists them
    as unprofiled.
    """
    return {f.name: "numeric" if f.kind == "numeric" else "categorical"
            for f in features if f.kind != "date" and f.name != PREDICTION}


def reference_profiles(spec: TrainingSpec, features: list[Feature], X_train: pd.DataFrame,
                       predictions: np.ndarray, build_profile: BuildProfile) -> tuple[Profile, Profile]:
    """Drift ``Profile``s: the profiled features on the training rows, and ``prediction`` (the model's
    outputs on the holdout), which monitoring adds to the features and judges apart."""
    import numpy as np
    import pandas as pd

    types = profile_types(features)
    profile = build_profile(X_train[list(types)], types, seed=spec.seed)
    values = np.asarray(predictions, dtype=object if spec.task == "classification" else "float64")
    outputs = build_profile(pd.DataFrame({PREDICTION: values}), {PREDICTION: prediction_type(spec.task)},
                            seed=spec.seed)
    return profile, outputs


def train(spec: TrainingSpec, features: list[Feature], df: pd.DataFrame, *,
          build_profile: BuildProfile | None = None, importance: bool = True) -> TrainingResult:
    """Fit ``spec`` on ``df`` and evaluate it on the holdout; raises :class:`TrainingDataError`."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    X, y = prepare_frame(df, spec, features)
    if len(y) < MIN_ROWS:
        raise TrainingDataError(f"only {len(y)} row(s) with a target; at least {MIN_ROWS} are needed")
    order = (df.loc[df[spec.target].notna(), [spec.split.column]].reset_index(drop=True)
             if spec.split.column else None)  # only a time split needs more than the target
    notes: list[dict[str, str]] = []
    train_rows, test_rows = split_rows(order, y, spec, notes)
    X_train, y_train = X.iloc[train_rows], y.iloc[train_rows]
    X_test, y_test = X.iloc[test_rows].reset_index(drop=True), y.iloc[test_rows].reset_index(drop=True)
    classes = _classes(spec, y_train, y_test, notes)
    timings["prepare_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    pipeline = build_pipeline(spec, features)
    try:
        pipeline.fit(X_train, y_train)
    except ValueError as exc:
        raise TrainingDataError(f"the estimator could not fit the data: {exc}") from exc
    timings["fit_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    names = spec.metric_names()
    predictions, proba = evaluate.predict_all(pipeline, X_test, spec.task)
    if proba is not None:
        proba = evaluate.align_proba(proba, [_plain(c) for c in pipeline.classes_], classes)
    metrics = evaluate.compute_metrics(spec.task, names, y_test, predictions, proba, classes)
    detail: evaluate.Confusion | dict[str, float]
    if spec.task == "classification":  # holdout-only classes get their row too: no row disappears
        extra = sorted({*y_test.tolist()} - set(classes), key=_sort_key)
        detail = evaluate.confusion(y_test, predictions, classes + extra)
    else:
        detail = evaluate.residual_summary(y_test, predictions)
    baseline = evaluate.baseline_metrics(spec.task, names, y_train, X_test, y_test, classes)
    timings["evaluate_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    ranked = (evaluate.permutation_importance_summary(pipeline, X_test, y_test, spec.task, seed=spec.seed)
              if importance else [])
    timings["importance_s"] = time.perf_counter() - clock

    result = TrainingResult(pipeline, features, classes, metrics, baseline,
                            {"confusion_matrix" if spec.task == "classification" else "residuals": detail},
                            ranked, X_test, y_test,
                            {"total": len(y), "train": len(train_rows), "holdout": len(test_rows)}, timings,
                            warnings=notes)
    if build_profile is not None:
        clock = time.perf_counter()
        result.feature_profile, result.prediction_profile = reference_profiles(
            spec, features, X_train, predictions, build_profile)
        timings["profile_s"] = time.perf_counter() - clock
    return result


def _classes(spec: TrainingSpec, y_train: pd.Series, y_test: pd.Series, notes: list[dict[str, str]]
             ) -> list[Label]:
    """The model's classes (sorted training classes); holdout-only classes are noted, not fatal: those
    rows count as errors and the probability metrics cannot be computed (they are ``None``)."""
    if spec.task != "classification":
        return []
    classes = sorted({*y_train.unique().tolist()}, key=_sort_key)
    if len(classes) < 2:
        raise TrainingDataError(f"the training rows hold one class only ({classes!r}); need two or more")
    known = set(classes)
    unseen_rows = int(sum(v not in known for v in y_test))
    if unseen_rows:
        unseen = len({v for v in y_test if v not in known})
        notes.append({"code": "holdout_classes_unseen",
                      "message": f"{unseen_rows} holdout row(s) belong to {unseen} class(es) absent from the "
                                 "training rows: the model cannot predict them (they count as errors) and "
                                 "roc_auc/log_loss cannot be computed"})
    return classes


def _sort_key(value: object) -> tuple[str, Any]:  # labels of one type compare; across types by type
    return (type(value).__name__, value)


def _plain(value: object) -> Label:
    """A class label as its Python scalar (scikit-learn keeps numpy scalars in ``classes_``)."""
    return cast(Label, value.item() if hasattr(value, "item") else value)
