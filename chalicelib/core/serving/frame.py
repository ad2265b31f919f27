"""Feature frames: the one place that decides the pandas dtypes a model is fed (real time and batch alike).

========== ================================ ================================
type       column dtype                     missing value
========== ================================ ================================
int, float ``float64``                      NaN
bool       ``float64`` (1.0 / 0.0)          NaN
string,    ``object`` (Python ``str``)      NaN
category
date,      ``datetime64[ns]`` (naive, UTC)  NaT
timestamp
========== ================================ ================================

These are what training's preprocessing (``chalicelib.core.training.pipeline``: ``to_float``, ``to_strings``,
``date_parts``) turns into the same numbers as the curated training data. Real-time rows arrive already
checked by :mod:`chalicelib.core.serving.schema`; batch chunks are coerced here, vectorised, leniently (text
formats carry every value as a string) with a per-row error instead of an exception.

pandas and numpy are imported inside the functions: ``import app`` must stay light.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chalicelib.core.serving.schema import Feature

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

_TRUE = ("true", "1", "1.0", "t", "yes", "y")
_FALSE = ("false", "0", "0.0", "f", "no", "n")


def frame_from_rows(rows: Sequence[dict[str, Any]], features: Sequence[Feature]) -> pd.DataFrame:
    """Checked, typed rows (see :func:`chalicelib.core.serving.schema.check_records`) as a feature frame."""
    import numpy as np
    import pandas as pd

    columns: dict[str, np.ndarray] = {}
    for feature in features:
        values = [row.get(feature.name) for row in rows]
        if feature.type in ("int", "float", "bool"):
            columns[feature.name] = np.array([np.nan if v is None else float(v) for v in values],
                                             dtype="float64")
        elif feature.type in ("string", "category"):
            columns[feature.name] = np.array([np.nan if v is None else v for v in values], dtype=object)
        else:
            columns[feature.name] = pd.to_datetime(pd.Series(values, dtype=object)).to_numpy(
                dtype="datetime64[ns]")
    return pd.DataFrame(columns, index=pd.RangeIndex(len(rows)), columns=[f.name for f in features])


def coerce_frame(data: pd.DataFrame, features: Sequence[Feature]) -> tuple[pd.DataFrame, list[str | None]]:
    """A batch chunk as a feature frame, and one error message (or None) per row.

    A row with an error keeps its place; its feature values are whatever coerced (it is not scored).
    """
    import numpy as np
    import pandas as pd

    n = len(data)
    problems: list[tuple[str, np.ndarray]] = []  # (message, boolean mask of the rows it applies to)
    columns: dict[str, np.ndarray] = {}
    for feature in features:
        if feature.name not in data.columns:
            problems.append((f"{feature.name}: missing", np.ones(n, dtype=bool)))
            columns[feature.name] = _empty(feature.type, n)
            continue
        values, bad = COERCERS[feature.type](data[feature.name].reset_index(drop=True))
        if bad.any():
            problems.append((f"{feature.name}: expected {feature.type}", bad))
        columns[feature.name] = values
    frame = pd.DataFrame(columns, index=pd.RangeIndex(n), columns=[f.name for f in features])
    errors: list[str | None] = [None] * n
    if problems:
        any_bad = np.logical_or.reduce([mask for _, mask in problems])
        for position in np.flatnonzero(any_bad):
            errors[position] = "; ".join(message for message, mask in problems if mask[position])
    return frame, errors


def _empty(kind: str, n: int) -> np.ndarray:
    import numpy as np

    if kind in ("date", "timestamp"):
        return np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    return np.full(n, np.nan, dtype=object if kind in ("string", "category") else "float64")


def _is_text(column: pd.Series) -> bool:
    import pandas as pd

    return pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)


def _numbers(column: pd.Series, *, integral: bool) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np
    import pandas as pd

    present = column.notna().to_numpy()
    if pd.api.types.is_bool_dtype(column):
        return np.full(len(column), np.nan), present
    is_bool = np.zeros(len(column), dtype=bool)
    if pd.api.types.is_object_dtype(column):  # JSON values: booleans are not numbers
        text = column.where(column.notna(), None)
        is_bool = np.fromiter((isinstance(v, bool) for v in text), dtype=bool, count=len(text))
        numbers = pd.to_numeric(text.where(~is_bool, None), errors="coerce")
    elif pd.api.types.is_string_dtype(column):  # CSV text
        numbers = pd.to_numeric(column, errors="coerce")
    else:
        numbers = column
    values = np.array(numbers.to_numpy(dtype="float64", na_value=np.nan), dtype="float64", copy=True)
    bad = present & (np.isnan(values) | is_bool)
    if integral:
        with np.errstate(invalid="ignore"):
            bad |= present & ~np.isnan(values) & (np.mod(values, 1) != 0)
    values[bad] = np.nan
    return values, bad


def _ints(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    return _numbers(column, integral=True)


def _floats(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    return _numbers(column, integral=False)


def _bools(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np
    import pandas as pd

    present = column.notna().to_numpy()
    if pd.api.types.is_bool_dtype(column):
        return column.to_numpy(dtype="float64", na_value=np.nan), np.zeros(len(column), dtype=bool)
    if pd.api.types.is_numeric_dtype(column):
        numbers = column.to_numpy(dtype="float64", na_value=np.nan)
        values = np.where(np.isin(numbers, (0.0, 1.0)), numbers, np.nan)
        return values, present & np.isnan(values)
    words = column.astype("str").str.strip().str.lower()
    values = np.where(words.isin(_TRUE), 1.0, np.where(words.isin(_FALSE), 0.0, np.nan)).astype("float64")
    values[~present] = np.nan
    return values, present & np.isnan(values)


def _strings(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np
    import pandas as pd

    present = column.notna().to_numpy()
    values = np.array(column.astype(object).to_numpy(), dtype=object)
    if not pd.api.types.is_string_dtype(column) or pd.api.types.is_object_dtype(column):
        for position in np.flatnonzero(present):  # JSON numbers or booleans given for a category
            value = values[position]
            if not isinstance(value, str):
                values[position] = str(value.item() if hasattr(value, "item") else value)
    values[~present] = np.nan
    return values, np.zeros(len(column), dtype=bool)


def _stamps(column: pd.Series, *, date_only: bool) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np
    import pandas as pd

    present = column.notna().to_numpy()
    if pd.api.types.is_datetime64_any_dtype(column):
        parsed = pd.to_datetime(column, utc=True)
    else:
        values = column.astype(object).where(column.notna(), None)
        parsed = pd.to_datetime(values, errors="coerce", utc=True, format="ISO8601")
    parsed = parsed.dt.tz_convert(None)
    if date_only:
        parsed = parsed.dt.normalize()
    out = parsed.to_numpy(dtype="datetime64[ns]")
    bad = present & np.isnat(out)
    return out, bad


def _dates(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    return _stamps(column, date_only=True)


def _timestamps(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    return _stamps(column, date_only=False)


COERCERS = {"int": _ints, "float": _floats, "bool": _bools, "string": _strings, "category": _strings,
            "date": _dates, "timestamp": _timestamps}
