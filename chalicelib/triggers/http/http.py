"""Request parsing and the one mapping from errors to HTTP responses."""

from __future__ import annotations

import base64
import functools
import json
import math
from typing import Any

from chalice import ChaliceUnhandledError, ChaliceViewError, Response
from pydantic import BaseModel, ValidationError

from chalicelib.core.errors import (
    BadRequestError,
    PayloadTooLargeError,
    SluiceError,
    error_body,
    from_pydantic,
)
from chalicelib.core.log import logger

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50


def json_response(body: Any, status: int = 200, headers: dict[str, str | list[str]] | None = None
                  ) -> Response:
    """Strict JSON: a non-finite number (a prediction that overflowed) is sent as null."""
    try:
        text = json.dumps(body, default=str, allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(body), default=str, allow_nan=False)
    return Response(body=text, status_code=status,
                    headers={"Content-Type": "application/json", **(headers or {})})


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


class UnexpectedViewError(ChaliceUnhandledError):
    """Carries an untyped exception out of a view to the app's middleware (see :func:`surface_errors`)."""

    def __init__(self, original: Exception) -> None:
        super().__init__(type(original).__name__)
        self.original = original


def surface_errors(app: Any) -> None:
    """Let every route's exceptions reach the app's middleware.

    Chalice turns any exception a view raises, except ``ChaliceUnhandledError``, into its own 500
    before middleware runs; wrapping each view once lets the one mapping (:func:`error_response`)
    see backend errors too (e.g. DynamoDB's item size limit, which is the caller's oversized body).
    """
    for methods in app.routes.values():
        for entry in methods.values():
            if not getattr(entry.view_function, "_surfaced", False):
                entry.view_function = _surfacing(entry.view_function)


def _surfacing(view: Any) -> Any:
    @functools.wraps(view)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except (ChaliceUnhandledError, ChaliceViewError):
            raise
        except Exception as exc:
            raise UnexpectedViewError(exc) from exc

    call._surfaced = True  # type: ignore[attr-defined]  # a marker on the wrapper: wrap each view once
    return call


def error_response(exc: Exception) -> Response:
    """The response for any exception: typed errors keep their status; anything else is a 500."""
    if isinstance(exc, UnexpectedViewError):
        exc = exc.original
    exc = _domain_error(exc)
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


def _domain_error(exc: Exception) -> Exception:
    """DynamoDB's item size limit (400 KB) is the caller's oversized body, not our failure."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        if error.get("Code") == "ValidationException" and "Item size" in str(error.get("Message", "")):
            return PayloadTooLargeError("the request holds more than can be stored (tags, description, "
                                        "or a contract with too many columns)", code="item_too_large")
    return exc


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
    except RecursionError as exc:
        raise BadRequestError("the body nests too deeply", code="invalid_json") from exc


def parse_model[M: BaseModel](data: Any, model: type[M], what: str) -> M:
    """Validate ``data`` into the pydantic ``model``; a 400 listing every field error otherwise."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_pydantic(exc, what) from exc


ANONYMOUS = "anonymous"


def caller(request: Any) -> str:
    """Who calls, from API Gateway (IAM user ARN, Cognito user), else ``anonymous`` — never the body."""
    context = getattr(request, "context", None) or {}
    identity = context.get("identity") or {}
    claims = (context.get("authorizer") or {}).get("claims") or {}
    found = (identity.get("userArn") or identity.get("cognitoIdentityId") or claims.get("cognito:username")
             or claims.get("username") or claims.get("sub"))
    return str(found)[:200] if found else ANONYMOUS


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
