"""``validate_stream(max_rows=…)``: a file with more rows than the caller's memory holds fails readable
with ``file_too_large`` — Parquet before a row is read, text as soon as the read passes the limit, the
key pre-pass included — and nothing reaches the sinks for good."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from chalicelib.core.validation.engine import key_rule_count, row_books_bytes, validate_stream
from tests.unit.validation.helpers import PII_KEY, contract

ROWS = 1_000


class Recording:
    """A sink noting what it was given, and whether it was told to forget it."""

    def __init__(self) -> None:
        self.parts = 0
        self.aborted = False

    def write(self, part: int, table: pa.Table) -> None:
        self.parts += 1

    def replace(self, part: int, table: pa.Table) -> None:
        self.parts += 1

    def close(self) -> None:
        pass

    def abort(self) -> None:
        self.aborted = True


def rides(file_format: str, *, unique: bool):
    return contract([{"name": "id", "type": "int", "unique": unique}, {"name": "fare", "type": "float"}],
                    format={"type": file_format})


def write(tmp_path, file_format: str) -> str:
    table = pa.table({"id": list(range(ROWS)), "fare": [i * 0.5 for i in range(ROWS)]})
    path = str(tmp_path / f"rides.{file_format}")
    if file_format == "parquet":
        pq.write_table(table, path, row_group_size=100)
    else:
        with open(path, "w") as fh:
            fh.write("id,fare\n" + "".join(f"{i},{i * 0.5}\n" for i in range(ROWS)))
    return path


def stream(path: str, c, max_rows: int | None):
    curated, quarantine = Recording(), Recording()
    result = validate_stream(path, c, pii_key=PII_KEY, curated=curated, quarantine=quarantine, chunk_rows=100,
                             max_rows=max_rows)
    return result, curated


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
@pytest.mark.parametrize("unique", [False, True])
def test_one_row_past_the_limit_is_file_too_large_and_nothing_is_kept(tmp_path, file_format, unique):
    path = write(tmp_path, file_format)
    result, curated = stream(path, rides(file_format, unique=unique), max_rows=ROWS - 1)
    readable = next(r for r in result.report["rules"] if r["id"] == "dataset.readable")
    assert (result.decision, readable["details"]["code"]) == ("reject_file", "file_too_large")
    assert readable["details"]["limit_rows"] == ROWS - 1
    assert f"more than {ROWS - 1:,} rows" in readable["message"]
    assert curated.aborted
    if file_format == "parquet" or unique:  # the footer's count, or the key pre-pass: before any part
        assert curated.parts == 0


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_a_file_at_the_limit_or_without_one_passes(tmp_path, file_format):
    path = write(tmp_path, file_format)
    for limit in (ROWS, None):
        result, curated = stream(path, rides(file_format, unique=True), max_rows=limit)
        assert (result.decision, result.rows, curated.aborted) == ("accept", ROWS, False)


def test_the_books_per_row_grow_with_the_key_rules():
    plain = contract([{"name": "a", "type": "int"}])
    keyed = contract([{"name": "a", "type": "int", "unique": True}, {"name": "b", "type": "int"}],
                     rules={"primary_key": {"columns": ["a", "b"]}})
    assert (key_rule_count(plain), key_rule_count(keyed)) == (0, 2)
    assert row_books_bytes(0) < row_books_bytes(1) < row_books_bytes(2)
