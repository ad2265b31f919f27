"""Helpers of the dataset service tests: contracts, generated rides files, uploads, queue readers."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from chalicelib.core.events import ObjectRef, eventbridge_object_created

REGION = "us-east-1"


def rides_contract(dataset: str = "rides", *, policy: str = "reject_file",
                   max_invalid_fraction: float = 0.5) -> dict[str, Any]:
    """A small realistic contract with a PII e-mail column (hashed before curated storage)."""
    return {
        "dataset": dataset,
        "format": {"type": "csv"},
        "columns": [
            {"name": "ride_id", "type": "string", "unique": True, "pattern": "R[0-9]{6}"},
            {"name": "rider_email", "type": "string", "pii": "hash"},
            {"name": "city", "type": "category", "allowed": ["Berlin", "Hamburg", "Munich"]},
            {"name": "fare", "type": "float", "min": 0, "max": 500},
            {"name": "passengers", "type": "int", "min": 1, "max": 8},
        ],
        "rules": {"row_count": {"min": 1}, "primary_key": {"columns": ["ride_id"]}},
        "undeclared_pii": "warn",
        "failure_policy": {"action": policy, "max_invalid_fraction": max_invalid_fraction},
    }


def email(i: int) -> str:
    return f"rider.{i:04d}@example.com"


def rides_csv(rows: int = 40, *, bad: tuple[int, ...] = (), seed: int = 7) -> bytes:
    """A rides CSV; the rows numbered in ``bad`` carry a negative fare (fails ``fare.range``)."""
    rnd = random.Random(seed)
    lines = ["ride_id,rider_email,city,fare,passengers"]
    for i in range(rows):
        fare = -5.0 if i in bad else round(rnd.uniform(3, 80), 2)
        lines.append(f"R{i:06d},{email(i)},{rnd.choice(['Berlin', 'Hamburg', 'Munich'])},{fare},"
                     f"{rnd.randint(1, 4)}")
    return ("\n".join(lines) + "\n").encode()


def put_raw(key: str, body: bytes, bucket: str | None = None) -> ObjectRef:
    """Put ``body`` into moto S3 and return the object version as an event would name it."""
    import os

    bucket = bucket or os.environ["SLUICE_BUCKET"]
    out = boto3.client("s3", region_name=REGION).put_object(Bucket=bucket, Key=key, Body=body)
    return ObjectRef(bucket, key, out.get("VersionId"), out["ETag"].strip('"'), len(body))


def deliver(client: Any, ref: ObjectRef) -> dict[str, Any]:
    """Deliver an object-created event for ``ref`` to ``on_raw_object`` (as EventBridge would)."""
    return client.lambda_.invoke("on_raw_object", eventbridge_object_created(ref)).payload


def upload_and_process(client: Any, key: str, body: bytes) -> tuple[ObjectRef, dict[str, Any]]:
    ref = put_raw(key, body)
    return ref, deliver(client, ref)


def put_contract(client: Any, contract: dict[str, Any]) -> dict[str, Any]:
    response = client.http.put(f"/datasets/{contract['dataset']}/contract", body=json.dumps(contract),
                               headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.body
    return json.loads(response.body)


def drain(queue_url: str, wait: int = 0) -> list[dict[str, Any]]:
    """Every message body on an SQS queue, JSON-decoded."""
    sqs = boto3.client("sqs", region_name=REGION)
    bodies: list[dict[str, Any]] = []
    while True:
        out = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait)
        messages = out.get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def alerts(moto_world) -> Callable[[], list[dict[str, Any]]]:
    """An SQS queue subscribed to the alerts topic; call it to read the alerts published so far."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=f"{moto_world.bucket}-alerts-probe")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns", region_name=REGION).subscribe(TopicArn=moto_world.topic_arn, Protocol="sqs",
                                                      Endpoint=arn)
    return lambda: drain(url)


@pytest.fixture
def invocations(moto_world) -> Callable[[], list[dict[str, Any]]]:
    """The asynchronous invocations queued so far (``{"function", "payload"}``)."""
    return lambda: drain(moto_world.invoke_queue_url)


@pytest.fixture
def glue_database(moto_world) -> str:
    """Make sure the Glue database of the moto world exists (the template may not declare one yet)."""
    glue = boto3.client("glue", region_name=REGION)
    try:
        glue.get_database(Name=moto_world.glue_database)
    except glue.exceptions.EntityNotFoundException:
        glue.create_database(DatabaseInput={"Name": moto_world.glue_database})
    return moto_world.glue_database


def all_objects(bucket: str, prefix: str = "") -> dict[str, bytes]:
    """Every current object under ``prefix``: key → bytes."""
    s3 = boto3.client("s3", region_name=REGION)
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            found[item["Key"]] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return found


def readable_texts(bucket: str, prefixes: tuple[str, ...] = ("curated/", "quarantine/", "reports/")
                   ) -> dict[str, str]:
    """Every object sluice wrote, as text: Parquet decoded to its values, anything else as UTF-8."""
    import io

    import pyarrow.parquet as pq

    texts = {}
    for prefix in prefixes:
        for key, body in all_objects(bucket, prefix).items():
            if key.endswith(".parquet"):
                texts[key] = json.dumps(pq.read_table(io.BytesIO(body)).to_pylist(), default=str)
            else:
                texts[key] = body.decode("utf-8", errors="replace")
    return texts


class Ahead:
    """A ``time`` module moved ``seconds`` forward: set as the claims store's ``time``, it is Lambda's
    retry a minute (or a lease) later."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def time(self) -> float:
        import time

        return time.time() + self.seconds


def killed_at_part(monkeypatch: pytest.MonkeyPatch, ref: ObjectRef, bucket: str, *, nth: int = 3,
                   counted: Callable[[str], bool] = lambda key: True) -> dict[str, bytes]:
    """``process_object(ref)`` killed (out of memory) as it starts its ``nth`` counted part upload: nothing
    cleaned up (no abort, no claim release). Parts upload on two threads: the ones already started are
    waited for. Returns the counted parts that landed, key → bytes (what a fenced-out attempt leaves)."""
    import threading
    import time

    from chalicelib.services import uploads as service
    from chalicelib.storage import dataset_files as outputs

    landed: dict[str, bytes] = {}
    started: list[str] = []
    upload = outputs.S3Parts._upload
    lock = threading.Lock()

    def killing_upload(self: Any, key: str, table: Any) -> None:
        if counted(key):
            with lock:
                if len(started) == nth - 1:
                    raise SystemExit("the function was killed (out of memory)")
                started.append(key)
        upload(self, key, table)
        if counted(key):
            landed[key] = all_objects(bucket, key)[key]

    with monkeypatch.context() as killed:
        killed.setattr(outputs.S3Parts, "_upload", killing_upload)
        killed.setattr(outputs.S3Parts, "abort", lambda self: None)
        killed.setattr(service, "_release_quietly", lambda *args: None)
        with pytest.raises(SystemExit):
            service.process_object(ref, lease_seconds=1.5)
        waited = time.monotonic()
        while len(landed) < len(started) and time.monotonic() - waited < 10:  # a PUT still on its way
            time.sleep(0.05)
    return landed
