"""Differential tests: the engine's verdict on generated tables equals a plain-Python oracle's.

Every rule kind (type, not_null, unique, range with exclusive bounds, allowed, pattern, length,
primary_key, row_count, freshness) on every column type (int, float, bool, string, category, date,
timestamp), with nulls and values that do not fit the type, in CSV, JSONL and Parquet (native and
text storage, several row groups), read in chunks of 7 rows and in one chunk. The expected failing
rows come from :mod:`tests.unit.validation.oracle`, written from the contract's documented semantics.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import tempfile
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.core.validation.contract import parse_contract
from chalicelib.core.validation.engine import validate_file
from tests.unit.validation import oracle
from tests.unit.validation.oracle import Cell, Column

TYPES = ("int", "float", "bool", "string", "category", "date", "timestamp")
FORMATS = ("csv", "jsonl", "parquet")
NOW = dt.datetime(2024, 6, 1, 12, 0, 0)
EXAMPLES = int(os.environ.get("SLUICE_DIFFERENTIAL_EXAMPLES", "25"))  # per column type; raise it to hunt
PII_KEY = b"test-only-key-0123456789abcdef"
TRUE_TOKENS = ("true", "t", "yes", "y", "1")  # the spellings the contract's bool type reads (any case)
FALSE_TOKENS = ("false", "f", "no", "n", "0")
BAD = {  # text that is no value of the type
    "int": ["1.5", "abc", "99999999999999999999", "--1", "0x10", "1 000"],
    "float": ["abc", "1.2.3", "1,5", "--1", "0x10", "5 EUR"],
    "bool": ["maybe", "2", "-1", "truee", "on"],
    "date": ["2023-02-29", "01/02/2024", "2024-13-01", "tomorrow"],
    "timestamp": ["2024-13-01 00:00:00", "noon", "2024-01-01 25:00:00", "2024-02-30T00:00:00"],
}
PATTERNS = ["[a-z]*", ".*", ".+", r"\d+", r"\w*", r"\s*\S+", "a|b", "(?s)a.*", "[^,]*", "K.ln", r"\D*",
            r"\W?\w*", "x{0,2}", r"[\d\s]*", "ab$|a", "[A-Za-z]+", "x{,}", r"[\[:a]*",
            r"\N{LATIN SMALL LETTER A}b?"]
TEXT_ALPHABET = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
SMALL_TEXT = st.sampled_from(["a", "b", "ab", "Köln", "K\u00f6ln", " a", "a ", "NA", "", "x,y", 'q"t', "٣",
                              "\u00a0", "\x0b", "\u1680", "_", "Ab", "A", "1", "a\nb"])

NEAR = (dt.datetime(2024, 5, 25), dt.datetime(2024, 6, 5))


def _timestamps() -> st.SearchStrategy[dt.datetime]:
    return st.one_of(st.datetimes(min_value=NEAR[0], max_value=NEAR[1]),
                     st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)))


VALUES: dict[str, st.SearchStrategy[Any]] = {
    "int": st.one_of(st.integers(-5, 5), st.integers(-(2**63), 2**63 - 1),
                     st.sampled_from([2**53, 2**53 + 1, -(2**53) - 1, 2**63 - 1, -(2**63)])),
    "float": st.one_of(st.sampled_from([0.0, -0.0, 0.1, 1.5, -2.5, 1e300, 5e-324, 2.0**53, math.inf,
                                        -math.inf]),
                       st.floats(allow_nan=False, allow_infinity=False)),
    "bool": st.booleans(),
    "string": st.one_of(SMALL_TEXT, st.text(TEXT_ALPHABET, max_size=5)),
    "category": SMALL_TEXT,
    "date": st.one_of(st.dates(min_value=NEAR[0].date(), max_value=NEAR[1].date()),
                      st.dates(min_value=dt.date(1, 1, 2), max_value=dt.date(9999, 12, 30))),
    "timestamp": _timestamps(),
}


@st.composite
def spelling(draw: st.DrawFn, kind: str, value: Any) -> str:
    """One of the ways a text file may spell ``value`` as ``kind`` (blanks around it allowed)."""
    text = draw(_spelling(kind, value))
    if kind not in ("string", "category") and draw(st.integers(0, 5)) == 0:
        text = draw(st.sampled_from([f" {text}", f"{text} ", f"\t{text} "]))
    return text


@st.composite
def _spelling(draw: st.DrawFn, kind: str, value: Any) -> str:
    if kind == "int":
        options = [str(value)] + ([f"+{value}", f"0{value}"] if value >= 0 else [])
        return draw(st.sampled_from(options))
    if kind == "float":
        options = [repr(value), f"{value:.17g}"]
        if value.is_integer() and abs(value) < 1e15:
            options.append(str(int(value)))
        return draw(st.sampled_from(options))
    if kind == "bool":
        token = draw(st.sampled_from(TRUE_TOKENS if value else FALSE_TOKENS))
        return draw(st.sampled_from([token, token.upper(), token.capitalize()]))
    if kind == "date":
        return value.isoformat()
    if kind == "timestamp":
        text = value.isoformat(sep=draw(st.sampled_from(["T", " "])))
        if NEAR[0] <= value <= NEAR[1]:
            offset = draw(st.sampled_from([None, 0, 120, -330]))
            if offset is not None:
                zone = dt.timezone(dt.timedelta(minutes=offset))
                text = value.replace(tzinfo=dt.UTC).astimezone(zone).isoformat()
                text = text.replace("+00:00", "Z") if offset == 0 else text
        return text
    return value


@st.composite
def column(draw: st.DrawFn, name: str, kind: str, rows: int) -> Column:
    pool = draw(st.lists(VALUES[kind], min_size=1, max_size=6, unique_by=_identity(kind)))
    cells = []
    bad_share = draw(st.sampled_from([0.0, 0.0, 0.15])) if kind in BAD else 0.0
    null_share = draw(st.sampled_from([0.0, 0.1, 0.3]))
    nan_share = draw(st.sampled_from([0.0, 0.1])) if kind == "float" else 0.0
    for _ in range(rows):
        roll = draw(st.floats(0, 1))
        if roll < nan_share:
            cells.append(Cell("nan", text=draw(st.sampled_from(["nan", "NaN", "NAN", "-nan"]))))
        elif roll < null_share:
            cells.append(Cell("null"))
        elif roll < null_share + bad_share:
            cells.append(Cell("bad", text=draw(st.sampled_from(BAD[kind]))))
        else:
            value = draw(st.sampled_from(pool))
            cells.append(Cell("value", value, draw(spelling(kind, value))))
    col = Column(name, kind, cells, parquet_text=bad_share > 0 or (draw(st.booleans()) and kind != "string"))
    col.spec = draw(rules_of(col, pool))
    return col


def _identity(kind: str) -> Any:
    if kind == "float":
        return lambda v: (v, str(v))  # 0.0 and -0.0 both in a pool: they are one value for unique
    return lambda v: v


@st.composite
def rules_of(draw: st.DrawFn, col: Column, pool: list[Any]) -> dict[str, Any]:
    kind, spec = col.type, {}
    spec["nullable"] = draw(st.booleans())
    if draw(st.booleans()):
        spec["unique"] = True
    if kind in ("int", "float", "date", "timestamp") and draw(st.booleans()):
        _bounds(draw, col, pool, spec)
    if draw(st.integers(0, 3)) == 0:
        _allowed(draw, col, pool, spec)
    if kind in ("string", "category"):
        if draw(st.booleans()):
            spec["pattern"] = draw(st.sampled_from(PATTERNS))
        if draw(st.booleans()):
            low = draw(st.none() | st.integers(0, 3))
            high = draw(st.none() | st.integers(low or 0, 5))
            spec.update({k: v for k, v in (("min_length", low), ("max_length", high)) if v is not None})
    if draw(st.integers(0, 5)) == 0:
        spec["severity"] = "warn"
    return spec


def _bound_value(draw: st.DrawFn, kind: str, pool: list[Any]) -> Any:
    value = draw(st.sampled_from(pool) | VALUES[kind])
    if kind == "int" and draw(st.integers(0, 3)) == 0:
        return value + draw(st.sampled_from([0.5, -0.5, 0.0]))  # a float bound on an int column
    if kind == "float" and draw(st.integers(0, 3)) == 0:
        return draw(st.integers(-(2**60), 2**60))  # an int bound on a float column
    if kind == "date" and draw(st.integers(0, 3)) == 0:
        return dt.datetime.combine(value, dt.time(draw(st.integers(0, 23))))  # a bound with a time of day
    if kind == "timestamp" and draw(st.integers(0, 3)) == 0:
        return value.date()
    return value


def _bounds(draw: st.DrawFn, col: Column, pool: list[Any], spec: dict[str, Any]) -> None:
    lo = _bound_value(draw, col.type, pool) if draw(st.booleans()) else None
    hi = _bound_value(draw, col.type, pool) if draw(st.booleans()) else None
    if lo is None and hi is None:
        return
    if lo is not None and hi is not None and oracle._instant(lo) > oracle._instant(hi):
        lo, hi = hi, lo
    ex_lo = lo is not None and draw(st.booleans())
    ex_hi = hi is not None and draw(st.booleans())
    if lo is not None and hi is not None and oracle._instant(lo) == oracle._instant(hi):
        ex_lo = ex_hi = False
    col.bounds = (lo, hi)
    for key, bound in (("min", lo), ("max", hi)):
        if bound is not None:
            spec[key] = oracle.iso(bound) if col.type in ("date", "timestamp") else bound
    spec.update({k: True for k, on in (("exclusive_min", ex_lo), ("exclusive_max", ex_hi)) if on})


def _allowed(draw: st.DrawFn, col: Column, pool: list[Any], spec: dict[str, Any]) -> None:
    values = draw(st.lists(st.sampled_from(pool) | VALUES[col.type], min_size=1, max_size=4))
    if col.type == "date" and draw(st.booleans()):
        values = [*values, dt.datetime.combine(values[0], dt.time(6))]  # never a date: a time of day
    col.allowed = values
    spec["allowed"] = [oracle.iso(v) for v in values] if col.type in ("date", "timestamp") else values


@st.composite
def tables(draw: st.DrawFn, kind: str) -> tuple[list[Column], dict[str, Any]]:
    rows = draw(st.integers(1, 30))
    kinds = [kind, *draw(st.lists(st.sampled_from(TYPES), max_size=2))]
    columns = [draw(column(f"c{i}_{k}", k, rows)) for i, k in enumerate(kinds)]
    rules: dict[str, Any] = {}
    if draw(st.booleans()):
        names = draw(st.lists(st.sampled_from([c.name for c in columns]), min_size=1, max_size=3,
                              unique=True))
        rules["primary_key"] = {"columns": names, "severity": draw(st.sampled_from(["error", "warn"]))}
    if draw(st.booleans()):
        lo = draw(st.none() | st.integers(0, 32))
        hi = draw(st.none() | st.integers(lo or 0, 32))
        if lo is not None or hi is not None:
            rules["row_count"] = {k: v for k, v in (("min", lo), ("max", hi)) if v is not None}
    temporal = [c.name for c in columns if c.type in ("date", "timestamp")]
    if temporal and draw(st.booleans()):
        rules["freshness"] = {"column": draw(st.sampled_from(temporal)),
                              "max_age_s": draw(st.sampled_from([0, 3600, 86400, 86400 * 3, 10**6]))}
    return columns, rules


def contract_of(columns: list[Column], rules: dict[str, Any]) -> Any:
    stated = {k: v for k, v in rules.items() if k != "freshness"}
    if "freshness" in rules:
        stated["freshness"] = {"column": rules["freshness"]["column"],
                               "max_age": f"{rules['freshness']['max_age_s']}s"}
    return parse_contract({"dataset": "t", "columns": [c.contract() for c in columns], "rules": stated,
                           "undeclared_pii": "off"})


def severities(columns: list[Column], rules: dict[str, Any]) -> dict[str, str]:
    """Rule id → severity: the column's, the dataset rule's own, else error."""
    out = {f"{c.name}.{kind}": c.spec.get("severity", "error") for c in columns
           for kind in ("type", "not_null", "unique", "range", "allowed", "pattern", "length")}
    for kind, rule in rules.items():
        out[f"dataset.{kind}"] = rule.get("severity", "error")
    return out


def check(columns: list[Column], rules: dict[str, Any], fmt: str, folder: str, options: dict[str, Any],
          ) -> None:
    path = oracle.write(columns, fmt, os.path.join(folder, f"t.{fmt}"), **options)
    contract = contract_of(columns, rules)
    expected = oracle.expect(columns, fmt, rules, now=NOW)
    levels = {ref.id: ref.level for ref in contract.rule_plan()}
    for chunk_rows in (7, 100_000):
        result = validate_file(path, contract, pii_key=PII_KEY, chunk_rows=chunk_rows, now=NOW)
        got = {r["id"]: r for r in result.report["rules"]}
        where = f"{fmt}, chunk_rows={chunk_rows}, {options}"
        assert set(got) == set(expected), where
        for rule_id, rows in expected.items():
            outcome = got[rule_id]
            assert outcome["status"] == ("failed" if rows else "passed"), (rule_id, where, outcome)
            if levels[rule_id] == "row":
                assert outcome["failing_rows"] == len(rows), (rule_id, where, sorted(rows), outcome)
                assert [e["row"] for e in outcome["examples"]] == sorted(rows)[:20], (rule_id, where)
        severity = severities(columns, rules)
        invalid = oracle.invalid_rows(expected, severity)
        assert result.invalid_rows == len(invalid), where
        reasons = {row: set(why.split(";")) for frame in result.iter_quarantined()
                   for row, why in zip(frame["_row"].tolist(), frame["_reasons"].tolist(), strict=True)}
        assert sorted(reasons) == sorted(invalid), where
        for row, why in reasons.items():  # each quarantined row names the error rules it fails
            assert why == {r for r, rows in expected.items() if row in rows and levels[r] == "row"
                           and severity.get(r, "error") == "error"}, (where, row)
        assert sum(len(frame) for frame in result.iter_curated()) == len(columns[0].cells) - len(invalid)
        errors = [r for r, rows in expected.items() if rows and severity.get(r, "error") == "error"]
        assert result.verdict == ("fail" if errors else "pass"), (where, errors)


@pytest.mark.slow  # 2-3.5 s per column type: the unit tier's quick loop is -m "not slow"
@pytest.mark.parametrize("kind", TYPES)
@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.large_base_example])
@given(data=st.data())
def test_every_rule_on_a_column_of_each_type_fails_exactly_the_rows_the_oracle_names(kind, data):
    columns, rules = data.draw(tables(kind))
    options = {"csv": {}, "jsonl": {"omit_nulls": data.draw(st.booleans())},
               "parquet": {"row_group_rows": data.draw(st.integers(3, 40)),
                           "tz": data.draw(st.sampled_from([None, "UTC", "Europe/Berlin"]))}}
    with tempfile.TemporaryDirectory(prefix="sluice-diff-") as folder:
        for fmt in FORMATS:
            check(columns, rules, fmt, folder, options[fmt])
