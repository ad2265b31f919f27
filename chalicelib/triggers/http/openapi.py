"""``GET /openapi.json``: an OpenAPI 3.1 description generated from the app's own route table.

Paths, methods and path parameters come from Chalice's routes, so the description cannot miss a
route; summaries from the views' docstrings; query parameters from the ``query_param`` /
``page_params`` calls in each view; request bodies from the pydantic models named in
:data:`BODY_MODELS` (views not listed there take any JSON object).
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from chalice import Blueprint

from chalicelib import __version__

bp = Blueprint(__name__)

NAME_PATTERN = "^[a-z0-9][a-z0-9_-]{0,62}$"
INTEGER_PARAMS = frozenset({"version", "limit"})

# view name → "module:Class" of the pydantic model its JSON body must satisfy
BODY_MODELS: dict[str, str] = {
    "put_contract": "chalicelib.core.validation.contract:Contract",
    "infer_contract": "chalicelib.core.datasets.requests:InferRequest",
    "create_upload": "chalicelib.core.datasets.requests:UploadRequest",
    "create_sample": "chalicelib.core.datasets.requests:UploadRequest",
    "put_spec": "chalicelib.core.training.spec:TrainingSpec",
    "train": "chalicelib.core.training.spec:TrainRequest",
    "cancel_run": "chalicelib.core.training.spec:CancelRequest",
    "drift_check": "chalicelib.triggers.http.monitoring:CheckBody",
    "put_serving_settings": "chalicelib.triggers.http.serving:ServingBody",
    "export_version": "chalicelib.triggers.http.exports:ExportRequest",
    "ops_reconcile": "chalicelib.triggers.http.ops:ReconcileBody",
    "ops_redrive": "chalicelib.triggers.http.ops:RedriveBody",
}

_QUERY_CALL = re.compile(r"query_param\(\s*[\w.]+\s*,\s*\"(\w+)\"")
ERROR_SCHEMA = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "details": {}}}},
}


@bp.route("/openapi.json", methods=["GET"])
def openapi() -> dict[str, Any]:
    """This API's OpenAPI 3.1 description."""
    return build_spec(bp.current_app)


def build_spec(app: Any) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    for path, methods in sorted(app.routes.items()):
        item: dict[str, Any] = {}
        for method, entry in sorted(methods.items()):
            item[method.lower()] = _operation(path, method, entry, schemas)
        paths[path] = item
    return {
        "openapi": "3.1.0",
        "info": {"title": "sluice", "version": __version__,
                 "description": "Serverless MLOps on AWS: contracts, datasets, models, predictions, drift."},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"sigv4": {"type": "apiKey", "name": "Authorization", "in": "header",
                                          "x-amazon-apigateway-authtype": "awsSigv4"}},
        },
    }


def _operation(path: str, method: str, entry: Any, schemas: dict[str, Any]) -> dict[str, Any]:
    view = entry.view_function
    doc = inspect.getdoc(view) or ""
    operation: dict[str, Any] = {
        "operationId": entry.view_name,
        "summary": doc.splitlines()[0] if doc else entry.view_name.replace("_", " "),
        "tags": [path.strip("/").split("/")[0] or "dashboard"],
        "parameters": _parameters(path, view),
        "responses": _responses(path, method),
    }
    if getattr(entry, "authorizer", None) is not None:  # app.py's IAMAuthorizer: what the stage enforces
        operation["security"] = [{"sigv4": []}]
    if method in ("POST", "PUT", "PATCH"):
        schema = _body_schema(entry.view_name, schemas)
        operation["requestBody"] = {"required": entry.view_name in BODY_MODELS,
                                    "content": {"application/json": {"schema": schema}}}
    return operation


def _parameters(path: str, view: Any) -> list[dict[str, Any]]:
    params = [{"name": name, "in": "path", "required": True, "schema": _param_schema(name)}
              for name in re.findall(r"{(\w+)}", path)]
    try:
        source = inspect.getsource(view)
    except (OSError, TypeError):
        source = ""
    names = _QUERY_CALL.findall(source)
    if "page_params(" in source:
        names += ["limit", "next_token"]
    for name in dict.fromkeys(names):
        params.append({"name": name, "in": "query", "required": False, "schema": _param_schema(name)})
    return params


def _param_schema(name: str) -> dict[str, Any]:
    if name in INTEGER_PARAMS:
        return {"type": "integer", "minimum": 1}
    if name in ("model", "dataset", "alias"):
        return {"type": "string", "pattern": NAME_PATTERN}
    return {"type": "string"}


def _responses(path: str, method: str) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    ok_type = "text/html" if path == "/" or path.endswith(".html") else "application/json"
    responses: dict[str, Any] = {"200": {"description": "OK", "content": {ok_type: {"schema": {}}}}}
    if method in ("POST", "PUT"):
        responses["201"] = {"description": "Created", "content": {"application/json": {"schema": {}}}}
        responses["202"] = {"description": "Accepted", "content": {"application/json": {"schema": {}}}}
    if path == "/":  # the dashboard's run comparison: ?model=&runs=
        responses["400"] = {"description": "Bad request", **error}
    if path not in ("/", "/health", "/openapi.json"):
        for status, text in (("400", "Bad request"), ("404", "Not found"), ("409", "Conflict"),
                             ("413", "Payload too large"), ("415", "Unsupported media type")):
            responses[status] = {"description": text, **error}
    return responses


def _body_schema(view_name: str, schemas: dict[str, Any]) -> dict[str, Any]:
    """The body's JSON Schema; nested models move to ``components.schemas`` (refs point there)."""
    target = BODY_MODELS.get(view_name)
    if not target:
        return {"type": "object"}
    import importlib

    module_name, _, class_name = target.partition(":")
    model = getattr(importlib.import_module(module_name), class_name)
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schema.pop("$defs", {}))
    return schema
