"""The references sluice's verdicts are held to, built only from scikit-learn, scipy and pandas.

Nothing here imports sluice's training code: the bare pipeline follows the preprocessing *documented*
in ``chalicelib/training/pipeline.py`` (numbers: median imputation + standard scaling; text and
categories: most-frequent imputation + one-hot, unknown ignored, at most ``max_categories``; dates:
their parts, median-imputed and scaled), with the transformers in that documented order (numeric,
categorical, date), fitted on the same training rows, scored with ``sklearn.metrics`` on the same
holdout rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

NUMERIC = ("int", "float")
CATEGORICAL = ("string", "category")
DATES = ("date", "timestamp")
DATE_PARTS = ("year", "month", "day", "dayofweek", "hour")  # the spec's default
MAX_CATEGORIES = 50  # the spec's default
MAX_SAMPLE = 1000  # drift profiles keep every value up to this many
LARGE_SAMPLE = 1000  # up to this many values the drift detectors run KS / chi-square


TRUE_TEXT = ("true", "yes", "t", "y")  # what sluice documents as bool text (any case)
FALSE_TEXT = ("false", "no", "f", "n")


def expected_type(column: pd.Series) -> tuple[str, ...]:
    """The contract types that describe a column of the source table (what inference should find)."""
    if column.isna().all():
        return ("string", "int", "float", "bool", "category", "date", "timestamp")  # nothing to tell by
    textual = column.dtype == object or pd.api.types.is_string_dtype(column)
    text = {str(v).lower() for v in column.dropna().unique()} if textual else set()
    if text and text <= {*TRUE_TEXT, *FALSE_TEXT}:
        return ("bool", *CATEGORICAL)  # yes/no text: documented as bool
    if pd.api.types.is_bool_dtype(column):
        return ("bool",)
    if pd.api.types.is_integer_dtype(column):
        return ("int",)
    if pd.api.types.is_float_dtype(column):
        return ("float",)
    if pd.api.types.is_datetime64_any_dtype(column):
        return ("timestamp",)
    non_null = column.dropna()
    if len(non_null) and all(type(v).__name__ == "date" for v in non_null):
        return ("date",)
    return CATEGORICAL


def typed_target(values: pd.Series, contract_type: str) -> pd.Series:
    """The target as the contract types it: numbers stay numbers, bool text becomes True/False."""
    if contract_type != "bool" or pd.api.types.is_bool_dtype(values):
        return values
    return values.map(lambda v: None if _missing(v) else str(v).lower() in TRUE_TEXT)


def drop_missing_target(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    """The rows a model can learn from (a missing target teaches nothing), positions renumbered."""
    return frame.loc[frame[target].notna()].reset_index(drop=True)


def split_positions(frame: pd.DataFrame, spec: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Train and holdout row positions of ``frame`` (rows with a target) under the spec's split.

    random / stratified: ``train_test_split`` on the positions with the spec's seed (stratified on the
    target); time: the latest ``test_size`` share of rows by the split column is the holdout.
    """
    from sklearn.model_selection import train_test_split

    split = spec["split"]
    positions = np.arange(len(frame))
    if split["method"] == "time":
        stamps = pd.to_datetime(frame[split["column"]]).to_numpy(dtype="datetime64[ns]")
        order = np.argsort(stamps, kind="stable")
        n_test = max(1, round(len(order) * split["test_size"]))
        return np.sort(order[:-n_test]), np.sort(order[-n_test:])
    stratify = frame[spec["target"]].to_numpy() if split["method"] == "stratified" else None
    train, test = train_test_split(positions, test_size=split["test_size"], random_state=spec["seed"],
                                   stratify=stratify)
    return np.asarray(train), np.asarray(test)


def feature_names(frame: pd.DataFrame, spec: dict[str, Any]) -> list[str]:
    """``all_except``: every column but the target, the listed ones and the time-split column."""
    skip = {spec["target"], *spec["features"]["all_except"], spec["split"].get("column")}
    return [c for c in frame.columns if c not in skip]


