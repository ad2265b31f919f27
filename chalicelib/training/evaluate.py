"""Pure: holdout metrics, confusion matrix or residual summary, permutation importance, trivial baseline.

Metrics follow :data:`chalicelib.training.spec.HIGHER_IS_BETTER`. For two classes ``f1``/``precision``/
``recall`` are about the positive class (the last of the sorted classes); for more they are
support-weighted. A metric that cannot be computed (e.g. ROC AUC on a one-class holdout) is ``None``.
"""

from __future__ import annotations

import math
from typing import Any

from chalicelib.training.spec import HIGHER_IS_BETTER

MAX_IMPORTANCE_ROWS = 2000
IMPORTANCE_REPEATS = 3


def metric_directions(names: list[str]) -> dict[str, str]:
    return {n: "higher" if HIGHER_IS_BETTER[n] else "lower" for n in names}


def predict_all(model: Any, X: Any, task: str) -> tuple[Any, Any | None]:
    """Predictions, and class probabilities (columns in ``model.classes_`` order) for classifiers."""
    predictions = model.predict(X)
    proba = model.predict_proba(X) if task == "classification" and hasattr(model, "predict_proba") else None
    return predictions, proba


def compute_metrics(task: str, names: list[str], y_true: Any, y_pred: Any, proba: Any = None,
                    classes: list[Any] | None = None) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for name in names:
        try:
            value = float(_METRICS[name](y_true, y_pred, proba, classes or []))
        except (ValueError, ZeroDivisionError, IndexError, TypeError):
            value = math.nan
        out[name] = None if math.isnan(value) or math.isinf(value) else round(value, 10)
    return out


def _binary(classes: list[Any]) -> dict[str, Any]:
    return {"average": "binary", "pos_label": classes[-1]} if len(classes) == 2 else {"average": "weighted"}


def _accuracy(y, p, proba, classes):
    from sklearn.metrics import accuracy_score

    return accuracy_score(y, p)


def _f1(y, p, proba, classes):
    from sklearn.metrics import f1_score

    return f1_score(y, p, zero_division=0, **_binary(classes))


def _f1_macro(y, p, proba, classes):
    from sklearn.metrics import f1_score

    return f1_score(y, p, average="macro", labels=classes, zero_division=0)


def _precision(y, p, proba, classes):
    from sklearn.metrics import precision_score

    return precision_score(y, p, zero_division=0, **_binary(classes))


def _recall(y, p, proba, classes):
    from sklearn.metrics import recall_score

    return recall_score(y, p, zero_division=0, **_binary(classes))


def _roc_auc(y, p, proba, classes):
    from sklearn.metrics import roc_auc_score

    if proba is None:
        return math.nan
    if len(classes) == 2:
        return roc_auc_score([v == classes[-1] for v in y], proba[:, -1])
    return roc_auc_score(y, proba, multi_class="ovr", average="weighted", labels=classes)


def _log_loss(y, p, proba, classes):
    from sklearn.metrics import log_loss

    return math.nan if proba is None else log_loss(y, proba, labels=classes)


def _rmse(y, p, proba, classes):
    from sklearn.metrics import root_mean_squared_error

    return root_mean_squared_error(y, p)


def _mae(y, p, proba, classes):
    from sklearn.metrics import mean_absolute_error

    return mean_absolute_error(y, p)


def _r2(y, p, proba, classes):
    from sklearn.metrics import r2_score

    return r2_score(y, p)


def _mape(y, p, proba, classes):
    from sklearn.metrics import mean_absolute_percentage_error

    return mean_absolute_percentage_error(y, p)


_METRICS = {"accuracy": _accuracy, "f1": _f1, "f1_macro": _f1_macro, "precision": _precision,
            "recall": _recall, "roc_auc": _roc_auc, "log_loss": _log_loss, "rmse": _rmse, "mae": _mae,
            "r2": _r2, "mape": _mape}


def confusion(y_true: Any, y_pred: Any, classes: list[Any]) -> dict[str, Any]:
    """``{"labels": classes, "matrix": rows = true class, columns = predicted}``."""
    from sklearn.metrics import confusion_matrix

    matrix = confusion_matrix(list(y_true), list(y_pred), labels=classes)
    return {"labels": classes, "matrix": matrix.tolist()}


def residual_summary(y_true: Any, y_pred: Any) -> dict[str, float]:
    import numpy as np

    residuals = np.asarray(y_true, dtype="float64") - np.asarray(y_pred, dtype="float64")
    q = np.quantile(residuals, [0.05, 0.25, 0.5, 0.75, 0.95]) if len(residuals) else [math.nan] * 5
    return {"mean": float(residuals.mean()), "std": float(residuals.std()),
            "mean_abs": float(np.abs(residuals).mean()), "p05": float(q[0]), "p25": float(q[1]),
            "median": float(q[2]), "p75": float(q[3]), "p95": float(q[4]), "count": len(residuals)}


def permutation_importance_summary(model: Any, X: Any, y: Any, task: str, *, seed: int,
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


def baseline_metrics(task: str, names: list[str], y_train: Any, X_test: Any, y_test: Any,
                     classes: list[Any]) -> dict[str, float | None]:
    """Metrics of the trivial model: majority class (classification) or the training mean (regression)."""
    import numpy as np
    from sklearn.dummy import DummyClassifier, DummyRegressor

    dummy = (DummyClassifier(strategy="most_frequent") if task == "classification"
             else DummyRegressor(strategy="mean"))
    dummy.fit(np.zeros((len(y_train), 1)), y_train)
    zeros = np.zeros((len(y_test), 1))
    predictions, proba = predict_all(dummy, zeros, task)
    if proba is not None:
        proba = _align_proba(proba, list(dummy.classes_), classes)
    return compute_metrics(task, names, y_test, predictions, proba, classes)


def _align_proba(proba: Any, have: list[Any], want: list[Any]) -> Any:
    """Probability columns re-ordered (zeros where missing) to the ``want`` class order."""
    import numpy as np

    if have == want:
        return proba
    out = np.zeros((proba.shape[0], len(want)))
    for j, cls in enumerate(have):
        if cls in want:
            out[:, want.index(cls)] = proba[:, j]
    return out


def score_model(model: Any, X: Any, y: Any, task: str, names: list[str],
                classes: list[Any]) -> dict[str, float | None]:
    """Metrics of an already fitted model (e.g. the champion) on the given rows, in ``classes`` order."""
    predictions, proba = predict_all(model, X, task)
    if proba is not None:
        proba = _align_proba(proba, [_plain(c) for c in model.classes_], classes)
    return compute_metrics(task, names, y, predictions, proba, classes)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
