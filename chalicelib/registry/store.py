"""The store interface: every backend (DynamoDB, in-memory) implements it and passes one test class.

Stores do I/O only; validation, status rules and audit content live in :mod:`.service`. Every write
that must be atomic (a version with its audit record; an alias move with its log entry, its audit
records and the target version's condition) is ONE store call.

Keys (shared by both backends so paging tokens look alike; see :mod:`.dynamodb` for the full layout):
a listing's token is the last key it returned, ``{"pk": ..., "sk": ...}`` (plus ``gsi1pk``/``gsi1sk``
on the index).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from chalicelib.errors import BadRequestError
from chalicelib.registry.entities import (
    AliasMove,
    AliasState,
    AuditEvent,
    ModelSummary,
    ModelVersion,
    VersionUpdate,
)

Key = dict[str, Any]
MODELS = "MODELS"


def model_pk(model: str) -> str:
    return f"MODEL#{model}"


def version_sk(version: int) -> str:
    return f"VERSION#{version:010d}"


def alias_sk(alias: str) -> str:
    return f"ALIAS#{alias}"


def alias_log_prefix(alias: str) -> str:
    return f"ALIASLOG#{alias}#"


def alias_log_sk(alias: str, at: str, seq: int) -> str:
    return f"{alias_log_prefix(alias)}{at}#{seq:010d}"


def alias_log_upper(alias: str, at: str) -> str:
    """The greatest log key of ``alias`` at or before ``at`` (``~`` sorts after ``#`` and digits)."""
    return f"{alias_log_prefix(alias)}{at}#~"


def audit_sk(at: str, event_id: str) -> str:
    return f"AUDIT#{at}#{event_id}"


def check_token(token: Key | None, *, pk: str, prefix: str, index_pk: str | None = None) -> Key | None:
    """``token`` if it is a key of this listing; a 400 ``invalid_token`` otherwise."""
    if token is None:
        return None
    ok = (isinstance(token, dict) and token.get("pk", "") and isinstance(token.get("sk"), str)
          and token["sk"].startswith(prefix))
    if index_pk is None:
        ok = ok and token.get("pk") == pk
    else:
        ok = ok and token.get("gsi1pk") == index_pk and isinstance(token.get("gsi1sk"), str)
    if not ok:
        raise BadRequestError("next_token does not belong to this listing", code="invalid_token")
    return token


class RegistryStore(ABC):
    """Persistence of model versions, aliases, the alias log and the audit log."""

    @abstractmethod
    def reserve_version(self, model: str) -> int:
        """The next version number of ``model`` (atomic: concurrent callers get distinct numbers)."""

    @abstractmethod
    def create_model_version(self, version: ModelVersion, audit: AuditEvent) -> None:
        """Write ``version`` and its audit record atomically, only if the number is not registered.

        Raises ``ModelVersionExistsError``.
        """

    @abstractmethod
    def get_model_version(self, model: str, version: int) -> ModelVersion | None:
        """The stored version (``aliases`` empty: the service adds them), or None."""

    @abstractmethod
    def search_model_versions(self, model: str, limit: int, start: Key | None
                              ) -> tuple[list[ModelVersion], Key | None]:
        """One page of the versions of ``model``, newest first."""

    @abstractmethod
    def get_model(self, model: str) -> ModelSummary | None:
        """The model's summary, or None when it has no registered version."""

    @abstractmethod
    def list_models(self, limit: int, start: Key | None) -> tuple[list[ModelSummary], Key | None]:
        """One page of the registered models, by name."""

    @abstractmethod
    def update_model_version(self, model: str, version: int, update: VersionUpdate,
                             audits: list[AuditEvent]) -> ModelVersion:
        """Apply ``update`` (conditional) and append ``audits`` atomically; bumps ``revision``.

        Raises ``ModelVersionNotFoundError`` or ``ConcurrentUpdateError`` (a condition failed).
        """

    @abstractmethod
    def get_alias(self, model: str, alias: str) -> AliasState | None:
        """The alias's current state (strongly consistent), or None if it was never set."""

    @abstractmethod
    def get_aliases(self, model: str) -> dict[str, int]:
        """Every alias of ``model`` that points at a version (strongly consistent)."""

    @abstractmethod
    def write_alias_move(self, move: AliasMove, audits: list[AuditEvent],
                         target_update: VersionUpdate | None = None) -> None:
        """Move the alias, log the move and append ``audits`` in one atomic write.

        Conditions: the alias has had exactly ``move.seq - 1`` moves (optimistic lock; 0 = never set),
        and the target version (if any) exists and is not rejected; the target's ``revision`` is
        bumped and ``target_update`` applied to it. Raises ``AliasConflictError`` (the alias moved),
        ``ModelVersionNotFoundError``, ``VersionRejectedError`` or ``ConcurrentUpdateError``.
        """

    @abstractmethod
    def alias_history(self, model: str, alias: str, limit: int, start: Key | None
                      ) -> tuple[list[AliasMove], Key | None]:
        """One page of the alias's moves, newest first."""

    @abstractmethod
    def alias_at(self, model: str, alias: str, at: str) -> AliasMove | None:
        """The last move of the alias at or before ``at`` (canonical timestamp), or None."""

    @abstractmethod
    def append_audit(self, events: list[AuditEvent]) -> None:
        """Append audit records (never overwrites)."""

    @abstractmethod
    def list_audit(self, model: str, limit: int, start: Key | None
                   ) -> tuple[list[AuditEvent], Key | None]:
        """One page of the model's audit log, newest first."""

    @abstractmethod
    def models_with_alias(self, alias: str) -> list[tuple[str, int]]:
        """``(model, version)`` for every model whose ``alias`` points at a version, by model name."""
