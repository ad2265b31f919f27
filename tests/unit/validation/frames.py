"""Hypothesis strategies for tables a user would upload, and writers that save them as pandas would.

A :class:`Frame` holds named columns of Python values (None = null) of one kind each: ``int``,
``float``, ``bool``, ``text``, ``category`` (few distinct words), ``date``, ``timestamp`` (naive)
and ``timestamp_tz`` (aware). :meth:`Frame.write` saves it as CSV (``pandas.to_csv``), Parquet
(``pandas.to_parquet``) or JSONL (one ``json.dumps`` object per line). :meth:`Frame.key_columns`
tells which columns hold distinct values, computed in plain Python.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

KINDS = ("int", "float", "bool", "text", "category", "date", "timestamp", "timestamp_tz")
NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789_- äöüß"
WORDS = ["Berlin", "Hamburg", "Köln", "São Paulo", "N/A city", "a,b", 'say "hi"']
ZONES = [dt.UTC, dt.timezone(dt.timedelta(hours=2)), dt.timezone(dt.timedelta(hours=-5, minutes=-30))]
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8)

VALUES: dict[str, st.SearchStrategy[Any]] = {
    "int": st.one_of(st.integers(-1000, 1000), st.integers(-(2**63), 2**63 - 1)),
    "float": st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.floats(-1e3, 1e3),
                       st.sampled_from([0.0, -0.0, 0.5, 1e-7, 2e-7, math.inf])),
    "bool": st.booleans(),
    "text": TEXT.map(lambda s: "s_" + s),  # a prefix keeps it text (not a number, date or bool)
    "category": st.sampled_from(WORDS),
    "date": st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
    "timestamp": st.datetimes(min_value=dt.datetime(1700, 1, 1), max_value=dt.datetime(2200, 12, 31)),
    "timestamp_tz": st.datetimes(min_value=dt.datetime(1700, 1, 2), max_value=dt.datetime(2200, 12, 30),
                                 timezones=st.sampled_from(ZONES)),
}


@dataclass
class Frame:
    columns: dict[str, tuple[str, list[Any]]]  # name → (kind, values)

    @property
    def rows(self) -> int:
        return len(next(iter(self.columns.values()))[1])

    def key_columns(self) -> tuple[list[str], list[str]]:
        """``(unique, primary_key)``: the columns whose non-null values are all distinct (as the
        contract compares them: numbers by value, timestamps as instants), and those of them without
        nulls."""
        unique, key = [], []
        for name, (kind, values) in self.columns.items():
            present = [_comparable(kind, v) for v in values if v is not None]
            if len(set(present)) == len(present):
                unique.append(name)
                if len(present) == len(values):
                    key.append(name)
        return unique, key

    def write(self, fmt: str, path: str) -> str:
        if fmt == "jsonl":
            with open(path, "w", encoding="utf-8") as fh:
                for i in range(self.rows):
                    fh.write(json.dumps({n: _json(v[i]) for n, (_, v) in self.columns.items()},
                                        ensure_ascii=False) + "\n")
            return path
        frame = self.pandas()
        if fmt == "csv":
            frame.to_csv(path, index=False, lineterminator="\r\n")  # CR and LF inside values get quoted
        else:
            frame.to_parquet(path, index=False)
        return path

    def pandas(self) -> Any:
        import pandas as pd

        data = {}
        for name, (kind, values) in self.columns.items():
            if kind == "int":
                data[name] = pd.array(values, dtype="Int64")
            elif kind == "float":
                data[name] = pd.array([math.nan if v is None else v for v in values], dtype="float64")
            elif kind == "bool":
                data[name] = pd.array(values, dtype="boolean")
            elif kind == "category":
                data[name] = pd.Categorical(values)
            elif kind == "timestamp_tz":
                utc = [None if v is None else v.astimezone(dt.UTC) for v in values]
                data[name] = pd.to_datetime(utc, utc=True).tz_convert(_zone_of(values))
            elif kind == "timestamp":
                data[name] = pd.to_datetime(values)
            else:
                data[name] = pd.Series(values, dtype=object)
        return pd.DataFrame(data)


def _zone_of(values: list[Any]) -> Any:
    zone = next((v.tzinfo for v in values if v is not None), dt.UTC)
    return zone


def _comparable(kind: str, value: Any) -> Any:
    if kind == "timestamp_tz":
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _json(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@st.composite
def frames(draw: st.DrawFn, max_rows: int = 25) -> Frame:
    rows = draw(st.integers(1, max_rows))
    # blanks around a name are kept (a CSV reader trims them: the names stay distinct once trimmed)
    names = draw(st.lists(st.text(NAME_CHARS, min_size=1, max_size=10).filter(str.strip),
                          min_size=1, max_size=6, unique_by=str.strip))
    columns = {}
    for name in names:
        kind = draw(st.sampled_from(KINDS))
        pool = draw(st.lists(VALUES[kind], min_size=1, max_size=rows))
        null_share = draw(st.sampled_from([0.0, 0.0, 0.2, 1.0]))
        values = []
        for i in range(rows):
            if draw(st.floats(0, 1)) < null_share:
                values.append(None)
            elif kind == "timestamp_tz":  # one zone per column, as a file would have it
                values.append(draw(st.sampled_from(pool)).astimezone(pool[0].tzinfo))
            else:
                values.append(pool[i % len(pool)] if draw(st.booleans()) else draw(st.sampled_from(pool)))
        columns[name] = (kind, values)
    return Frame(columns)
