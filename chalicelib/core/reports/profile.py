"""A per-column profile of a table (pure; pandas and numpy imported when called).

For each column: the contract's type and PII action, non-null and null counts, the number of distinct
values, and by kind: ``min``/``max``/``mean``/``std`` and a ``histogram`` (``numpy.histogram`` over the
finite values: ``edges`` has one more entry than ``counts``) for numbers; ``min``/``max`` and a histogram
over the instants (edges as ISO-8601 text) for dates and timestamps; the most frequent ``top`` values with
their counts for text, categories and booleans (and for numbers with at most :data:`FEW` distinct values).

PII: a column the contract marks ``pii`` (hash, mask) gets counts only — never a value, a minimum, a
maximum or top values, whatever the column holds (hashes and masks included). Every other text value is
passed through ``scrub`` (detected e-mail addresses, phone, card and IBAN numbers masked in place) and cut
at :data:`MAX_VALUE_CHARS`.

The dict is what a report's ``profile`` holds (JSON-safe); :func:`profile_frame` builds it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypedDict

from chalicelib.core.validation.pii import scrub

if TYPE_CHECKING:
    import pandas as pd

BINS = 20
TOP = 10
FEW = 12  # numbers with this many distinct values or fewer are shown as values, not bins
MAX_VALUE_CHARS = 60
NUMERIC, TEMPORAL, TEXT = "numeric", "temporal", "text"
KINDS = {"int": NUMERIC, "float": NUMERIC, "date": TEMPORAL, "timestamp": TEMPORAL, "bool": TEXT,
         "string": TEXT, "category": TEXT}


class ColumnProfileDict(TypedDict, total=False):
    name: str
    type: str | None  # the contract's type
    pii: str | None  # the contract's PII action
    kind: str  # numeric | temporal | text
    count: int  # non-null values
    nulls: int
    distinct: int
    min: Any
    max: Any
    mean: float | None
    std: float | None
    histogram: dict[str, list[Any]]  # {"edges": [...], "counts": [...]}
    top: list[dict[str, Any]]  # [{"value", "count"}], most frequent first
    withheld: str  # why values are not shown (PII)
    unique: bool  # every value distinct


class ProfileDict(TypedDict):
    rows: int
    profiled_rows: int  # < rows when only the first rows were read
    source: str  # what was profiled (e.g. "curated" data after PII handling, or "raw" file)
    columns: list[ColumnProfileDict]


def profile_frame(frame: pd.DataFrame, types: Mapping[str, str | None], pii: Mapping[str, str | None], *,
                  rows: int | None = None, source: str = "curated") -> ProfileDict:
    """The profile of ``frame``'s columns named in ``types`` (contract name → contract type), in order;
    ``rows``: how many rows the whole table has when ``frame`` holds its first rows only."""
    columns = [_column(frame[name], name, types.get(name), pii.get(name)) for name in types if name in frame]
    return {"rows": int(rows if rows is not None else len(frame)), "profiled_rows": len(frame),
            "source": source, "columns": columns}


def _column(values: pd.Series, name: str, ctype: str | None, pii: str | None) -> ColumnProfileDict:
    import pandas as pd

    kind = KINDS.get(str(ctype), _kind_of(values))
    present = values.dropna()
    if kind == NUMERIC:
        present = pd.to_numeric(present, errors="coerce").dropna()
    out: ColumnProfileDict = {"name": name, "type": ctype, "pii": pii, "kind": kind, "count": len(present),
                              "nulls": int(len(values) - len(present)), "distinct": int(present.nunique())}
    if pii and pii != "drop":
        out["withheld"] = f"PII ({pii}): only counts are shown"
        return out
    if kind == NUMERIC and len(present):
        out.update(_numeric(present.astype("float64")))
    elif kind == TEMPORAL and len(present):
        out.update(_temporal(present))
    if out["distinct"] == out["count"] > TOP:
        out["unique"] = True  # every value distinct (an identifier): no value is more frequent
    elif kind == TEXT or (kind == NUMERIC and 0 < out["distinct"] <= FEW):
        out["top"] = _top(present)
    return out


def _kind_of(values: pd.Series) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(values):
        return TEXT
    if pd.api.types.is_numeric_dtype(values):
        return NUMERIC
    if pd.api.types.is_datetime64_any_dtype(values):
        return TEMPORAL
    return TEXT


def _numeric(values: pd.Series) -> ColumnProfileDict:
    import numpy as np

    finite = values[np.isfinite(values.to_numpy())]
    out: ColumnProfileDict = {"min": _num(values.min()), "max": _num(values.max()),
                              "mean": _num(finite.mean()) if len(finite) else None,
                              "std": _num(finite.std(ddof=1)) if len(finite) > 1 else None}
    if len(finite):
        counts, edges = np.histogram(finite.to_numpy(), bins=min(BINS, max(1, int(finite.nunique()))))
        out["histogram"] = {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}
    return out


def _temporal(values: pd.Series) -> ColumnProfileDict:
    import numpy as np
    import pandas as pd

    instants = pd.to_datetime(values, utc=True, errors="coerce").dropna()
    if instants.empty:
        return {}
    micros = instants.dt.as_unit("us").astype("int64").to_numpy()
    # as float offsets from the first instant: numpy refuses more integer bins than the range has units,
    # and float microseconds since 1970 are too coarse to widen a zero-width range ("Too many bins")
    start = int(micros.min())
    counts, edges = np.histogram((micros - start).astype("float64"),
                                 bins=min(BINS, max(1, int(instants.nunique()))))
    return {"min": _iso(start), "max": _iso(int(micros.max())),
            "histogram": {"edges": [_iso(start + int(e)) for e in edges], "counts": [int(c) for c in counts]}}


def _top(values: pd.Series) -> list[dict[str, Any]]:
    """The :data:`TOP` most frequent texts (ties: the first seen first), each value scrubbed once.

    Counted first, scrubbed after: only the distinct values go through :func:`scrub` (every one of 100k
    values did: ~1.4 s per upload). Values are counted as themselves where equal values always show the
    same text (text, integers, booleans: two boolean columns mapped value by value were ~30 ms of a
    100k-row profile), else by their unscrubbed text; values whose texts are equal only once
    scrubbed or cut are then added up, so the counts are those of the texts shown."""
    import pandas as pd

    if isinstance(values.dtype, pd.CategoricalDtype):  # map() already runs once per category
        counts = values.map(_text).value_counts(sort=True).head(TOP)
        return [{"value": value, "count": int(count)} for value, count in counts.items()]
    by_value = pd.api.types.infer_dtype(values, skipna=True) in ("string", "integer", "boolean")
    distinct = (values if by_value else values.map(_plain_text)).value_counts(sort=False)  # first seen first
    if distinct.empty:
        return []
    shown = [_text(v) if by_value else _shown(v) for v in distinct.index]
    counts = pd.Series(distinct.to_numpy(), index=shown).groupby(level=0, sort=False).sum()
    counts = counts.sort_values(ascending=False, kind="stable").head(TOP)
    return [{"value": value, "count": int(count)} for value, count in counts.items()]


def _text(value: object) -> str:
    return _shown(_plain_text(value))


def _plain_text(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _shown(text: str) -> str:
    text = scrub(text)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS - 1] + "…"


def _num(value: object) -> float | None:
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None


def _iso(micros: int) -> str:
    moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=micros)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + "Z"
