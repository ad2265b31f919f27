"""Regression tests for each disagreement the differential tests found between the engine and the
contract's semantics (each failed before its fix)."""

from __future__ import annotations

import re
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from chalicelib.core.validation.rules import pattern_mask
from tests.unit.validation.helpers import contract, failing, rule, run


def test_a_hexadecimal_text_is_no_integer(write):
    # Arrow's cast reads "0x10" as 16; the contract's integers are decimal
    result = run(write("d.csv", "n\n0x10\n0X1f\n7\n"), contract([{"name": "n", "type": "int"}]))
    assert failing(result) == {"n.type": 2}


@pytest.mark.parametrize("other", ["1.5", "abc"])
def test_infinity_is_a_float_whether_or_not_its_chunk_holds_a_bad_value(write, other):
    # the vectorized cast took "inf", the per-value fallback (used when a chunk has a bad value) did not
    c = contract([{"name": "x", "type": "float", "max": 1e308}])
    result = run(write("d.csv", f"x\ninf\n{other}\n-Infinity\n"), c)
    assert rule(result, "x.range")["failing_rows"] == 1
    assert rule(result, "x.type")["failing_rows"] == (other == "abc")


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet", "parquet-text"])
def test_a_float_nan_is_a_missing_value_in_every_format(write, fmt):
    values = [1.5, float("nan"), None, 2.5]
    if fmt == "csv":
        path = write("d.csv", "x\n1.5\nNAN\nNA\n2.5\n")  # "NAN" is no null token: it is read as NaN
    elif fmt == "jsonl":
        path = write("d.jsonl", '{"x": 1.5}\n{"x": NaN}\n{"x": null}\n{"x": 2.5}\n')
    else:
        path = write("d.parquet", b"")
        arr = pa.array(values) if fmt == "parquet" else pa.array(["1.5", "nan", None, "2.5"])
        pq.write_table(pa.table({"x": arr}), path)
    c = contract([{"name": "x", "type": "float", "min": 2, "unique": True, "allowed": [1.5, 2.5]}])
    result = run(path, c)
    assert failing(result) == {"x.not_null": 2, "x.range": 1}  # NaN is neither in range nor allowed


def test_negative_zero_is_zero_for_the_allowed_rule(write):
    c = contract([{"name": "x", "type": "float", "allowed": [0.0]}])
    assert failing(run(write("d.csv", "x\n0.0\n-0.0\n-0\n"), c)) == {}


@pytest.mark.parametrize(("bound", "exclusive"), [
    (2.0**53, False), (2.0**53, True), (0.5, False), (-0.5, True), (1e30, False), (-1e30, True),
    (9.3e18, False), (-9.3e18, True), (float(2**63), False),
])
def test_an_int_column_compares_exactly_with_a_float_bound_beyond_2_to_the_53(write, bound, exclusive):
    # Arrow compared int64 with a float64 scalar by casting the column: inexact, or unreadable_file
    values = [-(2**53) - 1, 0, 2**53, 2**53 + 1, 2**63 - 1]
    c = contract([{"name": "n", "type": "int", "min": bound, "exclusive_min": exclusive}])
    result = run(write("d.csv", "n\n" + "\n".join(map(str, values)) + "\n"), c)
    assert result.reason != "unreadable_file", result.report["message"]
    expected = [v for v in values if (v <= bound if exclusive else v < bound)]
    assert [e["value"] for e in rule(result, "n.range")["examples"]] == expected


@pytest.mark.parametrize(("bound", "side"), [(2**53 + 1, "min"), (2**53 + 1, "max"), (-(2**60) - 1, "min"),
                                             (10**400, "max"), (10**400, "min")])
def test_a_float_column_compares_exactly_with_an_int_bound_no_float_equals(write, bound, side):
    values = [2.0**53, 2.0**53 + 2, -(2.0**60), 1e300]
    c = contract([{"name": "x", "type": "float", side: bound}])
    result = run(write("d.csv", "x\n" + "\n".join(map(repr, values)) + "\n"), c)
    expected = [v for v in values if (v < bound if side == "min" else v > bound)]
    assert [e["value"] for e in rule(result, "x.range")["examples"]] == expected


