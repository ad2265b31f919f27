"""SageMaker Model Monitor files against the JSON Schemas written from AWS's documentation, plus their
invariants, over generated profiles (constant columns, single values, all-missing, heavy ties, skew)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import ks_2samp, wasserstein_distance

from chalicelib.core.drift.config import DriftConfig
from chalicelib.core.drift.detectors import detect_drift
from chalicelib.core.drift.profile import build_profile, profile_chunks
from chalicelib.core.monitoring import modelmonitor
from tests.unit.drift.model_monitor_checks import (
    constraints_problems,
    schema_errors,
    statistics_problems,
    violations_problems,
)

NAN = float("nan")
VALUE = st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)


@st.composite
def numeric_column(draw, n: int) -> list[float]:
    values = draw(st.one_of(
        st.lists(VALUE, min_size=n, max_size=n),  # anything
        VALUE.map(lambda v: [v] * n),  # constant; below: heavy ties, skew, all missing
        st.lists(st.sampled_from([0.0, 1.0, 1.0, 2.5]), min_size=n, max_size=n),
        st.lists(st.floats(0.0, 12.0), min_size=n, max_size=n).map(lambda xs: [math.exp(x) for x in xs]),
        st.just([NAN] * n),
    ))
    missing = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    return [NAN if gone else v for v, gone in zip(values, missing, strict=True)]


@st.composite
def categorical_column(draw, n: int) -> list[str | None]:
    pool = draw(st.sampled_from([["a"], ["a", "b"], [f"c{i}" for i in range(12)]]))
    values = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
    missing = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    return [None if gone else v for v, gone in zip(values, missing, strict=True)]


@st.composite
def frames(draw) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    kinds = draw(st.lists(st.sampled_from(["numeric", "categorical"]), min_size=1, max_size=3))
    types = {f"f{i}": kind for i, kind in enumerate(kinds)}
    tables = []
    for _ in range(2):
        n = draw(st.integers(1, 40))
        tables.append(pd.DataFrame({
            name: draw(numeric_column(n)) if kind == "numeric" else draw(categorical_column(n))
            for name, kind in types.items()}))
    return tables[0], tables[1], types


CONTRACT_TYPES = st.sampled_from(["int", "float", "bool", "string", "category", "date", "timestamp", None])


@pytest.mark.slow  # 2 s
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(), st.integers(2, 50), st.integers(1, 5), st.data())
def test_model_monitor_files_follow_the_aws_schemas_and_their_invariants_for_any_profile(
        tables, max_sample, max_categories, data):
    reference_frame, current_frame, types = tables
    contract = {name: data.draw(CONTRACT_TYPES) for name in types}
    reference = build_profile(reference_frame, types, max_sample=max_sample, max_categories=max_categories)
    cut = data.draw(st.integers(0, len(current_frame)))  # 0: one profile; else two chunks merged
    chunks = [current_frame] if cut == 0 else [current_frame.iloc[:cut], current_frame.iloc[cut:]]
    current = profile_chunks(chunks, types, reference=reference, max_sample=max_sample,
                             max_categories=max_categories, seed=1)
    result = detect_drift(reference, current, DriftConfig(min_sample=2))
    verdicts = [{"name": f.feature, **f.to_dict()} for f in result.features]

    statistics = modelmonitor.statistics(current, contract)
    assert statistics_problems(statistics) == []
    assert statistics["dataset"]["item_count"] == len(current_frame)
    for feature in statistics["features"]:
        numbers = feature.get("numerical_statistics") or feature["string_statistics"]
        column = current_frame[feature["name"]]
        assert numbers["common"]["num_present"] == int(column.notna().sum())
        assert numbers["common"]["num_present"] + numbers["common"]["num_missing"] == len(column)
    assert constraints_problems(modelmonitor.constraints(reference, contract)) == []
    assert violations_problems(modelmonitor.violations(reference, current, verdicts)) == []


@settings(max_examples=120, deadline=None)
@given(st.lists(st.one_of(VALUE, st.sampled_from([0.0, 1.0, 1.0 + 2**-40])), min_size=1, max_size=60))
def test_kll_buckets_count_exactly_the_values_in_each_half_open_bucket_when_the_sample_holds_them_all(values):
    reference = build_profile(pd.DataFrame({"x": values[::-1]}), {"x": "numeric"})
    current = build_profile(pd.DataFrame({"x": values}), {"x": "numeric"}, reference=reference)

    numbers = modelmonitor.statistics(current)["features"][0]["numerical_statistics"]

    x = np.asarray(values)
    buckets = numbers["distribution"]["kll"]["buckets"]
    for i, b in enumerate(buckets):
        last = i == len(buckets) - 1
        inside = (x >= b["lower_bound"]) & ((x <= b["upper_bound"]) if last else (x < b["upper_bound"]))
        assert b["count"] == int(inside.sum()), (b, values)
    assert numbers["sum"] == pytest.approx(math.fsum(values), rel=1e-9, abs=1e-6)
    assert numbers["std_dev"] == pytest.approx(np.std(x), rel=1e-9, abs=1e-9)


def test_kll_buckets_of_a_sampled_window_keep_each_reference_bins_exact_count(rng):
    reference = build_profile(pd.DataFrame({"x": rng.normal(0, 1, 5000)}), {"x": "numeric"}, max_sample=200)
    current = build_profile(pd.DataFrame({"x": rng.normal(0.5, 2, 8000)}), {"x": "numeric"},
                            reference=reference, max_sample=200)

    numbers = modelmonitor.statistics(current)["features"][0]["numerical_statistics"]

    assert statistics_problems(modelmonitor.statistics(current)) == []
    assert len(numbers["distribution"]["kll"]["buckets"]) == modelmonitor.BUCKETS
    assert sum(b["count"] for b in numbers["distribution"]["kll"]["buckets"]) == 8000


def test_a_window_beyond_the_references_range_has_increasing_buckets_not_one_inverted_bucket(rng):
    """Regression (issue 12, defect 4): the window's buckets were [window min, *reference edges, window
    max], so a window above the reference's range gave lower_bound 17.1 > upper_bound 3.7."""
    reference = build_profile(pd.DataFrame({"x": rng.normal(5, 1, 500)}), {"x": "numeric"})
    current = build_profile(pd.DataFrame({"x": rng.normal(20, 1, 500)}), {"x": "numeric"},
                            reference=reference)

    statistics = modelmonitor.statistics(current)

    assert statistics_problems(statistics) == []
    buckets = statistics["features"][0]["numerical_statistics"]["distribution"]["kll"]["buckets"]
    assert len(buckets) == modelmonitor.BUCKETS
    assert max(b["count"] for b in buckets) < 500


