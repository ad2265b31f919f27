"""Contract inference: types, nullability, ranges with a margin, categories, unique and PII candidates."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from chalicelib.core.errors import BadRequestError
from chalicelib.core.validation.contract import parse_contract
from chalicelib.core.validation.infer import infer_contract
from tests.unit.validation.helpers import run

ROWS = 60


def csv_text() -> str:
    lines = ["id,amount,count,flag,day,at,city,email,note"]
    for i in range(ROWS):
        lines.append(",".join([
            f"R{i:04d}", f"{10 + i * 0.5:.2f}", str(i % 7), "true" if i % 3 else "false",
            f"2024-01-{1 + i % 28:02d}", f"2024-01-01T{i % 24:02d}:00:00", ["Berlin", "Bonn", "Essen"][i % 3],
            f"user{i}@example.com", "" if i % 10 == 0 else f"free text {i}"]))
    return "\n".join(lines) + "\n"


def by_name(contract: dict) -> dict[str, dict]:
    return {c["name"]: c for c in contract["columns"]}


def test_a_csv_sample_yields_a_valid_contract_with_the_documented_suggestions(write):
    path = write("rides.csv", csv_text())
    suggestion = infer_contract(path, "rides")
    cols = by_name(suggestion)
    assert {n: c["type"] for n, c in cols.items()} == {
        "id": "string", "amount": "float", "count": "int", "flag": "bool", "day": "date", "at": "timestamp",
        "city": "category", "email": "string", "note": "string"}
    assert cols["amount"]["min"] == pytest.approx(10 - 2.95)
    assert cols["amount"]["max"] == pytest.approx(39.5 + 2.95)
    assert (cols["count"]["min"], cols["count"]["max"]) == (0, 7)  # never below 0 when all values are >= 0
    assert cols["city"]["allowed"] == ["Berlin", "Bonn", "Essen"]
    assert cols["id"]["unique"] is True and cols["email"]["pii"] == "hash" and "allowed" not in cols["email"]
    assert cols["note"]["nullable"] is True and cols["id"]["nullable"] is False
    assert suggestion["rules"]["primary_key"] == {"columns": ["id"]}
    assert "user1@example.com" not in str(suggestion)
    contract = parse_contract(suggestion)
    assert run(path, contract).verdict == "pass"  # the data it came from passes


def test_parquet_native_types_map_directly(tmp_path):
    path = str(tmp_path / "d.parquet")
    pq.write_table(pa.table({"i": pa.array([1, 2, 3], pa.int32()), "f": [0.5, None, 2.5],
                             "b": [True, False, True],
                             "t": pa.array([dt.datetime(2024, 1, 1)] * 3, pa.timestamp("us")),
                             "same": [5, 5, 5]}), path)
    cols = by_name(infer_contract(path, "d"))
    assert {n: c["type"] for n, c in cols.items()} == {
        "i": "int", "f": "float", "b": "bool", "t": "timestamp", "same": "int"}
    assert cols["f"]["nullable"] is True and (cols["f"]["min"], cols["f"]["max"]) == (0.3, 2.7)
    assert (cols["same"]["min"], cols["same"]["max"]) == (4, 6)


def test_an_unreadable_file_is_a_bad_request_with_the_reader_code(write):
    with pytest.raises(BadRequestError) as info:
        infer_contract(write("e.csv", b""), "d")
    assert info.value.code == "empty_file"
    with pytest.raises(BadRequestError) as info:
        infer_contract(write("h.csv", "a,b\n"), "d")
    assert info.value.code == "no_rows"
