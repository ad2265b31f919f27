"""The one pass's memory does not grow with the number of rows: what it holds while it reads is the
chunks in flight, not the file.

Measured as Arrow's allocated bytes at every part the sinks are given (Arrow holds the decoded data; the
books kept per row are a few bytes of numpy), on files of the same row groups, 3 and 40 of them: the
last parts of the long file must not see more memory than the short file's peak, give or take what the
CSV reader may hold read ahead (``READ_AHEAD_BLOCKS`` blocks: how many it holds at a given part depends
on thread timing, 6-26 MiB measured, so a bound any tighter fails at random). A leak of one column chunk
per row group is 37 x ~1.8 MiB more at the end of the long file, well beyond that allowance.

The files hold a column the contract drops: reading some of a Parquet file's columns with one
``iter_batches`` over every row group, Arrow kept each row group's column chunks until the end of the
file (the key pre-pass reads the key column alone), so before the reader went one row group at a time
the memory grew by about a column chunk per row group (the benchmark's 5M-row file: +50 MiB per 1M-row
group). CSV: the same promise.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from chalicelib.core.validation.contract import Contract
from chalicelib.core.validation.engine import validate_stream
from chalicelib.core.validation.readers import MAX_ROW_BYTES, READ_AHEAD_BLOCKS
from tests.unit.validation.helpers import PII_KEY, contract

GROUP_ROWS = 40_000
SHORT, LONG = 3, 40
MIB = 2**20
READ_AHEAD = {"parquet": 0, "csv": READ_AHEAD_BLOCKS * MAX_ROW_BYTES}


class MemoryAtEachPart:
    """A sink noting Arrow's allocated bytes whenever it is given a part (and dropping the part)."""

    def __init__(self) -> None:
        self.allocated: list[int] = []

    def write(self, part: int, table: pa.Table) -> None:
        self.allocated.append(pa.total_allocated_bytes())

    def replace(self, part: int, table: pa.Table) -> None:
        self.write(part, table)

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


def rows(groups: int) -> Iterator[pa.Table]:
    for g in range(groups):
        start = g * GROUP_ROWS
        ids = [f"{i:032x}" for i in range(start, start + GROUP_ROWS)]
        yield pa.table({"id": ids, "note": [f"note {i % 977} " + "x" * 40 for i in range(GROUP_ROWS)],
                        "amount": pa.array(range(GROUP_ROWS), pa.float64()),
                        "undeclared": [f"{i * 7919:040x}" for i in range(start, start + GROUP_ROWS)]})


def rides(file_format: str) -> Contract:
    return contract([{"name": "id", "type": "string", "unique": True},
                     {"name": "note", "type": "string"},
                     {"name": "amount", "type": "float", "min": 0}],
                    format={"type": file_format}, undeclared_pii="off", extra_columns="drop")


def memory_at_each_part(path: str, file_format: str) -> list[int]:
    curated = MemoryAtEachPart()
    result = validate_stream(path, rides(file_format), pii_key=PII_KEY, curated=curated,
                             quarantine=MemoryAtEachPart(), chunk_rows=GROUP_ROWS // 2)
    assert result.decision == "accept"
    return curated.allocated


@pytest.fixture
def folder() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield tmp


def write(folder: str, file_format: str, groups: int) -> str:
    path = os.path.join(folder, f"rides-{groups}.{file_format}")
    if file_format == "parquet":
        with pq.ParquetWriter(path, next(rows(1)).schema) as writer:
            for table in rows(groups):
                writer.write_table(table, row_group_size=GROUP_ROWS)
    else:
        with pacsv.CSVWriter(path, next(rows(1)).schema) as writer:
            for table in rows(groups):
                writer.write_table(table)
    return path


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
def test_the_memory_of_the_one_pass_does_not_grow_with_the_rows_of_the_file(folder, file_format):
    short = max(memory_at_each_part(write(folder, file_format, SHORT), file_format))
    long = max(memory_at_each_part(write(folder, file_format, LONG), file_format)[-4:])  # what piled up
    # measured: Parquet 13-16 MiB at both lengths (15 and 22 MiB at 3 and 20 groups before the fix)
    assert long <= short * 1.1 + 2.5 * MIB + READ_AHEAD[file_format], \
        f"{long / MIB:.1f} MiB at the end of {LONG} row groups, {short / MIB:.1f} MiB at most over {SHORT}"