@dataclass
class Design:
    """Feature columns grouped by the preprocessing they get."""

    numeric: list[str]
    categorical: list[str]
    dates: list[str]

    @classmethod
    def from_types(cls, names: list[str], types: dict[str, str]) -> Design:
        unknown = [n for n in names if types[n] not in (*NUMERIC, *CATEGORICAL, *DATES)]
        assert not unknown, f"no reference preprocessing for {unknown}"  # bool: none in the corpus
        return cls([n for n in names if types[n] in NUMERIC],
                    [n for n in names if types[n] in CATEGORICAL],
                    [n for n in names if types[n] in DATES])

    def matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The raw inputs as plain columns: numbers as float64, text as objects (NaN when missing), each
        date as its parts (UTC calendar fields, NaN when missing)."""
        out = pd.DataFrame(index=frame.index)
        for name in self.numeric:
            out[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
        for name in self.categorical:
            out[name] = frame[name].map(lambda v: np.nan if _missing(v) else str(v)).astype(object)
        for name in self.dates:
            stamps = pd.to_datetime(frame[name], utc=True)
            for part in DATE_PARTS:
                out[f"{name}:{part}"] = getattr(stamps.dt, part).astype("float64")
        return out

    def pipeline(self, estimator: Any) -> Any:
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        blocks = []
        if self.numeric:
            blocks.append(("numeric", Pipeline([("impute", SimpleImputer(strategy="median")),
                                                ("scale", StandardScaler())]), self.numeric))
        if self.categorical:
            blocks.append(("categorical", Pipeline([
                ("impute", SimpleImputer(strategy="most_frequent")),
                ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False,
                                         max_categories=MAX_CATEGORIES))]), self.categorical))
        if self.dates:
            parts = [f"{n}:{p}" for n in self.dates for p in DATE_PARTS]
            blocks.append(("date", Pipeline([("impute", SimpleImputer(strategy="median")),
                                             ("scale", StandardScaler())]), parts))
        return Pipeline([("preprocess", ColumnTransformer(blocks, sparse_threshold=0.0)),
                         ("estimator", estimator)])


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def estimator(spec: dict[str, Any]) -> Any:
    """The spec's estimator straight from scikit-learn, seeded where it takes a seed."""
    import importlib

    modules = ("sklearn.linear_model", "sklearn.ensemble", "sklearn.tree", "sklearn.neighbors")
    name = spec["estimator"]["name"]
    cls = next(getattr(m, name) for m in map(importlib.import_module, modules) if hasattr(m, name))
    model = cls(**spec["estimator"]["params"])
    if "random_state" in model.get_params():
        model.set_params(random_state=spec["seed"])
    return model


# ---- metrics --------------------------------------------------------------------------------------
# Each metric as scikit-learn computes it. f1/precision/recall: the positive class (the last of the
# sorted classes) for two classes, support-weighted for more, as sluice documents; f1_macro and
# balanced_accuracy: scikit-learn's defaults (the labels present in y_true or y_pred).


def _binary_or_weighted(classes: list[Any]) -> dict[str, Any]:
    return {"average": "binary", "pos_label": classes[-1]} if len(classes) == 2 else {"average": "weighted"}


def _roc_auc(y: Any, p: Any, proba: Any, classes: list[Any]) -> float:
    from sklearn.metrics import roc_auc_score

    if len(classes) == 2:
        return roc_auc_score(np.asarray(y) == classes[-1], proba[:, -1])
    return roc_auc_score(y, proba, multi_class="ovr", average="weighted", labels=classes)


def _metric_functions() -> dict[str, Any]:
    from sklearn import metrics as m

    return {
        "accuracy": lambda y, p, proba, c: m.accuracy_score(y, p),
        "balanced_accuracy": lambda y, p, proba, c: m.balanced_accuracy_score(y, p),
        "f1": lambda y, p, proba, c: m.f1_score(y, p, zero_division=0, **_binary_or_weighted(c)),
        "precision": lambda y, p, proba, c: m.precision_score(y, p, zero_division=0,
                                                              **_binary_or_weighted(c)),
        "recall": lambda y, p, proba, c: m.recall_score(y, p, zero_division=0, **_binary_or_weighted(c)),
        "f1_macro": lambda y, p, proba, c: m.f1_score(y, p, average="macro", zero_division=0),
        "f1_weighted": lambda y, p, proba, c: m.f1_score(y, p, average="weighted", zero_division=0),
        "precision_macro": lambda y, p, proba, c: m.precision_score(y, p, average="macro", zero_division=0),
        "precision_weighted": lambda y, p, proba, c: m.precision_score(y, p, average="weighted",
                                                                       zero_division=0),
        "recall_macro": lambda y, p, proba, c: m.recall_score(y, p, average="macro", zero_division=0),
        "recall_weighted": lambda y, p, proba, c: m.recall_score(y, p, average="weighted", zero_division=0),
        "roc_auc": _roc_auc,
        "log_loss": lambda y, p, proba, c: m.log_loss(y, proba, labels=c),
        "rmse": lambda y, p, proba, c: m.root_mean_squared_error(y, p),
        "mae": lambda y, p, proba, c: m.mean_absolute_error(y, p),
        "r2": lambda y, p, proba, c: m.r2_score(y, p),
        "mape": lambda y, p, proba, c: m.mean_absolute_percentage_error(y, p),
    }


def score(names: list[str], y_true: Any, y_pred: Any, proba: Any, classes: list[Any]) -> dict[str, Any]:
    """Each named metric as scikit-learn gives it; None where scikit-learn cannot compute it."""
    import warnings

    functions = _metric_functions()
    out: dict[str, Any] = {}
    for name in names:
        if name not in functions:
            out[name] = "no reference"
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = float(functions[name](y_true, y_pred, proba, classes))
        except ValueError:
            value = math.nan
        out[name] = None if not math.isfinite(value) else value
    return out


