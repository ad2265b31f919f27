"""``ModelRegistry``: the registry's rules over any :class:`~.store.RegistryStore`.

Validates names, versions and status transitions; writes an audit record with every registration,
status decision, update and alias move (who, when, from → to, reason, cause) in the same atomic
store write as the change itself, so the audit log is complete even when writers race.

Manual decisions:

- :meth:`ModelRegistry.promote` approves a version and moves ``production`` to it, conditional on
  where ``production`` pointed when read (409 ``alias_conflict`` if it moved meanwhile).
- :meth:`ModelRegistry.reject` rejects a version. A version that any alias points at (production
  included) is refused with 409 ``version_in_use``: roll back or move the alias first. Rejected
  versions can never become an alias target.
- :meth:`ModelRegistry.rollback` moves ``production`` back to the newest earlier production version
  that is neither the current one, nor rejected, nor one a previous rollback moved away from (so
  repeated rollbacks walk back through history: 1→2→3, rollback → 2, rollback → 1), found in the
  alias log; 409 ``nothing_to_roll_back`` when there is none.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

from chalicelib.core.errors import BadRequestError
from chalicelib.core.registry.entities import (
    ANY,
    APPROVED,
    CANDIDATE,
    EVENT_ALIAS_DELETED,
    EVENT_ALIAS_MOVED,
    EVENT_REGISTERED,
    EVENT_SERVING,
    EVENT_STATUS,
    EVENT_UPDATED,
    PRODUCTION,
    REJECTED,
    STATUSES,
    TRANSITIONS,
    AliasMove,
    AuditEvent,
    ModelSummary,
    ModelVersion,
    Page,
    ServingSettings,
    VersionUpdate,
    format_ts,
    parse_ts,
    utc_now,
)
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
    ModelVersionNotFoundError,
    NothingToRollBackError,
    StatusTransitionError,
    VersionInUseError,
    VersionRejectedError,
)
from chalicelib.core.registry.store import RegistryStore
from chalicelib.core.settings import Settings, get_settings

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")  # fullmatch: no trailing newline
MAX_TAG_KEY = 250
MAX_TAG_VALUE = 5000
MAX_LIMIT = 1000
ALIAS_ATTEMPTS = 8  # optimistic retries of an alias move whose precondition still holds
ROLLBACK = "rollback"


def check_name(value: Any, what: str = "model") -> str:
    """``value`` if it is a valid model or alias name; 400 ``invalid_name`` otherwise."""
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise InvalidNameError(f"{what} name must match ^{NAME_PATTERN.pattern}$ "
                               "(lowercase letters, digits, '_' and '-'; at most 63 characters)")
    return value


def check_capture_percent(value: Any) -> float | None:
    """A capture percentage: a number from 0 to 100, or None (the stack's); 400 otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise BadRequestError("capture_percent must be a number from 0 to 100 (or null: the stack's)",
                              code="invalid_capture_percent")
    return float(value)


