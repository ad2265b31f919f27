"""Fixtures of the training tests in moto: a tiny rides dataset (contract, passing version, curated
Parquet), the registry, and helpers for the HTTP API and the async-invocation queue. The dataset's
contract, rows and a spec body are pure data: tests/unit/training/conftest.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.unit.training.conftest import CONTRACT, rides_frame


@pytest.fixture(autouse=True)
def one_thread() -> Any:
    """OpenMP/BLAS on one thread: on a shared 2-core machine spinning worker threads only slow tests."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@pytest.fixture
def registry(moto_world: Any) -> Any:
    """The model registry on the moto state table."""
    from chalicelib.services.registry import get_registry

    return get_registry()


@pytest.fixture
def make_dataset(moto_world: Any) -> Callable[..., Any]:
    """Store the rides contract and a dataset version (curated Parquet + version record)."""
    from chalicelib.core.datasets.types import DatasetVersion
    from chalicelib.core.validation.contract import parse_contract
    from chalicelib.storage import datasets as store
    from chalicelib.storage import wrangler

    def make(frame: Any = None, *, dataset: str = "rides", status: str = "passed",
             contract: dict | None = None, created_at: str = "2026-11-26T00:00:00.000Z") -> Any:
        contract_body = {**(contract or CONTRACT), "dataset": dataset}
        stored = store.put_contract(parse_contract(contract_body))
        version = store.next_version(dataset)
        path = f"s3://{moto_world.bucket}/curated/{dataset}/dataset_version={version}/"
        frame = rides_frame() if frame is None else frame
        if status == "passed":
            wrangler().s3.to_parquet(frame, path=f"{path}part-00000.snappy.parquet", index=False)
        record = DatasetVersion(
            dataset=dataset, version=version, status=status,
            raw={"bucket": moto_world.bucket, "key": f"raw/{dataset}/v{version}.csv", "version_id": "v1",
                 "etag": "e", "sha256": "0" * 64, "size": 1},
            report_key=f"reports/validation/{dataset}/{version}.json", created_at=created_at,
            curated_path=path if status == "passed" else None, contract_version=stored.version,
            rows=len(frame), verdict="pass" if status == "passed" else "fail")
        store.put_version(record)
        return record

    return make


def send(client: Any, method: str, path: str, body: Any = None) -> Any:
    kwargs: dict[str, Any] = {"headers": {"Content-Type": "application/json"}}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    response = getattr(client.http, method)(path, **kwargs)
    return response.status_code, json.loads(response.body or b"null")


def drain_invocations(client: Any, moto_world: Any, function: str | None = None) -> list[Any]:
    """Receive every queued async invocation and run it through the app's Lambda function."""
    import boto3

    sqs = boto3.client("sqs", region_name="us-east-1")
    results = []
    while True:
        out = sqs.receive_message(QueueUrl=moto_world.invoke_queue_url, MaxNumberOfMessages=10)
        messages = out.get("Messages", [])
        if not messages:
            return results
        for message in messages:
            body = json.loads(message["Body"])
            sqs.delete_message(QueueUrl=moto_world.invoke_queue_url, ReceiptHandle=message["ReceiptHandle"])
            if function is None or body["function"] == function:
                results.append((body, client.lambda_.invoke(body["function"], body["payload"]).payload))
