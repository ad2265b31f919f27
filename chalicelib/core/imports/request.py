"""The body of ``POST /models/{model}/imports`` (and of the approver's ``…/imports/pickle``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.core.training.spec import NAME_PATTERN

FORMATS = ("skops", "mlflow", "pickle")
MAX_IMPORT_BYTES = 512 * 1024 * 1024  # the uploaded file; the training function holds it and the model
FILENAMES = {"skops": "model.skops", "mlflow": "model.tar.gz", "pickle": "model.pkl"}


class ImportRequest(BaseModel):
    """What is imported, what judges it and how to check the upload.

    ``dataset``/``dataset_version``: the dataset version whose holdout scores the model (default: its
    newest passing version). ``features``: the pipeline's input columns when the pipeline does not name
    them itself (``feature_names_in_``) or an MLflow signature does not; their types come from the
    dataset's contract. ``target``/``task``: only for a model without a training spec (the spec's split,
    metrics and promotion rules judge an import as they judge a trained version). ``sha256``/``size``:
    of the file to upload; the import refuses any other bytes. ``pickle_format``: for an MLflow directory
    whose model is pickled, set by the approver's route only.
    """

    model_config = ConfigDict(extra="forbid")

    format: Literal["skops", "mlflow", "pickle"]
    dataset: str = Field(pattern=NAME_PATTERN)
    dataset_version: int | None = Field(default=None, ge=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=1)
    features: list[str] | None = Field(default=None, min_length=1, max_length=10_000)
    target: str | None = Field(default=None, min_length=1)
    task: Literal["classification", "regression"] | None = None
    description: str = Field(default="", max_length=1000)
    reason: str = Field(default="", max_length=500)
