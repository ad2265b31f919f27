"""Predictions: ``POST /models/{model}/predict`` (``?alias=`` or ``?version=``; default alias production)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.services.serving import get_service
from chalicelib.triggers.http.http import json_body, json_response, query_param

bp = Blueprint(__name__)


@bp.route("/models/{model}/predict", methods=["POST"], content_types=["application/json"])
def predict(model: str) -> Any:
    """Predictions (and class probabilities) for ``{"records": [...]}`` or ``{"columns", "data"}``."""
    request = bp.current_request
    answer = get_service().predict(
        model, json_body(request), alias=query_param(request, "alias"),
        version=query_param(request, "version"), request_id=_request_id(request))
    return json_response(answer)


def _request_id(request: Any) -> str | None:
    """API Gateway's request id (also in its access logs); the service makes one up otherwise."""
    context = getattr(request, "context", None) or {}
    return context.get("requestId") or None
