"""Entry point of the ``reconcile`` function: the schedule's pass, and what ``sluice ops`` asks for.

The function is a Chalice ``@app.schedule`` (an EventBridge rule fires it), so it receives EventBridge
events. The API's requests travel in the same shape (:func:`ops_event`: ``source`` = ``sluice.ops``,
the request in ``detail``) as a synchronous invoke, and get :func:`~chalicelib.storage.invoke.sync_answer`'s
``{"result"}`` or ``{"error"}`` back. On AWS only this function reaches the failed-events queue and
deletes orphan artifacts; the API does not.
"""

from __future__ import annotations

import uuid
from typing import Any

from chalicelib.core.clock import iso

OPS_SOURCE = "sluice.ops"
FUNCTION = "reconcile"


def handle_reconcile(event: dict[str, Any]) -> dict[str, Any]:
    """A scheduled pass applies the default actions; an ``sluice.ops`` event runs its request."""
    from chalicelib.services.reconcile import run_operation
    from chalicelib.storage.invoke import sync_answer
    from chalicelib.triggers.table import functions_for_key

    if event.get("source") == OPS_SOURCE:
        return sync_answer(run_operation, dict(event.get("detail") or {}), functions_for_key)
    return reconcile(dry_run=False)


def reconcile(**options: Any) -> dict[str, Any]:
    """:func:`chalicelib.services.reconcile.reconcile` with this app's trigger table as its route."""
    from chalicelib.services.reconcile import reconcile as reconcile_pass
    from chalicelib.triggers.table import functions_for_key

    return reconcile_pass(route=functions_for_key, **options)


def scan(*args: Any, **options: Any) -> list[Any]:
    """:func:`chalicelib.services.reconcile.scan` with this app's trigger table as its route."""
    from chalicelib.services.reconcile import scan as scan_all
    from chalicelib.triggers.table import functions_for_key

    return scan_all(*args, route=functions_for_key, **options)


def ops_event(request: dict[str, Any]) -> dict[str, Any]:
    """An ``sluice ops`` request as the EventBridge event Chalice's schedule handler accepts."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "sluice ops request",
            "source": OPS_SOURCE, "account": "", "time": iso(), "region": "", "resources": [],
            "detail": request}


def request(operation: dict[str, Any]) -> Any:
    """Run an ``sluice ops`` request: in the reconcile function on AWS (a synchronous invoke), here
    otherwise (the local stack, tests)."""
    from chalicelib.core.settings import get_settings
    from chalicelib.services.reconcile import run_operation
    from chalicelib.triggers.table import functions_for_key

    settings = get_settings()
    if settings.invoke_mode == "lambda":
        from chalicelib.storage.invoke import invoke_sync

        return invoke_sync(FUNCTION, ops_event(operation), settings)
    return run_operation(operation, functions_for_key)
