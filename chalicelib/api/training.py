"""Training routes: the versioned spec, starting runs and reading them.

``PUT/GET /models/{model}/spec`` (``?version=``), ``POST /models/{model}/train`` (202 + run id),
``GET /models/{model}/runs/{run}``, ``GET /models/{model}/runs`` (paged).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from chalice import Blueprint

from chalicelib.api.http import (
    encode_token,
    error_response,
    json_body,
    json_response,
    page_params,
    parse_model,
    query_param,
)
from chalicelib.errors import BadRequestError

bp = Blueprint(__name__)

def route(path: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``bp.route`` whose view maps sluice errors itself: Chalice turns a view's exception into its
    own 500 before app.py's middleware sees it (only ``ChaliceUnhandledError`` reaches middleware)."""
    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def mapped(*args: Any, **kwargs: Any) -> Any:
            try:
                return view(*args, **kwargs)
            except Exception as exc:
                return error_response(exc)

        return bp.route(path, **options)(mapped)

    return register


def _model(name: str) -> str:
    """The registry's naming rule, checked before anything is stored under the name."""
    from chalicelib.registry.service import check_name

    return check_name(name)


def _actor(request: Any, body: Any = None) -> str:
    """Who asks: the API Gateway identity if any, else the body's ``actor``, else "api"."""
    identity = (request.context or {}).get("identity") or {}
    found = identity.get("userArn") or identity.get("user") or identity.get("caller")
    if not found and isinstance(body, dict):
        found = body.get("actor")
    return str(found or "api")[:200]


@route("/models/{model}/spec", methods=["PUT"])
def put_spec(model: str) -> Any:
    from chalicelib.training import service
    from chalicelib.training.spec import TrainingSpec

    body = json_body(bp.current_request)
    spec = parse_model(body, TrainingSpec, "training spec")
    stored = service.put_spec(_model(model), spec, actor=_actor(bp.current_request))
    return json_response(stored.to_dict(), 201)


@route("/models/{model}/spec", methods=["GET"])
def get_spec(model: str) -> Any:
    from chalicelib.training import store

    raw = query_param(bp.current_request, "version")
    version = None
    if raw is not None:
        if not raw.isdigit() or int(raw) < 1:
            raise BadRequestError("version must be a positive integer", code="invalid_version")
        version = int(raw)
    return json_response(store.get_spec(_model(model), version).to_dict())


@route("/models/{model}/train", methods=["POST"])
def train(model: str) -> Any:
    from chalicelib.training import service

    body = json_body(bp.current_request, required=False) or {}
    if not isinstance(body, dict):
        raise BadRequestError("the body must be a JSON object", code="invalid_body")
    reason = str(body.get("reason", ""))[:500]
    run_id = service.start_run(_model(model), _actor(bp.current_request, body), reason)
    return json_response({"model": model, "run_id": run_id, "status": "queued",
                          "href": f"/models/{model}/runs/{run_id}"}, 202)


@route("/models/{model}/runs/{run}", methods=["GET"])
def get_run(model: str, run: str) -> Any:
    from chalicelib.training import runs

    return json_response(runs.get_run(_model(model), run))


@route("/models/{model}/runs", methods=["GET"])
def list_runs(model: str) -> Any:
    from chalicelib.training import runs

    limit, start = page_params(bp.current_request)
    items, last = runs.list_runs(_model(model), limit=limit, start_key=start)
    return json_response({"items": items, "next_token": encode_token(last)})
