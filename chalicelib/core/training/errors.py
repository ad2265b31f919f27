"""Training errors: each a ``chalicelib.core.errors`` type with a stable ``code``."""

from __future__ import annotations

from chalicelib.core.errors import (
    BadRequestError,
    ConflictError,
    IntegrityError,
    InvalidInputError,
    NotFoundError,
)


class SpecInvalidError(InvalidInputError):
    """The training spec is not feasible (``details`` lists every problem)."""

    code = "invalid_spec"


class EstimatorNotAllowedError(InvalidInputError):
    """The estimator is not on the allow-list (the message lists the allowed names)."""

    code = "estimator_not_allowed"


class EstimatorParamsError(InvalidInputError):
    """A hyper-parameter is unknown, forbidden or of the wrong type (the message lists the allowed ones)."""

    code = "invalid_estimator_params"


class SpecNotFoundError(NotFoundError):
    """The model has no training spec (or not that version)."""

    code = "spec_not_found"


class RunNotFoundError(NotFoundError):
    """No training run with that id for that model."""

    code = "run_not_found"


class RunInProgressError(ConflictError):
    """Another training run of the model is queued or running."""

    code = "run_in_progress"


class RunCooldownError(ConflictError):
    """An automatic retraining was asked for within the spec's cooldown."""

    code = "retrain_cooldown"


class DatasetNotReadyError(BadRequestError):
    """The spec's dataset has no passing version to train on (or the pinned one did not pass)."""

    code = "dataset_not_ready"


class TrainingDataError(BadRequestError):
    """The curated data cannot train this spec (too few rows, one class, missing columns...)."""

    code = "training_data_error"


class ArtifactTamperedError(IntegrityError):
    """The artifact's SHA-256 differs from the one the registry recorded."""

    code = "artifact_tampered"


class IncompatibleArtifactError(IntegrityError):
    """The artifact was written by a scikit-learn major.minor this runtime cannot load safely."""

    code = "incompatible_artifact"


class RunNotCancellableError(ConflictError):
    """The run already ended, or it is registering its version (its point of no return)."""

    code = "run_not_cancellable"


class RunStoppedError(ConflictError):
    """Raised inside a run at a checkpoint: it was cancelled (``run_cancelled``) or lost its lease to
    another run (``run_lease_lost``); the run stops there without registering anything."""

    code = "run_stopped"
