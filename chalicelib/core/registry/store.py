"""The store interface: every backend (DynamoDB, in-memory) implements it and passes one test class.

Stores do I/O only; validation, status rules and audit content live in
:mod:`chalicelib.services.registry`. Every write
that must be atomic (a version with its audit record; an alias move with its log entry, its audit
records and the target version's condition) is ONE store call.

Keys (shared by both backends so paging tokens look alike; :mod:`chalicelib.storage.layout` spells
them): a listing's token is the last key it returned, ``{"pk": ..., "sk": ...}`` (plus ``gsi1pk``/
``gsi1sk`` on the index).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from chalicelib.core.paging import PageKey
from chalicelib.core.registry.entities import (
    AliasMove,
    AliasState,
    AuditEvent,
    ModelSummary,
    ModelVersion,
    ServingSettings,
    VersionUpdate,
)

Key = PageKey


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

    @abstractmethod
    def get_serving_settings(self, model: str) -> ServingSettings | None:
        """The model's serving settings as last written, or None when never written."""

    @abstractmethod
    def put_serving_settings(self, settings: ServingSettings, audit: AuditEvent) -> None:
        """Write ``settings`` and its audit record atomically, only if the stored revision is
        ``settings.revision - 1`` (0: none stored). Raises ``ConcurrentUpdateError``."""
