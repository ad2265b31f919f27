"""Parquet in and out with whichever engine the function has: pyarrow, else fastparquet.

Lambda's 250 MB limit keeps pyarrow (157 MB) out of the ML layer (numpy, scipy, scikit-learn,
pandas, fastparquet), so training, serving and monitoring read and write Parquet with fastparquet
there; validation runs with the AWS SDK for pandas layer, which has pyarrow. Both engines go through
these functions, chunk by chunk (row groups), so memory stays bounded.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chalicelib.storage.clients import client

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
              use: str | None = None) -> Iterator[Any]:
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


def iter_s3_prefix(s3_path: str, *, columns: list[str] | None = None,
                   chunk_rows: int = DEFAULT_CHUNK_ROWS, use: str | None = None) -> Iterator[Any]:
    """Every ``.parquet`` object under ``s3://bucket/prefix/``, one downloaded object at a time."""
    parts = urlsplit(s3_path)
    bucket, prefix = parts.netloc, parts.path.lstrip("/")
    s3 = client("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in sorted(page.get("Contents", []), key=lambda o: o["Key"]):
            if not obj["Key"].endswith(".parquet"):
                continue
            with tempfile.NamedTemporaryFile(suffix=".parquet") as handle:
                s3.download_fileobj(bucket, obj["Key"], handle)
                handle.flush()
                yield from iter_file(handle.name, columns=columns, chunk_rows=chunk_rows, use=use)


def read_s3_prefix(s3_path: str, *, columns: list[str] | None = None, use: str | None = None) -> Any:
    """The whole dataset under the prefix as one DataFrame (for data that fits in memory)."""
    import pandas as pd

    frames = list(iter_s3_prefix(s3_path, columns=columns, use=use))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns or [])


def write_file(path: str | Path, chunks: Iterable[Any], *, use: str | None = None) -> int:
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
