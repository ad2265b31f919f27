"""Make moto's DynamoDB item writes atomic, as DynamoDB's are.

moto applies an ``ADD`` update or a conditional put as read-modify-write without a lock, so
concurrent writers in threads can both succeed (seen here: two callers of an atomic counter got the
same number). Serialising the backend's item operations restores DynamoDB's per-request atomicity,
so the local stack and the concurrency tests exercise sluice's logic, not moto's races.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_LOCK = threading.RLock()
_OPERATIONS = ("put_item", "get_item", "query", "update_item", "delete_item", "transact_write_items")
_installed: dict[str, Any] = {}


def make_dynamodb_atomic() -> Callable[[], None]:
    """Patch moto's DynamoDB backend (idempotent); returns a function that undoes the patch."""
    from moto.dynamodb.models import DynamoDBBackend

    if not _installed:
        for name in _OPERATIONS:
            original = getattr(DynamoDBBackend, name)
            _installed[name] = original
            setattr(DynamoDBBackend, name, _locked(original))

    def undo() -> None:
        for name, original in _installed.items():
            setattr(DynamoDBBackend, name, original)
        _installed.clear()

    return undo


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    return call
