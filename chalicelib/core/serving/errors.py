"""Serving errors: each has a stable ``code``; the HTTP status comes from the base class."""

from __future__ import annotations

from chalicelib.core.errors import BadRequestError, InvalidInputError, NotFoundError


class PredictBodyInvalidError(InvalidInputError):
    """The body is neither ``{"records": [...]}`` nor ``{"columns": [...], "data": [[...]]}``."""

    code = "invalid_predict_body"


class RecordsInvalidError(InvalidInputError):
    """One or more records do not match the model version's feature schema (``details`` names each)."""

    code = "invalid_records"


class RecordsTooManyError(InvalidInputError):
    """The request carries more records than ``SLUICE_MAX_PREDICT_RECORDS``."""

    code = "too_many_records"


class SelectorConflictError(BadRequestError):
    """Both ``?alias=`` and ``?version=`` were given; choose one."""

    code = "alias_and_version"


class VersionInvalidError(BadRequestError):
    """``?version=`` is not a positive integer."""

    code = "invalid_version"


class AliasNotFoundError(NotFoundError):
    """The model has no such alias (or the model does not exist)."""

    code = "alias_not_found"


class ModelVersionNotFoundError(NotFoundError):
    """The model has no such version (or the model does not exist)."""

    code = "model_version_not_found"


class BatchFormatUnsupportedError(BadRequestError):
    """A batch input's extension is not one of csv, parquet, jsonl."""

    code = "unsupported_batch_format"


class BatchFileUnreadableError(BadRequestError):
    """A batch input could not be parsed as its format (CSV, Parquet, JSONL)."""

    code = "unreadable_batch_file"
