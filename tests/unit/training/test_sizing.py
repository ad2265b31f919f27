"""The training function's measured limit: a run it cannot hold is refused before any data is read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.core.training.sizing import (
    ENV_COLUMN_SHARE,
    ENV_LIMITED_BY,
    ENV_MAX_ROWS,
    ENV_MEASURED_COLUMNS,
    TrainingCapacity,
    TrainingDataTooLargeError,
    check_training_size,
)

ROOT = Path(__file__).resolve().parents[3]
CAPACITY = TrainingCapacity(max_rows=1_000_000, measured_columns=15, column_share=0.8, limited_by="memory")


def test_a_run_at_the_measured_width_is_accepted_up_to_the_measured_rows_and_refused_one_row_past():
    check_training_size(1_000_000, 15, CAPACITY)
    with pytest.raises(TrainingDataTooLargeError) as refused:
        check_training_size(1_000_001, 15, CAPACITY)
    error = refused.value
    assert (error.code, error.status) == ("training_data_too_large", 413)
    assert "1,000,000 rows of 15 columns" in error.message and "memory" in error.message
    assert "make sizing" in error.message and "data.versions" in error.message  # what to do
    assert error.details["max_rows"] == 1_000_000 and error.details["rows"] == 1_000_001


def test_wider_data_holds_fewer_rows_and_narrower_data_more_but_never_more_than_the_per_row_part_allows():
    assert CAPACITY.max_rows_for(30) == int(1_000_000 / (0.2 + 0.8 * 2))  # 555,555
    assert CAPACITY.max_rows_for(3) == int(1_000_000 / (0.2 + 0.8 * 0.2))  # 2,777,777
    assert CAPACITY.max_rows_for(1) < 1_000_000 / 0.2  # the per-row part bounds any width
    with pytest.raises(TrainingDataTooLargeError, match="555,555 rows of 30 columns"):
        check_training_size(600_000, 30, CAPACITY)


@settings(max_examples=60, deadline=None)
@given(max_rows=st.integers(1, 10**8), measured=st.integers(1, 200), share=st.floats(0, 1),
       columns=st.integers(1, 400), more=st.integers(1, 400))
def test_the_limit_never_grows_with_the_columns(max_rows, measured, share, columns, more):
    capacity = TrainingCapacity(max_rows, measured, share)
    assert capacity.max_rows_for(columns + more) <= capacity.max_rows_for(columns)
    assert capacity.max_rows_for(measured) in (max_rows, max_rows - 1)  # float rounding at most


def test_without_a_deployed_limit_nothing_is_refused():
    assert TrainingCapacity.from_env({}) is None
    check_training_size(10**9, 500, None)


def test_the_limit_is_read_from_the_environment_the_template_renders():
    sizing = json.loads((ROOT / "infra" / "sizing.json").read_text())
    environ = {k: str(v) for k, v in sizing["environment"].items()}
    capacity = TrainingCapacity.from_env(environ)
    assert capacity is not None
    assert capacity.max_rows == sizing["functions"]["train"]["max_rows"] == int(environ[ENV_MAX_ROWS])
    assert capacity.measured_columns == int(environ[ENV_MEASURED_COLUMNS])
    assert capacity.column_share == float(environ[ENV_COLUMN_SHARE])
    assert capacity.limited_by == environ[ENV_LIMITED_BY] == sizing["functions"]["train"]["limited_by"]


def test_a_nonsensical_capacity_is_a_configuration_mistake_not_a_limit():
    with pytest.raises(ValueError):
        TrainingCapacity(max_rows=0, measured_columns=15)
    with pytest.raises(ValueError):
        TrainingCapacity(max_rows=10, measured_columns=15, column_share=1.5)
