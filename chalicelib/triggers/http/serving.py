"""Predictions: ``POST /models/{model}/predict`` (``?alias=`` or ``?version=``; default alias production),
and a model's serving settings: ``GET|PUT /models/{model}/serving`` (capture percentage, shadow alias)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.core.errors import BadRequestError
from chalicelib.services.serving import get_service, preload_if_configured
from chalicelib.triggers.http.http import caller, json_body, json_response, parse_model, query_param

bp = Blueprint(__name__)

__all__ = ["bp", "preload_if_configured"]  # app.py runs the API function's preload at init

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"


class ServingBody(BaseModel):
    """A model's serving settings; a field left out keeps its value.

    ``capture_percent``: the share of requests captured (0-100); null: the stack's
    ``SLUICE_CAPTURE_PERCENT``. ``shadow_alias``: the alias whose version scores captured requests
    beside the answer; null: none.
    """

    model_config = ConfigDict(extra="forbid")
    capture_percent: float | None = Field(default=None, ge=0, le=100, strict=True)
    shadow_alias: str | None = Field(default=None, pattern=NAME_PATTERN)


@bp.route("/models/{model}/predict", methods=["POST"], content_types=["application/json"])
def predict(model: str) -> Any:
    """Predictions (and class probabilities) for ``{"records": [...]}`` or ``{"columns", "data"}``."""
    request = bp.current_request
    answer = get_service().predict(
        model, json_body(request), alias=query_param(request, "alias"),
        version=query_param(request, "version"), request_id=_request_id(request))
    return json_response(answer)


@bp.route("/models/{model}/serving", methods=["GET"])
def get_serving_settings(model: str) -> Any:
    """A model's serving settings: capture percentage and shadow alias (with the stack's defaults)."""
    from chalicelib.services.registry import get_registry

    registry = get_registry()
    registry.get_model(model)  # 404 for a model with no registered version
    return json_response(_settings_body(registry.get_serving_settings(model).to_dict()))


@bp.route("/models/{model}/serving", methods=["PUT"], content_types=["application/json"])
def put_serving_settings(model: str) -> Any:
    """Set a model's capture percentage and/or shadow alias (audited; serving sees it within the TTL)."""
    from chalicelib.core.registry.entities import ANY
    from chalicelib.services.registry import check_name, get_registry

    check_name(model)
    body = parse_model(json_body(bp.current_request), ServingBody, "serving settings")
    given = body.model_fields_set
    if not given:
        raise BadRequestError("give capture_percent and/or shadow_alias", code="empty_update")
    updated = get_registry().set_serving_settings(
        model, capture_percent=body.capture_percent if "capture_percent" in given else ANY,
        shadow_alias=body.shadow_alias if "shadow_alias" in given else ANY, actor=caller(bp.current_request))
    return json_response(_settings_body(updated.to_dict()))


def _settings_body(settings: Any) -> dict[str, Any]:
    """The stored settings plus what serving applies: the stack's percentage where the model has none."""
    from chalicelib.core.settings import get_settings

    stack = get_settings().capture_percent
    percent = settings["capture_percent"]
    return {**settings, "stack_capture_percent": stack,
            "effective_capture_percent": stack if percent is None else percent}


def _request_id(request: Any) -> str | None:
    """API Gateway's request id (also in its access logs); the service makes one up otherwise."""
    context = getattr(request, "context", None) or {}
    return context.get("requestId") or None
