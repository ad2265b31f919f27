"""Thin S3 helpers: JSON and bytes in and out, object identity with SHA-256.

Writes go to keys sluice owns (never under ``raw/``); every write returns the new version id.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from chalicelib.core.errors import NotFoundError
from chalicelib.core.events import ObjectVersionDict
from chalicelib.core.settings import Settings, get_settings
from chalicelib.storage.clients import client

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

CHUNK = 8 * 1024 * 1024


class _ObjectArgs(TypedDict):
    Bucket: str
    Key: str
    VersionId: NotRequired[str]


@dataclass(frozen=True)
class StoredObject:
    """Identity of one object version, as recorded in lineage."""

    bucket: str
    key: str
    version_id: str | None
    etag: str
    size: int
    sha256: str | None = None

    def to_dict(self) -> ObjectVersionDict:
        return {"bucket": self.bucket, "key": self.key, "version_id": self.version_id,
                "etag": self.etag, "size": self.size, "sha256": self.sha256}


def _bucket(bucket: str | None, settings: Settings | None) -> str:
    return bucket or (settings or get_settings()).bucket


def put_bytes(key: str, body: bytes, *, content_type: str = "application/octet-stream",
              bucket: str | None = None, settings: Settings | None = None) -> StoredObject:
    """Write ``body`` to ``key``; the result carries the new version id and the body's SHA-256."""
    name = _bucket(bucket, settings)
    digest = hashlib.sha256(body).hexdigest()
    out = client("s3", settings).put_object(Bucket=name, Key=key, Body=body, ContentType=content_type,
                                            Metadata={"sha256": digest})
    return StoredObject(name, key, out.get("VersionId"), out["ETag"].strip('"'), len(body), digest)


def put_bytes_once(key: str, body: bytes, *, content_type: str = "application/octet-stream",
                   bucket: str | None = None, settings: Settings | None = None) -> StoredObject | None:
    """Write ``body`` to ``key`` unless an object is there (S3's ``If-None-Match: *``): the new object,
    or None when another writer got there first."""
    name = _bucket(bucket, settings)
    digest = hashlib.sha256(body).hexdigest()
    s3 = client("s3", settings)
    try:
        out = s3.put_object(Bucket=name, Key=key, Body=body, ContentType=content_type,
                            Metadata={"sha256": digest}, IfNoneMatch="*")
    except s3.exceptions.ClientError as exc:
        if _status(exc) in (409, 412):  # 412: it exists; 409: a concurrent conditional write
            return None
        raise
    return StoredObject(name, key, out.get("VersionId"), out["ETag"].strip('"'), len(body), digest)


def put_json(key: str, value: object, *, bucket: str | None = None,
             settings: Settings | None = None) -> StoredObject:
    body = json.dumps(value, indent=2, sort_keys=True, default=str).encode()
    return put_bytes(key, body, content_type="application/json", bucket=bucket, settings=settings)


def get_bytes(key: str, *, version_id: str | None = None, bucket: str | None = None,
              settings: Settings | None = None) -> bytes:
    """The object's bytes; :class:`NotFoundError` when the key (or version) does not exist."""
    name = _bucket(bucket, settings)
    kwargs = _object_args(name, key, version_id)
    s3 = client("s3", settings)
    try:
        return s3.get_object(**kwargs)["Body"].read()
    except s3.exceptions.NoSuchKey as exc:
        raise NotFoundError(f"no object at s3://{name}/{key}", code="object_not_found") from exc
    except s3.exceptions.ClientError as exc:
        if _status(exc) in (400, 404):
            raise NotFoundError(f"no object at s3://{name}/{key}", code="object_not_found") from exc
        raise


def get_json(key: str, *, version_id: str | None = None, bucket: str | None = None,
             settings: Settings | None = None) -> Any:
    """The object's JSON document (its shape is the writer's: callers annotate what they read)."""
    return json.loads(get_bytes(key, version_id=version_id, bucket=bucket, settings=settings))


def head(key: str, *, version_id: str | None = None, bucket: str | None = None,
         settings: Settings | None = None) -> StoredObject:
    """Identity of an object version without reading it (``sha256`` from our metadata, if any)."""
    name = _bucket(bucket, settings)
    kwargs = _object_args(name, key, version_id)
    s3 = client("s3", settings)
    try:
        out = s3.head_object(**kwargs)
    except s3.exceptions.ClientError as exc:
        if _status(exc) in (400, 403, 404):
            raise NotFoundError(f"no object at s3://{name}/{key}", code="object_not_found") from exc
        raise
    return StoredObject(name, key, out.get("VersionId"), out["ETag"].strip('"'),
                        out["ContentLength"], out.get("Metadata", {}).get("sha256"))


def sha256_of(key: str, *, version_id: str | None = None, bucket: str | None = None,
              settings: Settings | None = None) -> str:
    """SHA-256 of an object version, streamed in 8 MiB chunks (bounded memory)."""
    name = _bucket(bucket, settings)
    kwargs = _object_args(name, key, version_id)
    body = client("s3", settings).get_object(**kwargs)["Body"]
    digest = hashlib.sha256()
    for chunk in iter(lambda: body.read(CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


def exists(key: str, *, bucket: str | None = None, settings: Settings | None = None) -> bool:
    try:
        head(key, bucket=bucket, settings=settings)
    except NotFoundError:
        return False
    return True


def presigned_get_url(key: str, *, expires_in: int = 900, bucket: str | None = None,
                      settings: Settings | None = None) -> str:
    """A presigned GET of ``key`` (the API hands out exports this way)."""
    params: dict[str, Any] = {"Bucket": _bucket(bucket, settings), "Key": key}
    return client("s3", settings).generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)


def presigned_put_url(key: str, *, expires_in: int = 3600, content_type: str | None = None,
                      write_once: bool = False, bucket: str | None = None,
                      settings: Settings | None = None) -> str:
    """A presigned PUT of ``key``. ``write_once`` signs the header ``If-None-Match: *`` into it (the
    caller must send it, or the signature does not match): S3 then refuses a second PUT of the same key
    with 412, so a URL replayed within its hour cannot write twice (two versions of one upload)."""
    params: dict[str, Any] = {"Bucket": _bucket(bucket, settings), "Key": key}
    if write_once:
        params["IfNoneMatch"] = "*"
    if content_type:
        params["ContentType"] = content_type
    return client("s3", settings).generate_presigned_url("put_object", Params=params,
                                                         ExpiresIn=expires_in)


def _object_args(bucket: str, key: str, version_id: str | None) -> _ObjectArgs:
    """``Bucket``/``Key`` and, for one object version, ``VersionId``."""
    args: _ObjectArgs = {"Bucket": bucket, "Key": key}
    if version_id:
        args["VersionId"] = version_id
    return args


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
