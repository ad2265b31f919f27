"""Registry errors: one base, each subclass a stable ``code`` and the HTTP status of its parent."""

from __future__ import annotations

from chalicelib.core.errors import BadRequestError, ConflictError, NotFoundError, SluiceError


class RegistryError(SluiceError):
    """Base of every model registry error."""

    code = "registry_error"


class InvalidNameError(RegistryError, BadRequestError):
    """A model or alias name does not match ``^[a-z0-9][a-z0-9_-]{0,62}$``."""

    code = "invalid_name"


class InvalidVersionError(RegistryError, BadRequestError):
    """A version number is not a positive integer."""

    code = "invalid_version"


class InvalidStatusError(RegistryError, BadRequestError):
    """A status is not one of candidate, approved, rejected, archived."""

    code = "invalid_status"


class InvalidTimestampError(RegistryError, BadRequestError):
    """A timestamp is not ISO-8601."""

    code = "invalid_timestamp"


class InvalidTagError(RegistryError, BadRequestError):
    """A tag key or value is empty, too long or not a string."""

    code = "invalid_tag"


class ModelNotFoundError(RegistryError, NotFoundError):
    """The model has no registered version."""

    code = "model_not_found"


class ModelVersionNotFoundError(RegistryError, NotFoundError):
    """The model version is not registered (a reserved number that never registered included)."""

    code = "model_version_not_found"


class AliasNotFoundError(RegistryError, NotFoundError):
    """The alias does not point at any version."""

    code = "alias_not_found"


class ModelVersionExistsError(RegistryError, ConflictError):
    """The version number is already registered (registration is a conditional put)."""

    code = "model_version_exists"


class AliasConflictError(RegistryError, ConflictError):
    """The alias does not point where the caller expected (it moved meanwhile)."""

    code = "alias_conflict"


class AliasUnchangedError(RegistryError, ConflictError):
    """The alias already points at the version (e.g. promoting the production version)."""

    code = "alias_unchanged"


class StatusTransitionError(RegistryError, ConflictError):
    """The status change is not allowed from the version's current status."""

    code = "invalid_transition"


class VersionRejectedError(RegistryError, ConflictError):
    """A rejected version cannot be promoted or be an alias target."""

    code = "version_rejected"


class VersionInUseError(RegistryError, ConflictError):
    """The version cannot be rejected while an alias points at it."""

    code = "version_in_use"


class ConcurrentUpdateError(RegistryError, ConflictError):
    """Another writer changed the version meanwhile; read it again and retry."""

    code = "concurrent_update"


class NothingToRollBackError(RegistryError, ConflictError):
    """The alias log holds no earlier usable version to roll back to."""

    code = "nothing_to_roll_back"
