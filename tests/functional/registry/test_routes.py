"""The registry's HTTP routes, through the Chalice test client on a moto world."""

from __future__ import annotations

import json

import pytest

from chalicelib.services.registry import get_registry
from tests.unit.registry.conftest import register

JSON = {"Content-Type": "application/json"}


def call(client, method: str, path: str, body=None):
    send = getattr(client.http, method)
    if body is None:
        return send(path)
    return send(path, body=json.dumps(body), headers=JSON)


def error_of(response) -> tuple[int, str, str]:
    error = response.json_body["error"]
    return response.status_code, error["code"], error["message"]


@pytest.fixture
def registry(moto_world):
    return get_registry()


# ---- versions ------------------------------------------------------------------------------------


def test_models_are_listed_in_pages(client, registry):
    for model in ("fraud", "churn", "ads"):
        register(registry, model)
    first = call(client, "get", "/models?limit=2")
    assert first.status_code == 200
    assert [m["model"] for m in first.json_body["items"]] == ["ads", "churn"]
    rest = call(client, "get", f"/models?limit=2&next_token={first.json_body['next_token']}")
    assert [m["model"] for m in rest.json_body["items"]] == ["fraud"]
    assert rest.json_body["next_token"] is None
    assert error_of(call(client, "get", "/models?limit=0"))[:2] == (400, "invalid_limit")


def test_versions_are_listed_newest_first_with_their_aliases(client, registry):
    for _ in range(3):
        register(registry)
    registry.set_alias("churn", "staging", 2)
    first = call(client, "get", "/models/churn/versions?limit=2")
    assert [(v["version"], v["aliases"]) for v in first.json_body["items"]] == [(3, []), (2, ["staging"])]
    rest = call(client, "get", f"/models/churn/versions?limit=2&next_token={first.json_body['next_token']}")
    assert [v["version"] for v in rest.json_body["items"]] == [1]


def test_unknown_models_and_versions_are_404s_and_bad_names_400s(client, registry):
    register(registry)
    assert error_of(call(client, "get", "/models/nothing/versions")) == (
        404, "model_not_found", "model 'nothing' has no registered version")
    assert error_of(call(client, "get", "/models/churn/versions/7")) == (
        404, "model_version_not_found", "model 'churn' has no registered version 7")
    status, code, message = error_of(call(client, "get", "/models/Churn!/versions"))
    assert (status, code) == (400, "invalid_name")
    assert message.startswith("model name must match ^[a-z0-9][a-z0-9_-]{0,62}$")
    assert error_of(call(client, "put", "/models/churn/aliases/staging%0A", {"version": 1}))[:2] == (
        400, "invalid_name")  # "$" matches before a trailing newline: names are full matches
    for bad in ("abc", "0", "-1", "1.5"):
        assert error_of(call(client, "get", f"/models/churn/versions/{bad}")) == (
            400, "invalid_version", "version must be a positive integer")


def test_a_version_reads_back_as_registered(client, registry):
    register(registry, tags={"team": "growth"})
    body = call(client, "get", "/models/churn/versions/1").json_body
    assert (body["model"], body["version"], body["status"], body["tags"]) == ("churn", 1, "candidate",
                                                                              {"team": "growth"})
    assert body["metrics"] == {"f1": 0.51, "accuracy": 0.75}
    assert body["dataset_versions"] == [{"dataset": "customers", "version": 1}]


def test_patch_changes_the_description_and_tags_and_null_deletes_a_tag(client, registry):
    register(registry, tags={"team": "growth", "owner": "ann"})
    response = call(client, "patch", "/models/churn/versions/1",
                    {"description": "better features", "tags": {"stage": "beta", "owner": None}})
    assert response.status_code == 200
    assert response.json_body["description"] == "better features"
    assert response.json_body["tags"] == {"team": "growth", "stage": "beta"}
    event = registry.list_audit_events("churn").items[0]
    assert (event.event, event.actor) == ("version_updated", "anonymous")


def test_patch_refuses_empty_and_unknown_fields(client, registry):
    register(registry)
    assert error_of(call(client, "patch", "/models/churn/versions/1", {})) == (
        400, "empty_update", "give a description and/or tags to change")
    response = call(client, "patch", "/models/churn/versions/1", {"status": "approved"})
    status, code, message = error_of(response)
    assert (status, code) == (400, "invalid_input")
    assert "status" in message
    assert error_of(call(client, "patch", "/models/churn/versions/9", {"description": "x"}))[:2] == (
        404, "model_version_not_found")


