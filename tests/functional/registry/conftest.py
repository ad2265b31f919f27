"""Registry fixtures: one registry per store (memory, DynamoDB in moto), a fake clock, call counting."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.services.registry import ModelRegistry
from chalicelib.storage.registry.memory import MemoryRegistryStore

START = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


class FakeClock:
    """Starts at ``START``; every reading advances 1 ms (so events order), ``jump`` skips ahead."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            self.now += timedelta(milliseconds=1)
            return self.now

    def jump(self, **delta: float) -> None:
        with self._lock:
            self.now += timedelta(**delta)


def dynamodb_client() -> Any:
    """The low-level client under the state table's resource (what the DynamoDB store calls)."""
    from chalicelib.storage.table import table

    return table().meta.client


class CallRecorder:
    """Counts DynamoDB API calls by operation name (a botocore ``before-call`` hook)."""

    def __init__(self, client: Any) -> None:
        self.calls: Counter[str] = Counter()
        client.meta.events.register("before-call.dynamodb", self._record)

    def _record(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def take(self) -> Counter[str]:
        taken, self.calls = self.calls, Counter()
        return taken


def serialize_moto_requests(client: Any) -> None:
    """One DynamoDB request at a time, as the real service's per-request atomicity.

    moto's in-process backend is not thread-safe: a cancelled transaction restores a deep copy of
    the whole table, which can erase a write another thread made meanwhile. Serializing requests
    (threads still interleave between requests) keeps the race tests about OUR logic.
    """
    lock = threading.Lock()
    held = threading.local()

    def acquire(**_: Any) -> None:
        lock.acquire()
        held.on = True

    def release(**_: Any) -> None:
        if getattr(held, "on", False):
            held.on = False
            lock.release()

    client.meta.events.register("before-call.dynamodb", acquire)
    client.meta.events.register("after-call.dynamodb", release)
    client.meta.events.register("after-call-error.dynamodb", release)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "dynamodb"])
def store_kind(request: pytest.FixtureRequest) -> str:
    if request.param == "dynamodb":
        request.getfixturevalue("moto_world")
    return request.param


@pytest.fixture
def registry(store_kind: str, clock: FakeClock) -> Iterator[ModelRegistry]:
    """The registry on each store, with a fake clock."""
    if store_kind == "memory":
        yield ModelRegistry(MemoryRegistryStore(), clock=clock)
        return
    from chalicelib.storage.registry.dynamodb import DynamoDBRegistryStore

    yield ModelRegistry(DynamoDBRegistryStore(), clock=clock)


def register(registry: ModelRegistry, model: str = "churn", **overrides: Any):
    """Reserve a number and register it with plausible training outputs."""
    version = registry.reserve_version(model)
    values: dict[str, Any] = {
        "source": f"s3://bucket/models/{model}/{version}/", "artifact_sha256": "ab" * 32,
        "run_id": f"run-{version}", "metrics": {"f1": 0.5 + version / 100, "accuracy": 0.75},
        "dataset_versions": [{"dataset": "customers", "version": 1}], "spec_version": 1,
    }
    values.update(overrides)
    return registry.register_model_version(model, version, **values)
