"""The training spec: what to train on, how, how to judge it and when to retrain (pydantic v2).

Field validation here is pure and complete (a 400 lists every problem); checks that need the
estimator's own parameter constraints (``estimators``) or the dataset's contract (``feasibility``)
run on ``PUT`` too, before the spec is stored.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"  # the dataset service's rule for dataset names

# metric → True when higher is better. What each one is (the exact sklearn.metrics call): the table in
# core.training.evaluate. New names go at the end of a task's tuple (the order runs report them in).
HIGHER_IS_BETTER: dict[str, bool] = {
    "accuracy": True, "f1": True, "f1_macro": True, "roc_auc": True, "log_loss": False,
    "precision": True, "recall": True, "balanced_accuracy": True, "f1_weighted": True,
    "precision_macro": True, "precision_weighted": True, "recall_macro": True, "recall_weighted": True,
    "rmse": False, "mae": False, "r2": True, "mape": False,
}
TASK_METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("accuracy", "f1", "f1_macro", "roc_auc", "log_loss", "precision", "recall",
                       "balanced_accuracy", "f1_weighted", "precision_macro", "precision_weighted",
                       "recall_macro", "recall_weighted"),
    "regression": ("rmse", "mae", "r2", "mape"),
}
DEFAULT_PRIMARY = {"classification": "accuracy", "regression": "rmse"}
MAX_WINDOW_VERSIONS = 1000  # the most dataset versions one run reads (a window of more is refused)
DatePart = Literal["year", "month", "day", "dayofweek", "hour"]
DATE_PARTS: tuple[DatePart, ...] = ("year", "month", "day", "dayofweek", "hour")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AllExcept(_Strict):
    """Every contract column except these (and the target, and PII columns)."""

    all_except: list[str] = Field(default_factory=list)


class EstimatorSpec(_Strict):
    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class Preprocessing(_Strict):
    max_categories: int = Field(default=50, ge=2, le=1000)
    scale_numeric: bool = True
    date_parts: list[DatePart] = Field(
        default_factory=lambda: list(DATE_PARTS))


class Split(_Strict):
    """How the rows are split into training rows and the holdout the gate scores.

    ``random`` / ``stratified`` (by class): ``train_test_split`` with the spec's seed. ``time``: the
    latest ``test_size`` share by ``column``. ``recent``: the newest ``test_size`` share by ingestion time
    — a dataset row's time is its dataset version's ``created_at``, a feedback row's its ``_captured_at``
    — so the holdout holds the data that arrived last (recent feedback included) and champion and
    challenger are compared on it.
    """

    method: Literal["random", "stratified", "time", "recent"] = "random"
    test_size: float = Field(default=0.2, gt=0.0, lt=0.9)
    column: str | None = None  # required for "time": the latest rows are the holdout

    @model_validator(mode="after")
    def _time_needs_column(self) -> Split:
        if self.method == "time" and not self.column:
            raise ValueError("split.method 'time' needs split.column")
        if self.method != "time" and self.column:
            raise ValueError("split.column is only for split.method 'time'")
        return self


class Metrics(_Strict):
    primary: str | None = None  # default per task: accuracy / rmse
    guardrails: list[str] = Field(default_factory=list)


class Threshold(_Strict):
    """An absolute bound every version must meet on the holdout (SageMaker Pipelines' ConditionStep:
    ``min`` is ConditionGreaterThanOrEqualTo, ``max`` ConditionLessThanOrEqualTo)."""

    min: float | None = Field(default=None, allow_inf_nan=False)
    max: float | None = Field(default=None, allow_inf_nan=False)

    @model_validator(mode="after")
    def _a_bound(self) -> Threshold:
        if self.min is None and self.max is None:
            raise ValueError("a threshold needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("a threshold's min must be ≤ its max")
        return self

    def bounds(self) -> dict[str, float]:
        return {k: v for k, v in (("min", self.min), ("max", self.max)) if v is not None}


class Promotion(_Strict):
    """How the gate judges a new version (:mod:`chalicelib.core.training.gate`).

    ``guardrails``: metric → the largest regression allowed against the champion (against the trivial
    baseline for a model's first version). ``thresholds``: metric → ``{min, max}`` every version must
    meet, champion or not, e.g. ``{accuracy: {min: 0.6}, rmse: {max: 12}}``.
    """

    mode: Literal["auto", "manual"] = "auto"
    min_improvement: float = Field(default=0.0, ge=0.0)
    guardrails: dict[str, float] = Field(default_factory=dict)  # metric → max allowed regression (≥ 0)
    thresholds: dict[str, Threshold] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _limits_not_negative(self) -> Promotion:
        negative = sorted(m for m, v in self.guardrails.items() if v < 0)
        if negative:
            raise ValueError(f"guard-rail limits must be ≥ 0 (max regression): {', '.join(negative)}")
        return self


class Retrain(_Strict):
    """When a run starts by itself. ``on_new_data``: a new passing version of the spec's dataset.
    ``on_drift`` / ``on_performance_drop``: a check found one AND data arrived since the production
    version's training data — a newer passing version of the dataset in the window, or at least
    ``min_new_feedback_rows`` new labelled feedback rows (with ``data.feedback``); otherwise the check
    records ``retrain: skipped`` and its alert says what to upload where."""

    on_new_data: bool = False
    on_drift: bool = False
    on_performance_drop: bool = False
    min_new_feedback_rows: int = Field(default=30, ge=1, le=10_000_000)


class LastVersions(_Strict):
    """The newest ``last`` passing versions."""

    last: int = Field(ge=1, le=MAX_WINDOW_VERSIONS)


class SinceDate(_Strict):
    """Every passing version created on or after ``since`` (UTC)."""

    since: dt.date


class DataWindow(_Strict):
    """Which rows a run trains on (the spec's ``data:`` block).

    ``versions``: ``latest`` (the newest passing version; the default), ``all`` passing versions,
    ``{last: N}`` or ``{since: "YYYY-MM-DD"}``; their rows are concatenated, oldest version first.
    ``feedback``: the rows of every passing version of the model's feedback dataset (labelled live
    traffic, ``{model}-feedback``) join them, deduplicated per ``(_request_id, _record_index)`` — the
    latest feedback version wins; the metadata columns never become features.
    """

    versions: Literal["latest", "all"] | LastVersions | SinceDate = "latest"
    feedback: bool = False

    def describe(self) -> str:
        """The window in words: ``latest``, ``all``, ``last 3``, ``since 2026-01-01`` (+ feedback)."""
        versions = self.versions
        text = (versions if isinstance(versions, str) else f"last {versions.last}"
                if isinstance(versions, LastVersions) else f"since {versions.since.isoformat()}")
        return text + (" + feedback" if self.feedback else "")


class SageMakerSettings(_Strict):
    """How a run on SageMaker is provisioned (``compute: sagemaker``, or ``auto`` past the function's limit).

    ``instance_type``: one of the allow-list (:data:`chalicelib.core.training.compute.INSTANCE_TYPES`); left
    out, the smallest allowed instance whose memory holds the window (measured per row) is chosen.
    ``max_runtime_seconds``: SageMaker stops the job after it (its StoppingCondition); ``volume_gb``: the
    instance's storage volume (the container, its packages and /tmp).
    """

    instance_type: str | None = None
    max_runtime_seconds: int = Field(default=4 * 3600, ge=600, le=28 * 24 * 3600)
    volume_gb: int = Field(default=30, ge=5, le=512)

    @field_validator("instance_type")
    @classmethod
    def _allowed_instance(cls, value: str | None) -> str | None:
        from chalicelib.core.training.compute import INSTANCE_TYPES

        if value is not None and value not in INSTANCE_TYPES:
            raise ValueError(f"sagemaker.instance_type {value!r} is not allowed; allowed: "
                             f"{', '.join(INSTANCE_TYPES)}")
        return value


class TrainingSpec(_Strict):
    """A model's declarative training recipe. Stored versioned, never overwritten."""

    dataset: str = Field(pattern=NAME_PATTERN)
    dataset_version: int | None = Field(default=None, ge=1)  # a pinned version (no data.versions then)
    data: DataWindow = Field(default_factory=DataWindow)
    target: str = Field(min_length=1)
    features: list[str] | AllExcept = Field(default_factory=AllExcept)
    task: Literal["classification", "regression"]
    estimator: EstimatorSpec
    preprocessing: Preprocessing = Field(default_factory=Preprocessing)
    split: Split = Field(default_factory=Split)
    metrics: Metrics = Field(default_factory=Metrics)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    promotion: Promotion = Field(default_factory=Promotion)
    retrain: Retrain = Field(default_factory=Retrain)
    cooldown_minutes: int = Field(default=60, ge=0, le=7 * 24 * 60)
    performance_tolerance: float = Field(default=0.05, ge=0.0)
    drift: dict[str, Any] = Field(default_factory=dict)  # DriftConfig overrides for this model's checks
    description: str = Field(default="", max_length=1000)
    # where the run trains: the train function, a SageMaker training job, or the function while the window
    # fits its measured limit and SageMaker past it (chalicelib/core/training/compute.py)
    compute: Literal["lambda", "sagemaker", "auto"] = "lambda"
    sagemaker: SageMakerSettings = Field(default_factory=SageMakerSettings)

    @field_validator("drift")
    @classmethod
    def _drift_config(cls, value: dict[str, Any]) -> dict[str, Any]:
        if value:
            from chalicelib.core.drift.config import DriftConfig

            DriftConfig.model_validate(value)  # its field errors become this spec's
        return value

    @model_validator(mode="after")
    def _metrics_fit_task(self) -> TrainingSpec:
        problems = metric_problems(self)
        if self.dataset_version is not None and "versions" in self.data.model_fields_set:
            problems.append(f"dataset_version pins version {self.dataset_version}; data.versions chooses a "
                            "window of versions: give one or the other")
        if isinstance(self.features, list):
            if not self.features:
                problems.append("features must not be empty (or use {'all_except': [...]})")
            if len(set(self.features)) != len(self.features):
                problems.append("features lists a column twice")
        if problems:
            raise ValueError("; ".join(problems))
        if self.metrics.primary is None:
            self.metrics.primary = DEFAULT_PRIMARY[self.task]
        return self

    @property
    def primary_metric(self) -> str:
        return self.metrics.primary or DEFAULT_PRIMARY[self.task]

    def metric_names(self) -> list[str]:
        """Primary first, then guard rails, then the rest of the task's metrics (all are reported)."""
        names = [self.primary_metric, *self.metrics.guardrails, *self.promotion.guardrails,
                 *self.promotion.thresholds]
        names += TASK_METRICS[self.task]
        return list(dict.fromkeys(names))


def metric_problems(spec: TrainingSpec) -> list[str]:
    allowed = TASK_METRICS[spec.task]
    named = {"metrics.primary": [spec.metrics.primary] if spec.metrics.primary else [],
             "metrics.guardrails": spec.metrics.guardrails,
             "promotion.guardrails": list(spec.promotion.guardrails),
             "promotion.thresholds": list(spec.promotion.thresholds)}
    problems = []
    for where, names in named.items():
        bad = [n for n in names if n not in allowed]
        if bad:
            problems.append(f"{where}: {', '.join(bad)} not a {spec.task} metric; "
                            f"allowed: {', '.join(allowed)}")
    return problems


class TrainRequest(_Strict):
    """The body of ``POST /models/{model}/train``: why (kept in the run and the audit log)."""

    reason: str = Field(default="", max_length=500)


class CancelRequest(_Strict):
    """The body of ``POST /models/{model}/runs/{run}/cancel`` (optional): why (kept in the run and the
    model's audit log)."""

    reason: str = Field(default="", max_length=500)
