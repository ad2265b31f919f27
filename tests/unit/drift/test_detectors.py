"""Each detector against scipy's reference implementation, PSI by hand, the gate, the guards."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, ks_2samp, wasserstein_distance

from chalicelib.core.drift import stats
from chalicelib.core.drift.config import DetectorNotFittedError, DriftConfig, ProfileMismatchError
from chalicelib.core.drift.detectors import (
    CategoricalDriftDetector,
    ChiSquareDetector,
    JensenShannonDetector,
    KSDetector,
    NumericDriftDetector,
    WassersteinDetector,
)
from chalicelib.core.drift.profile import build_profile

NUM = {"x": "numeric"}
CAT = {"c": "categorical"}


def numeric_pair(reference: np.ndarray, current: np.ndarray, max_sample: int = 1000):
    ref = build_profile(pd.DataFrame({"x": reference}), NUM, max_sample=max_sample)
    cur = build_profile(pd.DataFrame({"x": current}), NUM, reference=ref, max_sample=max_sample)
    return ref["x"], cur["x"]


def categorical_pair(reference, current):
    ref = build_profile(pd.DataFrame({"c": reference}), CAT)
    cur = build_profile(pd.DataFrame({"c": current}), CAT, reference=ref)
    return ref["c"], cur["c"]


def test_ks_detector_matches_scipy_ks_2samp_and_wasserstein_distance(rng):
    reference, current = rng.normal(0, 1, 400), rng.normal(0.3, 1.2, 300)
    ref, cur = numeric_pair(reference, current)

    result = KSDetector().fit(ref).score(cur)

    expected = ks_2samp(reference, current)
    assert result.method == "ks" and result.test == "ks_2samp"
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    expected_effect = wasserstein_distance(reference, current) / reference.std()
    assert result.effect == pytest.approx(expected_effect, rel=1e-12)


def test_wasserstein_detector_matches_scipy_over_all_rows_for_a_shift(rng):
    reference = rng.lognormal(1.0, 0.6, 50_000)
    current = reference + 0.8  # a pure shift: the reference and current CDFs never cross

    ref, cur = numeric_pair(reference, current)
    result = WassersteinDetector().fit(ref).score(cur)

    expected = wasserstein_distance(reference, current) / reference.std()
    assert result.method == "wasserstein"
    assert result.statistic == result.effect == pytest.approx(expected, rel=1e-9)


def test_wasserstein_detector_never_exceeds_scipy_and_stays_close_on_arbitrary_data(rng):
    reference, current = rng.gamma(2.0, 2.0, 40_000), rng.normal(4.2, 3.0, 20_000)

    ref, cur = numeric_pair(reference, current)
    result = WassersteinDetector().fit(ref).score(cur)

    expected = wasserstein_distance(reference, current) / reference.std()
    assert expected * 0.9 <= result.effect <= expected + 1e-12


def test_wasserstein_detector_can_normalise_by_the_iqr(rng):
    reference = rng.normal(0, 2.0, 20_000)
    ref, cur = numeric_pair(reference, reference + 0.5)

    by_iqr = WassersteinDetector(DriftConfig(normalise_by="iqr")).fit(ref).score(cur)

    q75, q25 = np.percentile(ref.sample, [75, 25])
    assert by_iqr.effect == pytest.approx(0.5 / (q75 - q25), rel=1e-9)


def test_chi_square_detector_matches_scipy_chi2_contingency(rng):
    reference = rng.choice(["a", "b", "c"], size=600, p=[0.5, 0.3, 0.2]).tolist()
    current = rng.choice(["a", "b", "c"], size=400, p=[0.4, 0.3, 0.3]).tolist()
    ref, cur = categorical_pair(reference, current)

    result = ChiSquareDetector().fit(ref).score(cur)

    table = np.array([[reference.count(k) for k in "abc"], [current.count(k) for k in "abc"]])
    chi2, p, _, _ = chi2_contingency(table, correction=False)
    assert result.method == "chi_square" and result.test == "chi2_contingency"
    assert result.statistic == pytest.approx(chi2, rel=1e-12)
    assert result.p_value == pytest.approx(p, rel=1e-9)


def test_jensen_shannon_detector_matches_scipy_jensenshannon_in_base_2(rng):
    reference = rng.choice(["a", "b", "c", "d"], size=5_000, p=[0.4, 0.3, 0.2, 0.1]).tolist()
    current = rng.choice(["a", "b", "c", "d"], size=3_000, p=[0.25, 0.25, 0.25, 0.25]).tolist()
    ref, cur = categorical_pair(reference, current)

    result = JensenShannonDetector().fit(ref).score(cur)

    p = np.array([reference.count(k) for k in "abcd"]) / len(reference)
    q = np.array([current.count(k) for k in "abcd"]) / len(current)
    assert result.method == "jensen_shannon"
    assert result.statistic == pytest.approx(jensenshannon(p, q, base=2), rel=1e-12)


def test_psi_equals_the_hand_computed_index():
    ref, cur = categorical_pair(["a"] * 500 + ["b"] * 300 + ["c"] * 200,
                                ["a"] * 300 + ["b"] * 300 + ["c"] * 400)

    result = ChiSquareDetector().fit(ref).score(cur)

    # (0.3 - 0.5) ln(0.3 / 0.5) + 0 + (0.4 - 0.2) ln(0.4 / 0.2)
    assert result.psi == pytest.approx(0.2 * np.log(5 / 3) + 0.2 * np.log(2), rel=1e-12)
    assert result.psi == pytest.approx(0.240794, abs=1e-6)
    assert result.psi_level == "minor"


def test_psi_floors_empty_bins_instead_of_diverging():
    assert stats.psi([100, 0], [50, 50]) == pytest.approx(
        (0.5 - 1.0) * np.log(0.5 / 1.0) + (0.5 - 1e-4) * np.log(0.5 / 1e-4), rel=1e-12)


def test_too_few_values_give_insufficient_data(rng):
    ref, cur = numeric_pair(rng.normal(size=1_000), rng.normal(5.0, 1.0, size=99))

    result = NumericDriftDetector().fit(ref).score(cur)

    assert result.status == "insufficient_data"
    assert result.p_value is None and result.effect is None
    assert "fewer than 100 non-missing values (reference 1000, current 99)" in result.reason


def test_the_sample_size_picks_the_small_or_large_sample_method(rng):
    reference = rng.normal(size=5_000)
    small = NumericDriftDetector().fit(numeric_pair(reference, reference[:500])[0])
    ref, cur_small = numeric_pair(reference, rng.normal(size=500))
    _, cur_large = numeric_pair(reference, rng.normal(size=5_000))
    cref, ccur = categorical_pair(["a", "b"] * 1_000, ["a", "b"] * 300)

    assert small.score(cur_small).method == "ks"
    assert NumericDriftDetector().fit(ref).score(cur_large).method == "wasserstein"
    assert CategoricalDriftDetector().fit(cref).score(ccur).method == "chi_square"
    large = CategoricalDriftDetector(DriftConfig(large_sample=100)).fit(cref)
    assert large.score(ccur).method == "jensen_shannon"


def test_a_tiny_shift_in_a_million_rows_is_at_most_minor(rng):
    reference = rng.normal(0.0, 1.0, 1_000_000)
    ref, cur = numeric_pair(reference, rng.normal(0.02, 1.0, 1_000_000))

    result = NumericDriftDetector().fit(ref).score(cur)

    assert result.p_value < 1e-6  # a p-value-only tool would call this drift
    assert result.effect == pytest.approx(0.02, abs=0.005)
    assert result.status == "minor"


def test_a_real_shift_in_a_million_rows_is_drift(rng):
    reference = rng.normal(0.0, 1.0, 1_000_000)
    ref, cur = numeric_pair(reference, rng.normal(0.3, 1.0, 1_000_000))

    result = NumericDriftDetector().fit(ref).score(cur)

    assert result.status == "drift"
    assert result.effect == pytest.approx(0.3, abs=0.01)


def test_the_same_distribution_in_a_million_rows_is_not_drift(rng):
    ref, cur = numeric_pair(rng.normal(size=1_000_000), rng.normal(size=1_000_000))

    assert NumericDriftDetector().fit(ref).score(cur).status in ("stable", "minor")


def test_category_frequencies_gate_like_numbers(rng):
    reference = rng.choice(["a", "b", "c"], size=300_000, p=[0.5, 0.3, 0.2])
    tiny = rng.choice(["a", "b", "c"], size=300_000, p=[0.49, 0.31, 0.2])
    real = rng.choice(["a", "b", "c"], size=300_000, p=[0.3, 0.3, 0.4])
    detector = CategoricalDriftDetector().fit(categorical_pair(reference, tiny)[0])

    assert detector.score(categorical_pair(reference, tiny)[1]).status == "minor"
    assert detector.score(categorical_pair(reference, real)[1]).status == "drift"


def test_categories_unseen_in_the_reference_count_as_drift():
    ref, cur = categorical_pair(["a", "b"] * 500, ["a", "b"] * 300 + ["new"] * 400)

    result = CategoricalDriftDetector().fit(ref).score(cur)

    assert result.status == "drift"
    assert result.psi > 0.25


def test_a_capped_reference_compares_unseen_categories_with_its_other_bucket():
    ref_profile = build_profile(pd.DataFrame({"c": ["a"] * 600 + ["b"] * 300 + ["r1"] * 50 + ["r2"] * 50}),
                                CAT, max_categories=2)
    cur_profile = build_profile(pd.DataFrame({"c": ["a"] * 600 + ["b"] * 300 + ["r3"] * 100}), CAT,
                                reference=ref_profile, max_categories=2)

    result = CategoricalDriftDetector().fit(ref_profile["c"]).score(cur_profile["c"])

    assert result.status == "stable"
    assert result.psi == pytest.approx(0.0, abs=1e-12)


def test_a_significant_test_with_a_large_psi_is_drift_even_with_a_small_effect(rng):
    cfg = DriftConfig(js_threshold=0.99)
    ref, cur = categorical_pair(["a"] * 900 + ["b"] * 100, ["a"] * 500 + ["b"] * 500)

    result = ChiSquareDetector(cfg).fit(ref).score(cur)

    assert result.effect < 0.99 and result.psi >= 0.25
    assert result.status == "drift"


def test_scoring_before_fit_raises_not_fitted():
    _, cur = numeric_pair(np.arange(200.0), np.arange(200.0))

    for detector in (KSDetector(), WassersteinDetector(), ChiSquareDetector(), NumericDriftDetector()):
        with pytest.raises(DetectorNotFittedError) as info:
            detector.score(cur)
        assert info.value.code == "detector_not_fitted"
        assert "is not fitted: call fit(reference) first" in info.value.message


def test_fit_returns_the_detector_and_keeps_the_reference():
    ref, _ = numeric_pair(np.arange(200.0), np.arange(200.0))
    detector = KSDetector()

    assert detector.fit(ref) is detector
    assert detector.reference_ is ref


def test_a_detector_rejects_a_feature_of_the_other_kind():
    ref, _ = categorical_pair(["a"] * 200, ["a"] * 200)

    with pytest.raises(ProfileMismatchError) as info:
        KSDetector().fit(ref)

    assert info.value.code == "profile_mismatch"
    assert "KSDetector needs a numeric feature; 'c' is categorical" in info.value.message


def test_a_current_profile_on_other_edges_is_rejected(rng):
    ref = build_profile(pd.DataFrame({"x": rng.normal(size=500)}), NUM)["x"]
    own = build_profile(pd.DataFrame({"x": rng.normal(size=500)}), NUM)["x"]  # no reference= given

    with pytest.raises(ProfileMismatchError) as info:
        KSDetector().fit(ref).score(own)

    assert "not binned on the reference's edges" in info.value.message


def test_config_rejects_inconsistent_or_unknown_thresholds():
    with pytest.raises(ValidationError, match="psi_minor must not exceed psi_drift"):
        DriftConfig(psi_minor=0.3, psi_drift=0.2)
    with pytest.raises(ValidationError, match="extra"):
        DriftConfig.model_validate({"alpha": 0.01, "treshold": 1})


def test_a_feature_that_went_missing_is_drift_not_insufficient_data(rng):
    reference = rng.normal(size=2_000)
    ref, cur = numeric_pair(reference, np.full(1_500, np.nan))

    result = NumericDriftDetector().fit(ref).score(cur)

    assert result.status == "drift" and result.method == "missing_share"
    assert result.reason.startswith("missing share moved from 0 to 1 (p=")


def test_a_jump_in_missing_values_is_drift_even_when_the_values_hold(rng):
    current = rng.normal(size=4_000)
    current[:1_000] = np.nan
    ref, cur = numeric_pair(rng.normal(size=4_000), current)

    result = NumericDriftDetector().fit(ref).score(cur)

    assert result.status == "drift"
    assert result.reason.startswith("missing share moved from 0 to 0.25")
    assert result.effect < 0.1


def test_a_small_change_in_missing_values_does_not_count(rng):
    current = rng.normal(size=100_000)
    current[:2_000] = np.nan
    ref, cur = numeric_pair(rng.normal(size=100_000), current)

    result = NumericDriftDetector(DriftConfig(alpha=1e-9)).fit(ref).score(cur)

    assert result.status == "stable"
    assert result.missing_share_current == pytest.approx(0.02)
