"""In-memory store: the DynamoDB store's semantics (conditions, ordering, paging) behind one lock.

For tests, the local demo and anything that wants a registry without AWS. Thread-safe: every
operation holds one re-entrant lock, so each is atomic like a single DynamoDB request.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from chalicelib.core.registry.entities import (
    REJECTED,
    AliasMove,
    AliasState,
    AuditEvent,
    ModelSummary,
    ModelVersion,
    ServingSettings,
    VersionUpdate,
)
from chalicelib.core.registry.errors import (
    AliasConflictError,
    ConcurrentUpdateError,
    ModelVersionExistsError,
    ModelVersionNotFoundError,
    VersionRejectedError,
)
from chalicelib.core.registry.store import Key, RegistryStore
from chalicelib.storage.layout import (
    MODEL_SK,
    MODELS_INDEX_PK,
    VERSION_PREFIX,
    alias_log_prefix,
    alias_log_sk,
    alias_log_upper,
    audit_pk,
    audit_sk,
    model_pk,
    version_sk,
)
from chalicelib.storage.registry.keys import audit_token
from chalicelib.storage.table import check_token


def apply_update(current: ModelVersion, update: VersionUpdate) -> ModelVersion:
    """``current`` after ``update`` (conditions are checked by the caller); revision + 1."""
    tags = {k: v for k, v in current.tags.items() if k not in update.remove_tags}
    tags.update(update.set_tags)
    changes: dict[str, Any] = {"tags": tags, "updated_at": update.updated_at,
                               "revision": current.revision + 1}
    for name in ("status", "description", "decision"):
        value = getattr(update, name)
        if value is not None:
            changes[name] = value
    return replace(current, **changes)


def conditions_hold(current: ModelVersion, update: VersionUpdate | None) -> bool:
    if update is None:
        return True
    return ((update.expected_status is None or current.status == update.expected_status)
            and (update.expected_revision is None or current.revision == update.expected_revision))


class MemoryRegistryStore(RegistryStore):
    """Keeps everything in dicts; ``sort keys`` mirror the DynamoDB layout so pages match."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._counters: dict[str, int] = {}
        self._models: dict[str, ModelSummary] = {}
        self._versions: dict[str, dict[str, ModelVersion]] = {}  # model → version_sk → version
        self._aliases: dict[str, dict[str, AliasState]] = {}
        self._alias_log: dict[str, dict[str, AliasMove]] = {}  # model → log sk → move
        self._audit: dict[str, dict[str, AuditEvent]] = {}  # model → audit sk → event
        self._serving: dict[str, ServingSettings] = {}

    # ---- versions ----------------------------------------------------------------------------

    def reserve_version(self, model: str) -> int:
        with self._lock:
            self._counters[model] = self._counters.get(model, 0) + 1
            return self._counters[model]

    def create_model_version(self, version: ModelVersion, audit: AuditEvent) -> None:
        with self._lock:
            versions = self._versions.setdefault(version.model, {})
            key = version_sk(version.version)
            if key in versions:
                raise ModelVersionExistsError(
                    f"version {version.version} of model {version.model!r} is already registered")
            versions[key] = replace(version, aliases=())
            self._append(audit)
            known = self._models.get(version.model)
            self._models[version.model] = ModelSummary(
                model=version.model, created_at=known.created_at if known else version.created_at,
                updated_at=version.created_at, version_count=(known.version_count if known else 0) + 1)

    def get_model_version(self, model: str, version: int) -> ModelVersion | None:
        with self._lock:
            return self._versions.get(model, {}).get(version_sk(version))

    def search_model_versions(self, model: str, limit: int, start: Key | None
                              ) -> tuple[list[ModelVersion], Key | None]:
        check_token(start, pk=model_pk(model), prefix=VERSION_PREFIX)
        with self._lock:
            rows = sorted(self._versions.get(model, {}).items(), reverse=True)
        return _page(rows, limit, start, model_pk(model), newest_first=True)

    def get_model(self, model: str) -> ModelSummary | None:
        with self._lock:
            return self._models.get(model)

    def list_models(self, limit: int, start: Key | None) -> tuple[list[ModelSummary], Key | None]:
        check_token(start, pk="", prefix=MODEL_SK, index_pk=MODELS_INDEX_PK)
        with self._lock:
            rows = sorted(self._models.items())
        after = start["gsi1sk"] if start else None
        rows = [(name, summary) for name, summary in rows if after is None or name > after]
        items = [summary for _, summary in rows[:limit]]
        last = None
        if len(rows) > limit:
            name = items[-1].model
            last = {"pk": model_pk(name), "sk": MODEL_SK, "gsi1pk": MODELS_INDEX_PK, "gsi1sk": name}
        return items, last

    def update_model_version(self, model: str, version: int, update: VersionUpdate,
                             audits: list[AuditEvent]) -> ModelVersion:
        with self._lock:
            current = self._require_version(model, version)
            if not conditions_hold(current, update):
                raise ConcurrentUpdateError(
                    f"version {version} of model {model!r} changed meanwhile; read it again and retry")
            updated = apply_update(current, update)
            self._versions[model][version_sk(version)] = updated
            for event in audits:
                self._append(event)
            return updated

    # ---- aliases -----------------------------------------------------------------------------

    def get_alias(self, model: str, alias: str) -> AliasState | None:
        with self._lock:
            return self._aliases.get(model, {}).get(alias)

    def get_aliases(self, model: str) -> dict[str, int]:
        with self._lock:
            states = self._aliases.get(model, {}).values()
            return {s.alias: s.version for s in states if s.version is not None}

    def write_alias_move(self, move: AliasMove, audits: list[AuditEvent],
                         target_update: VersionUpdate | None = None) -> None:
        with self._lock:
            state = self._aliases.get(move.model, {}).get(move.alias)
            if (state.seq if state else 0) != move.seq - 1:
                raise AliasConflictError(f"alias {move.alias!r} of model {move.model!r} moved meanwhile")
            if move.to_version is not None:
                current = self._require_version(move.model, move.to_version)
                if current.status == REJECTED:
                    raise VersionRejectedError(
                        f"version {move.to_version} of model {move.model!r} is rejected")
                if not conditions_hold(current, target_update):
                    raise ConcurrentUpdateError(
                        f"version {move.to_version} of model {move.model!r} changed meanwhile")
                update = target_update or VersionUpdate(updated_at=move.at)
                self._versions[move.model][version_sk(move.to_version)] = apply_update(current, update)
            self._aliases.setdefault(move.model, {})[move.alias] = AliasState(
                model=move.model, alias=move.alias, version=move.to_version, seq=move.seq,
                updated_at=move.at)
            self._alias_log.setdefault(move.model, {})[alias_log_sk(move.alias, move.at, move.seq)] = move
            for event in audits:
                self._append(event)

    def alias_history(self, model: str, alias: str, limit: int, start: Key | None
                      ) -> tuple[list[AliasMove], Key | None]:
        prefix = alias_log_prefix(alias)
        check_token(start, pk=model_pk(model), prefix=prefix)
        with self._lock:
            rows = sorted(((k, m) for k, m in self._alias_log.get(model, {}).items()
                           if k.startswith(prefix)), reverse=True)
        return _page(rows, limit, start, model_pk(model), newest_first=True)

    def alias_at(self, model: str, alias: str, at: str) -> AliasMove | None:
        prefix, upper = alias_log_prefix(alias), alias_log_upper(alias, at)
        with self._lock:
            keys = sorted(k for k in self._alias_log.get(model, {}) if k.startswith(prefix))
            index = bisect_right(keys, upper)
            return self._alias_log[model][keys[index - 1]] if index else None

    def models_with_alias(self, alias: str) -> list[tuple[str, int]]:
        found: list[tuple[str, int]] = []
        with self._lock:
            for model, states in self._aliases.items():
                version = states[alias].version if alias in states else None
                if version is not None:
                    found.append((model, version))
        return sorted(found)

    # ---- audit -------------------------------------------------------------------------------

    def append_audit(self, events: list[AuditEvent]) -> None:
        with self._lock:
            for event in events:
                self._append(event)

    def list_audit(self, model: str, limit: int, start: Key | None
                   ) -> tuple[list[AuditEvent], Key | None]:
        after = audit_token(model, start)
        with self._lock:
            rows = sorted(self._audit.get(model, {}).items(), reverse=True)
        return _page(rows, limit, {"pk": audit_pk(model), "sk": after} if after else None, audit_pk(model),
                     newest_first=True)

    # ---- serving settings --------------------------------------------------------------------

    def get_serving_settings(self, model: str) -> ServingSettings | None:
        with self._lock:
            return self._serving.get(model)

    def put_serving_settings(self, settings: ServingSettings, audit: AuditEvent) -> None:
        with self._lock:
            current = self._serving.get(settings.model)
            if (current.revision if current else 0) != settings.revision - 1:
                raise ConcurrentUpdateError(f"the serving settings of model {settings.model!r} changed "
                                            "meanwhile; read them again and retry")
            self._serving[settings.model] = settings
            self._append(audit)

    # ---- helpers -----------------------------------------------------------------------------

    def _append(self, event: AuditEvent) -> None:
        log = self._audit.setdefault(event.model, {})
        key = audit_sk(event.at, event.id)
        if key not in log:  # append-only: an id is written once
            log[key] = event

    def _require_version(self, model: str, version: int) -> ModelVersion:
        found = self._versions.get(model, {}).get(version_sk(version))
        if found is None:
            raise ModelVersionNotFoundError(f"model {model!r} has no registered version {version}")
        return found


def _page[T](rows: list[tuple[str, T]], limit: int, start: Key | None, pk: str, *,
             newest_first: bool) -> tuple[list[T], Key | None]:
    """Items after ``start`` (in the rows' order) and the last returned key if more remain."""
    after: Callable[[str], bool]
    if start is None:
        def after(_key: str) -> bool:
            return True
    elif newest_first:
        def after(key: str) -> bool:
            return key < start["sk"]
    else:
        def after(key: str) -> bool:
            return key > start["sk"]
    remaining = [(k, v) for k, v in rows if after(k)]
    chosen = remaining[:limit]
    last = {"pk": pk, "sk": chosen[-1][0]} if len(remaining) > limit else None
    return [v for _, v in chosen], last


__all__ = ["MemoryRegistryStore"]