# ---- manual decisions ----------------------------------------------------------------------------


def test_promote_approves_and_moves_production(client, registry):
    register(registry)
    register(registry)
    call(client, "post", "/models/churn/versions/1/promote")
    response = call(client, "post", "/models/churn/versions/2/promote", {"reason": "wins on f1"})
    assert response.status_code == 200
    assert response.json_body["model_version"]["status"] == "approved"
    assert response.json_body["model_version"]["aliases"] == ["production"]
    move = response.json_body["alias_move"]
    assert (move["from_version"], move["to_version"], move["reason"], move["actor"]) == (
        1, 2, "wins on f1", "anonymous")
    assert error_of(call(client, "post", "/models/churn/versions/2/promote")) == (
        409, "alias_unchanged", "version 2 of model 'churn' is already production")


def test_reject_records_the_reason_and_refuses_the_production_version(client, registry):
    register(registry)
    register(registry)
    registry.promote("churn", 1)
    response = call(client, "post", "/models/churn/versions/2/reject", {"reason": "leaks the target"})
    assert (response.status_code, response.json_body["status"]) == (200, "rejected")
    assert registry.list_audit_events("churn").items[0].details["reason"] == "leaks the target"
    assert error_of(call(client, "post", "/models/churn/versions/2/promote")) == (
        409, "version_rejected", "version 2 of model 'churn' is rejected; it cannot be promoted")
    status, code, message = error_of(call(client, "post", "/models/churn/versions/1/reject"))
    assert (status, code) == (409, "version_in_use")
    assert message.startswith("version 1 of model 'churn' is the target of alias production")
    assert error_of(call(client, "post", "/models/churn/versions/1/reject", {"why": "x"}))[:2] == (
        400, "invalid_input")


def test_rollback_returns_production_to_the_previous_version(client, registry):
    register(registry)
    register(registry)
    registry.promote("churn", 1)
    registry.promote("churn", 2)
    response = call(client, "post", "/models/churn/rollback", {"reason": "latency"})
    assert response.status_code == 200
    move = response.json_body["alias_move"]
    assert (move["from_version"], move["to_version"], move["cause"]) == (2, 1, "rollback")
    assert registry.get_alias("churn", "production") == 1
    assert error_of(call(client, "post", "/models/churn/rollback")) == (
        409, "nothing_to_roll_back", "model 'churn' has no earlier production version to roll back to")


# ---- aliases -------------------------------------------------------------------------------------


def test_put_moves_an_alias_conditionally(client, registry):
    for _ in range(3):
        register(registry)
    created = call(client, "put", "/models/churn/aliases/staging", {"version": 1, "expected_version": None})
    assert created.status_code == 200
    assert (created.json_body["from_version"], created.json_body["to_version"]) == (None, 1)
    assert error_of(call(client, "put", "/models/churn/aliases/staging",
                         {"version": 2, "expected_version": None})) == (
        409, "alias_conflict", "alias 'staging' of model 'churn' points at version 1, not nothing")
    assert error_of(call(client, "put", "/models/churn/aliases/staging",
                         {"version": 2, "expected_version": 3})) == (
        409, "alias_conflict", "alias 'staging' of model 'churn' points at version 1, not version 3")
    moved = call(client, "put", "/models/churn/aliases/staging",
                 {"version": 2, "expected_version": 1, "reason": "canary ok"})
    assert moved.json_body["reason"] == "canary ok"
    assert call(client, "put", "/models/churn/aliases/staging", {"version": 3}).json_body["to_version"] == 3
    assert call(client, "get", "/models/churn/aliases/staging").json_body == {
        "model": "churn", "alias": "staging", "version": 3}


def test_put_alias_rejects_bad_bodies_and_unknown_targets(client, registry):
    register(registry)
    response = client.http.put("/models/churn/aliases/staging", headers=JSON)
    assert error_of(response)[:2] == (400, "missing_body")
    assert error_of(call(client, "put", "/models/churn/aliases/staging", {"version": 0}))[:2] == (
        400, "invalid_input")
    assert error_of(call(client, "put", "/models/churn/aliases/Bad Alias", {"version": 1}))[:2] == (
        400, "invalid_name")
    assert error_of(call(client, "put", "/models/churn/aliases/staging", {"version": 5})) == (
        404, "model_version_not_found", "model 'churn' has no registered version 5")