def check_version(value: Any) -> int:
    """``value`` as a positive int (``"3"`` accepted); 400 ``invalid_version`` otherwise."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidVersionError("version must be a positive integer")
    return value


def encode_token(key: dict[str, Any] | None) -> str | None:
    """A store key as an opaque URL-safe token (the same format as ``chalicelib.triggers.http.http``)."""
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, default=str).encode()).decode()


def decode_token(token: str | dict[str, Any] | None) -> dict[str, Any] | None:
    if token is None or isinstance(token, dict):
        return token or None
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequestError("next_token is not a token this API issued", code="invalid_token") from exc
    if not isinstance(value, dict):
        raise BadRequestError("next_token is not a token this API issued", code="invalid_token")
    return value


def _check_limit(limit: Any) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise BadRequestError(f"limit must be an integer between 1 and {MAX_LIMIT}", code="invalid_limit")
    return limit


def _check_tags(tags: Any) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, dict):
        raise InvalidTagError("tags must be an object of string keys and string values")
    for key, value in tags.items():
        if not isinstance(key, str) or not key.strip() or len(key) > MAX_TAG_KEY:
            raise InvalidTagError(f"tag keys must be non-empty strings of at most {MAX_TAG_KEY} characters")
        if not isinstance(value, str) or len(value) > MAX_TAG_VALUE:
            raise InvalidTagError(f"tag {key!r}: values must be strings of at most {MAX_TAG_VALUE} chars")
    return dict(tags)


def _op_id() -> str:
    """Unique and, within one process, in creation order (audit keys share a millisecond often)."""
    return f"{time.time_ns():019d}{uuid.uuid4().hex[:12]}"


def _describe(version: Any) -> str:
    return "nothing" if version is None else f"version {version}"


class ModelRegistry:
    """Model versions, their status, tags and aliases, with an append-only audit log.

    Parameters
    ----------
    store : RegistryStore
        Where the registry lives (``DynamoDBRegistryStore`` on AWS, ``MemoryRegistryStore`` in tests).
    clock : callable, optional
        Returns the current ``datetime`` (UTC); tests pass a fake one.
    """

    def __init__(self, store: RegistryStore, *, clock: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self._clock = clock or utc_now

    def _now(self) -> str:
        return format_ts(self._clock())

    # ---- versions ----------------------------------------------------------------------------

    def reserve_version(self, model: str) -> int:
        """The next version number of ``model``: write the artifact under it, then register it."""
        return self.store.reserve_version(check_name(model))

    def register_model_version(self, model: str, version: int, *, source: str, artifact_sha256: str,
                               run_id: str, metrics: dict[str, Any] | None,
                               dataset_versions: list[dict[str, Any]] | None, spec_version: int | None,
                               description: str = "", tags: dict[str, str] | None = None,
                               actor: str = "system", origin: dict[str, Any] | None = None) -> ModelVersion:
        """Register a reserved version (status ``candidate``); 409 ``model_version_exists`` if taken.
        ``origin``: where the version came from (a training run or an import), recorded once: unlike tags,
        nothing changes it afterwards."""
        check_name(model)
        version = check_version(version)
        now = self._now()
        registered = ModelVersion(
            model=model, version=version, status=CANDIDATE, source=source, artifact_sha256=artifact_sha256,
            run_id=run_id, metrics=dict(metrics or {}), dataset_versions=list(dataset_versions or []),
            spec_version=spec_version, description=description or "", tags=_check_tags(tags),
            origin=dict(origin) if origin else None, created_at=now, updated_at=now)
        details = {"source": source, "artifact_sha256": artifact_sha256, "run_id": run_id,
                   "spec_version": spec_version, "dataset_versions": registered.dataset_versions,
                   "origin": registered.origin}
        self.store.create_model_version(registered, self._event(model, EVENT_REGISTERED, actor, now,
                                                                version, details))
        return registered

    create_model_version = register_model_version  # MLflow's name

    def get_model_version(self, model: str, version: int, *, with_aliases: bool = True) -> ModelVersion:
        """The version (with the aliases that point at it, unless ``with_aliases=False``: one GetItem);
        404 ``model_version_not_found``."""
        found = self._require(check_name(model), check_version(version))
        return self._with_aliases(found) if with_aliases else found

    def search_model_versions(self, model: str, limit: int = 50,
                              next_token: str | dict[str, Any] | None = None) -> Page[ModelVersion]:
        """One page of ``model``'s versions, newest first; 404 ``model_not_found`` if it has none."""
        check_name(model)
        start = decode_token(next_token)
        items, last = self.store.search_model_versions(model, _check_limit(limit), start)
        if not items and start is None:
            raise ModelNotFoundError(f"model {model!r} has no registered version")
        aliases = self._aliases_by_version(model) if items else {}
        items = [self._attach(v, aliases) for v in items]
        return Page(items=items, next_token=encode_token(last))

    def get_model(self, model: str) -> ModelSummary:
        found = self.store.get_model(check_name(model))
        if found is None:
            raise ModelNotFoundError(f"model {model!r} has no registered version")
        return found

    def list_models(self, limit: int = 50, next_token: str | dict[str, Any] | None = None
                    ) -> Page[ModelSummary]:
        """One page of registered models, by name."""
        items, last = self.store.list_models(_check_limit(limit), decode_token(next_token))
        return Page(items=items, next_token=encode_token(last))

    def update_model_version(self, model: str, version: int, *, description: str | None = None,
                             set_tags: dict[str, str] | None = None, delete_tags: list[str] | None = None,
                             actor: str = "system") -> ModelVersion:
        """Change the description and/or tags (``set_tags`` wins over ``delete_tags``), audited."""
        check_name(model)
        version = check_version(version)
        tags = _check_tags(set_tags)
        removed = tuple(sorted({str(k) for k in (delete_tags or [])} - set(tags)))
        if description is not None and not isinstance(description, str):
            raise BadRequestError("description must be a string", code="invalid_description")
        self._require(model, version)
        now = self._now()
        details = {"description": description, "set_tags": tags, "deleted_tags": list(removed)}
        audit = self._event(model, EVENT_UPDATED, actor, now, version, details)
        update = VersionUpdate(updated_at=now, description=description, set_tags=tags, remove_tags=removed)
        return self._with_aliases(self.store.update_model_version(model, version, update, [audit]))

    def set_model_version_tag(self, model: str, version: int, key: str, value: str, *,
                              actor: str = "system") -> ModelVersion:
        return self.update_model_version(model, version, set_tags={key: value}, actor=actor)

    def delete_model_version_tag(self, model: str, version: int, key: str, *,
                                 actor: str = "system") -> ModelVersion:
        return self.update_model_version(model, version, delete_tags=[key], actor=actor)

    set_tag = set_model_version_tag
    delete_tag = delete_model_version_tag

    def set_status(self, model: str, version: int, status: str, *, actor: str = "system",
                   reason: str = "", decision: dict[str, Any] | None = None) -> ModelVersion:
        """Change the status (validated transition) and store ``decision`` (gate evidence), audited.

        Setting the current status again only records ``decision`` (nothing is written without one).
        Rejecting a version that an alias points at is refused (409 ``version_in_use``).
        """
        check_name(model)
        version = check_version(version)
        if status not in STATUSES:
            raise InvalidStatusError(f"status must be one of {', '.join(STATUSES)}")
        current = self._require(model, version)
        if status == current.status and decision is None:
            return self._with_aliases(current)
        if status != current.status and status not in TRANSITIONS[current.status]:
            raise StatusTransitionError(f"version {version} of model {model!r} is {current.status}; "
                                        f"it cannot become {status}")
        expected_revision = None
        if status == REJECTED:
            in_use = sorted(a for a, v in self.store.get_aliases(model).items() if v == version)
            if in_use:
                raise VersionInUseError(
                    f"version {version} of model {model!r} is the target of alias {', '.join(in_use)}; "
                    "move the alias (or roll back) before rejecting it")
            expected_revision = current.revision  # an alias move to it meanwhile bumps the revision
        now = self._now()
        audit = self._event(model, EVENT_STATUS, actor, now, version,
                            {"from": current.status, "to": status, "reason": reason, "decision": decision})
        update = VersionUpdate(updated_at=now, status=status, decision=decision,
                               expected_status=current.status, expected_revision=expected_revision)
        return self._with_aliases(self.store.update_model_version(model, version, update, [audit]))

    # ---- aliases -----------------------------------------------------------------------------

    def get_alias(self, model: str, alias: str) -> int | None:
        """The version ``alias`` points at now, or None."""
        state = self.store.get_alias(check_name(model), check_name(alias, "alias"))
        return state.version if state else None

    def get_model_version_by_alias(self, model: str, alias: str) -> ModelVersion:
        version = self.get_alias(model, alias)
        if version is None:
            raise AliasNotFoundError(f"model {model!r} has no alias {alias!r}")
        return self.get_model_version(model, version)

    def set_alias(self, model: str, alias: str, version: int, *, expected: Any = ANY,
                  actor: str = "system", reason: str = "", cause: Any = None) -> AliasMove:
        """Point ``alias`` at ``version``, conditional on ``expected``.

        ``expected``: ``ANY`` (don't care), None (the alias must not exist) or the version it must
        point at now; otherwise 409 ``alias_conflict``. The target must be registered and not
        rejected. Pointing an alias where it already points writes nothing.
        """
        check_name(model)
        check_name(alias, "alias")
        version = check_version(version)
        if expected is not ANY and expected is not None:
            expected = check_version(expected)
        target = self._require(model, version)
        if target.status == REJECTED:
            raise VersionRejectedError(f"version {version} of model {model!r} is rejected; "
                                       "it cannot be an alias target")
        return self._move_alias(model, alias, version, expected=expected, actor=actor, reason=reason,
                                cause=cause)

    def delete_alias(self, model: str, alias: str, *, expected: Any = ANY, actor: str = "system",
                     reason: str = "", cause: Any = None) -> AliasMove:
        """Remove ``alias`` (logged as a move to None); 404 ``alias_not_found`` if it is not set."""
        check_name(model)
        check_name(alias, "alias")
        if expected is not ANY and expected is not None:
            expected = check_version(expected)
        return self._move_alias(model, alias, None, expected=expected, actor=actor, reason=reason,
                                cause=cause)

    def alias_at(self, model: str, alias: str, at_iso: str) -> int | None:
        """The version ``alias`` pointed at, at time ``at_iso`` (ISO-8601), or None."""
        check_name(model)
        check_name(alias, "alias")
        try:
            at = parse_ts(at_iso)
        except (TypeError, ValueError, AttributeError) as exc:
            raise InvalidTimestampError("at must be an ISO-8601 timestamp, "
                                        "e.g. 2026-11-26T16:33:47.123Z") from exc
        move = self.store.alias_at(model, alias, at)
        return move.to_version if move else None

    def alias_history(self, model: str, alias: str) -> list[AliasMove]:
        """Every move of ``alias``, newest first."""
        moves: list[AliasMove] = []
        token: str | None = None
        while True:
            page = self.search_alias_history(model, alias, limit=MAX_LIMIT, next_token=token)
            moves += page.items
            token = page.next_token
            if not token:
                return moves

    def search_alias_history(self, model: str, alias: str, limit: int = 50,
                             next_token: str | dict[str, Any] | None = None) -> Page[AliasMove]:
        """One page of ``alias``'s moves, newest first."""
        check_name(model)
        check_name(alias, "alias")
        items, last = self.store.alias_history(model, alias, _check_limit(limit), decode_token(next_token))
        return Page(items=items, next_token=encode_token(last))

    def models_with_alias(self, alias: str) -> list[tuple[str, int]]:
        """``(model, version)`` for every model whose ``alias`` is set (an index Query, no Scan)."""
        return self.store.models_with_alias(check_name(alias, "alias"))

    # ---- manual decisions --------------------------------------------------------------------

    def promote(self, model: str, version: int, *, actor: str = "system", reason: str = "",
                decision: dict[str, Any] | None = None, alias: str = PRODUCTION) -> AliasMove:
        """Approve ``version`` and move ``alias`` to it from where it points now, in one write."""
        check_name(model)
        check_name(alias, "alias")
        version = check_version(version)
        current = self._require(model, version)
        if current.status == REJECTED:
            raise VersionRejectedError(f"version {version} of model {model!r} is rejected; "
                                       "it cannot be promoted")
        if current.status not in (CANDIDATE, APPROVED):
            raise StatusTransitionError(f"version {version} of model {model!r} is {current.status}; "
                                        "only candidate or approved versions can be promoted")
        previous = self.store.get_alias(model, alias)
        if previous is not None and previous.version == version:
            raise AliasUnchangedError(f"version {version} of model {model!r} is already {alias}")
        return self._move_alias(model, alias, version, expected=previous.version if previous else None,
                                actor=actor, reason=reason, cause="promote", approve_from=current.status,
                                decision=decision, retry=False, known=previous)

    def reject(self, model: str, version: int, *, actor: str = "system", reason: str = "",
               decision: dict[str, Any] | None = None) -> ModelVersion:
        """Reject ``version``; refused (409 ``version_in_use``) while an alias points at it."""
        return self.set_status(model, version, REJECTED, actor=actor, reason=reason, decision=decision)

    def rollback(self, model: str, *, actor: str = "system", reason: str = "",
                 alias: str = PRODUCTION) -> AliasMove:
        """Move ``alias`` back to its previous usable version (see the module docstring)."""
        check_name(model)
        check_name(alias, "alias")
        state = self.store.get_alias(model, alias)
        if state is None or state.version is None:
            raise NothingToRollBackError(f"model {model!r} has no {alias} version to roll back from")
        target = self._rollback_target(model, alias, state.version)
        if target is None:
            raise NothingToRollBackError(
                f"model {model!r} has no earlier {alias} version to roll back to")
        return self._move_alias(model, alias, target, expected=state.version, actor=actor, reason=reason,
                                cause=ROLLBACK, retry=False, known=state)

    def _rollback_target(self, model: str, alias: str, current: int) -> int | None:
        rolled_back_from: set[int] = set()
        seen = {current}
        token: str | None = None
        while True:
            page = self.search_alias_history(model, alias, limit=100, next_token=token)
            for move in page.items:
                if move.cause == ROLLBACK and move.from_version is not None:
                    rolled_back_from.add(move.from_version)
                candidate = move.to_version
                if candidate is None or candidate in seen or candidate in rolled_back_from:
                    continue
                seen.add(candidate)
                found = self.store.get_model_version(model, candidate)
                if found is not None and found.status != REJECTED:
                    return candidate
            token = page.next_token
            if not token:
                return None

    # ---- serving settings --------------------------------------------------------------------

    def get_serving_settings(self, model: str) -> ServingSettings:
        """The model's serving settings (the defaults when nobody set them): one GetItem."""
        return self.store.get_serving_settings(check_name(model)) or ServingSettings(model)

    def set_serving_settings(self, model: str, *, capture_percent: Any = ANY, shadow_alias: Any = ANY,
                             actor: str = "system") -> ServingSettings:
        """Change the capture percentage and/or the shadow alias (``ANY``: unchanged; ``None``: the
        stack's percentage / no shadow scoring), audited as ``serving_settings_changed`` (from → to).

        The model must be registered (404 ``model_not_found``); a concurrent change is a 409
        ``concurrent_update``. Unchanged values write nothing.
        """
        self.get_model(model)
        current = self.get_serving_settings(model)
        changes: dict[str, Any] = {}
        if capture_percent is not ANY:
            changes["capture_percent"] = check_capture_percent(capture_percent)
        if shadow_alias is not ANY:
            changes["shadow_alias"] = None if shadow_alias is None else check_name(shadow_alias, "alias")
        if all(getattr(current, k) == v for k, v in changes.items()):
            return current
        from dataclasses import replace

        now = self._now()
        updated = replace(current, **changes, updated_at=now, updated_by=actor or "anonymous",
                          revision=current.revision + 1)
        audit = self._event(model, EVENT_SERVING, actor, now, None,
                            {"from": current.values(), "to": updated.values()})
        self.store.put_serving_settings(updated, audit)
        return updated

    # ---- audit -------------------------------------------------------------------------------

    def append_audit(self, model: str, event: str, *, actor: str = "system",
                     details: dict[str, Any] | None = None, version: int | None = None) -> AuditEvent:
        """Append a custom audit record (e.g. the gate's ``gate_decision`` with both scores)."""
        check_name(model)
        if not isinstance(event, str) or not event.strip():
            raise BadRequestError("event must be a non-empty string", code="invalid_event")
        if version is not None:
            version = check_version(version)
        record = self._event(model, event, actor, self._now(), version, dict(details or {}))
        self.store.append_audit([record])
        return record

    def list_audit_events(self, model: str, limit: int = 50,
                          next_token: str | dict[str, Any] | None = None) -> Page[AuditEvent]:
        """One page of the model's audit log, newest first."""
        items, last = self.store.list_audit(check_name(model), _check_limit(limit), decode_token(next_token))
        return Page(items=items, next_token=encode_token(last))

    # ---- helpers -----------------------------------------------------------------------------

    def _move_alias(self, model: str, alias: str, to: int | None, *, expected: Any, actor: str,
                    reason: str, cause: Any, approve_from: str | None = None,
                    decision: dict[str, Any] | None = None, retry: bool = True,
                    known: Any = ANY) -> AliasMove:
        """Read the alias, check ``expected``, write the move conditional on the alias's move count.

        A lost race is retried (re-read, re-checked) only while ``expected`` still holds. ``known``:
        the alias state the caller has just read (None = never set), saving the first read.
        """
        for attempt in range(ALIAS_ATTEMPTS if retry else 1):
            state = known if attempt == 0 and known is not ANY else self.store.get_alias(model, alias)
            current = state.version if state else None
            if expected is not ANY and current != expected:
                raise AliasConflictError(f"alias {alias!r} of model {model!r} points at "
                                         f"{_describe(current)}, not {_describe(expected)}")
            if current == to:
                if to is None:
                    raise AliasNotFoundError(f"model {model!r} has no alias {alias!r}")
                # current == to is not None: current came from state, so state is set
                return AliasMove(model=model, alias=alias, from_version=current, to_version=to, actor=actor,
                                 at=state.updated_at, seq=state.seq,  # type: ignore[union-attr]
                                 reason=reason, cause=cause)
            at = max(self._now(), state.updated_at if state else "")  # the log stays in time order
            move = AliasMove(model=model, alias=alias, from_version=current, to_version=to, actor=actor,
                             at=at, seq=(state.seq if state else 0) + 1, reason=reason, cause=cause)
            try:
                self.store.write_alias_move(move, *self._move_records(move, approve_from, decision))
                return move
            except AliasConflictError:
                continue
        raise AliasConflictError(f"alias {alias!r} of model {model!r} moved meanwhile; retry")

    def _move_records(self, move: AliasMove, approve_from: str | None, decision: dict[str, Any] | None
                      ) -> tuple[list[AuditEvent], VersionUpdate | None]:
        op = _op_id()
        audits: list[AuditEvent] = []
        update = None
        if approve_from is not None:
            update = VersionUpdate(updated_at=move.at, status=APPROVED, decision=decision,
                                   expected_status=approve_from)
            if approve_from != APPROVED or decision is not None:
                audits.append(self._event(move.model, EVENT_STATUS, move.actor, move.at, move.to_version,
                                          {"from": approve_from, "to": APPROVED, "reason": move.reason,
                                           "decision": decision}, op_id=op, index=len(audits)))
        event = EVENT_ALIAS_DELETED if move.to_version is None else EVENT_ALIAS_MOVED
        details = {"alias": move.alias, "from_version": move.from_version, "to_version": move.to_version,
                   "reason": move.reason, "cause": move.cause, "seq": move.seq}
        audits.append(self._event(move.model, event, move.actor, move.at, move.to_version, details,
                                  op_id=op, index=len(audits)))
        return audits, update

    @staticmethod
    def _event(model: str, event: str, actor: str, at: str, version: int | None, details: dict[str, Any],
               *, op_id: str | None = None, index: int = 0) -> AuditEvent:
        return AuditEvent(model=model, event=event, actor=actor or "anonymous", at=at,
                          id=f"{op_id or _op_id()}-{index}", version=version, details=details)

    def _require(self, model: str, version: int) -> ModelVersion:
        found = self.store.get_model_version(model, version)
        if found is None:
            raise ModelVersionNotFoundError(f"model {model!r} has no registered version {version}")
        return found

    def _aliases_by_version(self, model: str) -> dict[int, tuple[str, ...]]:
        by_version: dict[int, list[str]] = {}
        for alias, version in self.store.get_aliases(model).items():
            by_version.setdefault(version, []).append(alias)
        return {v: tuple(sorted(a)) for v, a in by_version.items()}

    @staticmethod
    def _attach(version: ModelVersion, aliases: dict[int, tuple[str, ...]]) -> ModelVersion:
        from dataclasses import replace

        return replace(version, aliases=aliases.get(version.version, ()))

    def _with_aliases(self, version: ModelVersion) -> ModelVersion:
        return self._attach(version, self._aliases_by_version(version.model))


def get_registry(settings: Settings | None = None) -> ModelRegistry:
    """The registry on the state table named by ``settings`` (default: the environment's);
    ``ModelRegistry(MemoryRegistryStore())`` is the same registry in memory."""
    return _registry_for(settings or get_settings())


@lru_cache(maxsize=16)
def _registry_for(settings: Settings) -> ModelRegistry:
    from chalicelib.storage.registry.dynamodb import DynamoDBRegistryStore

    return ModelRegistry(DynamoDBRegistryStore(settings))
