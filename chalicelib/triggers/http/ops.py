"""Operations routes (``sluice ops``): what the reconciler finds, a pass on demand, redriving dead letters.

``GET /ops/findings`` (a dry run: nothing changes), ``POST /ops/reconcile`` (``{"dry_run", "actions"}``),
``POST /ops/redrive`` (``{"message_ids"}``: those dead letters, or every one), ``GET /ops/audit`` (the
reconciler's log, paged). On AWS the work runs in the ``reconcile`` function (a synchronous invoke).
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.triggers.http.http import (
    caller,
    encode_token,
    json_body,
    json_response,
    page_params,
    parse_model,
)

bp = Blueprint(__name__)


class ReconcileBody(BaseModel):
    """The body of ``POST /ops/reconcile``: a dry run unless ``dry_run`` is false; ``actions`` to apply
    (default: the reconciler's defaults)."""

    model_config = ConfigDict(extra="forbid")
    dry_run: bool = True
    actions: list[str] | None = Field(default=None, max_length=10)


class RedriveBody(BaseModel):
    """The body of ``POST /ops/redrive``: the dead letters to redrive (omitted: every one)."""

    model_config = ConfigDict(extra="forbid")
    message_ids: list[str] | None = Field(default=None, max_length=100)
    dry_run: bool = False


@bp.route("/ops/findings", methods=["GET"])
def ops_findings() -> Any:
    """What the reconciler would do now: runs past their lease, orphan artifacts, stuck upload claims,
    dead letters (a dry run)."""
    from chalicelib.triggers.reconcile import request

    return json_response(request({"operation": "findings"}))


@bp.route("/ops/reconcile", methods=["POST"])
def ops_reconcile() -> Any:
    """Run a reconciler pass now (a dry run unless the body says ``"dry_run": false``)."""
    from chalicelib.triggers.reconcile import request

    raw = json_body(bp.current_request, required=False) or {}
    body = parse_model(raw, ReconcileBody, "reconcile request")
    return json_response(request({"operation": "reconcile", "dry_run": body.dry_run, "actions": body.actions,
                                  "actor": caller(bp.current_request)}))


@bp.route("/ops/redrive", methods=["POST"])
def ops_redrive() -> Any:
    """Redrive dead letters (re-invoke their function) or acknowledge those whose work ended otherwise."""
    from chalicelib.triggers.reconcile import request

    body = parse_model(json_body(bp.current_request, required=False) or {}, RedriveBody, "redrive request")
    return json_response(request({"operation": "redrive", "message_ids": body.message_ids,
                                  "dry_run": body.dry_run, "actor": caller(bp.current_request)}))


@bp.route("/ops/audit", methods=["GET"])
def ops_audit() -> Any:
    """The reconciler's audit log, newest first."""
    from chalicelib.storage import ops
    from chalicelib.storage.table import check_token

    limit, start = page_params(bp.current_request)
    start = check_token(start, pk=ops.OPS_PK, prefix="AUDIT#")
    items, last = ops.list_audit(limit=limit, start_key=start)
    return json_response({"items": items, "next_token": encode_token(last)})