@dataclass
class Fitted:
    """The bare pipeline on the case's split, and what it says on the holdout."""

    features: list[str]
    design: Design
    pipeline: Any
    train: np.ndarray
    test: np.ndarray
    classes: list[Any]
    predictions: np.ndarray
    proba: np.ndarray | None
    metrics: dict[str, Any]
    baseline: dict[str, Any]
    out_of_fold: np.ndarray | None = None  # the training rows' out-of-fold predictions (training order)


OOF_FOLDS = 5  # the documented prediction reference: 5 shuffled folds with the spec's seed


def out_of_fold(design: Design, spec: dict[str, Any], X: pd.DataFrame, y: pd.Series) -> np.ndarray | None:
    """What the docs say the prediction reference holds for the training rows: ``cross_val_predict`` of
    the unfitted pipeline over 5 shuffled folds (stratified for classification when every class has 5
    rows); None where that cannot be fitted (then in-sample predictions stand in)."""
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict

    if len(X) < 2 * OOF_FOLDS:
        return None
    stratify = spec["task"] == "classification" and int(y.value_counts().min()) >= OOF_FOLDS
    cv = (StratifiedKFold(OOF_FOLDS, shuffle=True, random_state=spec["seed"]) if stratify
          else KFold(OOF_FOLDS, shuffle=True, random_state=spec["seed"]))
    try:
        return np.asarray(cross_val_predict(design.pipeline(estimator(spec)), X, y, cv=cv))
    except ValueError:
        return None


def fit_reference(frame: pd.DataFrame, spec: dict[str, Any], types: dict[str, str],
                  metric_names: list[str]) -> Fitted:
    """Fit the bare pipeline on the training rows, score it and the trivial baseline on the holdout."""
    from sklearn.dummy import DummyClassifier, DummyRegressor

    rows = drop_missing_target(frame, spec["target"])
    train, test = split_positions(rows, spec)
    names = feature_names(rows, spec)
    design = Design.from_types(names, types)
    X = design.matrix(rows[names])
    y = typed_target(rows[spec["target"]], types[spec["target"]])
    y = y.astype("float64") if spec["task"] == "regression" else y
    pipeline = design.pipeline(estimator(spec)).fit(X.iloc[train], y.iloc[train])
    classification = spec["task"] == "classification"
    predictions = pipeline.predict(X.iloc[test])
    proba = pipeline.predict_proba(X.iloc[test]) if classification else None
    classes = sorted(pd.unique(y.iloc[train]).tolist()) if classification else []
    y_test = y.iloc[test].to_numpy()
    metrics = score(metric_names, y_test, predictions, proba, classes)
    dummy = (DummyClassifier(strategy="prior") if classification else DummyRegressor(strategy="mean"))
    dummy.fit(np.zeros((len(train), 1)), y.iloc[train])
    zeros = np.zeros((len(test), 1))
    baseline = score(metric_names, y_test, dummy.predict(zeros),
                     dummy.predict_proba(zeros) if classification else None, classes)
    oof = out_of_fold(design, spec, X.iloc[train], y.iloc[train])
    if oof is None:
        oof = pipeline.predict(X.iloc[train])
    return Fitted(names, design, pipeline, train, test, classes, predictions, proba, metrics, baseline, oof)


# ---- drift ---------------------------------------------------------------------------------------


def drift_statistic(kind: str, reference: pd.Series, current: pd.Series) -> dict[str, Any]:
    """The non-missing counts of both sides and, where sluice's small-sample detector runs on every value
    (both sides at most ``LARGE_SAMPLE`` and ``MAX_SAMPLE`` values), scipy's test of ``current`` against
    ``reference``: KS for numbers, chi-square of the 2 x K table (no continuity correction) for categories.
    ``statistic`` and ``p_value`` are None for larger samples (binned methods, no closed form here)."""
    from scipy.stats import chi2_contingency, ks_2samp

    ref, cur = reference.dropna(), current.dropna()
    out: dict[str, Any] = {"n_reference": len(ref), "n_current": len(cur), "test": None, "statistic": None,
                           "p_value": None}
    if max(len(ref), len(cur)) > min(LARGE_SAMPLE, MAX_SAMPLE) or min(len(ref), len(cur)) == 0:
        return out
    if kind == "numeric":
        result = ks_2samp(ref.to_numpy(dtype=float), cur.to_numpy(dtype=float))
        return {**out, "test": "ks_2samp", "statistic": float(result.statistic),
                "p_value": float(result.pvalue)}
    keys = sorted({*map(str, ref), *map(str, cur)})
    table = np.array([[int((ref.astype(str) == k).sum()) for k in keys],
                      [int((cur.astype(str) == k).sum()) for k in keys]], dtype=float)
    if table.shape[1] < 2:
        return {**out, "test": "chi2_contingency", "statistic": 0.0, "p_value": 1.0}
    chi2, p, _, _ = chi2_contingency(table, correction=False)
    return {**out, "test": "chi2_contingency", "statistic": float(chi2), "p_value": float(p)}
