"""Request parsing and the one mapping from errors to HTTP responses."""

from __future__ import annotations

import base64
import json
from typing import Any

from chalice import Response

from chalicelib.errors import BadRequestError, SluiceError, error_body, from_pydantic
from chalicelib.log import logger

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=json.dumps(body, default=str), status_code=status,
                    headers={"Content-Type": "application/json", **(headers or {})})


def error_response(exc: Exception) -> Response:
    """The response for any exception: typed errors keep their status; anything else is a 500."""
    if isinstance(exc, SluiceError):
        if exc.status >= 500:
            logger.exception("request failed", extra={"code": exc.code})
        return json_response(error_body(exc), exc.status)
    logger.exception("unhandled error")
    return json_response({"error": {"code": "internal_error", "message": "internal error"}}, 500)


def normalise_chalice_error(response: Response) -> Response:
    """Chalice's own error bodies (``{"Code", "Message"}``: its view errors and its unhandled-exception
    500) in our shape, so every error the API returns looks the same."""
    body = response.body
    if response.status_code < 400 or not isinstance(body, dict) or set(body) != {"Code", "Message"}:
        return response
    if response.status_code >= 500:
        error = {"code": "internal_error", "message": "internal error"}
    else:
        code = "".join(f"_{c.lower()}" if c.isupper() else c for c in str(body["Code"])).lstrip("_")
        error = {"code": code.removesuffix("_error") or "bad_request", "message": str(body["Message"])}
    return json_response({"error": error}, response.status_code, dict(response.headers))


def json_body(request: Any, *, required: bool = True) -> Any:
    """The request body parsed as JSON; a clear 400 when it is missing or malformed."""
    raw = request.raw_body
    if not raw:
        if required:
            raise BadRequestError("the request needs a JSON body", code="missing_body")
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequestError(f"the body is not valid JSON: {exc}", code="invalid_json") from exc


def parse_model[T](data: Any, model: type[T], what: str) -> T:
    """Validate ``data`` into the pydantic ``model``; a 400 listing every field error otherwise."""
    from pydantic import ValidationError

    try:
        return model.model_validate(data)  # type: ignore[attr-defined]
    except ValidationError as exc:
        raise from_pydantic(exc, what) from exc


def query_param(request: Any, name: str, default: str | None = None) -> str | None:
    params = request.query_params or {}
    return params.get(name, default)


def page_params(request: Any) -> tuple[int, dict[str, Any] | None]:
    """``?limit=`` (1..100) and ``?next_token=`` (opaque) of a paged listing."""
    raw_limit = query_param(request, "limit", str(DEFAULT_PAGE_SIZE))
    try:
        limit = int(raw_limit or DEFAULT_PAGE_SIZE)
    except ValueError as exc:
        raise BadRequestError("limit must be an integer", code="invalid_limit") from exc
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise BadRequestError(f"limit must be between 1 and {MAX_PAGE_SIZE}", code="invalid_limit")
    return limit, decode_token(query_param(request, "next_token"))


def encode_token(last_key: dict[str, Any] | None) -> str | None:
    """DynamoDB's ``LastEvaluatedKey`` as an opaque URL-safe continuation token."""
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, default=str).encode()).decode()


def decode_token(token: str | None) -> dict[str, Any] | None:
    if not token:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequestError("next_token is not a token this API issued",
                              code="invalid_token") from exc
    if not isinstance(value, dict):
        raise BadRequestError("next_token is not a token this API issued", code="invalid_token")
    return value
