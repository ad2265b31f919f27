"""The error hierarchy: every error has a stable code and an HTTP status.

Services raise these; the HTTP layer converts them to ``{"error": {"code", "message"}}`` in one place
(:func:`chalicelib.triggers.http.http.error_response`, which every route's exceptions reach). Messages
never carry sensitive values (PII, secrets). Nothing here knows about Chalice or HTTP frameworks: a
status is a number the HTTP layer reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NotRequired, TypedDict

if TYPE_CHECKING:
    from pydantic import ValidationError


class ErrorDict(TypedDict):
    """An error as the API returns it, under ``"error"``."""

    code: str
    message: str
    details: NotRequired[object]  # JSON: e.g. the field errors of an invalid body


class FieldError(TypedDict):
    """One field error of an invalid body (never the offending value)."""

    loc: str
    msg: str
    type: str


class SluiceError(Exception):
    """Base of every sluice error."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, details: object = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def to_dict(self) -> ErrorDict:
        body: ErrorDict = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class BadRequestError(SluiceError):
    """The request is malformed or violates a rule."""

    status = 400
    code = "bad_request"


class InvalidInputError(BadRequestError):
    """A body, contract, spec or record failed validation; ``details`` lists every field error."""

    code = "invalid_input"


class NotFoundError(SluiceError):
    """The named resource does not exist."""

    status = 404
    code = "not_found"


class ConflictError(SluiceError):
    """The write lost a race or contradicts the current state (e.g. an alias moved meanwhile)."""

    status = 409
    code = "conflict"


class PayloadTooLargeError(SluiceError):
    """The request carries more than the service accepts."""

    status = 413
    code = "payload_too_large"


class IntegrityError(SluiceError):
    """Stored state failed an integrity check (e.g. an artifact's SHA-256 does not match)."""

    status = 409
    code = "integrity_error"


class ConfigurationError(SluiceError):
    """sluice is deployed or configured wrongly."""

    status = 500
    code = "configuration_error"


def error_body(exc: SluiceError) -> dict[str, ErrorDict]:
    return {"error": exc.to_dict()}


def pydantic_details(exc: ValidationError) -> list[FieldError]:
    """Field errors of a pydantic ``ValidationError`` without the offending input values."""
    return [
        {"loc": ".".join(str(p) for p in err.get("loc", ())), "msg": err.get("msg", ""),
         "type": err.get("type", "")}
        for err in exc.errors(include_input=False, include_url=False)
    ]


def from_pydantic(exc: ValidationError, what: str) -> InvalidInputError:
    """Map a pydantic ``ValidationError`` to an :class:`InvalidInputError` listing every field error."""
    details = pydantic_details(exc)
    summary = "; ".join(f"{d['loc'] or '(root)'}: {d['msg']}" for d in details[:10])
    return InvalidInputError(f"invalid {what}: {summary}", details=details)
