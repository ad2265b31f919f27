"""A plain-Python oracle of the data contract's semantics, for the differential tests.

Written from the docstring of :mod:`chalicelib.core.validation.contract` (and the format docs of
:mod:`chalicelib.core.validation.readers`), row by row with Python's own comparisons, ``re`` and ``len``:
nothing here calls the engine's helpers. A table is a list of :class:`Column` s of :class:`Cell` s; a
cell is null, a value of the column's type with the text a file spells it as, or text that is not a
value of the type ("bad"). :func:`write` puts a table into a CSV, JSONL or Parquet file;
:func:`expect` gives, per rule id, the rows that fail it (dataset rules: ``{0}`` when failed).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# format.null_values by default: CSV cells holding exactly one of these are null (CSV only: JSONL and
# Parquet have typed nulls, and "NA" there is text)
NULL_TOKENS = frozenset({"", "NA", "N/A", "NULL", "null", "NaN", "nan", "None"})
EPOCH = dt.datetime(1970, 1, 1)
NS_RANGE = (dt.datetime(1678, 1, 1), dt.datetime(2261, 12, 31))  # what int64 nanoseconds can hold


@dataclass(frozen=True)
class Cell:
    """``kind``: ``null``, ``value`` (``value`` typed, ``text`` its spelling in a text file), ``bad``
    (``text`` is not a value of the column's type) or ``nan`` (a float NaN, spelled ``text``: a missing
    value, as pandas has it)."""

    kind: str
    value: Any = None
    text: str | None = None


@dataclass
class Column:
    name: str
    type: str
    cells: list[Cell]
    spec: dict[str, Any] = field(default_factory=dict)  # the column's rules as the contract states them
    parquet_text: bool = False  # store as text in Parquet (needed to hold bad cells)
    bounds: tuple[Any, Any] = (None, None)  # min/max as Python values (date/timestamp: datetime)
    allowed: list[Any] | None = None  # as Python values

    def contract(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, **self.spec}


# --------------------------------------------------------------------------------------------- files


def write(columns: list[Column], fmt: str, path: str, *, row_group_rows: int = 64, tz: str | None = None,
          omit_nulls: bool = False) -> str:
    """The table as a ``fmt`` file at ``path`` (Parquet: ``row_group_rows`` per row group; timestamps
    stored with zone ``tz``; JSONL: null cells left out of their line when ``omit_nulls``)."""
    rows = len(columns[0].cells)
    if fmt == "csv":
        out = io.StringIO(newline="")
        writer = csv.writer(out, lineterminator="\r\n")  # values holding \r or \n get quoted
        writer.writerow([c.name for c in columns])
        for i in range(rows):
            writer.writerow(["" if c.cells[i].kind == "null" else c.cells[i].text for c in columns])
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write(out.getvalue())
    elif fmt == "jsonl":
        with open(path, "w", encoding="utf-8") as fh:
            for i in range(rows):
                line = {}
                for c in columns:
                    cell = c.cells[i]
                    if cell.kind == "null" and omit_nulls and i > 0:
                        continue
                    line[c.name] = _json_value(c, cell)
                fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    else:
        _write_parquet(columns, path, row_group_rows, tz)
    return path


def _json_value(column: Column, cell: Cell) -> Any:
    if cell.kind == "null":
        return None
    if cell.kind == "nan":
        return float("nan")  # json.dumps writes NaN, which json (and the reader) accept
    if cell.kind == "bad" or column.type in ("date", "timestamp"):
        return cell.text
    if column.type == "float" and cell.text.lstrip("+-").isdigit():
        return int(cell.value)  # a float column may hold JSON integers
    return cell.value


def _write_parquet(columns: list[Column], path: str, row_group_rows: int, tz: str | None) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = []
    for c in columns:
        if c.parquet_text or c.type in ("string", "category"):
            values = [None if cell.kind == "null" else cell.text if c.parquet_text else cell.value
                      for cell in c.cells]
            arr = pa.array(values, type=pa.string())
            arrays.append(arr.dictionary_encode() if c.type == "category" else arr)
            continue
        values = [None if cell.kind == "null" else float("nan") if cell.kind == "nan" else cell.value
                  for cell in c.cells]
        kind = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "date": pa.date32(),
                "timestamp": pa.timestamp("us")}[c.type]
        arr = pa.array(values, type=kind)
        if c.type == "timestamp" and all(v is None or NS_RANGE[0] <= v <= NS_RANGE[1] for v in values):
            # as pandas writes them: nanoseconds, here with a few inside each microsecond
            ns = [None if v is None else _ticks_us(v) * 1000 + (i * 7919) % 1000
                  for i, v in enumerate(values)]
            arr = pa.array(ns, type=pa.int64()).cast(pa.timestamp("ns"))
        if c.type == "timestamp" and tz:
            arr = arr.cast(pa.timestamp(arr.type.unit, tz))
        arrays.append(arr)
    pq.write_table(pa.table(arrays, names=[c.name for c in columns]), path, row_group_size=row_group_rows)


# -------------------------------------------------------------------------------------------- oracle


def typed(column: Column, fmt: str) -> tuple[list[Any], list[bool], list[bool]]:
    """``(values, missing, bad)`` per row: the typed value (None when null or bad), whether the file
    holds no value, whether it holds a value that is not of the column's type."""
    values, missing, bad = [], [], []
    for cell in column.cells:
        is_null = cell.kind in ("null", "nan") or (fmt == "csv" and cell.text in NULL_TOKENS)
        missing.append(is_null)
        bad.append(cell.kind == "bad" and not is_null)
        values.append(cell.value if cell.kind == "value" and not is_null else None)
    return values, missing, bad


