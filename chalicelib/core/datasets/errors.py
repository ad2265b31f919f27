"""Errors of the dataset service, each with a stable ``code`` (app.py maps them to HTTP once)."""

from __future__ import annotations

from chalicelib.core.errors import BadRequestError, ConflictError, NotFoundError, PayloadTooLargeError


class DatasetNameInvalidError(BadRequestError):
    """A dataset name breaks ``^[a-z0-9][a-z0-9_-]{0,62}$``."""

    code = "invalid_name"


class ObjectKeyInvalidError(BadRequestError):
    """An object key lies outside ``raw/{dataset}/`` or plays path tricks."""

    code = "invalid_key"


class UploadFilenameInvalidError(BadRequestError):
    """An upload file name is empty, too long, or carries path separators or dot segments."""

    code = "invalid_filename"


class DatasetVersionInvalidError(BadRequestError):
    """A dataset version in a path or query string is not a positive integer."""

    code = "invalid_version"


class ContractMismatchError(BadRequestError):
    """The contract names another dataset than the path it is stored under."""

    code = "dataset_mismatch"


class ContractBodyInvalidError(BadRequestError):
    """The contract body is neither valid JSON nor valid YAML."""

    code = "invalid_body"


class ContractNotFoundError(NotFoundError):
    """The dataset has no contract (or not the version asked for)."""

    code = "contract_not_found"


class DatasetVersionNotFoundError(NotFoundError):
    """The dataset has no such version."""

    code = "version_not_found"


class DatasetNotFoundError(NotFoundError):
    """Nothing is known about the dataset (no contract, no version)."""

    code = "dataset_not_found"


class GlueTableTakenError(ConflictError):
    """Another dataset's curated data already has the Glue table this dataset's name maps to."""

    code = "glue_table_taken"


class ObjectTooLargeError(PayloadTooLargeError):
    """The object is larger than a synchronous request may read."""

    code = "object_too_large"


class ObjectInProgressError(ConflictError):
    """Another delivery of the same object version holds the processing claim; retry later."""

    code = "object_in_progress"
    retryable = True