@pytest.mark.parametrize(("spec", "fails"), [
    ({"min": "2024-01-02T06:00:00"}, ["2024-01-01", "2024-01-02"]),  # 01-02 is its midnight: before 06:00
    ({"min": "2024-01-02T06:00:00", "exclusive_min": True}, ["2024-01-01", "2024-01-02"]),
    ({"max": "2024-01-02T06:00:00"}, ["2024-01-03"]),
    ({"max": "2024-01-02T06:00:00", "exclusive_max": True}, ["2024-01-03"]),
    ({"max": "2024-01-02T00:00:00", "exclusive_max": True}, ["2024-01-02", "2024-01-03"]),
    ({"allowed": ["2024-01-01", "2024-01-02T06:00:00"]}, ["2024-01-02", "2024-01-03"]),
])
def test_a_date_compares_as_its_midnight_with_a_bound_or_allowed_moment_that_has_a_time_of_day(
        write, spec, fails):
    result = run(write("d.csv", "d\n2024-01-01\n2024-01-02\n2024-01-03\n"),
                 contract([{"name": "d", "type": "date", **spec}]))
    kind = "allowed" if "allowed" in spec else "range"
    assert [e["value"] for e in rule(result, f"d.{kind}")["examples"]] == fails


def test_primary_key_examples_are_the_first_failing_rows_whether_null_or_repeated(write):
    body = "k\n" + "".join(["1\n", "1\n"] + ["null\n" if i % 2 else "NA\n" for i in range(25)])
    c = contract([{"name": "k", "type": "int", "nullable": True}], rules={"primary_key": {"columns": ["k"]}})
    examples = rule(run(write("d.csv", body), c, chunk_rows=7), "dataset.primary_key")["examples"]
    assert [e["row"] for e in examples] == list(range(20))
    assert [e["problem"] for e in examples[:3]] == ["duplicate", "duplicate", "null key"]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_unique_category_column_without_any_value_is_validated_not_crashed(write, fmt):
    # an all-null dictionary column has an empty dictionary: hashing indexed into it (IndexError)
    if fmt == "csv":
        path = write("d.csv", "c,n\nNA,1\n,2\n")
    else:
        path = write("d.parquet", b"")
        pq.write_table(pa.table({"c": pa.array([None, None], pa.string()), "n": [1, 2]}), path)
    c = contract([{"name": "c", "type": "category", "unique": True, "nullable": True},
                  {"name": "n", "type": "int"}], rules={"primary_key": {"columns": ["c", "n"]}})
    assert failing(run(path, c)) == {"dataset.primary_key": 2}


def test_nanosecond_timestamps_as_pandas_writes_them_are_read_to_the_microsecond(write):
    path = write("d.parquet", b"")
    stamps = pd.to_datetime(["2024-01-01 10:00:00.123456789", None, "1969-12-31 23:59:59.999999999"])
    pd.DataFrame({"ts": stamps}).to_parquet(path)
    c = contract([{"name": "ts", "type": "timestamp", "nullable": True, "unique": True,
                   "max": "2024-01-01T10:00:00.123456"}])
    result = run(path, c)
    assert result.verdict == "pass", result.report["message"]
    assert next(result.iter_curated())["ts"].astype(str).tolist()[::2] == \
        ["2024-01-01 10:00:00.123456", "1969-12-31 23:59:59.999999"]


def test_unicode_classes_match_exactly_what_python_re_matches_on_every_code_point():
    # RE2's \d \w \s are ASCII-only (and its Unicode tables may be of another version than Python's)
    every = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    column = pa.array(list(every))
    for pattern in [r"\d", r"\S", r"\w", r"[\w\s]"]:
        expected = np.ones(len(every), dtype=bool)
        expected[[m.start() for m in re.finditer(pattern, every)]] = False
        wrong = np.flatnonzero(pattern_mask(column, pattern) != expected)
        assert [hex(ord(every[i])) for i in wrong[:5]] == [], pattern


@pytest.mark.filterwarnings("ignore:Possible nested set")
@pytest.mark.parametrize(("pattern", "value", "matches"), [
    (r"\d+", "٣٤", True), (r"\w+", "Köln_2", True), (r"a\sb", "a\x1cb", True), ("x{,2}", "xx", True),
    ("x{,2}", "x{,2}", False), (r"[[:alpha:]]", "a", False), (r"[[:alpha:]]", "p]", True),
    (r"a\Z", "a", True), (r"\u00e9", "é", True), ("x{,}", "xxx", True), ("x{}", "x{}", True),
    ("a$|b", "a", True), ("a$|b", "a\n", False), ("(a$)", "a\n", False), (r"\N{DIGIT THREE}", "3", True),
    ("a(?#note)b", "ab", True), (r"[\d_]+", "٣_", True),
])
def test_patterns_mean_what_python_re_fullmatch_means(pattern, value, matches):
    assert (re.fullmatch(pattern, value) is not None) is matches
    assert bool(pattern_mask(pa.array([value]), pattern)[0]) is not matches
