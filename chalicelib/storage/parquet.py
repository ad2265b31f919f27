"""Curated Parquet under an S3 prefix, read one object at a time with the function's engine
(:mod:`chalicelib.core.parquet`)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from chalicelib.core.parquet import DEFAULT_CHUNK_ROWS, iter_file
from chalicelib.storage.clients import client

if TYPE_CHECKING:
    import pandas as pd


def iter_s3_prefix(s3_path: str, *, columns: list[str] | None = None,
                   chunk_rows: int = DEFAULT_CHUNK_ROWS, use: str | None = None) -> Iterator[pd.DataFrame]:
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


def read_s3_prefix(s3_path: str, *, columns: list[str] | None = None, use: str | None = None
                   ) -> pd.DataFrame:
    """The whole dataset under the prefix as one DataFrame (for data that fits in memory)."""
    import pandas as pd

    frames = list(iter_s3_prefix(s3_path, columns=columns, use=use))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns or [])
