"""The local stack's S3 reads a ranged GET's bytes alone, and answers every GET exactly as moto does.

Differential: the same object, the same ``Range`` header (well-formed or not), asked of the local stack's
server and of moto as it ships (``mock_aws`` in this process, which the patch leaves alone): status,
``Content-Range`` and body equal. Then the cost: a ranged GET through the server reads its range from the
stored object, not the object (moto read the whole object for each, so reading a file in blocks took
time growing with the square of its size).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from sluice.local.moto_server import MotoServer

BUCKET, KEY = "sluice-ranges", "raw/rides/file.csv"
BODY = bytes(range(256)) * 4099 + b"tail"  # 1,049,348 bytes: positions are recognisable
SIZE = len(BODY)


def client(endpoint: str | None) -> Any:
    return boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="local",
                        aws_secret_access_key="local", config=Config(retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def stores() -> Iterator[tuple[Any, Any]]:
    """(the local stack's server, moto in process), both holding BODY under KEY."""
    saved = {k: os.environ.pop(k, None) for k in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")}
    server = MotoServer("127.0.0.1", 0)
    endpoint = server.start()
    try:
        served = client(endpoint)
        served.create_bucket(Bucket=BUCKET)
        served.put_object(Bucket=BUCKET, Key=KEY, Body=BODY)
        with mock_aws():
            shipped = client(None)
            shipped.create_bucket(Bucket=BUCKET)
            shipped.put_object(Bucket=BUCKET, Key=KEY, Body=BODY)
            yield served, shipped
    finally:
        server.stop()
        os.environ.update({k: v for k, v in saved.items() if v is not None})


def answer(s3: Any, header: str, **extra: Any) -> tuple[Any, ...]:
    try:
        got = s3.get_object(Bucket=BUCKET, Key=KEY, Range=header, **extra)
    except ClientError as exc:
        return "error", exc.response["Error"]["Code"], exc.response["ResponseMetadata"]["HTTPStatusCode"]
    return got["ResponseMetadata"]["HTTPStatusCode"], got.get("ContentRange"), got["Body"].read()


position = st.integers(0, SIZE + 10)
headers = st.one_of(
    st.builds(lambda a, b: f"bytes={a}-{b}", position, position),  # b < a too (moto: the whole object)
    st.builds(lambda a: f"bytes={a}-", position),
    st.builds(lambda n: f"bytes=-{n}", st.integers(0, SIZE + 10)),  # a suffix
    st.builds(lambda a, b, c: f"bytes={a}-{b},{c}-", position, position, position),  # several
    st.sampled_from(["bytes=", "bytes=-", "bytes=x-1", "bytes=1-x", "items=0-9", "bytes=0-0", "bytes = 0-9",
                     f"bytes={SIZE - 1}-{SIZE - 1}", f"bytes={SIZE}-", "bytes=00-09"]),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=headers)
def test_every_range_is_answered_as_moto_answers_it(stores, header):
    served, shipped = stores
    assert answer(served, header) == answer(shipped, header)


def test_a_range_moto_does_not_slice_is_answered_whole_as_moto_does(stores):
    served, shipped = stores  # moto answers a part number with the whole object and ignores the range
    assert answer(served, "bytes=10-19", PartNumber=1) == answer(shipped, "bytes=10-19", PartNumber=1)
    assert answer(served, "bytes=10-19", PartNumber=1)[2] == BODY


def test_the_stored_bytes_are_what_a_range_returns(stores):
    served, _ = stores
    assert answer(served, "bytes=1000-1999") == (206, f"bytes 1000-1999/{SIZE}", BODY[1000:2000])
    assert answer(served, f"bytes={SIZE - 4}-")[2] == b"tail"


def test_a_ranged_get_reads_its_range_alone_and_a_whole_get_the_whole_object(stores, monkeypatch):
    from moto.s3.models import s3_backends

    served, _ = stores
    stored = next(b.buckets[BUCKET].keys[KEY] for account in s3_backends.values() for b in account.values()
                  if BUCKET in b.buckets)
    buffer, read = stored._value_buffer, []

    def counted(n: int = -1) -> bytes:
        data = buffer.__class__.read(buffer, n)
        read.append(len(data))
        return data

    monkeypatch.setattr(buffer, "read", counted, raising=False)
    assert len(answer(served, "bytes=4096-8191")[2]) == 4096
    assert sum(read) == 4096  # moto as it ships: SIZE, for every block
    read.clear()
    assert served.get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == BODY
    assert sum(read) == SIZE
