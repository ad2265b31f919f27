"""``metadata.json``: what a training run stores beside a model version's artifact.

Written by :func:`chalicelib.services.training.execute_run` (through
:func:`chalicelib.storage.artifacts.write_artifacts`, which adds the artifact's identity and the
library versions); read by serving (features, classes), monitoring (task, target, metrics, spec) and
the artifact loader (libraries). Artifacts written by older versions may lack a field: total=False.
"""

from __future__ import annotations

from typing import Any, TypedDict

from chalicelib.core.labels import Label


class ModelMetadata(TypedDict, total=False):
    # the task
    task: str  # classification | regression
    target: str
    prediction_type: str  # drift profile type of the prediction: categorical | numeric
    prediction_feature: str
    features: list[dict[str, str]]  # {"name", "type"} per feature, the contract's type
    feature_types: dict[str, str]  # drift profile type per profiled feature (derived date parts included)
    derived_features: dict[str, dict[str, str]]  # "pickup_ts.month" → {"source", "part", "kind"}
    unprofiled_features: list[str]  # raw dates (monitored through their derived parts)
    reference: dict[str, Any]  # what the reference profile covers: {"rows", "covers"}
    prediction_reference: dict[str, Any]  # {"method": out_of_fold | in_sample, "rows", "folds"|"reason"...}
    classes: list[Label] | None  # as trained, None for regression
    # the evaluation
    metrics: dict[str, float | None]
    baseline: dict[str, float | None]
    evaluation: dict[str, Any]  # confusion matrix or residual summary
    importance: list[dict[str, Any]]
    rows: dict[str, int]
    warnings: list[dict[str, str]]
    # where it came from
    spec: dict[str, Any]  # the TrainingSpec as JSON
    spec_version: int | None  # None: an imported model judged without a stored spec
    run_id: str
    origin: dict[str, Any]  # the registry's record of where the version came from (trained or imported)
    lineage: dict[str, Any]  # {"datasets": [...], "feedback": {...}, "dataset": newest, "window", ...}
    seed: int
    created_at: str
    bucket: str
    # added by write_artifacts
    model: str
    version: int
    artifact_sha256: str | None
    artifact_key: str
    artifact_size: int
    reference_profile_key: str
    libraries: dict[str, str]  # python, scikit-learn, numpy, pandas, joblib versions
