"""The one pass's memory does not grow with the number of rows: what it holds while it reads is the
chunks in flight, not the file.

Measured as Arrow's allocated bytes at every part the sinks are given (Arrow holds the decoded data; the
books kept per row are a few bytes of numpy), on files of the same row groups, 3 and 20 of them: the
last parts of the long file must not see more memory than the short file's. The files hold a column the
contract drops: reading some of a Parquet file's columns with one ``iter_batches`` over every row group,
Arrow kept each row group's column chunks until the end of the file (the key pre-pass reads the key
column alone), so before the reader went one row group at a time the memory grew by about a column
chunk per row group (the benchmark's 5M-row file: +50 MiB per 1M-row group). CSV: the same promise.
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
from tests.unit.validation.helpers import PII_KEY, contract

GROUP_ROWS = 40_000
MIB = 2**20


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


def peak_of_late_parts(path: str, file_format: str) -> int:
    curated = MemoryAtEachPart()
    result = validate_stream(path, rides(file_format), pii_key=PII_KEY, curated=curated,
                             quarantine=MemoryAtEachPart(), chunk_rows=GROUP_ROWS // 2)
    assert result.decision == "accept"
    return max(curated.allocated[-4:])  # the last parts: whatever piled up is there by then


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
    short = peak_of_late_parts(write(folder, file_format, 3), file_format)
    long = peak_of_late_parts(write(folder, file_format, 20), file_format)
    # measured: Parquet 13-14 MiB at both lengths, 15 and 22 MiB before the fix; CSV 15-19 MiB (threads)
    assert long <= short * 1.1 + 2.5 * MIB, f"{long / MIB:.1f} MiB at the end of 20 row groups, " \
        f"{short / MIB:.1f} MiB at the end of 3"
