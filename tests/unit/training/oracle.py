"""The oracle of the metric tests: ``sklearn.metrics`` called directly, with the arguments the definition
table in :mod:`chalicelib.core.training.evaluate` names and scikit-learn's defaults otherwise."""

from __future__ import annotations

import math
import warnings

from sklearn import metrics as skm


def _or_none(call) -> float | None:
    """What sklearn says, with "cannot be computed" (an error or NaN) as None."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = float(call())
        except (ValueError, TypeError):
            return None
    return value if math.isfinite(value) else None


def sklearn_says(name: str, classes: list, y, p, proba) -> float | None:
    binary = len(classes) == 2
    per_class = {"f1": skm.f1_score, "precision": skm.precision_score, "recall": skm.recall_score}
    calls = {
        "accuracy": lambda: skm.accuracy_score(y, p),
        "balanced_accuracy": lambda: skm.balanced_accuracy_score(y, p),
        "roc_auc": lambda: (skm.roc_auc_score(y, proba[:, 1]) if binary else skm.roc_auc_score(
            y, proba, multi_class="ovr", average="weighted", labels=classes)),
        "log_loss": lambda: skm.log_loss(y, proba, labels=classes),
        "rmse": lambda: skm.root_mean_squared_error(y, p),
        "mae": lambda: skm.mean_absolute_error(y, p),
        "r2": lambda: skm.r2_score(y, p),
        "mape": lambda: skm.mean_absolute_percentage_error(y, p),
    }
    for stem, fn in per_class.items():
        calls[stem] = ((lambda fn=fn: fn(y, p, pos_label=classes[-1])) if binary
                       else (lambda fn=fn: fn(y, p, average="weighted")))
        calls[f"{stem}_macro"] = lambda fn=fn: fn(y, p, average="macro")
        calls[f"{stem}_weighted"] = lambda fn=fn: fn(y, p, average="weighted")
    if name in ("roc_auc", "log_loss") and (proba is None or not set(y) <= set(classes)):
        return None  # documented: no score column for a label the model does not know
    return _or_none(calls[name])
