"""Which S3 request bodies botocore hashes into the signature: none over the local stack's plain HTTP,
exactly what botocore decides by default over HTTPS (AWS).

Each request is stopped at ``before-send`` (nothing leaves the process) and its
``X-Amz-Content-SHA256`` header (the payload hash the SigV4 signature covers) is kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from chalicelib import storage as aws
from chalicelib.core.settings import Settings

BODY = b"a curated part" * 1000
UNSIGNED = "UNSIGNED-PAYLOAD"
STREAMING_UNSIGNED = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


class _Raw:
    """The raw body of a canned response (botocore streams it)."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield b""


@pytest.fixture(autouse=True)
def fresh_clients() -> Iterator[None]:
    aws.reset()
    yield
    aws.reset()


def payload_hashes(endpoint: str | None) -> dict[str, str]:
    """The signed payload hash of a PutObject and a DeleteObjects through sluice's S3 client."""
    s3 = aws.client("s3", Settings(endpoint_url=endpoint))
    seen: dict[str, str] = {}

    def stop(request: Any, **_: Any) -> AWSResponse:
        value = request.headers["X-Amz-Content-SHA256"]
        seen[request.context["operation"]] = value.decode() if isinstance(value, bytes) else value
        return AWSResponse(request.url, 200, {}, _Raw())

    def name_operation(params: Any, context: Any, model: Any, **_: Any) -> None:
        context["operation"] = model.name

    s3.meta.events.register("before-parameter-build.s3", name_operation)
    s3.meta.events.register("before-send.s3", stop)
    s3.put_object(Bucket="bucket", Key="curated/part-00000.snappy.parquet", Body=BODY)
    s3.delete_objects(Bucket="bucket", Delete={"Objects": [{"Key": "curated/part-00000.snappy.parquet"}]})
    return seen


def test_request_bodies_are_not_hashed_over_the_local_stacks_plain_http():
    hashes = payload_hashes("http://127.0.0.1:5999")
    assert hashes == {"PutObject": UNSIGNED, "DeleteObjects": UNSIGNED}


def test_over_https_uploads_stay_unsigned_and_small_bodies_stay_signed_as_botocore_decides():
    hashes = payload_hashes(None)  # AWS: HTTPS
    assert hashes["PutObject"] == STREAMING_UNSIGNED  # a CRC32 trailer, no SHA-256 of the part
    assert hashes["DeleteObjects"] not in (UNSIGNED, STREAMING_UNSIGNED)
    assert len(hashes["DeleteObjects"]) == 64 and hashes["DeleteObjects"] != hashlib.sha256(b"").hexdigest()
