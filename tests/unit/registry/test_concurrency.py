"""Races: concurrent registrations and alias moves, here on the in-memory store (tests/functional/registry
runs these same tests on DynamoDB in moto)."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib.core.registry.entities import ANY, VersionUpdate
from chalicelib.core.registry.errors import AliasConflictError, ConcurrentUpdateError
from tests.unit.registry.conftest import register


@pytest.fixture
def racing_registry(registry):
    """The registry the racing threads share (on DynamoDB, moto's requests are serialised first)."""
    return registry


def _race(count: int, work):
    """Run ``work(i)`` for i in range(count) on ``count`` threads released together."""
    barrier = threading.Barrier(count)

    def run(i):
        barrier.wait()
        try:
            return "ok", work(i)
        except AliasConflictError as exc:
            return "conflict", exc

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


@pytest.mark.slow
def test_fifty_concurrent_registrations_get_fifty_distinct_versions(racing_registry):
    registry = racing_registry
    outcomes = _race(50, lambda i: register(registry, run_id=f"run-{i}").version)
    versions = sorted(v for _, v in outcomes)
    assert versions == list(range(1, 51))
    listed = registry.search_model_versions("churn", limit=100).items
    assert sorted(v.version for v in listed) == versions
    assert {v.run_id for v in listed} == {f"run-{i}" for i in range(50)}
    events = registry.list_audit_events("churn", limit=100).items
    assert sorted(e.version for e in events if e.event == "version_registered") == versions
    assert registry.get_model("churn").version_count == 50


def test_concurrent_moves_from_the_same_expected_value_have_exactly_one_winner(racing_registry):
    registry = racing_registry
    for _ in range(9):
        register(registry)
    registry.set_alias("churn", "production", 1, actor="setup")
    outcomes = _race(8, lambda i: registry.set_alias("churn", "production", i + 2, expected=1,
                                                      actor=f"writer-{i}"))
    winners = [move for kind, move in outcomes if kind == "ok"]
    losers = [exc for kind, exc in outcomes if kind == "conflict"]
    assert len(winners) == 1 and len(losers) == 7
    assert all(exc.code == "alias_conflict" for exc in losers)
    winner = winners[0]
    assert registry.get_alias("churn", "production") == winner.to_version
    history = registry.alias_history("churn", "production")
    assert [(m.from_version, m.to_version, m.actor) for m in history] == [
        (1, winner.to_version, winner.actor), (None, 1, "setup")]
    moves = [e for e in registry.list_audit_events("churn", limit=100).items if e.event == "alias_moved"]
    assert [(e.details["from_version"], e.details["to_version"], e.actor) for e in moves] == [
        (1, winner.to_version, winner.actor), (None, 1, "setup")]


def test_concurrent_moves_that_do_not_care_all_land_as_one_unbroken_chain(racing_registry):
    registry = racing_registry
    for _ in range(6):
        register(registry)
    outcomes = _race(6, lambda i: registry.set_alias("churn", "staging", i + 1, expected=ANY,
                                                      actor=f"writer-{i}"))
    assert [kind for kind, _ in outcomes] == ["ok"] * 6
    history = list(reversed(registry.alias_history("churn", "staging")))
    assert [m.seq for m in history] == [1, 2, 3, 4, 5, 6]
    assert history[0].from_version is None
    assert all(later.from_version == earlier.to_version for earlier, later in itertools.pairwise(history))
    assert [m.at for m in history] == sorted(m.at for m in history)
    assert sorted(m.to_version for m in history) == [1, 2, 3, 4, 5, 6]
    assert registry.get_alias("churn", "staging") == history[-1].to_version
    audited = [e for e in registry.list_audit_events("churn", limit=100).items if e.event == "alias_moved"]
    assert sorted(e.details["seq"] for e in audited) == [1, 2, 3, 4, 5, 6]


def test_a_rejection_read_before_an_alias_move_to_the_version_is_refused(registry):
    register(registry)
    seen = registry.get_model_version("churn", 1)  # a reject reads this, then checks aliases ...
    registry.set_alias("churn", "staging", 1)  # ... while an alias moves to the version
    stale = VersionUpdate(updated_at="2026-11-26T12:00:09.000Z", status="rejected",
                          expected_status=seen.status, expected_revision=seen.revision)
    with pytest.raises(ConcurrentUpdateError) as caught:
        registry.store.update_model_version("churn", 1, stale, [])
    assert caught.value.code == "concurrent_update"
    assert registry.get_model_version("churn", 1).status == "candidate"