def _instant(value: Any) -> Any:
    """Dates compare as their midnight (a date bound with a time of day falls inside that day)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day)
    return value


def _repeated(keys: list[Any]) -> set[int]:
    """Rows whose (non-None) key occurs more than once."""
    counts = Counter(k for k in keys if k is not None)
    return {i for i, k in enumerate(keys) if k is not None and counts[k] > 1}


def column_failures(column: Column, fmt: str) -> dict[str, set[int]]:
    """The failing rows of every rule of one column."""
    values, missing, bad = typed(column, fmt)
    spec, name = column.spec, column.name
    out: dict[str, set[int]] = {f"{name}.type": {i for i, b in enumerate(bad) if b}}
    if not spec.get("nullable", False):
        out[f"{name}.not_null"] = {i for i, m in enumerate(missing) if m}
    if spec.get("unique"):
        out[f"{name}.unique"] = _repeated(values)
    present = [(i, v) for i, v in enumerate(values) if v is not None]
    lo, hi = column.bounds
    if lo is not None or hi is not None:
        out[f"{name}.range"] = {i for i, v in present if _out_of_range(_instant(v), column)}
    if column.allowed is not None:
        allowed = [_instant(a) for a in column.allowed]
        out[f"{name}.allowed"] = {i for i, v in present if not any(_instant(v) == a for a in allowed)}
    if "pattern" in spec:
        regex = re.compile(spec["pattern"])
        out[f"{name}.pattern"] = {i for i, v in present if regex.fullmatch(v) is None}
    if "min_length" in spec or "max_length" in spec:
        low, high = spec.get("min_length", 0), spec.get("max_length", float("inf"))
        out[f"{name}.length"] = {i for i, v in present if not low <= len(v) <= high}
    return out


def _out_of_range(value: Any, column: Column) -> bool:
    lo, hi = (_instant(b) for b in column.bounds)
    if lo is not None and (value <= lo if column.spec.get("exclusive_min") else value < lo):
        return True
    return hi is not None and (value >= hi if column.spec.get("exclusive_max") else value > hi)


def expect(columns: list[Column], fmt: str, rules: dict[str, Any], *, now: dt.datetime
           ) -> dict[str, set[int]]:
    """Rule id → failing rows (dataset-level rules: ``{0}`` when they fail, ``set()`` when they pass)."""
    rows = len(columns[0].cells)
    out: dict[str, set[int]] = {"dataset.readable": set() if rows else {0}, "dataset.missing_columns": set()}
    for column in columns:
        out.update(column_failures(column, fmt))
    by_name = {c.name: c for c in columns}
    if "primary_key" in rules:
        parts = [typed(by_name[n], fmt)[0] for n in rules["primary_key"]["columns"]]
        keys = [None if any(p[i] is None for p in parts) else tuple(p[i] for p in parts) for i in range(rows)]
        out["dataset.primary_key"] = _repeated(keys) | {i for i, k in enumerate(keys) if k is None}
    if "row_count" in rules:
        lo, hi = rules["row_count"].get("min"), rules["row_count"].get("max")
        out["dataset.row_count"] = {0} if (lo is not None and rows < lo) or (hi is not None and rows > hi) \
            else set()
    if "freshness" in rules:
        column = by_name[rules["freshness"]["column"]]
        present = [v for v in typed(column, fmt)[0] if v is not None]
        # a date is fresh until the end of its day
        day = dt.timedelta(days=1) if column.type == "date" else dt.timedelta()
        ends = [_instant(v) + day for v in present]
        max_age = dt.timedelta(seconds=rules["freshness"]["max_age_s"])
        out["dataset.freshness"] = {0} if not ends or now - max(ends) > max_age else set()
    return out


ROW_KINDS = ("type", "not_null", "unique", "range", "allowed", "pattern", "length", "primary_key")


def invalid_rows(failures: dict[str, set[int]], severities: dict[str, str]) -> set[int]:
    """Rows failing an error-severity row-level rule (the rows a quarantine would take)."""
    rows: set[int] = set()
    for rule_id, failing in failures.items():
        if rule_id.rsplit(".", 1)[1] in ROW_KINDS and severities.get(rule_id, "error") == "error":
            rows |= failing
    return rows


def _ticks_us(value: dt.datetime) -> int:
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def iso(value: Any) -> str:
    return value.isoformat()


def days(value: dt.date) -> int:
    return (value - EPOCH.date()).days
