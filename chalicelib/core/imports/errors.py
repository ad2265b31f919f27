"""Import errors: each a ``chalicelib.core.errors`` type with a stable ``code``. Messages name types,
files and counts, never data values."""

from __future__ import annotations

from chalicelib.core.errors import (
    BadRequestError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    SluiceError,
)


class ImportForbiddenError(SluiceError):
    """A pickle-based model through the operator's route: only the approver's route takes one."""

    status = 403
    code = "pickle_requires_approver"


class ImportNotFoundError(NotFoundError):
    """No import with that id for that model."""

    code = "import_not_found"


class ImportTooLargeError(PayloadTooLargeError):
    """The file (or an archive's content) is past what the training function loads."""

    code = "import_too_large"


class ImportNotUploadedError(ConflictError):
    """``start`` before the file is in the staging prefix."""

    code = "import_not_uploaded"


class ImportStartedError(ConflictError):
    """The import was started already (its run id is in ``details``)."""

    code = "import_already_started"


class ImportInvalidError(InvalidInputError):
    """The uploaded file is not what the request said or cannot be imported; ``code`` says which rule:
    ``import_size_mismatch``, ``import_checksum_mismatch``, ``import_archive_invalid``,
    ``import_mlmodel_invalid``, ``import_unreadable``, ``import_not_an_estimator``,
    ``import_task_mismatch``, ``import_schema_required``, ``import_schema_mismatch``."""

    status = 422
    code = "import_invalid"


class UntrustedTypeError(ImportInvalidError):
    """The skops file names types outside sluice's trusted list (``details.types`` names them)."""

    code = "import_untrusted_type"


class ImportSpecRequiredError(BadRequestError):
    """Neither a training spec for the model nor ``target`` and ``task`` in the request."""

    code = "import_spec_required"
