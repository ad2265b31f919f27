"""Unique and primary-key rules on columns of every contract type, in every input format and storage."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.unit.validation.helpers import contract, rule, run

BERLIN = dt.timezone(dt.timedelta(hours=1))

# per contract type: three distinct values as Python objects (the third repeats the first when duplicated)
VALUES: dict[str, list[Any]] = {
    "int": [7, -3, 12],
    "float": [1.5, -0.25, 3.0],
    "bool": [True, False],
    "string": ["a", "b", "c"],
    "category": ["x", "y", "z"],
    "date": [dt.date(2024, 1, 1), dt.date(2024, 1, 2), dt.date(2024, 3, 31)],
    "timestamp": [dt.datetime(2024, 1, 1, 10), dt.datetime(2024, 1, 1, 10, 0, 1), dt.datetime(2024, 2, 1)],
}

# the ways a file can hold a column of each type: (format, Arrow storage for Parquet or None)
STORAGES: dict[str, list[tuple[str, Any]]] = {
    "int": [("csv", None), ("jsonl", None), ("parquet", pa.int64()), ("parquet", pa.int32()),
            ("parquet", pa.string())],
    "float": [("csv", None), ("jsonl", None), ("parquet", pa.float64()), ("parquet", pa.float32())],
    "bool": [("csv", None), ("jsonl", None), ("parquet", pa.bool_())],
    "string": [("csv", None), ("jsonl", None), ("parquet", pa.string()), ("parquet", pa.large_string())],
    "category": [("csv", None), ("jsonl", None), ("parquet", pa.string()),
                 ("parquet", pa.dictionary(pa.int32(), pa.string()))],
    "date": [("csv", None), ("jsonl", None), ("parquet", pa.date32()), ("parquet", pa.date64()),
             ("parquet", pa.timestamp("ms")), ("parquet", pa.timestamp("us", "UTC")),
             ("parquet", pa.string())],
    "timestamp": [("csv", None), ("jsonl", None), ("parquet", pa.timestamp("us")),
                  ("parquet", pa.timestamp("ns")),
                  ("parquet", pa.timestamp("ms", "Europe/Berlin")), ("parquet", pa.date32()),
                  ("parquet", pa.string())],
}
CASES = [pytest.param(kind, fmt, storage, id=f"{kind}-{fmt}{'-' + str(storage) if storage else ''}")
         for kind, storages in STORAGES.items() for fmt, storage in storages]


def values_for(kind: str, storage: Any) -> list[Any]:
    """The distinct values of ``kind`` a column stored as ``storage`` can hold (a date holds no time)."""
    if kind == "timestamp" and storage is not None and pa.types.is_date(storage):
        return [dt.datetime.combine(d, dt.time()) for d in VALUES["date"]]
    return VALUES[kind]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _arrow(values: list[Any], storage: pa.DataType) -> pa.Array:
    if pa.types.is_string(storage) or pa.types.is_large_string(storage):
        return pa.array([_text(v) for v in values], type=storage)
    if pa.types.is_dictionary(storage):
        return pa.array([_text(v) for v in values]).dictionary_encode()
    if pa.types.is_timestamp(storage) and storage.tz:
        aware = [dt.datetime.combine(v, dt.time()) if not isinstance(v, dt.datetime) else v for v in values]
        utc = pa.array([v.replace(tzinfo=dt.UTC) for v in aware], type=pa.timestamp("us", "UTC"))
        return utc.cast(storage)
    if pa.types.is_timestamp(storage) and not isinstance(values[0], dt.datetime):
        return pa.array([dt.datetime.combine(v, dt.time()) for v in values], type=storage)
    return pa.array(values).cast(storage)


def write_table(write: Callable[[str, str | bytes], str], columns: dict[str, list[Any]], fmt: str,
                storages: dict[str, Any]) -> str:
    """The columns as a file of format ``fmt``; Parquet columns stored as ``storages[name]``."""
    names = list(columns)
    rows = len(columns[names[0]])
    if fmt == "csv":
        lines = [",".join(names)] + [",".join(_text(columns[n][i]) for n in names) for i in range(rows)]
        return write("t.csv", "\n".join(lines) + "\n")
    if fmt == "jsonl":
        def native(v: Any) -> Any:
            return _text(v) if isinstance(v, dt.date) else v
        lines = [json.dumps({n: native(columns[n][i]) for n in names}) for i in range(rows)]
        return write("t.jsonl", "\n".join(lines) + "\n")
    table = pa.table({n: _arrow(columns[n], storages.get(n) or pa.int64()) for n in names})
    path = write("t.parquet", b"")
    pq.write_table(table, path)
    return path


@pytest.mark.parametrize(("kind", "fmt", "storage"), CASES)
def test_a_unique_column_of_every_type_passes_distinct_values_and_fails_each_repeated_row(write, kind, fmt,
                                                                                         storage):
    values = values_for(kind, storage)
    c = contract([{"name": "k", "type": kind, "unique": True}])
    clean = run(write_table(write, {"k": values}, fmt, {"k": storage}), c)
    assert (clean.verdict, rule(clean, "k.unique")["failing_rows"]) == ("pass", 0), clean.report["message"]
    repeated = run(write_table(write, {"k": [*values, values[0]]}, fmt, {"k": storage}), c)
    outcome = rule(repeated, "k.unique")
    assert (outcome["passed"], outcome["failing_rows"]) == (False, 2), repeated.report["message"]
    assert sorted(e["row"] for e in outcome["examples"]) == [0, len(values)]


@pytest.mark.parametrize(("kind", "fmt", "storage"), CASES)
@pytest.mark.parametrize("chunk_rows", [2, 1000])
def test_a_composite_primary_key_with_a_column_of_every_type_fails_only_repeated_combinations(
        write, kind, fmt, storage, chunk_rows):
    values = values_for(kind, storage)
    key = values + values  # each value twice, told apart by `n` in the clean file
    c = contract([{"name": "k", "type": kind}, {"name": "n", "type": "int"}],
                 rules={"primary_key": {"columns": ["k", "n"]}})
    storages = {"k": storage, "n": pa.int64()}
    clean_n = [i // len(values) for i in range(len(key))]
    clean = run(write_table(write, {"k": key, "n": clean_n}, fmt, storages), c, chunk_rows=chunk_rows)
    assert (clean.verdict, rule(clean, "dataset.primary_key")["failing_rows"]) == ("pass", 0), \
        clean.report["message"]
    n = [i % len(values) for i in range(len(key))]  # every (k, n) pair twice
    repeated = run(write_table(write, {"k": key, "n": n}, fmt, storages), c, chunk_rows=chunk_rows)
    outcome = rule(repeated, "dataset.primary_key")
    assert (outcome["passed"], outcome["failing_rows"]) == (False, len(key)), repeated.report["message"]
    assert repeated.reason == "invalid_rows"


def test_a_daily_file_keyed_by_its_date_passes_and_a_repeated_day_fails_both_rows(write):
    c = contract([{"name": "day", "type": "date", "unique": True}, {"name": "rides", "type": "int"}],
                 rules={"primary_key": {"columns": ["day"]}})
    days = "".join(f"2024-01-{d:02d},{d * 10}\n" for d in range(1, 31))
    clean = run(write("daily.csv", "day,rides\n" + days), c)
    assert clean.verdict == "pass", clean.report["message"]
    repeated = run(write("daily.csv", "day,rides\n" + days + "2024-01-05,1\n"), c)
    assert {r: rule(repeated, r)["failing_rows"] for r in ("day.unique", "dataset.primary_key")} == \
        {"day.unique": 2, "dataset.primary_key": 2}
    assert [e["value"] for e in rule(repeated, "day.unique")["examples"]] == ["2024-01-05", "2024-01-05"]
