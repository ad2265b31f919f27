"""Pure: the scikit-learn Pipeline a spec trains, the frame it is fed, and the train/holdout split.

Preprocessing follows the contract's column types: numbers are imputed (median) and scaled;
``string``/``category`` imputed (most frequent) and one-hot encoded, unknown categories ignored and the
cardinality capped; ``bool`` becomes 0/1; ``date``/``timestamp`` become date parts. The helper
functions are module-level so the fitted pipeline pickles by reference (serving imports this module).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.core.training.features import DerivedFeature, Feature
from chalicelib.core.training.spec import TrainingSpec
from chalicelib.core.training.window import INGESTED_AT

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def build_pipeline(spec: TrainingSpec, features: list[Feature]) -> Any:
    """An unfitted ``Pipeline(ColumnTransformer → estimator)`` for ``features`` (pandas input).

    scikit-learn ships no types: the pipeline is ``Any``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    from chalicelib.core.training.estimators import make_estimator

    def numeric_steps(*first: tuple[str, object]) -> list[tuple[str, object]]:
        steps = [*first, ("impute", SimpleImputer(strategy="median"))]
        if spec.preprocessing.scale_numeric:
            steps.append(("scale", StandardScaler()))
        return steps

    by_kind: dict[str, list[str]] = {}
    for feature in features:
        by_kind.setdefault(feature.kind, []).append(feature.name)
    transformers: list[tuple[str, object, list[str]]] = []
    if by_kind.get("numeric"):
        steps = numeric_steps(("float", FunctionTransformer(to_float, feature_names_out="one-to-one")))
        transformers.append(("numeric", Pipeline(steps), by_kind["numeric"]))
    if by_kind.get("bool"):
        transformers.append(("bool", Pipeline([
            ("float", FunctionTransformer(to_float, feature_names_out="one-to-one")),
            ("impute", SimpleImputer(strategy="most_frequent"))]), by_kind["bool"]))
    if by_kind.get("categorical"):
        transformers.append(("categorical", Pipeline([
            ("strings", FunctionTransformer(to_strings, feature_names_out="one-to-one")),
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False,
                                     max_categories=spec.preprocessing.max_categories)),
        ]), by_kind["categorical"]))
    if by_kind.get("date"):
        parts = FunctionTransformer(date_parts, kw_args={"parts": tuple(spec.preprocessing.date_parts)})
        transformers.append(("date", Pipeline(numeric_steps(("parts", parts))), by_kind["date"]))
    preprocess = ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)
    estimator = make_estimator(spec.estimator.name, spec.estimator.params, spec.seed)
    return Pipeline([("preprocess", preprocess), ("estimator", estimator)])


