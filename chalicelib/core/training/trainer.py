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
from chalicelib.core.training.features import DerivedFeature, Feature, derived_features
from chalicelib.core.training.pipeline import build_pipeline, prepare_frame, split_rows, with_derived
from chalicelib.core.training.spec import TrainingSpec
from chalicelib.core.training.window import FROM_FEEDBACK, INGESTED_AT

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from chalicelib.core.drift.profile import Profile

MIN_ROWS = 10
# Out-of-fold predictions of the training rows (the prediction reference) cost OOF_FOLDS more fits on
# 4/5 of them: affordable up to OOF_MAX_ROWS training rows and while OOF_FOLDS x the fit's own time stays
# within OOF_MAX_SECONDS; beyond, the final model's in-sample predictions are the reference (said so).
OOF_FOLDS = 5
OOF_MAX_ROWS = 50_000
OOF_MAX_SECONDS = 120.0
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
    feature_profile: Profile | None = None  # drift Profile of the features (and date parts), every row
    prediction_profile: Profile | None = None  # drift Profile of "prediction": out-of-fold + holdout
    warnings: list[dict[str, str]] = field(default_factory=list)  # {code, message, ...}: kept in the run
    derived: list[DerivedFeature] = field(default_factory=list)  # the date parts monitoring checks
    prediction_reference: dict[str, Any] = field(default_factory=dict)  # how its reference was made


PREDICTION = "prediction"


def prediction_type(task: str) -> str:
    return "categorical" if task == "classification" else "numeric"


def profile_types(features: list[Feature], derived: list[DerivedFeature] | None = None) -> dict[str, str]:
    """Drift profile type per feature: int/float numeric; string, category and bool categorical; each
    derived date part as :data:`~chalicelib.core.training.features.DATE_PART_KINDS` says.

    A raw date/timestamp is not profiled (its values drift by construction: every day is new); the
    parts the pipeline derives from it are, as the model sees them (``pickup_ts.month``). The metadata
    lists the raw dates as unprofiled.
    """
    types = {f.name: "numeric" if f.kind == "numeric" else "categorical"
             for f in features if f.kind != "date" and f.name != PREDICTION}
    types.update({d.name: d.kind for d in derived or [] if d.name != PREDICTION})
    return types


def reference_profiles(spec: TrainingSpec, features: list[Feature], X: pd.DataFrame,
                       predictions: np.ndarray, build_profile: BuildProfile,
                       derived: list[DerivedFeature] | None = None) -> tuple[Profile, Profile]:
    """Drift ``Profile``s: the profiled features (and derived date parts) of the rows ``X``, and
    ``prediction`` (the model's outputs on those rows), which monitoring adds to the features and judges
    apart."""
    import numpy as np
    import pandas as pd

    types = profile_types(features, derived)
    profile = build_profile(with_derived(X, derived or [])[list(types)], types, seed=spec.seed)
    values = np.asarray(predictions, dtype=object if spec.task == "classification" else "float64")
    outputs = build_profile(pd.DataFrame({PREDICTION: values}), {PREDICTION: prediction_type(spec.task)},
                            seed=spec.seed)
    return profile, outputs


@dataclass
class Holdout:
    """The rows a run learns from and the holdout it is judged on (a seeded split of the spec)."""

    X_train: pd.DataFrame
    y_train: pd.Series
    X_test: pd.DataFrame
    y_test: pd.Series
    rows: dict[str, int]
    notes: list[dict[str, str]]


def holdout_split(spec: TrainingSpec, features: list[Feature], df: pd.DataFrame) -> Holdout:
    """``df``'s rows with a target, split as ``spec`` says; raises :class:`TrainingDataError`. A trained
    run and an imported model are judged on the same holdout of the same data and spec."""
    X, y = prepare_frame(df, spec, features)
    if len(y) < MIN_ROWS:
        raise TrainingDataError(f"only {len(y)} row(s) with a target; at least {MIN_ROWS} are needed")
    kept = df.loc[df[spec.target].notna()].reset_index(drop=True)  # aligned with X and y
    order = kept[[c for c in (spec.split.column, INGESTED_AT) if c and c in kept.columns]]
    notes: list[dict[str, str]] = []
    train_rows, test_rows = split_rows(order, y, spec, notes)
    rows = {"total": len(y), "train": len(train_rows), "holdout": len(test_rows)}
    from_feedback = (kept[FROM_FEEDBACK].fillna(False).astype(bool).to_numpy()
                     if FROM_FEEDBACK in kept.columns else None)
    if from_feedback is not None and from_feedback.any():
        rows.update(train_feedback=int(from_feedback[train_rows].sum()),
                    holdout_feedback=int(from_feedback[test_rows].sum()))
    return Holdout(X.iloc[train_rows], y.iloc[train_rows], X.iloc[test_rows].reset_index(drop=True),
                   y.iloc[test_rows].reset_index(drop=True), rows, notes)


