"""Continuation tokens of the registry's listings that both stores share."""

from __future__ import annotations

from chalicelib.core.registry.store import Key
from chalicelib.storage.layout import AUDIT_PREFIX, audit_pk, model_pk
from chalicelib.storage.table import check_token


def audit_token(model: str, start: Key | None) -> str | None:
    """The ``sk`` a page of ``model``'s audit log continues after: a token of this listing (or one issued
    before the log had its own partition, ``MODEL#{model}``), else 400 ``invalid_token``."""
    if start is not None and start.get("pk") == model_pk(model):
        start = {**start, "pk": audit_pk(model)}
    checked = check_token(start, pk=audit_pk(model), prefix=AUDIT_PREFIX)
    return str(checked["sk"]) if checked else None