def to_float(frame: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Numbers and booleans as float64, missing → NaN (pandas' nullable dtypes included)."""
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame(frame)
    out = np.empty(frame.shape, dtype="float64")
    for i, name in enumerate(frame.columns):
        col = frame[name]
        try:
            out[:, i] = col.to_numpy(dtype="float64", na_value=np.nan)
        except (TypeError, ValueError):
            values = col.astype("object").where(col.notna(), None)
            out[:, i] = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return out


def to_strings(frame: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Category values as Python strings in an object array, missing → NaN (what SimpleImputer sees)."""
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame(frame)
    out = np.empty(frame.shape, dtype=object)
    for i, name in enumerate(frame.columns):
        col = frame[name]
        values = col.astype("object").astype(str).to_numpy(dtype=object)
        values[col.isna().to_numpy()] = np.nan
        out[:, i] = values
    return out


_PANDAS_PART = {"dayofweek": "day_of_week"}


def date_parts(frame: pd.DataFrame | np.ndarray,
               parts: tuple[str, ...] = ("year", "month", "day", "dayofweek", "hour")) -> np.ndarray:
    """Each date/timestamp column → its parts as floats (NaN where missing or unparseable)."""
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame(frame)
    blocks = []
    for name in frame.columns:
        stamps = pd.to_datetime(frame[name], errors="coerce", utc=True)
        for part in parts:
            blocks.append(getattr(stamps.dt, _PANDAS_PART.get(part, part)).astype("float64").to_numpy())
    return np.column_stack(blocks) if blocks else np.empty((len(frame), 0))


def with_derived(frame: pd.DataFrame, derived: list[DerivedFeature]) -> pd.DataFrame:
    """``frame`` with each derived column added, computed as the pipeline computes it (:func:`date_parts`
    of the source column), so monitoring profiles what the estimator is fed. Month, weekday and hour
    become whole numbers; a missing or unparseable stamp gives a missing part."""
    import pandas as pd

    if not derived:
        return frame
    columns = {}
    for feature in derived:
        source = frame[feature.source] if feature.source in frame.columns else pd.Series(
            [None] * len(frame), index=frame.index, dtype=object)
        values = date_parts(source.to_frame(), (feature.part,))[:, 0]
        columns[feature.name] = pd.Series(values, index=frame.index).astype("Int64" if feature.kind ==
                                                                            "categorical" else "float64")
    return frame.assign(**columns)


# ---- data preparation ---------------------------------------------------------------------------


def prepare_frame(df: pd.DataFrame, spec: TrainingSpec, features: list[Feature]
                  ) -> tuple[pd.DataFrame, pd.Series]:
    """``(X, y)``: the feature columns in order, rows with a missing target dropped."""
    from chalicelib.core.training.errors import TrainingDataError

    needed = [f.name for f in features] + [spec.target]
    missing = [n for n in needed if n not in df.columns]
    if missing:
        raise TrainingDataError(f"the curated data lacks column(s): {', '.join(missing)}")
    keep = df[spec.target].notna()
    X = df.loc[keep, [f.name for f in features]].reset_index(drop=True)
    y = df.loc[keep, spec.target].reset_index(drop=True)
    y = y.astype("float64") if spec.task == "regression" else y.astype("object").map(_plain_label)
    return X, y


def _plain_label(value: object) -> object:
    """numpy/pandas scalars → Python ones, so classes are JSON-safe and stable."""
    return value.item() if hasattr(value, "item") else value


def split_rows(df: pd.DataFrame | None, y: pd.Series, spec: TrainingSpec,
               notes: list[dict[str, str]] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Train and holdout row positions (numpy arrays), deterministic for a seed.

    ``df`` (aligned with ``y``) is read only for a time split (its ``split.column`` orders the rows) and
    a ``recent`` split (its ``_ingested_at``: the newest rows are the holdout; rows of one time keep their
    order, so the last rows of a file are the newest of its version).
    A stratified split scikit-learn refuses (a class with one row, fewer holdout rows than classes)
    falls back to the random split of the same seed; the fallback and its reason (in counts, never
    class values) are appended to ``notes`` (the run's warnings).
    """
    import numpy as np
    from sklearn.model_selection import train_test_split

    from chalicelib.core.training.errors import TrainingDataError

    positions = np.arange(len(y))
    split = spec.split
    if split.method in ("time", "recent"):
        column = split.column if split.method == "time" else INGESTED_AT
        assert column
        if df is not None and column in df.columns:
            order = np.argsort(_sortable(df[column]), kind="stable")
        elif split.method == "recent":  # no ingestion times: the rows' own order (oldest row first)
            order = positions
        else:
            raise TrainingDataError(f"the curated data lacks the split column {column!r}")
        n_test = max(1, round(len(order) * split.test_size))
        return np.sort(order[:-n_test]), np.sort(order[-n_test:])
    if split.method == "stratified":
        try:
            train, test = train_test_split(positions, test_size=split.test_size, random_state=spec.seed,
                                           stratify=y)
            return train, test
        except ValueError as exc:
            if notes is not None:
                reason = _stratify_problem(y, exc)
                notes.append({"code": "stratified_split_fallback", "reason": reason,
                              "message": "the rows cannot be split stratified by class; they were split "
                                         f"at random instead (same seed and test_size): {reason}"})
    try:
        train, test = train_test_split(positions, test_size=split.test_size, random_state=spec.seed)
    except ValueError as exc:
        raise TrainingDataError(f"cannot split the data: {exc}") from exc
    return train, test  # train_test_split's order, so a bare scikit-learn split gives the same fit


def _stratify_problem(y: pd.Series, exc: ValueError) -> str:
    """Why scikit-learn could not stratify, in counts: its own message lists the class values."""
    import re

    counts = y.value_counts()
    lonely = int((counts < 2).sum())
    if lonely:
        return (f"{lonely} of the {len(counts)} classes {'has' if lonely == 1 else 'have'} a single row "
                "(stratifying needs at least 2 rows per class)")
    return re.sub(r"\s*Classes with too few members are:.*$", "", str(exc), flags=re.DOTALL)


def _sortable(column: pd.Series) -> np.ndarray:
    import numpy as np
    import pandas as pd

    if pd.api.types.is_numeric_dtype(column):
        return column.to_numpy(dtype="float64", na_value=float("-inf"))
    stamps = pd.to_datetime(column, errors="coerce", utc=True).dt.tz_localize(None)
    return np.asarray(stamps, dtype="datetime64[ns]").astype("int64")
