"""The inferred contract accepts the file it was inferred from (engine level; the HTTP round trip is in
tests/functional/datasets/test_roundtrip.py)."""

from __future__ import annotations

import copy
import os
import tempfile
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from chalicelib.core.validation.contract import parse_contract
from chalicelib.core.validation.engine import validate_file
from chalicelib.core.validation.infer import infer_contract
from tests.unit.validation.frames import Frame, frames

PII_KEY = b"test-only-key-0123456789abcdef"
EXAMPLES = int(os.environ.get("SLUICE_ROUNDTRIP_EXAMPLES", "40"))


def with_keys(inferred: dict[str, Any], frame: Frame) -> dict[str, Any]:
    """``inferred`` plus ``unique: true`` on every column whose values are distinct in the file and a
    primary key over those of them without nulls."""
    unique, key = frame.key_columns()
    document = copy.deepcopy(inferred)
    named = {column["name"].strip(): column for column in document["columns"]}  # CSV trims header names
    for name in unique:
        named[name.strip()]["unique"] = True
    if key:
        document.setdefault("rules", {})["primary_key"] = {"columns": [named[n.strip()]["name"] for n in key]}
    else:
        document.get("rules", {}).pop("primary_key", None)
    return document


def assert_accepts(document: dict[str, Any], path: str) -> None:
    contract = parse_contract(document)
    for chunk_rows in (7, 100_000):
        result = validate_file(path, contract, pii_key=PII_KEY, chunk_rows=chunk_rows)
        failed = {r["id"]: r.get("examples") for r in result.report["rules"] if r["status"] == "failed"}
        assert (result.verdict, failed) == ("pass", {}), (result.report["message"], document)
        assert sum(len(f) for f in result.iter_curated()) == result.rows


@pytest.mark.slow  # 2-3 s per format
@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(frame=frames())
def test_the_inferred_contract_and_its_keyed_variant_accept_the_file_they_were_inferred_from(fmt, frame):
    with tempfile.TemporaryDirectory(prefix="sluice-rt-") as folder:
        path = frame.write(fmt, os.path.join(folder, f"data.{fmt}"))
        inferred = infer_contract(path, "roundtrip")
        assert parse_contract(inferred).model_dump(mode="json", exclude_defaults=True)
        assert_accepts(inferred, path)
        assert_accepts(with_keys(inferred, frame), path)


# -- what the round trip found (each failed before its fix) ----------------------------------------------


def test_a_csv_header_with_blanks_around_a_name_is_read_as_the_trimmed_name(write):
    path = write("d.csv", " fare , city\r\n1.5,Bonn\r\n")
    inferred = infer_contract(path, "d")
    assert [c["name"] for c in inferred["columns"]] == ["fare", "city"]
    assert_accepts(inferred, path)  # was unreadable_file (ArrowKeyError: the reader asked for "fare")


@pytest.mark.parametrize("values", [[1e-7, 2e-7], [0.1234567, 0.12345674], [-3e-9, -1e-9], [1e308, -1e308]])
def test_inferred_float_bounds_never_cut_into_the_observed_values(write, values):
    path = write("d.csv", "x\n" + "".join(f"{v!r}\n" for v in values))
    column = infer_contract(path, "d")["columns"][0]
    assert column["min"] <= min(values) and column["max"] >= max(values)
    assert_accepts(infer_contract(path, "d"), path)


def test_inferred_int_bounds_hold_integers_beyond_2_to_the_53(write):
    values = [2**62 + 600, 2**62 + 1000]  # as floats both are 2**62 + 1024: the bounds were off
    path = write("d.csv", "n\n" + "".join(f"{v}\n" for v in values))
    column = infer_contract(path, "d")["columns"][0]
    assert column["min"] <= min(values) and column["max"] >= max(values)
    assert isinstance(column["min"], int) and isinstance(column["max"], int)


def test_a_float_nan_makes_the_inferred_column_nullable(write):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = write("d.parquet", b"")
    pq.write_table(pa.table({"x": pa.array([1.5, float("nan"), 2.5])}), path)
    inferred = infer_contract(path, "d")
    assert inferred["columns"][0]["nullable"] is True
    assert_accepts(inferred, path)
