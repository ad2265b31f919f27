"""One conformance suite, run against every store: here the in-memory one; tests/functional/registry runs
this same class against DynamoDB in moto.

Like scikit-learn's ``check_estimator``: a store is correct when this whole class passes on it.
"""

from __future__ import annotations

import re

import pytest

from chalicelib.core.errors import BadRequestError
from chalicelib.core.registry.entities import ANY, AliasMove
from chalicelib.core.registry.errors import (
    AliasConflictError,
    AliasNotFoundError,
    AliasUnchangedError,
    InvalidNameError,
    InvalidStatusError,
    InvalidTagError,
    InvalidTimestampError,
    InvalidVersionError,
    ModelNotFoundError,
    ModelVersionExistsError,
    ModelVersionNotFoundError,
    NothingToRollBackError,
    StatusTransitionError,
    VersionInUseError,
    VersionRejectedError,
)
from tests.unit.registry.conftest import register

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def all_pages(fetch, limit):
    """Every item of a paged listing, and the size of each page."""
    items, sizes, token = [], [], None
    while True:
        page = fetch(limit=limit, next_token=token)
        items += page.items
        sizes.append(len(page.items))
        token = page.next_token
        if token is None:
            return items, sizes


class TestRegistryConformance:
    # ---- registration ----------------------------------------------------------------------------

    def test_reserved_numbers_increase_per_model_and_models_are_independent(self, registry):
        assert [registry.reserve_version("churn") for _ in range(3)] == [1, 2, 3]
        assert registry.reserve_version("fraud") == 1

    def test_a_registered_version_reads_back_with_every_field(self, registry):
        registered = register(registry, tags={"team": "growth"}, description="first")
        found = registry.get_model_version("churn", 1)
        assert found == registered
        assert (found.status, found.run_id, found.tags, found.description) == (
            "candidate", "run-1", {"team": "growth"}, "first")
        assert found.metrics == {"f1": 0.51, "accuracy": 0.75}
        assert found.dataset_versions == [{"dataset": "customers", "version": 1}]
        assert TIMESTAMP.match(found.created_at) and found.created_at == found.updated_at

    def test_registering_a_number_twice_is_refused_and_audited_once(self, registry):
        register(registry)
        with pytest.raises(ModelVersionExistsError) as caught:
            registry.register_model_version("churn", 1, source="s3://x", artifact_sha256="cd" * 32,
                                            run_id="other", metrics={}, dataset_versions=[], spec_version=1)
        assert caught.value.code == "model_version_exists"
        assert caught.value.message == "version 1 of model 'churn' is already registered"
        assert registry.get_model_version("churn", 1).run_id == "run-1"
        events = registry.list_audit_events("churn").items
        assert [e.event for e in events] == ["version_registered"]

    def test_a_reserved_number_that_never_registers_is_invisible(self, registry):
        registry.reserve_version("churn")  # the run died before registering
        register(registry)  # version 2
        with pytest.raises(ModelVersionNotFoundError) as caught:
            registry.get_model_version("churn", 1)
        assert caught.value.code == "model_version_not_found"
        assert caught.value.message == "model 'churn' has no registered version 1"
        assert [v.version for v in registry.search_model_versions("churn").items] == [2]

    def test_names_and_versions_are_validated(self, registry):
        for bad in ("Churn", "-churn", "a" * 64, "churn/1", ""):
            with pytest.raises(InvalidNameError) as caught:
                registry.reserve_version(bad)
            assert caught.value.code == "invalid_name"
            assert caught.value.message.startswith("model name must match ^[a-z0-9][a-z0-9_-]{0,62}$")
        for bad in (0, -1, "x", True, 1.5):
            with pytest.raises(InvalidVersionError) as caught:
                registry.get_model_version("churn", bad)
            assert (caught.value.code, caught.value.message) == (
                "invalid_version", "version must be a positive integer")

    # ---- listings ----------------------------------------------------------------------------

    def test_versions_are_listed_newest_first_in_pages(self, registry):
        for _ in range(7):
            register(registry)
        items, sizes = all_pages(lambda **kw: registry.search_model_versions("churn", **kw), 3)
        assert [v.version for v in items] == [7, 6, 5, 4, 3, 2, 1]
        assert max(sizes) == 3

    def test_an_unknown_model_has_no_versions(self, registry):
        with pytest.raises(ModelNotFoundError) as caught:
            registry.search_model_versions("nothing")
        assert (caught.value.code, caught.value.message) == (
            "model_not_found", "model 'nothing' has no registered version")

    def test_a_token_from_another_listing_is_refused(self, registry):
        for _ in range(3):
            register(registry)
            register(registry, "fraud")
        token = registry.search_model_versions("churn", limit=1).next_token
        assert token is not None
        for fetch in (lambda: registry.search_model_versions("fraud", limit=1, next_token=token),
                      lambda: registry.list_audit_events("churn", limit=1, next_token=token),
                      lambda: registry.list_models(limit=1, next_token="bm90LWpzb24")):
            with pytest.raises(BadRequestError) as caught:
                fetch()
            assert caught.value.code == "invalid_token"

    def test_models_are_listed_by_name_in_pages_and_only_once_registered(self, registry):
        for model in ("fraud", "churn", "ads", "churn"):
            register(registry, model)
        registry.reserve_version("ghost")  # reserved, never registered
        items, sizes = all_pages(registry.list_models, 2)
        assert [(m.model, m.version_count) for m in items] == [("ads", 1), ("churn", 2), ("fraud", 1)]
        assert max(sizes) == 2

    # ---- status, tags, description -------------------------------------------------------------

    def test_status_changes_follow_the_allowed_transitions_and_keep_the_decision(self, registry):
        register(registry)
        evidence = {"challenger": {"f1": 0.8}, "champion": {"f1": 0.7}, "promote": True}
        approved = registry.set_status("churn", 1, "approved", actor="gate", reason="better",
                                       decision=evidence)
        assert (approved.status, approved.decision) == ("approved", evidence)
        with pytest.raises(StatusTransitionError) as caught:
            registry.set_status("churn", 1, "candidate", actor="alice")
        assert caught.value.code == "invalid_transition"
        assert caught.value.message == "version 1 of model 'churn' is approved; it cannot become candidate"
        with pytest.raises(InvalidStatusError) as bad:
            registry.set_status("churn", 1, "production", actor="alice")
        assert bad.value.message == "status must be one of candidate, approved, rejected, archived"
        event = registry.list_audit_events("churn").items[0]
        assert (event.event, event.actor, event.version) == ("status_changed", "gate", 1)
        assert event.details == {"from": "candidate", "to": "approved", "reason": "better",
                                 "decision": evidence}

    def test_setting_the_same_status_without_a_decision_writes_nothing(self, registry):
        register(registry)
        assert registry.set_status("churn", 1, "candidate").revision == 0
        assert len(registry.list_audit_events("churn").items) == 1

    def test_tags_and_description_change_per_key_and_are_audited(self, registry):
        register(registry, tags={"team": "growth", "owner": "ann"})
        registry.set_tag("churn", 1, "stage", "beta", actor="bob")
        registry.delete_tag("churn", 1, "owner", actor="bob")
        updated = registry.update_model_version("churn", 1, description="retrained", actor="bob")
        assert updated.tags == {"team": "growth", "stage": "beta"}
        assert updated.description == "retrained"
        assert updated.revision == 3
        assert [e.event for e in registry.list_audit_events("churn").items[:3]] == ["version_updated"] * 3
        with pytest.raises(InvalidTagError) as caught:
            registry.set_tag("churn", 1, "", "x")
        assert caught.value.code == "invalid_tag"
        with pytest.raises(ModelVersionNotFoundError):
            registry.set_tag("churn", 9, "stage", "beta")

    # ---- aliases -----------------------------------------------------------------------------

    def test_an_alias_points_at_a_version_and_shows_on_it(self, registry):
        for _ in range(2):
            register(registry)
        move = registry.set_alias("churn", "staging", 2, actor="alice", reason="try it")
        assert (move.from_version, move.to_version, move.seq, move.actor) == (None, 2, 1, "alice")
        assert registry.get_alias("churn", "staging") == 2
        assert registry.get_model_version("churn", 2).aliases == ("staging",)
        assert [v.aliases for v in registry.search_model_versions("churn").items] == [("staging",), ()]
        assert registry.get_alias("churn", "production") is None

    def test_alias_moves_are_conditional_on_the_previous_value(self, registry):
        for _ in range(3):
            register(registry)
        registry.set_alias("churn", "production", 1, expected=None, actor="a")
        with pytest.raises(AliasConflictError) as exists:
            registry.set_alias("churn", "production", 2, expected=None, actor="b")
        assert exists.value.code == "alias_conflict"
        assert exists.value.message == "alias 'production' of model 'churn' points at version 1, not nothing"
        with pytest.raises(AliasConflictError) as stale:
            registry.set_alias("churn", "production", 3, expected=2, actor="b")
        assert stale.value.message == "alias 'production' of model 'churn' points at version 1, not version 2"
        registry.set_alias("churn", "production", 2, expected=1, actor="b")
        registry.set_alias("churn", "production", 3, expected=ANY, actor="c")
        assert registry.get_alias("churn", "production") == 3

    def test_the_store_refuses_a_move_written_from_a_stale_read(self, registry):
        register(registry)
        register(registry)
        registry.set_alias("churn", "production", 1)
        stale = AliasMove(model="churn", alias="production", from_version=None, to_version=2, actor="x",
                          at="2026-11-26T12:00:01.000Z", seq=1)
        with pytest.raises(AliasConflictError) as caught:
            registry.store.write_alias_move(stale, [])
        assert caught.value.code == "alias_conflict"
        assert registry.get_alias("churn", "production") == 1

    def test_an_alias_target_must_be_registered_and_not_rejected(self, registry):
        register(registry)
        registry.reject("churn", 1, actor="alice")
        with pytest.raises(VersionRejectedError) as rejected:
            registry.set_alias("churn", "staging", 1)
        assert (rejected.value.code, rejected.value.message) == (
            "version_rejected", "version 1 of model 'churn' is rejected; it cannot be an alias target")
        with pytest.raises(ModelVersionNotFoundError):
            registry.set_alias("churn", "staging", 2)

    def test_the_store_refuses_a_rejected_target_even_past_the_service_checks(self, registry):
        register(registry)
        registry.reject("churn", 1)
        move = AliasMove(model="churn", alias="staging", from_version=None, to_version=1, actor="x",
                         at="2026-11-26T12:00:01.000Z", seq=1)
        with pytest.raises(VersionRejectedError):
            registry.store.write_alias_move(move, [])
        missing = AliasMove(model="churn", alias="staging", from_version=None, to_version=5, actor="x",
                            at="2026-11-26T12:00:01.000Z", seq=1)
        with pytest.raises(ModelVersionNotFoundError):
            registry.store.write_alias_move(missing, [])
        assert registry.get_alias("churn", "staging") is None

    def test_deleting_an_alias_is_logged_and_a_missing_alias_is_a_404(self, registry):
        register(registry)
        registry.set_alias("churn", "staging", 1)
        move = registry.delete_alias("churn", "staging", expected=1, actor="alice", reason="done")
        assert (move.from_version, move.to_version) == (1, None)
        assert registry.get_alias("churn", "staging") is None
        assert registry.get_model_version("churn", 1).aliases == ()
        with pytest.raises(AliasNotFoundError) as caught:
            registry.delete_alias("churn", "staging")
        assert (caught.value.code, caught.value.message) == (
            "alias_not_found", "model 'churn' has no alias 'staging'")
        registry.set_alias("churn", "staging", 1, expected=None)  # set again after deletion
        assert registry.get_alias("churn", "staging") == 1

    def test_pointing_an_alias_where_it_points_writes_nothing(self, registry):
        register(registry)
        registry.set_alias("churn", "staging", 1)
        before = len(registry.alias_history("churn", "staging"))
        assert registry.set_alias("churn", "staging", 1).seq == 1
        assert len(registry.alias_history("churn", "staging")) == before

    def test_a_move_can_carry_the_gates_evidence_as_its_cause(self, registry):
        register(registry)
        evidence = {"promote": True, "evidence": {"challenger": {"f1": 0.81}, "champion": None}}
        registry.set_status("churn", 1, "approved", actor="gate", decision=evidence)
        registry.set_alias("churn", "production", 1, expected=None, actor="gate", reason="first",
                           cause=evidence)
        assert registry.alias_history("churn", "production")[0].cause == evidence
        assert registry.list_audit_events("churn").items[0].details["cause"] == evidence
        assert registry.get_model_version("churn", 1).decision == evidence

    def test_models_with_an_alias_are_found_without_scanning(self, registry):
        for model in ("churn", "fraud", "ads"):
            register(registry, model)
        registry.set_alias("fraud", "production", 1)
        registry.set_alias("churn", "production", 1)
        registry.set_alias("ads", "staging", 1)
        registry.set_alias("ads", "production", 1)
        registry.delete_alias("ads", "production")
        assert sorted(registry.models_with_alias("production")) == [("churn", 1), ("fraud", 1)]
        assert registry.models_with_alias("staging") == [("ads", 1)]
        assert registry.models_with_alias("canary") == []

    # ---- history and audit ---------------------------------------------------------------------

    def test_which_version_was_production_at_time_t(self, registry, clock):
        for _ in range(3):
            register(registry)
        before = _ts(clock)
        clock.jump(minutes=1)
        first = registry.set_alias("churn", "production", 1)
        clock.jump(hours=1)
        second = registry.set_alias("churn", "production", 2)
        clock.jump(hours=1)
        between = _ts(clock)
        clock.jump(hours=1)
        third = registry.set_alias("churn", "production", 3)
        clock.jump(hours=1)
        gone = registry.delete_alias("churn", "production")
        assert registry.alias_at("churn", "production", before) is None
        assert registry.alias_at("churn", "production", first.at) == 1  # inclusive
        assert registry.alias_at("churn", "production", second.at) == 2
        assert registry.alias_at("churn", "production", between) == 2
        assert registry.alias_at("churn", "production", third.at) == 3
        assert registry.alias_at("churn", "production", gone.at) is None
        assert registry.alias_at("churn", "staging", between) is None
        offset = between.replace("Z", "+00:00")
        assert registry.alias_at("churn", "production", offset) == 2
        assert [(m.from_version, m.to_version) for m in registry.alias_history("churn", "production")] == [
            (3, None), (2, 3), (1, 2), (None, 1)]

    def test_a_timestamp_that_is_not_iso_8601_is_a_400(self, registry):
        with pytest.raises(InvalidTimestampError) as caught:
            registry.alias_at("churn", "production", "yesterday")
        assert caught.value.code == "invalid_timestamp"
        assert caught.value.message.startswith("at must be an ISO-8601 timestamp")

    def test_the_audit_log_records_every_registration_decision_and_move(self, registry):
        register(registry)
        register(registry)
        registry.promote("churn", 1, actor="alice", reason="first")
        registry.promote("churn", 2, actor="bob", reason="better")
        registry.append_audit("churn", "gate_decision", actor="gate", version=2, details={"promote": True})
        events, sizes = all_pages(lambda **kw: registry.list_audit_events("churn", **kw), 2)
        assert max(sizes) == 2
        assert [(e.event, e.version, e.actor) for e in events] == [
            ("gate_decision", 2, "gate"),
            ("alias_moved", 2, "bob"), ("status_changed", 2, "bob"),
            ("alias_moved", 1, "alice"), ("status_changed", 1, "alice"),
            ("version_registered", 2, "system"), ("version_registered", 1, "system"),
        ]
        moved = events[1].details
        assert (moved["from_version"], moved["to_version"], moved["reason"], moved["cause"]) == (
            1, 2, "better", "promote")
        assert all(TIMESTAMP.match(e.at) for e in events)

    # ---- manual decisions ----------------------------------------------------------------------

    def test_promote_approves_and_moves_production_keeping_the_previous(self, registry):
        register(registry)
        register(registry)
        registry.promote("churn", 1, actor="alice")
        move = registry.promote("churn", 2, actor="bob", reason="wins on f1")
        assert (move.from_version, move.to_version, move.cause) == (1, 2, "promote")
        promoted = registry.get_model_version("churn", 2)
        assert (promoted.status, promoted.aliases) == ("approved", ("production",))
        assert registry.get_model_version("churn", 1).aliases == ()
        with pytest.raises(AliasUnchangedError) as again:
            registry.promote("churn", 2, actor="bob")
        assert (again.value.code, again.value.message) == (
            "alias_unchanged", "version 2 of model 'churn' is already production")

    def test_a_rejected_version_cannot_be_promoted(self, registry):
        register(registry)
        registry.reject("churn", 1, actor="alice", reason="leaks the target")
        with pytest.raises(VersionRejectedError) as caught:
            registry.promote("churn", 1, actor="bob")
        assert caught.value.message == "version 1 of model 'churn' is rejected; it cannot be promoted"
        assert registry.get_alias("churn", "production") is None

    def test_the_production_version_cannot_be_rejected(self, registry):
        register(registry)
        registry.promote("churn", 1, actor="alice")
        with pytest.raises(VersionInUseError) as caught:
            registry.reject("churn", 1, actor="bob")
        assert caught.value.code == "version_in_use"
        assert caught.value.message == ("version 1 of model 'churn' is the target of alias production; "
                                        "move the alias (or roll back) before rejecting it")
        assert registry.get_model_version("churn", 1).status == "approved"

    def test_rollback_walks_back_through_production_history(self, registry):
        for version in (1, 2, 3):
            register(registry)
            registry.promote("churn", version, actor="alice")
        first = registry.rollback("churn", actor="oncall", reason="p99 latency")
        assert (first.from_version, first.to_version, first.cause, first.reason) == (
            3, 2, "rollback", "p99 latency")
        second = registry.rollback("churn", actor="oncall")
        assert (second.from_version, second.to_version) == (2, 1)
        with pytest.raises(NothingToRollBackError) as caught:
            registry.rollback("churn", actor="oncall")
        assert (caught.value.code, caught.value.message) == (
            "nothing_to_roll_back", "model 'churn' has no earlier production version to roll back to")
        assert registry.get_alias("churn", "production") == 1

    def test_rollback_skips_rejected_versions_and_needs_a_production(self, registry):
        with pytest.raises(NothingToRollBackError) as none:
            registry.rollback("churn", actor="oncall")
        assert none.value.message == "model 'churn' has no production version to roll back from"
        for version in (1, 2, 3):
            register(registry)
            registry.promote("churn", version, actor="alice")
        registry.reject("churn", 2, actor="alice")
        assert registry.rollback("churn", actor="oncall").to_version == 1

    def test_a_new_promotion_after_a_rollback_rolls_back_to_the_rollback_target(self, registry):
        for version in (1, 2, 3):
            register(registry)
            registry.promote("churn", version)
        registry.rollback("churn")  # 3 → 2
        register(registry)
        registry.promote("churn", 4)
        assert registry.rollback("churn").to_version == 2


    # ---- serving settings --------------------------------------------------------------------------

    def test_a_model_nobody_configured_has_the_default_serving_settings(self, registry):
        from chalicelib.core.registry.entities import ServingSettings

        register(registry)
        assert registry.get_serving_settings("churn") == ServingSettings("churn", None, "shadow")

    def test_serving_settings_read_back_with_who_when_and_a_revision_and_are_audited(self, registry):
        register(registry)
        first = registry.set_serving_settings("churn", capture_percent=20, shadow_alias="challenger",
                                              actor="alice")
        second = registry.set_serving_settings("churn", capture_percent=None, actor="bob")
        found = registry.get_serving_settings("churn")
        assert found == second
        assert (found.capture_percent, found.shadow_alias, found.updated_by, found.revision) == (
            None, "challenger", "bob", 2)
        assert TIMESTAMP.match(found.updated_at) and found.updated_at > first.updated_at
        events = [e for e in registry.list_audit_events("churn").items
                  if e.event == "serving_settings_changed"]
        assert [(e.actor, e.details) for e in events] == [
            ("bob", {"from": {"capture_percent": 20.0, "shadow_alias": "challenger"},
                     "to": {"capture_percent": None, "shadow_alias": "challenger"}}),
            ("alice", {"from": {"capture_percent": None, "shadow_alias": "shadow"},
                       "to": {"capture_percent": 20.0, "shadow_alias": "challenger"}})]

    def test_unchanged_serving_settings_write_nothing(self, registry):
        register(registry)
        first = registry.set_serving_settings("churn", capture_percent=5, actor="a")
        assert registry.set_serving_settings("churn", capture_percent=5.0, actor="b") == first
        assert registry.get_serving_settings("churn").revision == 1

    def test_serving_settings_need_a_registered_model_and_valid_values(self, registry):
        with pytest.raises(ModelNotFoundError):
            registry.set_serving_settings("churn", capture_percent=5)
        register(registry)
        for bad in (-0.1, 100.5, True, "5", float("nan")):
            with pytest.raises(BadRequestError) as caught:
                registry.set_serving_settings("churn", capture_percent=bad)
            assert caught.value.code == "invalid_capture_percent"
        with pytest.raises(InvalidNameError):
            registry.set_serving_settings("churn", shadow_alias="Shadow Alias")
        assert registry.get_serving_settings("churn").revision == 0

    def test_a_serving_settings_write_on_a_stale_revision_is_refused(self, registry):
        from dataclasses import replace

        from chalicelib.core.registry.entities import AuditEvent
        from chalicelib.core.registry.errors import ConcurrentUpdateError

        register(registry)
        current = registry.set_serving_settings("churn", capture_percent=5, actor="a")
        stale = replace(current, capture_percent=50.0)  # revision 1 again: written over a revision-1 item
        audit = AuditEvent("churn", "serving_settings_changed", "b", current.updated_at, "x-0")
        with pytest.raises(ConcurrentUpdateError):
            registry.store.put_serving_settings(stale, audit)
        assert registry.get_serving_settings("churn").capture_percent == 5.0
        assert not [e for e in registry.list_audit_events("churn").items if e.actor == "b"]


def _ts(clock) -> str:
    from chalicelib.core.registry.entities import format_ts

    return format_ts(clock())
