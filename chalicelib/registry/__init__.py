"""The model registry: versions, status, tags, aliases and an append-only audit log.

``get_registry()`` is the registry on the DynamoDB state table (one per settings, cached);
``ModelRegistry(MemoryRegistryStore())`` is the same registry in memory.
"""

from __future__ import annotations

from functools import lru_cache

from chalicelib.registry.entities import (
    ANY,
    APPROVED,
    ARCHIVED,
    CANDIDATE,
    PRODUCTION,
    REJECTED,
    STATUSES,
    AliasMove,
    AuditEvent,
    ModelSummary,
    ModelVersion,
    Page,
)
from chalicelib.registry.service import ModelRegistry
from chalicelib.settings import Settings, get_settings

__all__ = [
    "ANY",
    "APPROVED",
    "ARCHIVED",
    "CANDIDATE",
    "PRODUCTION",
    "REJECTED",
    "STATUSES",
    "AliasMove",
    "AuditEvent",
    "ModelRegistry",
    "ModelSummary",
    "ModelVersion",
    "Page",
    "get_registry",
]


def get_registry(settings: Settings | None = None) -> ModelRegistry:
    """The registry on the state table named by ``settings`` (default: the environment's)."""
    return _registry_for(settings or get_settings())


@lru_cache(maxsize=16)
def _registry_for(settings: Settings) -> ModelRegistry:
    from chalicelib.registry.dynamodb import DynamoDBRegistryStore

    return ModelRegistry(DynamoDBRegistryStore(settings))
