"""Registry fixtures on the in-memory store: the registry with a fake clock, and ``register``.

The suites here (conformance, races) run again against the DynamoDB store in moto from
tests/functional/registry, whose conftest gives ``registry`` on DynamoDB instead.
"""

from __future__ import annotations

import threading
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


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def registry(clock: FakeClock) -> ModelRegistry:
    """The registry on the in-memory store, with a fake clock."""
    return ModelRegistry(MemoryRegistryStore(), clock=clock)


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