def train(spec: TrainingSpec, features: list[Feature], df: pd.DataFrame, *,
          build_profile: BuildProfile | None = None, importance: bool = True) -> TrainingResult:
    """Fit ``spec`` on ``df`` and evaluate it on the holdout; raises :class:`TrainingDataError`."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    data = holdout_split(spec, features, df)
    classes = _classes(spec, data.y_train, data.y_test, data.notes)
    timings["prepare_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    pipeline = build_pipeline(spec, features)
    try:
        pipeline.fit(data.X_train, data.y_train)
    except ValueError as exc:
        raise TrainingDataError(f"the estimator could not fit the data: {exc}") from exc
    timings["fit_s"] = time.perf_counter() - clock

    def reference(holdout_predictions: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        return reference_predictions(spec, features, pipeline, data.X_train, data.y_train,
                                     holdout_predictions, fit_seconds=timings["fit_s"])

    derived = derived_features(features, list(spec.preprocessing.date_parts))
    return evaluate_fitted(spec, features, pipeline, data, classes, timings, derived=derived,
                           reference=reference if build_profile is not None else None,
                           build_profile=build_profile, importance=importance)


def evaluate_imported(spec: TrainingSpec, features: list[Feature], pipeline: Any, df: pd.DataFrame, *,
                      build_profile: BuildProfile | None = None, importance: bool = True) -> TrainingResult:
    """Judge an already fitted pipeline (an imported model) exactly as :func:`train` judges its own: the
    same split of ``df``, the same metrics, baseline, confusion matrix or residuals, importance and
    reference profiles. Its classes are the pipeline's; its prediction reference is its own predictions
    on every row (it is not refitted: out-of-fold predictions would describe another model)."""
    timings: dict[str, float] = {"fit_s": 0.0}
    clock = time.perf_counter()
    data = holdout_split(spec, features, df)
    classes = (_known_classes(pipeline, data.y_test, data.notes) if spec.task == "classification" else [])
    timings["prepare_s"] = time.perf_counter() - clock

    def reference(holdout_predictions: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        import numpy as np

        in_sample, _ = evaluate.predict_all(pipeline, data.X_train, spec.task)
        how = {"rows": len(data.X_train) + len(holdout_predictions), "training_rows": len(data.X_train),
               "holdout_rows": len(holdout_predictions), "holdout": "imported model", "method": "in_sample",
               "reason": "an imported model is not refitted: its own predictions on every row are the "
                         "reference"}
        return np.concatenate([np.asarray(in_sample, dtype=object),
                               np.asarray(holdout_predictions, dtype=object)]), how

    return evaluate_fitted(spec, features, pipeline, data, classes, timings, derived=[],
                           reference=reference if build_profile is not None else None,
                           build_profile=build_profile, importance=importance)


def evaluate_fitted(spec: TrainingSpec, features: list[Feature], pipeline: Any, data: Holdout,
                    classes: list[Label], timings: dict[str, float], *, derived: list[DerivedFeature],
                    reference: Callable[[np.ndarray], tuple[np.ndarray, dict[str, Any]]] | None,
                    build_profile: BuildProfile | None, importance: bool) -> TrainingResult:
    """The holdout metrics, detail, baseline and importance of a fitted ``pipeline`` and, with
    ``build_profile``, the reference profiles (``reference`` gives the prediction reference)."""
    clock = time.perf_counter()
    X_test, y_test = data.X_test, data.y_test
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
    baseline = evaluate.baseline_metrics(spec.task, names, data.y_train, X_test, y_test, classes)
    timings["evaluate_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    ranked = (evaluate.permutation_importance_summary(pipeline, X_test, y_test, spec.task, seed=spec.seed)
              if importance else [])
    timings["importance_s"] = time.perf_counter() - clock

    result = TrainingResult(pipeline, features, classes, metrics, baseline,
                            {"confusion_matrix" if spec.task == "classification" else "residuals": detail},
                            ranked, X_test, y_test, dict(data.rows), timings, warnings=data.notes,
                            derived=derived)
    if build_profile is not None and reference is not None:
        clock = time.perf_counter()
        import pandas as pd

        predicted, how = reference(predictions)
        result.prediction_reference = how
        X_all = pd.concat([data.X_train, X_test], ignore_index=True)
        result.feature_profile, result.prediction_profile = reference_profiles(
            spec, features, X_all, predicted, build_profile, result.derived)
        timings["profile_s"] = time.perf_counter() - clock
    return result


def reference_predictions(spec: TrainingSpec, features: list[Feature], fitted: Any, X_train: pd.DataFrame,
                          y_train: pd.Series, holdout_predictions: np.ndarray, *, fit_seconds: float = 0.0,
                          folds: int = OOF_FOLDS) -> tuple[np.ndarray, dict[str, Any]]:
    """The prediction reference: a prediction for every row, each from a model that did not see it.

    The training rows get out-of-fold predictions (``cross_val_predict`` of the same unfitted pipeline
    over ``folds`` shuffled folds of the seed; stratified for classification when every class has
    ``folds`` rows), the holdout rows the final model's predictions. When that is not affordable
    (:data:`OOF_MAX_ROWS`, :data:`OOF_MAX_SECONDS`) or a fold cannot be fitted (a class missing from a
    fold's training part), the final model's in-sample predictions of the training rows stand in; the
    returned description says which (``method``: ``out_of_fold`` | ``in_sample``) and why.
    """
    import numpy as np
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict

    n = len(X_train)
    how: dict[str, Any] = {"rows": n + len(holdout_predictions), "training_rows": n,
                           "holdout_rows": len(holdout_predictions), "holdout": "final model"}
    reason = None
    if n > OOF_MAX_ROWS:
        reason = f"{n} training rows: out-of-fold predictions are made up to {OOF_MAX_ROWS}"
    elif fit_seconds * folds > OOF_MAX_SECONDS:
        reason = (f"one fit took {fit_seconds:.1f} s: {folds} more would pass the {OOF_MAX_SECONDS:g} s "
                  "budget")
    elif n < 2 * folds:
        reason = f"{n} training rows are too few for {folds} folds"
    if reason is None:
        counts = y_train.value_counts() if spec.task == "classification" else None
        stratify = counts is not None and int(counts.min()) >= folds
        cv = (StratifiedKFold(folds, shuffle=True, random_state=spec.seed) if stratify
              else KFold(folds, shuffle=True, random_state=spec.seed))
        try:
            oof = cross_val_predict(build_pipeline(spec, features), X_train, y_train, cv=cv)
        except ValueError as exc:
            reason = f"a fold could not be fitted ({type(exc).__name__})"
        else:
            how.update(method="out_of_fold", folds=folds, cv=type(cv).__name__, seed=spec.seed)
            return np.concatenate([np.asarray(oof, dtype=object), np.asarray(holdout_predictions,
                                                                             dtype=object)]), how
    how.update(method="in_sample", reason=reason)
    from chalicelib.core.training import evaluate

    in_sample, _ = evaluate.predict_all(fitted, X_train, spec.task)
    return np.concatenate([np.asarray(in_sample, dtype=object),
                           np.asarray(holdout_predictions, dtype=object)]), how


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


def _known_classes(pipeline: Any, y_test: pd.Series, notes: list[dict[str, str]]) -> list[Label]:
    """An imported classifier's classes (``classes_``, sorted as a trained run sorts its own); holdout
    rows of other classes are noted as a trained run notes them."""
    classes = sorted({_plain(c) for c in getattr(pipeline, "classes_", [])}, key=_sort_key)
    unseen_rows = int(sum(v not in set(classes) for v in y_test))
    if unseen_rows:
        notes.append({"code": "holdout_classes_unseen",
                      "message": f"{unseen_rows} holdout row(s) belong to classes the imported model does "
                                 "not predict: they count as errors and roc_auc/log_loss cannot be computed"})
    return classes


def _sort_key(value: object) -> tuple[str, Any]:  # labels of one type compare; across types by type
    return (type(value).__name__, value)


def _plain(value: object) -> Label:
    """A class label as its Python scalar (scikit-learn keeps numpy scalars in ``classes_``)."""
    return cast(Label, value.item() if hasattr(value, "item") else value)
