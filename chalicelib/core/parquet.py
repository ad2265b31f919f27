"""Parquet files on local disk, with whichever engine the function has: pyarrow, else fastparquet.

Lambda's 250 MB limit keeps pyarrow (157 MB) out of the ML layer (numpy, scipy, scikit-learn,
pandas, fastparquet), so training, serving and monitoring read and write Parquet with fastparquet
there; validation runs with the AWS SDK for pandas layer, which has pyarrow. Both engines go through
these functions, chunk by chunk (row groups), so memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_CHUNK_ROWS = 50_000


def engine(preferred: str | None = None) -> str:
    """``pyarrow`` when importable (or asked for), else ``fastparquet``."""
    if preferred:
        return preferred
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return "fastparquet"
    return "pyarrow"


def iter_file(path: str | Path, *, columns: list[str] | None = None, chunk_rows: int = DEFAULT_CHUNK_ROWS,
              use: str | None = None) -> Iterator[pd.DataFrame]:
    """DataFrames of at most ``chunk_rows`` rows (more when a row group is larger, with fastparquet)."""
    if engine(use) == "pyarrow":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(str(path)).iter_batches(batch_size=chunk_rows, columns=columns):
            yield batch.to_pandas()
        return
    from fastparquet import ParquetFile

    for frame in ParquetFile(str(path)).iter_row_groups(columns=columns):
        for start in range(0, max(len(frame), 1), chunk_rows):
            part = frame.iloc[start:start + chunk_rows]
            if len(part) or start == 0:
                yield part.reset_index(drop=True)


def write_file(path: str | Path, chunks: Iterable[pd.DataFrame], *, use: str | None = None) -> int:
    """Write DataFrame chunks as row groups of one Parquet file; returns the rows written."""
    rows = 0
    if engine(use) == "pyarrow":
        import pyarrow as pa
        import pyarrow.parquet as pq

        writer = None
        try:
            for chunk in chunks:
                table = pa.Table.from_pandas(chunk, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(str(path), table.schema)
                writer.write_table(table.cast(writer.schema))
                rows += len(chunk)
        finally:
            if writer is not None:
                writer.close()
        return rows
    import fastparquet

    for chunk in chunks:
        fastparquet.write(str(path), chunk.reset_index(drop=True), append=rows > 0 and Path(path).exists())
        rows += len(chunk)
    return rows
