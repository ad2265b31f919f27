"""Read the captured requests of a time window, in bounded chunks.

Capture objects live under ``capture/{model}/date=YYYY-MM-DD/hour=HH/`` (see
:mod:`chalicelib.storage.capture`), so a window is listed hour by hour: one ListObjectsV2 per hour,
never a listing of the whole prefix.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from chalicelib.core.datasets.feedback import CaptureSource
from chalicelib.core.settings import get_settings
from chalicelib.storage import client
from chalicelib.storage.capture import CaptureLine
from chalicelib.storage.layout import capture_hour_prefix

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_CHUNK_ROWS = 50_000


def hour_prefixes(model: str, start: dt.datetime, end: dt.datetime) -> list[str]:
    """The hourly prefixes covering ``[start, end)`` (UTC), oldest first."""
    hour = start.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    prefixes = []
    while hour < end:
        prefixes.append(capture_hour_prefix(model, hour))
        hour += dt.timedelta(hours=1)
    return prefixes


def capture_keys(model: str, start: dt.datetime, end: dt.datetime) -> Iterator[str]:
    s3 = client("s3")
    bucket = get_settings().bucket
    for prefix in hour_prefixes(model, start, end):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                yield obj["Key"]


def iter_capture_lines(model: str, start: dt.datetime, end: dt.datetime,
                       version: int | None = None) -> Iterator[CaptureLine]:
    """Every captured record line in the window (of ``version`` only, when given)."""
    s3 = client("s3")
    bucket = get_settings().bucket
    for key in capture_keys(model, start, end):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        for raw in body.iter_lines():
            if not raw.strip():
                continue
            line: CaptureLine = json.loads(raw)
            if version is None or line.get("version") == version:
                yield line


def iter_capture_sources(model: str, start: dt.datetime, end: dt.datetime
                         ) -> Iterator[tuple[CaptureSource, CaptureLine]]:
    """Every captured record line in the window (any version), with the object version it was read
    from: the lineage of feedback rows names each one."""
    s3 = client("s3")
    bucket = get_settings().bucket
    for key in capture_keys(model, start, end):
        out = s3.get_object(Bucket=bucket, Key=key)
        source = CaptureSource(key, out.get("VersionId"))
        for raw in out["Body"].iter_lines():
            if raw.strip():
                line: CaptureLine = json.loads(raw)
                yield source, line


def frames(lines: Iterable[CaptureLine], features: list[str],
           chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Capture lines as DataFrames of ``features`` + ``prediction`` + ids, ``chunk_rows`` at a time."""
    import pandas as pd

    batch: list[dict[str, object]] = []
    for line in lines:
        row = {name: line.get("input", {}).get(name) for name in features}
        row["prediction"] = line.get("prediction")
        row["request_id"] = line.get("request_id")
        row["record_index"] = line.get("record_index", 0)
        batch.append(row)
        if len(batch) >= chunk_rows:
            yield pd.DataFrame(batch)
            batch = []
    if batch:
        yield pd.DataFrame(batch)
