"""Where a run trains: the ``train`` Lambda function, or a SageMaker training job when the data outgrows it.

The spec says ``compute: lambda | sagemaker | auto`` (:class:`~chalicelib.core.training.spec.TrainingSpec`).
``auto`` trains in the function while the window fits its measured limit
(:mod:`chalicelib.core.training.sizing`) and on SageMaker past it. On SageMaker the instance is the spec's
``sagemaker.instance_type``, or else the smallest allowed instance whose memory holds the window.

What a window needs comes from the same measurements as the function's limit (``bench/sizing.py``,
infra/sizing.json's ``training`` workload, rendered into the environment by scripts/render_template.py):

- ``SLUICE_TRAIN_KB_PER_ROW``: memory per row at the measured width (``SLUICE_TRAIN_MEASURED_COLUMNS``),
  of which ``SLUICE_TRAIN_COLUMN_SHARE`` grows with the columns;
- ``SLUICE_TRAIN_FIXED_MB``: what a run holds whatever its rows (interpreter, libraries, the model);
- ``SLUICE_TRAIN_SECONDS_PER_MILLION_ROWS`` and ``SLUICE_TRAIN_FIXED_SECONDS``: the fit's time;
- ``SLUICE_TRAIN_MEMORY_HEADROOM``: the share of an instance's memory a run may plan to use (the rest is
  the operating system, the training toolkit and the measurement's error).

Without them (the local stack, tests) nothing is estimated: a SageMaker run gets the spec's instance or
:data:`DEFAULT_INSTANCE`, and nothing is refused for its size. When even the largest allowed instance
cannot hold the window, :func:`choose_compute` refuses it with the numbers (``training_data_too_large``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from chalicelib.core.training.sizing import (
    ENV_COLUMN_SHARE,
    ENV_MEASURED_COLUMNS,
    TrainingCapacity,
    TrainingDataTooLargeError,
    check_training_size,
)

Compute = Literal["lambda", "sagemaker", "auto"]

ENV_KB_PER_ROW = "SLUICE_TRAIN_KB_PER_ROW"
ENV_FIXED_MB = "SLUICE_TRAIN_FIXED_MB"
ENV_SECONDS_PER_MILLION_ROWS = "SLUICE_TRAIN_SECONDS_PER_MILLION_ROWS"
ENV_FIXED_SECONDS = "SLUICE_TRAIN_FIXED_SECONDS"
ENV_MEMORY_HEADROOM = "SLUICE_TRAIN_MEMORY_HEADROOM"


@dataclass(frozen=True)
class Instance:
    """An ML instance type a run may ask for: its vCPUs and memory (AWS's published figures, GiB)."""

    name: str
    vcpus: int
    memory_gib: float


# The allow-list: general purpose (m5), compute (c5) and memory optimised (r5) CPU instances, which the
# scikit-learn framework container runs on (it has no GPU build). Ordered by memory, then vCPUs: the
# first that holds a window is the cheapest of those that do within each family.
INSTANCES: tuple[Instance, ...] = tuple(sorted((
    Instance("ml.m5.large", 2, 8), Instance("ml.m5.xlarge", 4, 16), Instance("ml.m5.2xlarge", 8, 32),
    Instance("ml.m5.4xlarge", 16, 64), Instance("ml.m5.12xlarge", 48, 192),
    Instance("ml.m5.24xlarge", 96, 384),
    Instance("ml.c5.xlarge", 4, 8), Instance("ml.c5.2xlarge", 8, 16), Instance("ml.c5.4xlarge", 16, 32),
    Instance("ml.c5.9xlarge", 36, 72), Instance("ml.c5.18xlarge", 72, 144),
    Instance("ml.r5.large", 2, 16), Instance("ml.r5.xlarge", 4, 32), Instance("ml.r5.2xlarge", 8, 64),
    Instance("ml.r5.4xlarge", 16, 128), Instance("ml.r5.12xlarge", 48, 384),
    Instance("ml.r5.24xlarge", 96, 768),
), key=lambda i: (i.memory_gib, i.vcpus, i.name)))
INSTANCE_TYPES: dict[str, Instance] = {i.name: i for i in INSTANCES}
DEFAULT_INSTANCE = "ml.m5.xlarge"  # when nothing is measured: 4 vCPUs, 16 GiB (5x the function's memory)
MAX_RUNTIME_LIMIT_SECONDS = 28 * 24 * 3600  # SageMaker's ceiling on MaxRuntimeInSeconds


@dataclass(frozen=True)
class RowCost:
    """What one run costs per row and in total, measured on the training workload (module docstring)."""

    kb_per_row: float
    measured_columns: int
    fixed_mb: float
    column_share: float = 1.0
    seconds_per_million_rows: float = 0.0
    fixed_seconds: float = 0.0
    memory_headroom: float = 0.8

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RowCost | None:
        """The deployed measurements, or None where none are configured (read at the call)."""
        environ = os.environ if environ is None else environ
        if not environ.get(ENV_KB_PER_ROW) or not environ.get(ENV_MEASURED_COLUMNS):
            return None
        return cls(kb_per_row=float(environ[ENV_KB_PER_ROW]),
                   measured_columns=int(environ[ENV_MEASURED_COLUMNS]),
                   fixed_mb=float(environ.get(ENV_FIXED_MB, "0")),
                   column_share=float(environ.get(ENV_COLUMN_SHARE, "1")),
                   seconds_per_million_rows=float(environ.get(ENV_SECONDS_PER_MILLION_ROWS, "0")),
                   fixed_seconds=float(environ.get(ENV_FIXED_SECONDS, "0")),
                   memory_headroom=float(environ.get(ENV_MEMORY_HEADROOM, "0.8")))

    def width(self, columns: int) -> float:
        """The per-row cost of ``columns`` columns relative to the measured width."""
        return (1.0 - self.column_share) + self.column_share * max(1, columns) / self.measured_columns

    def memory_gb(self, rows: int, columns: int) -> float:
        """The peak memory (GB = 10^9 bytes) of a run of ``rows`` x ``columns``."""
        return (self.fixed_mb * 1e6 + rows * self.kb_per_row * 1e3 * self.width(columns)) / 1e9

    def seconds(self, rows: int, columns: int) -> float:
        return self.fixed_seconds + rows / 1e6 * self.seconds_per_million_rows * self.width(columns)

    def usable_gb(self, instance: Instance) -> float:
        """What a run may plan to use of ``instance``'s memory."""
        return instance.memory_gib * 2**30 / 1e9 * self.memory_headroom


@dataclass(frozen=True)
class ComputeChoice:
    """Where a run trains, and why (kept in the run record)."""

    compute: Literal["lambda", "sagemaker"]
    instance_type: str | None = None
    reason: str = ""
    estimate: dict[str, float] | None = None

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"compute": self.compute, "reason": self.reason}
        if self.instance_type:
            out["instance_type"] = self.instance_type
        if self.estimate:
            out["estimate"] = self.estimate
        return out


