"""Fixtures of the training tests: a tiny rides dataset (contract, passing version, curated Parquet)
in the moto world, the registry, and helpers for the HTTP API and the async-invocation queue."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

ROWS = 300
CONTRACT = {
    "dataset": "rides",
    "columns": [
        {"name": "ride_id", "type": "string"},
        {"name": "distance_km", "type": "float", "nullable": True},
        {"name": "zone", "type": "category", "nullable": True},
        {"name": "night", "type": "bool"},
        {"name": "pickup_ts", "type": "timestamp"},
        {"name": "rider_email", "type": "string", "pii": "hash"},
        {"name": "fare", "type": "float"},
        {"name": "tipped", "type": "string"},
    ],
}


def rides_frame(rows: int = ROWS, seed: int = 7) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    distance = rng.gamma(2.0, 3.0, rows)
    zone = rng.choice(["north", "south", "east", "west"], rows)
    night = rng.random(rows) < 0.3
    fare = 3 + 1.8 * distance + np.where(zone == "north", 4.0, 0.0) + 2 * night + rng.normal(0, 1.5, rows)
    tipped = np.where(fare + rng.normal(0, 2, rows) > 14, "yes", "no")
    frame = pd.DataFrame({
        "ride_id": [f"R{i:06d}" for i in range(rows)],
        "distance_km": distance, "zone": zone, "night": night,
        "pickup_ts": pd.date_range("2026-01-01", periods=rows, freq="37min", tz="UTC"),
        "rider_email": [f"h{i:08x}" for i in range(rows)], "fare": fare.round(2), "tipped": tipped,
    })
    frame.loc[::17, "distance_km"] = np.nan
    frame.loc[::23, "zone"] = None
    return frame


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
             contract: dict | None = None) -> Any:
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
            report_key=f"reports/validation/{dataset}/{version}.json", created_at="2026-11-26T00:00:00.000Z",
            curated_path=path if status == "passed" else None, contract_version=stored.version,
            rows=len(frame), verdict="pass" if status == "passed" else "fail")
        store.put_version(record)
        return record

    return make


def spec_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "dataset": "rides", "target": "tipped", "task": "classification",
        "features": {"all_except": ["ride_id", "fare"]},
        "estimator": {"name": "LogisticRegression", "params": {"C": 1.0, "max_iter": 200}},
        "split": {"method": "stratified", "test_size": 0.25},
        "metrics": {"primary": "accuracy", "guardrails": ["f1"]}, "seed": 3,
    }
    body.update(overrides)
    return body


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