def test_delete_removes_an_alias_and_a_missing_one_is_a_404(client, registry):
    register(registry)
    registry.set_alias("churn", "staging", 1)
    response = call(client, "delete", "/models/churn/aliases/staging")
    assert (response.status_code, response.json_body["to_version"]) == (200, None)
    assert error_of(call(client, "delete", "/models/churn/aliases/staging")) == (
        404, "alias_not_found", "model 'churn' has no alias 'staging'")
    assert error_of(call(client, "get", "/models/churn/aliases/staging"))[:2] == (404, "alias_not_found")


def test_history_answers_which_version_an_alias_had_at_a_time(client, registry):
    for _ in range(2):
        register(registry)
    first = registry.set_alias("churn", "production", 1)
    second = registry.set_alias("churn", "production", 2)
    at_first = call(client, "get", f"/models/churn/aliases/production/history?at={first.at}")
    assert at_first.json_body == {"model": "churn", "alias": "production", "at": first.at, "version": 1}
    at_second = call(client, "get", f"/models/churn/aliases/production/history?at={second.at}")
    assert at_second.json_body["version"] == 2
    before = call(client, "get", "/models/churn/aliases/production/history?at=2000-01-01T00:00:00Z")
    assert before.json_body["version"] is None
    offset = second.at.replace("Z", "+00:00")  # an unencoded '+' arrives as a space
    assert call(client, "get", f"/models/churn/aliases/production/history?at={offset}").json_body[
        "version"] == 2
    history = call(client, "get", "/models/churn/aliases/production/history").json_body
    assert [(m["from_version"], m["to_version"]) for m in history["items"]] == [(1, 2), (None, 1)]
    status, code, message = error_of(call(client, "get", "/models/churn/aliases/production/history?at=soon"))
    assert (status, code) == (400, "invalid_timestamp")
    assert message.startswith("at must be an ISO-8601 timestamp")


# ---- audit and lineage ---------------------------------------------------------------------------


def test_the_audit_log_is_paged_newest_first(client, registry):
    register(registry)
    registry.promote("churn", 1, actor="alice")
    first = call(client, "get", "/models/churn/audit?limit=2").json_body
    assert [e["event"] for e in first["items"]] == ["alias_moved", "status_changed"]
    rest = call(client, "get", f"/models/churn/audit?limit=2&next_token={first['next_token']}").json_body
    assert [e["event"] for e in rest["items"]] == ["version_registered"]
    assert error_of(call(client, "get", "/models/churn/audit?next_token=forged"))[:2] == (
        400, "invalid_token")


def test_lineage_follows_a_version_to_its_dataset_versions_and_raw_objects(client, registry):
    from chalicelib.core.datasets.types import DatasetVersion
    from chalicelib.storage import datasets

    raw = {"bucket": "b", "key": "raw/customers/2026-11-26.csv", "version_id": "v1", "etag": "e",
           "sha256": "cd" * 32, "size": 1234}
    datasets.put_version(DatasetVersion(
        dataset="customers", version=1, status="passed", raw=raw,
        report_key="reports/validation/customers/1.json",
        created_at="2026-11-26T10:00:00.000Z", curated_path="s3://b/curated/customers/dataset_version=1/",
        contract_version=2, rows=100, verdict="pass"))
    register(registry, dataset_versions=[{"dataset": "customers", "version": 1},
                                         {"dataset": "orders", "version": 4}])
    body = call(client, "get", "/models/churn/versions/1/lineage").json_body
    assert body["artifact"] == {"source": "s3://bucket/models/churn/1/", "sha256": "ab" * 32}
    found, missing = body["datasets"]
    assert (found["found"], found["status"], found["contract_version"], found["rows"]) == (
        True, "passed", 2, 100)
    assert found["curated_path"] == "s3://b/curated/customers/dataset_version=1/"
    assert found["raw"] == raw
    assert missing == {"dataset": "orders", "version": 4, "found": False}
    assert error_of(call(client, "get", "/models/churn/versions/2/lineage"))[:2] == (
        404, "model_version_not_found")
