"""Pure: holdout metrics, confusion matrix or residual summary, permutation importance, trivial baseline.

Every metric is the scikit-learn call below on the same ``y_true``/``y_pred`` (``proba``: the
probability columns in the model's ``classes`` order), nothing else. ``classes`` are the model's
classes (its training classes, sorted); "binary" means the model has two, and its positive class
``pos`` is the last of them (``1`` of 0/1, ``True`` of booleans, ``"yes"`` of no/yes).

===================== =====================================================================================
name                  ``sklearn.metrics`` call
===================== =====================================================================================
accuracy              ``accuracy_score(y_true, y_pred)``
balanced_accuracy     ``balanced_accuracy_score(y_true, y_pred)``
f1                    binary: ``f1_score(y_true, y_pred, average="binary", pos_label=pos, zero_division=0)``;
                      more classes: the same as ``f1_weighted`` (MLflow's convention; kept as an alias
                      because specs and stored runs already use the name — say ``f1_weighted`` to be plain)
f1_macro              ``f1_score(y_true, y_pred, average="macro", zero_division=0)``
f1_weighted           ``f1_score(y_true, y_pred, average="weighted", zero_division=0)``
precision             like ``f1`` with ``precision_score``
precision_macro       ``precision_score(y_true, y_pred, average="macro", zero_division=0)``
precision_weighted    ``precision_score(y_true, y_pred, average="weighted", zero_division=0)``
recall                like ``f1`` with ``recall_score``
recall_macro          ``recall_score(y_true, y_pred, average="macro", zero_division=0)``
recall_weighted       ``recall_score(y_true, y_pred, average="weighted", zero_division=0)``
roc_auc               binary: ``roc_auc_score(y_true, proba[:, 1])``; more classes:
                      ``roc_auc_score(y_true, proba, multi_class="ovr", average="weighted", labels=classes)``
log_loss              ``log_loss(y_true, proba, labels=classes)``
rmse                  ``root_mean_squared_error(y_true, y_pred)``
mae                   ``mean_absolute_error(y_true, y_pred)``
r2                    ``r2_score(y_true, y_pred)``
mape                  ``mean_absolute_percentage_error(y_true, y_pred)`` (a fraction, not per cent)
===================== =====================================================================================

Macro and weighted averages run over the labels present in ``y_true`` or ``y_pred`` (scikit-learn's
default), never over training classes absent from both. ``zero_division=0`` is the value
scikit-learn's default (``"warn"``) gives, without the warning. Values are the floats sklearn returns,
unrounded.

A metric that cannot be computed is ``None``: scikit-learn raises or returns NaN (ROC AUC with one
class in ``y_true``, R² of one row, ``average="binary"`` on three labels...), there are no
probabilities, or ``y_true`` holds a label the model has no probability column for (``roc_auc``,
``log_loss``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypedDict, cast

from chalicelib.core.labels import Label
from chalicelib.core.training.spec import HIGHER_IS_BETTER

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

# One label (or value) per row: a pandas Series, a numpy array, or a list (live metrics' joined rows).
type Labels = pd.Series | np.ndarray | Sequence[object]

MAX_IMPORTANCE_ROWS = 2000
IMPORTANCE_REPEATS = 3


def metric_directions(names: list[str]) -> dict[str, str]:
    return {n: "higher" if HIGHER_IS_BETTER[n] else "lower" for n in names}


def predict_all(model: Any, X: pd.DataFrame | np.ndarray, task: str) -> tuple[np.ndarray, np.ndarray | None]:
    # model: a fitted scikit-learn estimator (untyped library)
    """Predictions, and class probabilities (columns in ``model.classes_`` order) for classifiers."""
    predictions = model.predict(X)
    proba = model.predict_proba(X) if task == "classification" and hasattr(model, "predict_proba") else None
    return predictions, proba


def compute_metrics(task: str, names: list[str], y_true: Labels, y_pred: Labels,
                    proba: np.ndarray | None = None, classes: list[Label] | None = None
                    ) -> dict[str, float | None]:
    """``{name: value}`` per the table above; ``None`` where the metric cannot be computed."""
    out: dict[str, float | None] = {}
    classes = list(classes or [])
    for name in names:
        with warnings.catch_warnings():  # undefined cases come back as NaN or an error: None below
            warnings.simplefilter("ignore")
            try:
                value = float(_METRICS[name](y_true, y_pred, proba, classes))
            except (ValueError, ZeroDivisionError, IndexError, TypeError):
                value = math.nan
        out[name] = value if math.isfinite(value) else None
    return out


def _per_class(stem: str) -> Callable[..., float]:
    """``f1``/``precision``/``recall``: the positive class for a binary model, else support-weighted."""

    def metric(y: Labels, p: Labels, proba: np.ndarray | None, classes: list[Label]) -> float:
        score: float
        if len(classes) == 2:
            score = _SCORES[stem]()(y, p, average="binary", pos_label=classes[-1], zero_division=0)
        else:
            score = _SCORES[stem]()(y, p, average="weighted", zero_division=0)
        return score

    return metric


def _averaged(stem: str, average: str) -> Callable[..., float]:
    def metric(y: Labels, p: Labels, proba: np.ndarray | None, classes: list[Label]) -> float:
        score: float = _SCORES[stem]()(y, p, average=average, zero_division=0)
        return score

    return metric


def _sklearn(name: str) -> Callable[[], Any]:
    def load() -> Any:
        import sklearn.metrics

        return getattr(sklearn.metrics, name)

    return load


_SCORES = {"f1": _sklearn("f1_score"), "precision": _sklearn("precision_score"),
           "recall": _sklearn("recall_score")}


def _call(name: str) -> Callable[..., float]:
    def metric(y: Labels, p: Labels, proba: np.ndarray | None, classes: list[Label]) -> float:
        score: float = _sklearn(name)()(y, p)
        return score

    return metric


def _scorable(y: Labels, proba: np.ndarray | None, classes: list[Label]) -> bool:
    """Probabilities exist and every true label has a column (else the score would mean another thing)."""
    if proba is None or not classes:
        return False
    known = set(classes)
    return all(v in known for v in y)


def _roc_auc(y: Labels, p: Labels, proba: np.ndarray | None, classes: list[Label]) -> float:
    from sklearn.metrics import roc_auc_score

    if proba is None or not _scorable(y, proba, classes):
        return math.nan
    score: float
    if len(classes) == 2:
        score = roc_auc_score(y, proba[:, 1])
    else:
        score = roc_auc_score(y, proba, multi_class="ovr", average="weighted", labels=classes)
    return score


def _log_loss(y: Labels, p: Labels, proba: np.ndarray | None, classes: list[Label]) -> float:
    from sklearn.metrics import log_loss

    return log_loss(y, proba, labels=classes) if _scorable(y, proba, classes) else math.nan


_METRICS: dict[str, Callable[..., float]] = {
    "accuracy": _call("accuracy_score"),
    "balanced_accuracy": _call("balanced_accuracy_score"),
    **{stem: _per_class(stem) for stem in _SCORES},
    **{f"{stem}_{avg}": _averaged(stem, avg) for stem in _SCORES for avg in ("macro", "weighted")},
    "roc_auc": _roc_auc, "log_loss": _log_loss,
    "rmse": _call("root_mean_squared_error"), "mae": _call("mean_absolute_error"),
    "r2": _call("r2_score"), "mape": _call("mean_absolute_percentage_error"),
}


class Confusion(TypedDict):
    labels: list[Label]  # the classes
    matrix: list[list[int]]  # rows: true class, columns: predicted


def confusion(y_true: Labels, y_pred: Labels, classes: list[Label]) -> Confusion:
    """``{"labels": classes, "matrix": rows = true class, columns = predicted}``."""
    from sklearn.metrics import confusion_matrix

    matrix = confusion_matrix(list(y_true), list(y_pred), labels=classes)
    return {"labels": classes, "matrix": matrix.tolist()}


def residual_summary(y_true: Labels, y_pred: Labels) -> dict[str, float]:
    import numpy as np

    residuals = np.asarray(y_true, dtype="float64") - np.asarray(y_pred, dtype="float64")
    q = np.quantile(residuals, [0.05, 0.25, 0.5, 0.75, 0.95]) if len(residuals) else [math.nan] * 5
    return {"mean": float(residuals.mean()), "std": float(residuals.std()),
            "mean_abs": float(np.abs(residuals).mean()), "p05": float(q[0]), "p25": float(q[1]),
            "median": float(q[2]), "p75": float(q[3]), "p95": float(q[4]), "count": len(residuals)}


def permutation_importance_summary(model: Any, X: pd.DataFrame, y: pd.Series, task: str, *, seed: int,
                                   max_rows: int = MAX_IMPORTANCE_ROWS,
                                   repeats: int = IMPORTANCE_REPEATS) -> list[dict[str, Any]]:
    """Mean/std drop of the default score when a raw feature column is shuffled, largest first.

    Bounded: at most ``max_rows`` holdout rows (a seeded sample) and ``repeats`` shuffles per column.
    """
    import numpy as np
    from sklearn.inspection import permutation_importance

    if len(X) > max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(len(X), size=max_rows, replace=False))
        X, y = X.iloc[rows], y.iloc[rows]
    from threadpoolctl import threadpool_limits

    scoring = "accuracy" if task == "classification" else "r2"
    with threadpool_limits(limits=1):  # many predictions on few rows: thread start-up would dominate
        result = permutation_importance(model, X, y, scoring=scoring, n_repeats=repeats, random_state=seed)
    ranked = sorted(zip(X.columns, result.importances_mean, result.importances_std, strict=True),
                    key=lambda t: -t[1])
    return [{"feature": str(n), "importance": round(float(m), 10), "std": round(float(s), 10)}
            for n, m, s in ranked]


def baseline_metrics(task: str, names: list[str], y_train: pd.Series, X_test: pd.DataFrame, y_test: pd.Series,
                     classes: list[Label]) -> dict[str, float | None]:
    """Metrics of the trivial model, fitted on the training rows.

    Classification: ``DummyClassifier(strategy="prior")`` — it predicts the most frequent training
    class (the first in sorted order on a tie) and gives every row the training class frequencies as
    probabilities, so ``log_loss`` is the entropy of the prior, not the penalty of a certain guess.
    Regression: ``DummyRegressor(strategy="mean")``, the training mean.
    """
    import numpy as np
    from sklearn.dummy import DummyClassifier, DummyRegressor

    dummy = (DummyClassifier(strategy="prior") if task == "classification"
             else DummyRegressor(strategy="mean"))
    dummy.fit(np.zeros((len(y_train), 1)), y_train)
    zeros = np.zeros((len(y_test), 1))
    predictions, proba = predict_all(dummy, zeros, task)
    if proba is not None:
        proba = align_proba(proba, [_plain(c) for c in dummy.classes_], classes)
    return compute_metrics(task, names, y_test, predictions, proba, classes)


def align_proba(proba: np.ndarray, have: list[Label], want: list[Label]) -> np.ndarray | None:
    """Probability columns in the ``want`` class order; zeros for a class the model never saw (it gives
    that class no probability). None when the model has a class outside ``want``: dropping its
    column would score probabilities that no longer sum to one."""
    import numpy as np

    if have == want:
        return proba
    if not set(have) <= set(want):
        return None
    out = np.zeros((proba.shape[0], len(want)))
    for j, cls in enumerate(have):
        out[:, want.index(cls)] = proba[:, j]
    return out


def score_model(model: Any, X: pd.DataFrame, y: pd.Series, task: str, names: list[str],
                classes: list[Label]) -> dict[str, float | None]:
    """Metrics of an already fitted model (e.g. the champion) on the given rows, in ``classes`` order."""
    predictions, proba = predict_all(model, X, task)
    if proba is not None:
        proba = align_proba(proba, [_plain(c) for c in model.classes_], classes)
    return compute_metrics(task, names, y, predictions, proba, classes)


def _plain(value: object) -> Label:
    """A class label as its Python scalar (scikit-learn keeps numpy scalars in ``classes_``)."""
    return cast(Label, value.item() if hasattr(value, "item") else value)
