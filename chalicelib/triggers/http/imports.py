"""Import routes: bring an externally trained scikit-learn model into the registry (docs/import.md).

- ``POST /models/{model}/imports`` (operator): ``{"format": "skops" | "mlflow", "dataset", "sha256",
  "size", ...}`` → 201 with the import id and a presigned write-once PUT of the file;
- ``POST /models/{model}/imports/pickle`` (approver): the same, and the only route that takes a
  pickle-based model (``format: pickle``, or an MLflow directory whose model is pickled);
- ``POST /models/{model}/imports/{import_id}/start`` (operator): 202, the import run queued;
- ``GET /models/{model}/imports/{import_id}``: the request and its status (with the run once started).
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.triggers.http.http import caller, json_body, json_response, parse_model

bp = Blueprint(__name__)


def _create(model: str, *, approver: bool) -> Any:
    from chalicelib.core.imports.request import ImportRequest
    from chalicelib.services.imports import create_import

    body = parse_model(json_body(bp.current_request), ImportRequest, "import request")
    return json_response(create_import(model, body, actor=caller(bp.current_request), approver=approver), 201)


@bp.route("/models/{model}/imports", methods=["POST"])
def create_import(model: str) -> Any:
    """Request an import of a skops file or an MLflow model directory (pickled: the approver's route)."""
    return _create(model, approver=False)


@bp.route("/models/{model}/imports/pickle", methods=["POST"])
def create_pickle_import(model: str) -> Any:
    """Request an import that may load a pickle (it runs code): approvers only, by IAM on this route."""
    return _create(model, approver=True)


@bp.route("/models/{model}/imports/{import_id}/start", methods=["POST"])
def start_import(model: str, import_id: str) -> Any:
    from chalicelib.services.imports import start_import as start

    return json_response(start(model, import_id, actor=caller(bp.current_request)), 202)


@bp.route("/models/{model}/imports/{import_id}", methods=["GET"])
def get_import(model: str, import_id: str) -> Any:
    from chalicelib.services.imports import get_import as read

    return json_response(read(model, import_id))
