"""Model registry routes: versions, aliases, manual gate decisions, audit and lineage.

``GET /models`` · ``GET /models/{model}/versions`` · ``GET|PATCH /models/{model}/versions/{version}`` ·
``POST …/versions/{version}/promote|reject`` · ``POST /models/{model}/rollback`` ·
``GET|PUT|DELETE /models/{model}/aliases/{alias}`` · ``GET /models/{model}/aliases/{alias}/history``
(``?at=ISO`` → the version then) · ``GET /models/{model}/audit`` ·
``GET /models/{model}/versions/{version}/lineage`` (a feedback dataset version there names its labels
object and capture objects). Listings are paged (``?limit=&next_token=``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from chalice import Blueprint

from chalicelib.core.errors import BadRequestError, NotFoundError
from chalicelib.triggers.http.http import (
    caller,
    json_body,
    json_response,
    page_params,
    parse_model,
    query_param,
)

bp = Blueprint(__name__)

ANONYMOUS = "anonymous"
MAX_REASON = 2000


def _registry() -> Any:
    from chalicelib.services.registry import get_registry

    return get_registry()


def _names(model: str, alias: str | None = None) -> None:
    from chalicelib.services.registry import check_name

    check_name(model)
    if alias is not None:
        check_name(alias, "alias")


def _version(raw: str) -> int:
    from chalicelib.services.registry import check_version

    return check_version(raw)


actor_of = caller  # the caller's identity, as every route records it


@lru_cache(maxsize=1)
def _bodies() -> dict[str, type]:
    """The request body models (pydantic is imported on first use, not when ``app`` loads)."""
    from pydantic import BaseModel, ConfigDict, Field

    class Decision(BaseModel):
        model_config = ConfigDict(extra="forbid")
        reason: str = Field("", max_length=MAX_REASON)

    class VersionPatch(BaseModel):
        model_config = ConfigDict(extra="forbid")
        description: str | None = Field(None, max_length=5000)
        tags: dict[str, str | None] | None = None  # a null value deletes the tag

    class AliasPut(BaseModel):
        model_config = ConfigDict(extra="forbid")
        version: int = Field(ge=1)
        expected_version: int | None = Field(None, ge=1)  # absent: any; null: the alias must not exist
        reason: str = Field("", max_length=MAX_REASON)

    class AliasDelete(BaseModel):
        model_config = ConfigDict(extra="forbid")
        expected_version: int | None = Field(None, ge=1)
        reason: str = Field("", max_length=MAX_REASON)

    return {"decision": Decision, "patch": VersionPatch, "alias_put": AliasPut, "alias_delete": AliasDelete}


def _body(kind: str, what: str, *, required: bool) -> Any:
    data = json_body(bp.current_request, required=required)
    return parse_model({} if data is None else data, _bodies()[kind], what)


def _expected(body: Any) -> Any:
    from chalicelib.core.registry.entities import ANY

    return body.expected_version if "expected_version" in body.model_fields_set else ANY


# ---- versions ----------------------------------------------------------------------------------


@bp.route("/models", methods=["GET"])
def list_models() -> Any:
    limit, start = page_params(bp.current_request)
    return json_response(_registry().list_models(limit, start).to_dict())


@bp.route("/models/{model}/versions", methods=["GET"])
def search_model_versions(model: str) -> Any:
    _names(model)
    limit, start = page_params(bp.current_request)
    return json_response(_registry().search_model_versions(model, limit, start).to_dict())


@bp.route("/models/{model}/versions/{version}", methods=["GET"])
def get_model_version(model: str, version: str) -> Any:
    _names(model)
    return json_response(_registry().get_model_version(model, _version(version)).to_dict())


@bp.route("/models/{model}/versions/{version}", methods=["PATCH"], content_types=["application/json"])
def update_model_version(model: str, version: str) -> Any:
    _names(model)
    number = _version(version)
    body = _body("patch", "version update", required=True)
    tags = body.tags or {}
    if body.description is None and not tags:
        raise BadRequestError("give a description and/or tags to change", code="empty_update")
    updated = _registry().update_model_version(
        model, number, description=body.description,
        set_tags={k: v for k, v in tags.items() if v is not None},
        delete_tags=[k for k, v in tags.items() if v is None], actor=actor_of(bp.current_request))
    return json_response(updated.to_dict())


# ---- manual decisions --------------------------------------------------------------------------


@bp.route("/models/{model}/versions/{version}/promote", methods=["POST"])
def promote(model: str, version: str) -> Any:
    _names(model)
    number = _version(version)
    body = _body("decision", "promotion", required=False)
    registry = _registry()
    move = registry.promote(model, number, actor=actor_of(bp.current_request), reason=body.reason)
    return json_response({"model_version": registry.get_model_version(model, number).to_dict(),
                          "alias_move": move.to_dict()})


@bp.route("/models/{model}/versions/{version}/reject", methods=["POST"])
def reject(model: str, version: str) -> Any:
    _names(model)
    number = _version(version)
    body = _body("decision", "rejection", required=False)
    rejected = _registry().reject(model, number, actor=actor_of(bp.current_request), reason=body.reason)
    return json_response(rejected.to_dict())


@bp.route("/models/{model}/rollback", methods=["POST"])
def rollback(model: str) -> Any:
    _names(model)
    body = _body("decision", "rollback", required=False)
    move = _registry().rollback(model, actor=actor_of(bp.current_request), reason=body.reason)
    return json_response({"alias_move": move.to_dict()})


# ---- aliases -----------------------------------------------------------------------------------


@bp.route("/models/{model}/aliases/{alias}", methods=["GET"])
def get_alias(model: str, alias: str) -> Any:
    _names(model, alias)
    version = _registry().get_alias(model, alias)
    if version is None:
        raise NotFoundError(f"model {model!r} has no alias {alias!r}", code="alias_not_found")
    return json_response({"model": model, "alias": alias, "version": version})


@bp.route("/models/{model}/aliases/{alias}", methods=["PUT"], content_types=["application/json"])
def set_alias(model: str, alias: str) -> Any:
    _names(model, alias)
    body = _body("alias_put", "alias", required=True)
    move = _registry().set_alias(model, alias, body.version, expected=_expected(body),
                                 actor=actor_of(bp.current_request), reason=body.reason, cause="api")
    return json_response(move.to_dict())


@bp.route("/models/{model}/aliases/{alias}", methods=["DELETE"])
def delete_alias(model: str, alias: str) -> Any:
    _names(model, alias)
    body = _body("alias_delete", "alias deletion", required=False)
    move = _registry().delete_alias(model, alias, expected=_expected(body),
                                    actor=actor_of(bp.current_request), reason=body.reason, cause="api")
    return json_response(move.to_dict())


@bp.route("/models/{model}/aliases/{alias}/history", methods=["GET"])
def alias_history(model: str, alias: str) -> Any:
    _names(model, alias)
    registry = _registry()
    at = query_param(bp.current_request, "at")
    if at is not None:
        from chalicelib.core.registry.entities import parse_ts

        at = at.replace(" ", "+")  # a '+' offset arrives as a space when the client did not encode it
        version = registry.alias_at(model, alias, at)
        return json_response({"model": model, "alias": alias, "at": parse_ts(at), "version": version})
    limit, start = page_params(bp.current_request)
    return json_response(registry.search_alias_history(model, alias, limit, start).to_dict())


# ---- audit and lineage -------------------------------------------------------------------------


@bp.route("/models/{model}/audit", methods=["GET"])
def list_audit_events(model: str) -> Any:
    _names(model)
    limit, start = page_params(bp.current_request)
    return json_response(_registry().list_audit_events(model, limit, start).to_dict())


@bp.route("/models/{model}/versions/{version}/lineage", methods=["GET"])
def lineage(model: str, version: str) -> Any:
    """Model version → the dataset versions it was trained on → their raw objects."""
    _names(model)
    found = _registry().get_model_version(model, _version(version))
    return json_response({
        "model": model, "version": found.version, "status": found.status, "run_id": found.run_id,
        "spec_version": found.spec_version,
        "artifact": {"source": found.source, "sha256": found.artifact_sha256}, "origin": found.origin,
        "datasets": [_dataset_lineage(ref) for ref in found.dataset_versions],
    })


def _dataset_lineage(ref: Any) -> dict[str, Any]:
    """One dataset version as recorded by the dataset service (``found: false`` if it is gone)."""
    from chalicelib.storage import datasets

    dataset = ref.get("dataset") if isinstance(ref, dict) else None
    number = ref.get("version") if isinstance(ref, dict) else None
    if not isinstance(dataset, str) or not isinstance(number, int):
        return {"dataset": dataset, "version": number, "found": False}
    try:
        record = datasets.get_version(dataset, number)
    except NotFoundError:
        return {"dataset": dataset, "version": number, "found": False}
    found = {"dataset": dataset, "version": number, "found": True, "status": record.status,
             "created_at": record.created_at, "contract_version": record.contract_version,
             "curated_path": record.curated_path, "report_key": record.report_key, "rows": record.rows,
             "raw": record.raw}
    if record.lineage.get("kind") == "feedback":
        # labelled live traffic: the labels object and the capture objects its rows were joined from
        found["feedback"] = {k: v for k, v in record.lineage.items() if k != "kind"}
    return found
