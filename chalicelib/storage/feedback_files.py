"""Feedback objects in S3: the labels object read with its time, and the rows of one labels object written
once under ``feedback/{model}/`` (keys: :mod:`chalicelib.storage.layout`).

The feedback object of a labels object is written once: a retry, or the same labels event delivered
again, finds it and reuses that object version, so its processing claim (an object version's identity)
is the one taken before and the labels object yields one feedback version. The capture manifest is
written first, so a feedback object always has its manifest.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.core.datasets.feedback import CaptureSource
from chalicelib.core.errors import NotFoundError
from chalicelib.storage import layout, s3
from chalicelib.storage.clients import client

if TYPE_CHECKING:
    import pandas as pd

PARQUET_TYPE = "application/vnd.apache.parquet"


@dataclass(frozen=True)
class LabelsObject:
    """One labels object version: its bytes, identity and time (``LastModified``, UTC)."""

    body: bytes
    stored: s3.StoredObject
    written_at: dt.datetime


def read_labels_object(key: str, version_id: str | None = None) -> LabelsObject:
    """The labels object version's bytes with its identity and time; :class:`NotFoundError` if gone."""
    from chalicelib.core.settings import get_settings

    bucket = get_settings().bucket
    s3_client = client("s3")
    args: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        args["VersionId"] = version_id
    try:
        out = s3_client.get_object(**args)
    except s3_client.exceptions.NoSuchKey as exc:
        raise NotFoundError(f"no object at s3://{bucket}/{key}", code="object_not_found") from exc
    body = out["Body"].read()
    stored = s3.StoredObject(bucket, key, out.get("VersionId"), out["ETag"].strip('"'), len(body))
    return LabelsObject(body, stored, out["LastModified"].astimezone(dt.UTC))


@dataclass(frozen=True)
class FeedbackObject:
    """The feedback rows of one labels object and the manifest of their capture objects, as stored."""

    rows: s3.StoredObject
    manifest: s3.StoredObject
    captures: list[dict[str, str | None]]
    reused: bool  # written by an earlier attempt (or delivery) of the same labels object


def put_feedback_object(model: str, labels_id: str, frame: pd.DataFrame,
                        captures: Sequence[CaptureSource]) -> FeedbackObject:
    """Write the rows (Parquet) and the capture manifest of one labels object, unless written before."""
    rows_key = layout.feedback_key(model, labels_id)
    manifest_key = layout.feedback_captures_key(model, labels_id)
    try:
        rows = s3.head(rows_key)
    except NotFoundError:
        listed = [c.to_dict() for c in captures]
        manifest = s3.put_json(manifest_key, {"model": model, "labels_id": labels_id, "captures": listed})
        return FeedbackObject(_put_parquet(rows_key, frame), manifest, listed, reused=False)
    manifest = s3.head(manifest_key)
    body = s3.get_json(manifest_key, version_id=manifest.version_id)
    return FeedbackObject(rows, manifest, list(body.get("captures") or []), reused=True)


def _put_parquet(key: str, frame: pd.DataFrame) -> s3.StoredObject:
    """One Parquet file with whichever engine this function has (fastparquet on the ML layer)."""
    from chalicelib.core.parquet import write_file

    with tempfile.TemporaryDirectory(prefix="sluice-feedback-") as folder:
        path = Path(folder) / "feedback.parquet"
        write_file(path, [frame])
        return s3.put_bytes(key, path.read_bytes(), content_type=PARQUET_TYPE)
