"""Where a run trains (issue 18, items 3 and 4): the spec's compute and sagemaker fields, ``auto``'s choice
against the function's measured limit, the instance a window needs, and a window too big for every allowed
instance refused with the numbers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from chalicelib.core.training.compute import (
    DEFAULT_INSTANCE,
    INSTANCE_TYPES,
    INSTANCES,
    RowCost,
    SageMakerTooSmallError,
    choose_compute,
)
from chalicelib.core.training.sizing import TrainingCapacity, TrainingDataTooLargeError
from chalicelib.core.training.spec import TrainingSpec
from tests.unit.training.conftest import spec_body

# infra/sizing.json's training workload (15 columns measured, 2.2039 KB per row, 606.6 MB fixed)
COST = RowCost(kb_per_row=2.2039, measured_columns=15, fixed_mb=606.6, column_share=1.0,
               seconds_per_million_rows=78.462, fixed_seconds=0.32, memory_headroom=0.8)
FUNCTION = TrainingCapacity(max_rows=836_000, measured_columns=15)


def choose(compute, rows, columns=15, instance_type=None, max_runtime=86_400, capacity=FUNCTION, cost=COST):
    return choose_compute(compute, rows, columns, instance_type=instance_type,
                          max_runtime_seconds=max_runtime, capacity=capacity, cost=cost)


def test_a_spec_trains_in_the_function_unless_it_says_otherwise():
    spec = TrainingSpec.model_validate(spec_body())
    assert spec.compute == "lambda"
    assert spec.sagemaker.instance_type is None and spec.sagemaker.max_runtime_seconds == 4 * 3600
    on_sagemaker = TrainingSpec.model_validate(spec_body(
        compute="sagemaker", sagemaker={"instance_type": "ml.r5.2xlarge", "max_runtime_seconds": 7200,
                                        "volume_gb": 50}))
    assert (on_sagemaker.compute, on_sagemaker.sagemaker.instance_type) == ("sagemaker", "ml.r5.2xlarge")


@pytest.mark.parametrize("bad", [{"compute": "ec2"}, {"sagemaker": {"instance_type": "ml.p4d.24xlarge"}},
                                 {"sagemaker": {"max_runtime_seconds": 60}},
                                 {"sagemaker": {"spot": True}}])
def test_an_unknown_compute_or_instance_or_setting_is_refused(bad):
    with pytest.raises(ValidationError) as caught:
        TrainingSpec.model_validate(spec_body(**bad))
    if "instance_type" in str(bad):
        assert "ml.m5.xlarge" in str(caught.value)  # the message lists what is allowed


def test_auto_stays_in_the_function_up_to_its_measured_limit_and_goes_to_sagemaker_past_it():
    assert choose("auto", 836_000).compute == "lambda"
    past = choose("auto", 836_001)
    assert past.compute == "sagemaker" and "836,000" in past.reason
    assert choose("auto", 10**9, capacity=None).compute == "lambda"  # no measured limit: the function


def test_lambda_past_the_limit_is_refused_as_before_and_names_sagemaker_as_a_way_out():
    with pytest.raises(TrainingDataTooLargeError) as caught:
        choose("lambda", 900_000)
    assert "compute: auto" in caught.value.message and caught.value.details["max_rows"] == 836_000


def test_the_smallest_instance_whose_memory_holds_the_window_is_chosen():
    for rows in (900_000, 5_000_000, 30_000_000, 200_000_000):
        choice = choose("sagemaker", rows)
        needed = COST.memory_gb(rows, 15)
        chosen = INSTANCE_TYPES[choice.instance_type]
        assert COST.usable_gb(chosen) >= needed
        assert all(COST.usable_gb(i) < needed for i in INSTANCES if i.memory_gib < chosen.memory_gib)
        assert choice.estimate["memory_gb"] == round(needed, 2)


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(1, 400_000_000), columns=st.integers(1, 60))
def test_the_memory_estimate_is_the_measured_cost_per_row_scaled_by_width(rows, columns):
    expected = (606.6e6 + rows * 2203.9 * columns / 15) / 1e9
    assert COST.memory_gb(rows, columns) == pytest.approx(expected, rel=1e-12)


def test_a_window_no_allowed_instance_holds_is_refused_with_rows_gb_and_the_largest_instance():
    largest = INSTANCES[-1]
    rows = int(COST.usable_gb(largest) * 1e9 / 2203.9) + 1_000_000
    with pytest.raises(SageMakerTooSmallError) as caught:
        choose("auto", rows)
    error = caught.value
    assert error.code == "training_data_too_large" and error.status == 413
    assert f"{rows:,} rows" in error.message and largest.name in error.message
    assert f"{COST.memory_gb(rows, 15):,.1f} GB" in error.message
    assert f"{COST.usable_gb(largest):,.1f} GB" in error.message
    assert error.details["largest_instance"] == "ml.r5.24xlarge" and error.details["rows"] == rows


def test_an_instance_too_small_for_the_window_names_the_smallest_that_holds_it():
    with pytest.raises(SageMakerTooSmallError) as caught:
        choose("sagemaker", 20_000_000, instance_type="ml.m5.large")
    smallest = choose("sagemaker", 20_000_000).instance_type
    assert caught.value.details["smallest_fitting"] == smallest and smallest in caught.value.message


def test_a_fit_longer_than_the_max_runtime_is_refused_with_the_estimate():
    with pytest.raises(SageMakerTooSmallError) as caught:
        choose("sagemaker", 50_000_000, max_runtime=600)
    assert "max_runtime_seconds is 600" in caught.value.message
    assert caught.value.details["estimated_seconds"] == round(COST.seconds(50_000_000, 15))


def test_without_measurements_sagemaker_gets_the_spec_instance_or_the_default():
    assert choose("sagemaker", 10**9, cost=None).instance_type == DEFAULT_INSTANCE
    assert choose("sagemaker", 10**9, cost=None, instance_type="ml.c5.xlarge").instance_type == "ml.c5.xlarge"


def test_the_cost_comes_from_the_rendered_environment():
    env = {"SLUICE_TRAIN_KB_PER_ROW": "2.2039", "SLUICE_TRAIN_MEASURED_COLUMNS": "15",
           "SLUICE_TRAIN_FIXED_MB": "606.6", "SLUICE_TRAIN_SECONDS_PER_MILLION_ROWS": "78.462",
           "SLUICE_TRAIN_FIXED_SECONDS": "0.32", "SLUICE_TRAIN_MEMORY_HEADROOM": "0.8"}
    assert RowCost.from_env(env) == COST
    assert RowCost.from_env({}) is None
