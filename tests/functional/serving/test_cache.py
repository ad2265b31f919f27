"""Per-container caches: the cold path's reads, warm predictions reading nothing, alias moves in the TTL."""

from collections import Counter

import pytest

from chalicelib.storage import client
from tests.functional.serving.conftest import MODEL, features_only


@pytest.fixture
def s3_calls(world):
    calls = Counter()
    client("s3").meta.events.register("before-call.s3.*", lambda model, **_: calls.update([model.name]))
    return calls


def body(rows, n=1):
    return {"records": [features_only(r) for r in rows[:n]]}


COLD = Counter({"get_alias": 1, "get_model_version": 1, "get_serving_settings": 1})


def test_a_cold_prediction_costs_an_alias_a_version_and_a_settings_read_and_one_s3_read(world, rows,
                                                                                       s3_calls):
    service = world.service()
    service.predict(MODEL, body(rows))
    assert world.registry.calls == COLD
    assert world.loader.calls == Counter({(MODEL, 1): 1})
    assert s3_calls == Counter({"GetObject": 1})


def test_warm_predictions_read_nothing(world, rows, s3_calls):
    service = world.service()
    service.predict(MODEL, body(rows))
    for _ in range(5):
        service.predict(MODEL, body(rows, 3))
    assert world.registry.calls == COLD
    assert s3_calls == Counter({"GetObject": 1})


def test_an_explicit_version_costs_no_alias_read(world, rows):
    service = world.service()
    service.predict(MODEL, body(rows), version="2")
    service.predict(MODEL, body(rows), version=2)
    assert world.registry.calls == Counter({"get_model_version": 1, "get_serving_settings": 1})


def test_an_alias_move_is_seen_once_the_ttl_has_passed(world, rows):
    service = world.service(alias_ttl_seconds=30)
    assert service.predict(MODEL, body(rows))["version"] == 1
    world.registry.set_alias(MODEL, "production", 2)
    world.clock.advance(29)
    assert service.predict(MODEL, body(rows))["version"] == 1  # still cached
    world.clock.advance(2)
    assert service.predict(MODEL, body(rows))["version"] == 2
    assert world.registry.calls["get_alias"] == 2


def test_a_missing_alias_is_cached_too_and_appears_after_the_ttl(world, rows):
    from chalicelib.core.serving.errors import AliasNotFoundError

    service = world.service(alias_ttl_seconds=10)
    with pytest.raises(AliasNotFoundError):
        service.predict(MODEL, body(rows), alias="canary")
    world.registry.set_alias(MODEL, "canary", 2)
    with pytest.raises(AliasNotFoundError):
        service.predict(MODEL, body(rows), alias="canary")
    world.clock.advance(11)
    assert service.predict(MODEL, body(rows), alias="canary")["version"] == 2


def test_models_are_cached_by_version_and_sha256_in_a_bounded_lru(world, rows, champion):
    world.add_version(3, champion)
    service = world.service()
    service.models.capacity = 2
    for version in (1, 2, 3):
        service.predict(MODEL, body(rows), version=version)
    keys = service.models.keys()
    assert [k[:2] for k in keys] == [(MODEL, 2), (MODEL, 3)]
    assert all(len(k[2]) == 64 for k in keys)
    service.predict(MODEL, body(rows), version=1)  # evicted: loaded again
    assert world.loader.calls[(MODEL, 1)] == 2
