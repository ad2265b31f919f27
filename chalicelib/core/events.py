"""Object-created events, whichever way S3 delivered them, as plain :class:`ObjectRef` values.

On AWS the bucket sends its events to EventBridge and rules route them to our functions
(``chalice package`` refuses ``@app.on_s3_event`` on a bucket CloudFormation did not create);
the local stack delivers the same EventBridge envelopes through SQS. Classic S3 notification
records (``{"Records": [...]}``), as S3 → SQS/SNS/Lambda send them, are accepted too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypedDict
from urllib.parse import unquote_plus


class ObjectVersionDict(TypedDict):
    """One object version as lineage records it (``StoredObject.to_dict`` in storage)."""

    bucket: str
    key: str
    version_id: str | None
    etag: str
    size: int
    sha256: str | None


@dataclass(frozen=True)
class ObjectRef:
    """One object version in S3: the identity every record of lineage starts from."""

    bucket: str
    key: str
    version_id: str | None = None
    etag: str | None = None
    size: int | None = None
    sequencer: str | None = None

    @property
    def identity(self) -> str:
        """A stable id of this object version, for idempotency keys."""
        return f"s3://{self.bucket}/{self.key}?versionId={self.version_id or ''}&etag={self.etag or ''}"


def parse_object_events(event: object) -> list[ObjectRef]:
    """Every object-created notification inside ``event`` (EventBridge, S3 records, SQS batches)."""
    if isinstance(event, str):
        event = json.loads(event)
    if not isinstance(event, dict):
        return []
    if event.get("source") == "aws.s3" and "detail" in event:
        return [_from_eventbridge(event["detail"])]
    refs: list[ObjectRef] = []
    for record in event.get("Records") or []:
        if "body" in record:  # an SQS record wrapping an S3 or EventBridge event
            refs.extend(parse_object_events(record["body"]))
        elif "s3" in record and str(record.get("eventName", "")).startswith("ObjectCreated"):
            refs.append(_from_s3_record(record["s3"]))
    return refs


def _from_eventbridge(detail: dict[str, Any]) -> ObjectRef:
    obj = detail.get("object", {})
    return ObjectRef(
        bucket=detail["bucket"]["name"],
        key=obj["key"],
        version_id=obj.get("version-id"),
        etag=_clean_etag(obj.get("etag")),
        size=obj.get("size"),
        sequencer=obj.get("sequencer"),
    )


def _from_s3_record(s3: dict[str, Any]) -> ObjectRef:
    obj = s3.get("object", {})
    return ObjectRef(
        bucket=s3["bucket"]["name"],
        key=unquote_plus(obj["key"]),  # S3 notification keys are URL-encoded
        version_id=obj.get("versionId"),
        etag=_clean_etag(obj.get("eTag")),
        size=obj.get("size"),
        sequencer=obj.get("sequencer"),
    )


def _clean_etag(etag: str | None) -> str | None:
    return etag.strip('"') if etag else etag


def eventbridge_object_created(ref: ObjectRef, *, region: str = "us-east-1",
                               account: str = "123456789012", time: str | None = None) -> dict[str, Any]:
    """The EventBridge envelope S3 sends for ``ref`` (used by tests and the local stack)."""
    import datetime as dt
    import uuid

    when = time or dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    obj: dict[str, Any] = {"key": ref.key, "size": ref.size or 0, "etag": ref.etag or ""}
    if ref.version_id:
        obj["version-id"] = ref.version_id
    if ref.sequencer:
        obj["sequencer"] = ref.sequencer
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Object Created",
        "source": "aws.s3", "account": account, "time": when, "region": region,
        "resources": [f"arn:aws:s3:::{ref.bucket}"],
        "detail": {"version": "0", "bucket": {"name": ref.bucket}, "object": obj,
                   "request-id": str(uuid.uuid4()), "requester": account, "reason": "PutObject"},
    }
