"""The batch objects in S3: which input version an event names, whether its output exists already, the
input downloaded, and the output (or its ``.error.json``) written with the input version's identity in
its metadata, so a redelivered event finds its work done."""

from __future__ import annotations

import json
from pathlib import Path

from chalicelib.core.events import ObjectRef
from chalicelib.storage import client

META_INPUT_ETAG = "input-etag"
META_INPUT_VERSION = "input-version-id"


def identity(ref: ObjectRef) -> tuple[str | None, str | None]:
    """The input's ETag and version id (from the event, else one HEAD)."""
    if ref.etag:
        return ref.etag, ref.version_id
    s3 = client("s3")
    head = (s3.head_object(Bucket=ref.bucket, Key=ref.key, VersionId=ref.version_id) if ref.version_id
            else s3.head_object(Bucket=ref.bucket, Key=ref.key))
    return head["ETag"].strip('"'), head.get("VersionId") or ref.version_id


def superseded(ref: ObjectRef, version_id: str | None) -> bool:
    """Whether a newer version of the input key exists (its own event scores it)."""
    if not version_id:
        return False
    s3 = client("s3")
    try:
        current = s3.head_object(Bucket=ref.bucket, Key=ref.key).get("VersionId")
    except s3.exceptions.ClientError:
        return False
    return bool(current) and current != version_id


def already_scored(bucket: str, out_key: str, etag: str | None, version_id: str | None) -> bool:
    """Whether ``out_key`` holds the output of exactly this input version."""
    s3 = client("s3")
    try:
        head = s3.head_object(Bucket=bucket, Key=out_key)
    except s3.exceptions.ClientError as exc:
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") in (403, 404):
            return False
        raise
    meta = head.get("Metadata", {})
    return meta.get(META_INPUT_ETAG) == (etag or "") and meta.get(META_INPUT_VERSION) == (version_id or "")


def download(ref: ObjectRef, version_id: str | None, path: Path) -> None:
    client("s3").download_file(ref.bucket, ref.key, str(path),
                               ExtraArgs={"VersionId": version_id} if version_id else None)


def upload_output(path: Path, bucket: str, out_key: str, *, etag: str | None, version_id: str | None,
                  content_type: str, details: dict[str, str]) -> None:
    """Upload the finished output once, stamped with the input version it came from."""
    metadata = {META_INPUT_ETAG: etag or "", META_INPUT_VERSION: version_id or "", **details}
    client("s3").upload_file(str(path), bucket, out_key,
                             ExtraArgs={"Metadata": metadata, "ContentType": content_type})


def put_error(ref: ObjectRef, out_key: str, code: str, message: str) -> str:
    """``{out_key}.error.json``: why the input could not be scored; returns its key."""
    key = f"{out_key}.error.json"
    body = json.dumps({"error": {"code": code, "message": message}, "input": {
        "key": ref.key, "etag": ref.etag, "version_id": ref.version_id}}, indent=2).encode()
    client("s3").put_object(Bucket=ref.bucket, Key=key, Body=body, ContentType="application/json")
    return key
