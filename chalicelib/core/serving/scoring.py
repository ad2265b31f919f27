"""Run a fitted pipeline on a feature frame: predictions and, for classifiers, class probabilities.

A scikit-learn ``Pipeline`` is transformed once and its final estimator asked for both ``predict`` and
``predict_proba`` on the transformed rows: the same answers as ``pipeline.predict`` and
``pipeline.predict_proba``, at the cost of one preprocessing pass instead of two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from chalicelib.core.labels import Label

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


@dataclass(frozen=True)
class Scores:
    """Predictions (JSON-safe Python values) and per-class probabilities (None for regressors)."""

    predictions: list[Label]  # class labels, or values for a regressor
    classes: list[Label] | None = None
    probability_matrix: np.ndarray | None = None  # (n, k) in ``classes`` order
    raw: np.ndarray | None = None  # the estimator's prediction array, for columnar outputs

    def probabilities(self) -> list[dict[str, float]] | None:
        """``[{class: p}, ...]`` with class labels as strings (JSON object keys)."""
        if self.classes is None or self.probability_matrix is None:
            return None
        labels = [str(c) for c in self.classes]
        return [dict(zip(labels, row, strict=True)) for row in self.probability_matrix.tolist()]


def score(pipeline: Any, frame: pd.DataFrame) -> Scores:
    # pipeline: a fitted scikit-learn Pipeline or estimator (untyped library)
    """Score every row of ``frame`` (a pandas DataFrame with the version's feature columns)."""
    estimator, rows = _final_step(pipeline, frame)
    if _predict_is_argmax_of_proba(estimator):  # one pass through the trees instead of two
        matrix = estimator.predict_proba(rows)
        raw = estimator.classes_.take(matrix.argmax(axis=1))
        return Scores(raw.tolist(), [_plain(c) for c in estimator.classes_.tolist()], matrix, raw)
    raw = estimator.predict(rows)
    predictions = raw.tolist()  # Python scalars (JSON-safe)
    if not hasattr(estimator, "predict_proba") or not hasattr(estimator, "classes_"):
        return Scores(predictions, raw=raw)
    try:
        matrix = estimator.predict_proba(rows)
    except AttributeError:  # e.g. SVC(probability=False) exposes the method but refuses it
        return Scores(predictions, raw=raw)
    return Scores(predictions, [_plain(c) for c in estimator.classes_.tolist()], matrix, raw)


# scikit-learn classifiers whose ``predict`` is literally ``classes_.take(argmax(predict_proba))``.
_ARGMAX_OF_PROBA = frozenset({"RandomForestClassifier", "ExtraTreesClassifier", "DecisionTreeClassifier",
                              "ExtraTreeClassifier", "HistGradientBoostingClassifier"})


def _predict_is_argmax_of_proba(estimator: Any) -> bool:
    kind = type(estimator)
    classes = getattr(estimator, "classes_", None)
    return (kind.__name__ in _ARGMAX_OF_PROBA and kind.__module__.startswith("sklearn.")
            and classes is not None and getattr(classes, "ndim", 0) == 1)


def _final_step(pipeline: Any, frame: Any) -> tuple[Any, Any]:
    steps = getattr(pipeline, "steps", None)
    if not steps or len(steps) < 2:
        return pipeline, frame
    return pipeline[-1], pipeline[:-1].transform(frame)


def _plain(value: object) -> Label:
    """A class label as its Python scalar (scikit-learn keeps numpy scalars in ``classes_``)."""
    return cast(Label, value.item() if hasattr(value, "item") else value)


def output_columns(pipeline: Any) -> tuple[list[Label] | None, bool]:
    """The classes a classifier predicts (None for a regressor) and whether it gives probabilities."""
    estimator = pipeline.steps[-1][1] if getattr(pipeline, "steps", None) else pipeline
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        return None, False
    labels = [_plain(c) for c in classes.tolist()]
    return labels, hasattr(estimator, "predict_proba")
