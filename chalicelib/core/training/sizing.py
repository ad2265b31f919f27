"""What the training function can hold: a run's rows and columns checked against the measured limit before
any data is read.

A run reads every row of its window into one DataFrame, so its memory grows with rows x columns. The
limit is measured (``bench/sizing.py``, ``make sizing``, docs/sizing.md): the most rows the train
function's memory and timeout take at the measured width, and the share of the per-row cost that grows
with the columns. infra/sizing.json renders them into every function's environment:

- ``SLUICE_TRAIN_MAX_ROWS``: the largest run at the measured width;
- ``SLUICE_TRAIN_MEASURED_COLUMNS``: that width (columns read, the target included);
- ``SLUICE_TRAIN_COLUMN_SHARE``: the part of the per-row cost that scales with the columns (the rest is
  per row whatever the width: index, split, out-of-fold predictions).

A run of ``c`` columns may then hold ``max_rows / ((1 - share) + share * c / measured_columns)`` rows.
Without the variables (local stack, tests) there is no limit: the machine is not Lambda's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib.core.errors import PayloadTooLargeError

ENV_MAX_ROWS = "SLUICE_TRAIN_MAX_ROWS"
ENV_MEASURED_COLUMNS = "SLUICE_TRAIN_MEASURED_COLUMNS"
ENV_COLUMN_SHARE = "SLUICE_TRAIN_COLUMN_SHARE"
ENV_LIMITED_BY = "SLUICE_TRAIN_LIMITED_BY"


class TrainingDataTooLargeError(PayloadTooLargeError):
    """The run's data is more than the training function can hold (the message gives the measured limit
    and what to do; ``details`` the figures)."""

    code = "training_data_too_large"


@dataclass(frozen=True)
class TrainingCapacity:
    """The measured limit of the training function (see the module docstring)."""

    max_rows: int
    measured_columns: int
    column_share: float = 1.0
    limited_by: str = "memory"

    def __post_init__(self) -> None:
        if self.max_rows < 1 or self.measured_columns < 1 or not 0.0 <= self.column_share <= 1.0:
            raise ValueError(f"invalid training capacity {self!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TrainingCapacity | None:
        """The deployed limit, or None where none is configured (local stack, tests). The environment is
        read at the call (``os.environ`` as it is then: a default bound at import would keep a replaced
        mapping's values)."""
        environ = os.environ if environ is None else environ
        if not environ.get(ENV_MAX_ROWS):
            return None
        return cls(max_rows=int(environ[ENV_MAX_ROWS]), measured_columns=int(environ[ENV_MEASURED_COLUMNS]),
                   column_share=float(environ.get(ENV_COLUMN_SHARE, "1")),
                   limited_by=environ.get(ENV_LIMITED_BY) or "memory")

    def max_rows_for(self, columns: int) -> int:
        """The most rows a run of ``columns`` columns may hold."""
        width = max(1, columns) / self.measured_columns
        return int(self.max_rows / ((1.0 - self.column_share) + self.column_share * width))


def check_training_size(rows: int, columns: int, capacity: TrainingCapacity | None) -> None:
    """Refuse (``training_data_too_large``) a run of ``rows`` x ``columns`` the function cannot hold."""
    if capacity is None:
        return
    limit = capacity.max_rows_for(columns)
    if rows <= limit:
        return
    raise TrainingDataTooLargeError(
        f"the run would read {rows:,} rows of {columns} columns; the training function holds at most "
        f"{limit:,} rows of {columns} columns (measured: {capacity.max_rows:,} rows of "
        f"{capacity.measured_columns} columns, bounded by its {capacity.limited_by}). Narrow the window "
        "(the spec's data.versions: {last: N} or {since: date}), train on fewer columns, set the spec's "
        "compute: auto (or sagemaker) to train on a SageMaker instance past this limit (docs/sagemaker.md), "
        "or raise the train function's memory in bench/sizing.py and run `make sizing` (docs/sizing.md)",
        details={"rows": rows, "columns": columns, "max_rows": limit,
                 "measured_max_rows": capacity.max_rows, "measured_columns": capacity.measured_columns,
                 "limited_by": capacity.limited_by})
