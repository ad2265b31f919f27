"""Registry fixtures on the DynamoDB store in moto, and DynamoDB call counting and serialising.

The fake clock and ``register`` are the unit tier's (tests/unit/registry/conftest.py).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.services.registry import ModelRegistry
from tests.unit.registry.conftest import FakeClock


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


@pytest.fixture
def registry(moto_world: Any, clock: FakeClock) -> Iterator[ModelRegistry]:
    """The registry on the DynamoDB store of the moto world, with a fake clock."""
    from chalicelib.storage.registry.dynamodb import DynamoDBRegistryStore

    yield ModelRegistry(DynamoDBRegistryStore(), clock=clock)
