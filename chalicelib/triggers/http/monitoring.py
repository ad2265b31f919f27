"""Drift history and on-demand checks: ``GET /models/{model}/drift``, ``POST /models/{model}/drift/check``."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.core.errors import BadRequestError
from chalicelib.triggers.http.http import (
    caller,
    encode_token,
    json_body,
    page_params,
    parse_model,
    query_param,
)

bp = Blueprint(__name__)


class CheckBody(BaseModel):
    """Optional overrides of one check: the window and any drift threshold."""

    model_config = ConfigDict(extra="forbid")
    window_hours: float | None = Field(default=None, gt=0, le=24 * 90)
    config: dict[str, Any] | None = None


def _model_name(model: str) -> str:
    from chalicelib.services.registry import check_name

    return check_name(model)


@bp.route("/models/{model}/drift", methods=["GET"])
def drift_history(model: str) -> dict[str, Any]:
    from chalicelib.storage import checks as store

    limit, start = page_params(bp.current_request)
    kind = query_param(bp.current_request, "kind")
    if kind not in (None, "drift", "performance"):
        raise BadRequestError("kind is drift or performance", code="invalid_kind")
    items, last = store.list_checks(_model_name(model), limit=limit, start_key=start, kind=kind)
    return {"items": items, "next_token": encode_token(last)}


@bp.route("/models/{model}/drift/check", methods=["POST"])
def drift_check(model: str) -> dict[str, Any]:
    from chalicelib.core.drift.config import DriftConfig
    from chalicelib.core.settings import get_settings
    from chalicelib.services.drift import CheckRequest, run_drift_check

    body = parse_model(json_body(bp.current_request, required=False) or {}, CheckBody, "drift check")
    if body.config:
        parse_model(body.config, DriftConfig, "drift config")  # 400 listing every bad threshold
    return run_drift_check(CheckRequest(
        _model_name(model), trigger="manual", actor=caller(bp.current_request),
        window_hours=body.window_hours or get_settings().monitor_window_hours, config=body.config))
