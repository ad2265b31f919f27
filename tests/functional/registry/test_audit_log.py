"""The audit logs on DynamoDB: in partitions of their own (which IAM makes insert-only), never overwritten
by the code, and read together with the records a deployed stack wrote before they moved."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from chalicelib.core.registry.entities import AuditEvent, VersionUpdate
from chalicelib.core.registry.errors import ConcurrentUpdateError
from chalicelib.storage import table as state
from tests.unit.registry.conftest import register


def partition(pk: str) -> list[dict[str, Any]]:
    from boto3.dynamodb.conditions import Key

    return [state.plain_item(i) for i in state.query_all(Key("pk").eq(pk))]


def legacy(model: str, at: str, event_id: str, event: str = "old_event") -> None:
    """An audit record as the registry wrote it before the log had a partition of its own."""
    state.table().put_item(Item={"pk": f"MODEL#{model}", "sk": f"AUDIT#{at}#{event_id}", "type": "audit",
                                 "model": model, "event": event, "actor": "someone", "at": at,
                                 "id": event_id, "version": None, "details": {}})


def test_audit_records_live_in_the_models_audit_partition_not_beside_its_versions(registry):
    register(registry)
    registry.set_alias("churn", "staging", 1, actor="ana")
    registry.append_audit("churn", "gate_decision", actor="gate", version=1)
    logged = partition("AUDIT#churn")
    listed = registry.list_audit_events("churn").items
    assert sorted(i["event"] for i in logged) == sorted(e.event for e in listed)
    assert {"gate_decision", "version_registered"} <= {i["event"] for i in logged}
    assert [i["sk"] for i in partition("MODEL#churn") if i["sk"].startswith("AUDIT#")] == []


def test_an_audit_record_is_never_overwritten_alone_or_in_a_transaction(registry):
    store = registry.store
    register(registry)
    [first] = [e for e in registry.list_audit_events("churn").items if e.event == "version_registered"]
    forged = replace(first, actor="mallory", details={"forged": True})
    with pytest.raises(ConcurrentUpdateError):
        store.append_audit([forged])
    other = AuditEvent(model="churn", event="note", actor="x", at=first.at, id="another-id")
    with pytest.raises(ConcurrentUpdateError):
        store.append_audit([other, forged])  # a transaction: all or nothing
    with pytest.raises(ConcurrentUpdateError):
        store.update_model_version("churn", 1, VersionUpdate(updated_at=first.at, description="d"), [forged])
    [kept] = [e for e in registry.list_audit_events("churn").items if e.id == first.id]
    assert kept == first
    assert [e.id for e in registry.list_audit_events("churn").items].count("another-id") == 0


def test_records_written_before_the_move_are_listed_with_the_new_ones_newest_first_across_pages(registry,
                                                                                                 clock):
    legacy("churn", "2026-01-01T00:00:00.000000Z", "a")
    legacy("churn", "2026-01-03T00:00:00.000000Z", "c")
    register(registry)  # now: after both
    registry.append_audit("churn", "gate_decision", actor="gate", version=1)
    legacy("churn", "2026-01-02T00:00:00.000000Z", "b")  # written late by an instance of the old code
    everything = registry.list_audit_events("churn", limit=100).items
    assert [e.event for e in everything][-3:] == ["old_event"] * 3
    assert [e.id for e in everything][-3:] == ["c", "b", "a"]
    assert [e.at for e in everything] == sorted((e.at for e in everything), reverse=True)
    paged, token = [], None
    while True:
        page = registry.list_audit_events("churn", limit=1, next_token=token)
        paged += page.items
        token = page.next_token
        if not token:
            break
    assert paged == everything


def test_a_page_token_issued_before_the_move_still_continues_the_listing(registry):
    from chalicelib.services.registry import encode_token

    legacy("churn", "2026-01-01T00:00:00.000000Z", "a")
    legacy("churn", "2026-01-02T00:00:00.000000Z", "b")
    old_token = encode_token({"pk": "MODEL#churn", "sk": "AUDIT#2026-01-02T00:00:00.000000Z#b"})
    assert [e.id for e in registry.list_audit_events("churn", next_token=old_token).items] == ["a"]


def test_the_reconcilers_log_is_in_its_own_partition_and_reads_the_old_one_too(moto_world):
    from chalicelib.storage import ops

    state.table().put_item(Item={"pk": "OPS", "sk": "AUDIT#2026-01-01T00:00:00.000000Z#old", "type": "audit",
                                 "action": "redrive", "at": "2026-01-01T00:00:00.000000Z", "id": "old"})
    new = ops.append_audit({"action": "resolve_run", "actor": "reconciler"})
    assert [i["id"] for i in partition("OPS#AUDIT")] == [new["id"]]
    first, token = ops.list_audit(limit=1)
    assert [i["id"] for i in first] == [new["id"]] and token == {"pk": "OPS#AUDIT", "sk": token["sk"]}
    second, end = ops.list_audit(limit=1, start_key=token)
    assert ([i["id"] for i in second], end) == (["old"], None)