class SageMakerTooSmallError(TrainingDataTooLargeError):
    """Even the largest allowed SageMaker instance (or the spec's) cannot hold the run's data."""


def choose_compute(compute: Compute, rows: int, columns: int, *, instance_type: str | None,
                   max_runtime_seconds: int, capacity: TrainingCapacity | None,
                   cost: RowCost | None) -> ComputeChoice:
    """Where a run of ``rows`` x ``columns`` trains under the spec's ``compute`` (module docstring).

    Raises ``training_data_too_large``: for ``lambda`` past the function's limit (as before); for
    ``sagemaker``/``auto`` when the spec's instance cannot hold the window (naming the smallest that can),
    when no allowed instance can, or when the fit would outlast ``max_runtime_seconds``.
    """
    if compute == "lambda":
        check_training_size(rows, columns, capacity)
        return ComputeChoice("lambda", reason="the spec says compute: lambda")
    if compute == "auto":
        if capacity is None or rows <= capacity.max_rows_for(columns):
            limit = "no measured limit" if capacity is None else f"at most {capacity.max_rows_for(columns):,}"
            return ComputeChoice("lambda", reason=f"compute: auto, {rows:,} rows fit the train function "
                                                  f"({limit})")
        why = (f"compute: auto, {rows:,} rows exceed the train function's measured limit of "
               f"{capacity.max_rows_for(columns):,} rows of {columns} columns")
    else:
        why = "the spec says compute: sagemaker"
    if cost is None:
        return ComputeChoice("sagemaker", instance_type or DEFAULT_INSTANCE, why)
    return _instance_for(rows, columns, instance_type, max_runtime_seconds, cost, why)


def _instance_for(rows: int, columns: int, instance_type: str | None, max_runtime_seconds: int,
                  cost: RowCost, why: str) -> ComputeChoice:
    needed, seconds = cost.memory_gb(rows, columns), cost.seconds(rows, columns)
    estimate = {"memory_gb": round(needed, 2), "seconds": round(seconds, 1)}
    details = {"rows": rows, "columns": columns, "estimated_gb": round(needed, 2),
               "estimated_seconds": round(seconds), "kb_per_row": cost.kb_per_row,
               "measured_columns": cost.measured_columns, "memory_headroom": cost.memory_headroom}
    fitting = [i for i in INSTANCES if cost.usable_gb(i) >= needed]
    if not fitting:
        largest = INSTANCES[-1]
        raise SageMakerTooSmallError(
            f"the run would read {rows:,} rows of {columns} columns, an estimated {needed:,.1f} GB in memory "
            f"({cost.kb_per_row:g} KB per row at {cost.measured_columns} columns, measured); the largest "
            f"allowed SageMaker instance, {largest.name}, holds {cost.usable_gb(largest):,.1f} GB of its "
            f"{largest.memory_gib:g} GiB. Narrow the window (data.versions: {{last: N}} or {{since: date}}) "
            "or train on fewer columns",
            details={**details, "largest_instance": largest.name,
                     "largest_instance_gb": round(cost.usable_gb(largest), 1)})
    chosen = INSTANCE_TYPES[instance_type] if instance_type else fitting[0]
    if cost.usable_gb(chosen) < needed:
        raise SageMakerTooSmallError(
            f"the run would read {rows:,} rows of {columns} columns, an estimated {needed:,.1f} GB in "
            "memory; "
            f"the spec's instance {chosen.name} holds {cost.usable_gb(chosen):,.1f} GB. The smallest allowed "
            f"instance that holds it is {fitting[0].name} ({fitting[0].memory_gib:g} GiB): set "
            "sagemaker.instance_type to it, or leave instance_type out to have it chosen",
            details={**details, "instance_type": chosen.name,
                     "instance_gb": round(cost.usable_gb(chosen), 1), "smallest_fitting": fitting[0].name})
    if seconds > max_runtime_seconds:
        raise SageMakerTooSmallError(
            f"the run would read {rows:,} rows of {columns} columns, an estimated {seconds:,.0f} s of "
            f"fitting; the spec's sagemaker.max_runtime_seconds is {max_runtime_seconds:,}. Raise it (at "
            f"most {MAX_RUNTIME_LIMIT_SECONDS:,}) or narrow the window",
            details={**details, "max_runtime_seconds": max_runtime_seconds})
    return ComputeChoice("sagemaker", chosen.name, why, estimate)