def test_a_numeric_feature_typed_bool_or_string_by_the_contract_is_still_written_as_a_number(rng):
    profile = build_profile(pd.DataFrame({"x": rng.normal(0, 1, 50)}), {"x": "numeric"})

    for contract_type in ("bool", "string", "int"):
        statistics = modelmonitor.statistics(profile, {"x": contract_type})
        assert schema_errors("statistics", statistics) == [], contract_type
        assert statistics["features"][0]["inferred_type"] == ("Integral" if contract_type == "int"
                                                               else "Fractional")


def test_the_drift_violation_names_the_ks_statistic_and_the_wasserstein_effect_size_apart(rng):
    """Regression (issue 12, defects 4 and 8): "ks 5.22 exceeds the threshold" when KS was 0.979."""
    ref_values, cur_values = rng.normal(5, 1, 500), rng.normal(10, 1, 500)
    reference = build_profile(pd.DataFrame({"x": ref_values}), {"x": "numeric"})
    current = build_profile(pd.DataFrame({"x": cur_values}), {"x": "numeric"}, reference=reference)
    result = detect_drift(reference, current)
    verdicts = [{"name": f.feature, **f.to_dict()} for f in result.features]

    [violation] = modelmonitor.violations(reference, current, verdicts)["violations"]

    ks = ks_2samp(ref_values, cur_values)
    effect = wasserstein_distance(ref_values, cur_values) / np.std(ref_values)
    assert violation["constraint_check_type"] == "baseline_drift_check"
    assert f"KS statistic {ks.statistic:.3g} (p={ks.pvalue:.3g})" in violation["description"]
    assert f"effect size: Wasserstein/std {effect:.3g} ≥ 0.1" in violation["description"]
    assert f"ks {effect}" not in violation["description"]


def test_completeness_and_categorical_violations_name_their_numbers_and_respect_the_domain_threshold():
    reference = build_profile(pd.DataFrame({"c": ["a", "b"] * 50}), {"c": "categorical"})
    current = build_profile(pd.DataFrame({"c": ["a"] * 40 + ["zz"] * 10 + [None] * 50}), {"c": "categorical"},
                            reference=reference)

    found = {v["constraint_check_type"]: v["description"]
             for v in modelmonitor.violations(reference, current, [])["violations"]}

    assert found["completeness_check"].startswith("completeness (share of non-missing values) 0.500 ")
    assert "10 value(s) (1 distinct) outside the baseline's domain: 0.2 of the present values" in \
        found["categorical_values_check"]
    assert "zz" not in found["categorical_values_check"]  # values are data: never in messages
    constraints = modelmonitor.constraints(reference)
    threshold = constraints["monitoring_config"]["domain_content_threshold"]
    assert threshold == modelmonitor.DOMAIN_CONTENT_THRESHOLD == 0.0
