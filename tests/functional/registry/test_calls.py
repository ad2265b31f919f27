"""DynamoDB calls per registry operation: constant in the number of versions, and never a Scan."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from chalicelib.services.registry import get_registry
from chalicelib.storage.table import table

BENCH = Path(__file__).resolve().parents[3] / "bench" / "registry_calls.py"


def _bench():
    spec = importlib.util.spec_from_file_location("registry_calls_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_every_operation_makes_the_same_calls_at_any_size_and_none_scans(moto_world):
    bench = _bench()
    state = table()
    bench.seed(state, 3, model="small")
    bench.seed(state, 120, model="large")
    small = bench.count_calls(get_registry(), state.meta.client, 3, model="small")
    large = bench.count_calls(get_registry(), state.meta.client, 120, model="large")
    assert list(small) == list(large)
    for operation, (calls, _) in large.items():
        assert "Scan" not in calls, operation
        assert calls == small[operation][0], operation
    # the writes that must be atomic are ONE transaction each (change + audit record)
    for operation in ("register_model_version", "set_status approved", "set_alias staging",
                      "promote (production set)", "rollback", "delete_alias", "set_model_version_tag"):
        assert large[operation][0]["TransactWriteItems"] == 1, operation
    assert large["alias_at"][0] == {"Query": 1}
    assert large["get_alias"][0] == {"GetItem": 1}
    assert large["reserve_version"][0] == {"UpdateItem": 1}
    assert large["models_with_alias"][0] == {"Query": 1}
