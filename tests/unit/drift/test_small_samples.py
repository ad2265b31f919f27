"""Monitoring at every size: the minimum sample scales with the reference, ``insufficient_data`` says
how many values are needed, and each verdict states its test's power and minimum detectable effect —
held to simulated scipy tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats
from scipy.spatial.distance import jensenshannon

from chalicelib.core.drift import stats
from chalicelib.core.drift.config import DriftConfig
from chalicelib.core.drift.detectors import detect_drift, detector_for
from chalicelib.core.drift.profile import build_profile


@pytest.mark.parametrize(("reference", "needed"), [
    (0, 30), (20, 30), (59, 30), (60, 30), (61, 31), (100, 50), (150, 75), (199, 100), (200, 100),
    (10_000, 100)])
def test_the_minimum_sample_is_half_the_reference_between_30_and_100(reference, needed):
    assert DriftConfig().required_sample(reference) == needed


def test_a_minimum_sample_set_in_the_config_is_used_as_it_is():
    assert DriftConfig(min_sample=100).required_sample(40) == 100
    assert DriftConfig(min_sample=5).required_sample(10_000) == 5


def profiles(reference: np.ndarray, current: np.ndarray, kind: str = "numeric"):
    ref = build_profile(pd.DataFrame({"x": reference}), {"x": kind})
    return ref, build_profile(pd.DataFrame({"x": current}), {"x": kind}, reference=ref)


def test_a_model_trained_on_100_rows_gets_a_drift_verdict_on_60_current_values(rng):
    ref, cur = profiles(rng.normal(0, 1, 100), rng.normal(1.5, 1, 60))
    verdict = detector_for("numeric").fit(ref["x"]).score(cur["x"])
    assert verdict.status == "drift" and verdict.min_sample == 50
    before = detector_for("numeric", DriftConfig(min_sample=100)).fit(ref["x"]).score(cur["x"])
    assert before.status == "insufficient_data"  # the fixed 100 of before


def test_insufficient_data_says_how_many_values_are_needed_and_on_which_side(rng):
    ref, cur = profiles(rng.normal(0, 1, 100), rng.normal(0, 1, 20))
    short = detector_for("numeric").fit(ref["x"]).score(cur["x"])
    assert short.status == "insufficient_data" and short.min_sample == 50
    assert short.reason.startswith("fewer than 50 non-missing values (reference 100, current 20): 50 are "
                                   "needed on each side, 30 more in the window")
    assert "half the reference's values, at least 30, at most 100" in short.reason
    tiny_ref, big_cur = profiles(rng.normal(0, 1, 20), rng.normal(0, 1, 500))
    tiny = detector_for("numeric").fit(tiny_ref["x"]).score(big_cur["x"])
    assert tiny.status == "insufficient_data"
    assert "the reference holds 20 values, 30 are needed on each side; train on more rows" in tiny.reason
    assert short.to_dict()["min_sample"] == 50 and short.to_dict()["power"] is None


def simulated_ks_power(n_ref: int, n_cur: int, shift: float, alpha: float, runs: int = 1000) -> float:
    rng = np.random.default_rng(2026)
    p = [scipy_stats.ks_2samp(rng.normal(0, 1, n_ref), rng.normal(shift, 1, n_cur)).pvalue
         for _ in range(runs)]
    return float(np.mean(np.asarray(p) < alpha))


@pytest.mark.parametrize(("n_ref", "n_cur", "shift"), [(30, 30, 0.8), (100, 100, 0.3), (100, 100, 0.5),
                                                       (80, 500, 0.3), (300, 300, 0.2)])
def test_the_stated_ks_power_is_within_0_1_of_scipys_simulated_test(n_ref, n_cur, shift):
    assert stats.ks_power(n_ref, n_cur, shift, 0.05) == pytest.approx(
        simulated_ks_power(n_ref, n_cur, shift, 0.05), abs=0.1)


def simulated_chi2_power(n_ref: int, n_cur: int, p: np.ndarray, q: np.ndarray, runs: int = 1000) -> float:
    rng = np.random.default_rng(2026)
    hits = 0
    for _ in range(runs):
        table = np.vstack([rng.multinomial(n_ref, p), rng.multinomial(n_cur, q)])
        table = table[:, table.sum(axis=0) > 0]
        hits += table.shape[1] > 1 and scipy_stats.chi2_contingency(table, correction=False)[1] < 0.05
    return hits / runs


@pytest.mark.parametrize(("p", "q", "n"), [([0.5, 0.5], [0.6, 0.4], 100),
                                           ([0.5, 0.3, 0.2], [0.4, 0.35, 0.25], 300),
                                           ([0.25] * 4, [0.35, 0.25, 0.2, 0.2], 100)])
def test_the_stated_chi_square_power_is_within_0_05_of_scipys_simulated_test(p, q, n):
    p, q = np.asarray(p), np.asarray(q)
    js = float(jensenshannon(p, q, base=2))
    simulated = simulated_chi2_power(n, n, p, q)
    assert stats.chi2_power(n, n, len(p), js, 0.05) == pytest.approx(simulated, abs=0.05)


def test_the_minimum_detectable_effect_is_where_the_power_reaches_80_percent():
    shift = stats.ks_detectable_shift(100, 60, 0.05)
    assert stats.ks_power(100, 60, shift, 0.05) == pytest.approx(0.8, abs=1e-6)
    assert stats.ks_detectable_shift(1000, 1000, 0.05) < shift  # more rows see smaller shifts
    js = stats.chi2_detectable_js(100, 60, 4, 0.05)
    assert stats.chi2_power(100, 60, 4, js, 0.05) == pytest.approx(0.8, abs=1e-6)
    assert stats.chi2_detectable_js(2, 2, 4, 0.05) is None  # not even a complete change is seen
    assert stats.chi2_power(100, 60, 1, 0.5, 0.05) is None  # one category: nothing can move


def test_each_verdict_states_its_power_at_the_effect_threshold_and_its_minimum_detectable_effect(rng):
    ref, cur = profiles(rng.normal(0, 1, 100), rng.normal(0.1, 1, 300))
    numeric = detector_for("numeric").fit(ref["x"]).score(cur["x"])
    power = numeric.power
    assert power["test"] == "ks_2samp" and power["alpha"] == 0.05 and power["effect_threshold"] == 0.1
    assert power["power"] == pytest.approx(stats.ks_power(100, 300, 0.1, 0.05))
    assert power["power"] < 0.2  # 100 reference rows cannot see a 0.1-std shift: the report says so
    assert power["minimum_detectable_effect"] == pytest.approx(stats.ks_detectable_shift(100, 300, 0.05))
    assert power["n_effective"] == pytest.approx(75.0)
    categories = np.array(["a", "b", "c"], dtype=object)
    cref, ccur = profiles(rng.choice(categories, 100), rng.choice(categories, 200), "categorical")
    categorical = detector_for("categorical").fit(cref["x"]).score(ccur["x"])
    assert categorical.power["test"] == "chi2_contingency"
    assert categorical.power["power"] == pytest.approx(stats.chi2_power(100, 200, 3, 0.1, 0.05))


def test_the_large_sample_detector_states_the_power_of_its_bonferroni_halved_ks_in_iqr_units(rng):
    config = DriftConfig(large_sample=50, normalise_by="iqr")
    ref, cur = profiles(rng.normal(0, 1, 400), rng.normal(0, 1, 400))
    verdict = detector_for("numeric", config).fit(ref["x"]).score(cur["x"])
    assert verdict.method == "wasserstein" and verdict.effect_scale == "iqr"
    assert verdict.power["alpha"] == 0.025
    assert verdict.power["power"] == pytest.approx(stats.ks_power(400, 400, 0.1 * 1.3489795, 0.025))
    assert verdict.power["minimum_detectable_effect"] == pytest.approx(
        stats.ks_detectable_shift(400, 400, 0.025) / 1.3489795)


def test_prediction_drift_of_a_small_model_is_judged_against_its_100_reference_predictions(rng):
    reference = build_profile(pd.DataFrame({"prediction": rng.choice(["no", "yes"], 100, p=[0.7, 0.3])}),
                              {"prediction": "categorical"})
    current = build_profile(pd.DataFrame({"prediction": rng.choice(["no", "yes"], 80, p=[0.1, 0.9])}),
                            {"prediction": "categorical"}, reference=reference)
    result = detect_drift(reference, current)
    assert result.prediction is not None and result.prediction.status == "drift"
    assert result.status == "drift" and result.prediction.min_sample == 50
