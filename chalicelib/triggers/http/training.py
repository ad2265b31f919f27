"""Training routes: the versioned spec, starting runs and reading them.

``PUT/GET /models/{model}/spec`` (``?version=``), ``POST /models/{model}/train`` (202 + run id),
``GET /models/{model}/runs/{run}``, ``GET /models/{model}/runs`` (paged),
``POST /models/{model}/runs/{run}/cancel`` (a queued or running run; 409 once it ended or registers).
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.core.errors import BadRequestError
from chalicelib.triggers.http.http import (
    caller,
    encode_token,
    json_body,
    json_response,
    page_params,
    parse_model,
    query_param,
)

bp = Blueprint(__name__)

def _model(name: str) -> str:
    """The registry's naming rule, checked before anything is stored under the name."""
    from chalicelib.services.registry import check_name

    return check_name(name)


@bp.route("/models/{model}/spec", methods=["PUT"])
def put_spec(model: str) -> Any:
    from chalicelib.core.training.spec import TrainingSpec
    from chalicelib.services import training as service

    body = json_body(bp.current_request)
    spec = parse_model(body, TrainingSpec, "training spec")
    stored = service.put_spec(_model(model), spec, actor=caller(bp.current_request))
    return json_response(stored.to_dict(), 201)


@bp.route("/models/{model}/spec", methods=["GET"])
def get_spec(model: str) -> Any:
    from chalicelib.storage import specs as store

    raw = query_param(bp.current_request, "version")
    version = None
    if raw is not None:
        if not raw.isdigit() or int(raw) < 1:
            raise BadRequestError("version must be a positive integer", code="invalid_version")
        version = int(raw)
    return json_response(store.get_spec(_model(model), version).to_dict())


@bp.route("/models/{model}/train", methods=["POST"])
def train(model: str) -> Any:
    from chalicelib.core.training.spec import TrainRequest
    from chalicelib.services import training as service

    body = parse_model(json_body(bp.current_request, required=False) or {}, TrainRequest, "train request")
    run_id = service.start_run(_model(model), caller(bp.current_request), body.reason)
    return json_response({"model": model, "run_id": run_id, "status": "queued",
                          "href": f"/models/{model}/runs/{run_id}"}, 202)


@bp.route("/models/{model}/runs/{run}", methods=["GET"])
def get_run(model: str, run: str) -> Any:
    from chalicelib.storage import runs

    return json_response(runs.get_run(_model(model), run))


@bp.route("/models/{model}/runs/{run}/cancel", methods=["POST"])
def cancel_run(model: str, run: str) -> Any:
    """Cancel a queued or running training run: the model is free at once, the run stops at its next
    checkpoint without registering a version."""
    from chalicelib.core.training.spec import CancelRequest
    from chalicelib.services import training as service
    from chalicelib.storage.runs import check_run_id

    body = parse_model(json_body(bp.current_request, required=False) or {}, CancelRequest, "cancel request")
    return json_response(service.cancel_run(_model(model), check_run_id(run),
                                            actor=caller(bp.current_request), reason=body.reason))


@bp.route("/models/{model}/runs", methods=["GET"])
def list_runs(model: str) -> Any:
    from chalicelib.storage import runs

    limit, start = page_params(bp.current_request)
    items, last = runs.list_runs(_model(model), limit=limit, start_key=start)
    return json_response({"items": items, "next_token": encode_token(last)})
