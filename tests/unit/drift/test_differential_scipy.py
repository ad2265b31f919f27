"""Every drift statistic and p-value a detector reports against scipy computed here on the same samples.

The detectors run end to end (fit on a reference Profile, score a current Profile) on samples small enough
that the profile keeps every value, so what is compared is the number the report shows. PSI is checked
against its textbook formula (an empty bin's share replaced by 1e-4, as Evidently does) and the
Wasserstein detector's p-value against statsmodels' Bonferroni adjustment.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, ks_2samp, wasserstein_distance
from statsmodels.stats.multitest import multipletests

from chalicelib.core.drift import stats
from chalicelib.core.drift.config import DriftConfig
from chalicelib.core.drift.detectors import (
    CategoricalDriftDetector,
    ChiSquareDetector,
    JensenShannonDetector,
    KSDetector,
    NumericDriftDetector,
    WassersteinDetector,
)
from chalicelib.core.drift.profile import build_profile

VALUE = st.floats(-1e4, 1e4, allow_nan=False, allow_subnormal=False)
SAMPLE = st.one_of(
    st.lists(VALUE, min_size=2, max_size=60),
    st.lists(st.sampled_from([0.0, 1.0, 1.0, 3.0, 7.5]), min_size=2, max_size=60),  # heavy ties
    st.lists(st.floats(0.0, 9.0), min_size=2, max_size=60).map(lambda xs: [math.exp(x) for x in xs]),  # skew
)
CATEGORIES = st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=2, max_size=80)
# scipy warns when ks_2samp's exact p-value falls back to the asymptotic one: in the oracle and the code alike
pytestmark = pytest.mark.filterwarnings("ignore:ks_2samp:RuntimeWarning")
SMALL = DriftConfig(min_sample=2)  # every comparison is judged; KS / chi-square up to 1000 values
LARGE = DriftConfig(min_sample=2, large_sample=2)  # the large-sample detectors on samples kept whole
PSI_EPS = 1e-4


# ------------------------------------------------------------------------------------------ oracles
def textbook_psi(reference_counts, current_counts) -> float:
    r = np.asarray(reference_counts, dtype=float) / np.sum(reference_counts)
    c = np.asarray(current_counts, dtype=float) / np.sum(current_counts)
    r, c = np.where(r == 0, PSI_EPS, r), np.where(c == 0, PSI_EPS, c)
    return float(sum((ci - ri) * math.log(ci / ri) for ri, ci in zip(r, c, strict=True)))


def chi_square(table: np.ndarray) -> tuple[float, float, int]:
    """scipy's chi-square of homogeneity without continuity correction, on the categories seen."""
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0, 0
    res = chi2_contingency(table, correction=False)
    return float(res.statistic), float(res.pvalue), int(res.dof)


def quantile_bin_counts(reference: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The reference's decile edges and the count of ``values`` per bin [e(i-1), e(i)) (pandas.cut)."""
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, 11)[1:-1]))
    bins = pd.cut(values, [-np.inf, *edges, np.inf], right=False, labels=False)
    return edges, np.bincount(bins, minlength=len(edges) + 1)


def effect_and_scale(reference: np.ndarray, distance: float) -> tuple[float, str]:
    if reference.min() == reference.max() or np.std(reference) == 0:  # constant, or a spread that underflows
        return distance, "none"
    return distance / np.std(reference), "std"


def numeric_pair(reference, current):
    ref = build_profile(pd.DataFrame({"x": reference}), {"x": "numeric"})
    cur = build_profile(pd.DataFrame({"x": current}), {"x": "numeric"}, reference=ref)
    assert len(ref["x"].sample) == len(reference) and len(cur["x"].sample) == len(current)
    return ref["x"], cur["x"]


def categorical_pair(reference, current):
    ref = build_profile(pd.DataFrame({"c": reference}), {"c": "categorical"})
    cur = build_profile(pd.DataFrame({"c": current}), {"c": "categorical"}, reference=ref)
    return ref["c"], cur["c"]


def close(value: float, expected: float) -> bool:
    return value == pytest.approx(expected, rel=1e-9, abs=1e-12)


# ------------------------------------------------------------------------------------- numeric, small
@settings(max_examples=120, deadline=None)
@given(SAMPLE, SAMPLE)
def test_the_ks_detector_reports_scipys_ks_statistic_p_value_wasserstein_effect_and_textbook_psi(a, b):
    reference, current = np.asarray(a), np.asarray(b)
    ref, cur = numeric_pair(reference, current)

    verdict = NumericDriftDetector(SMALL).fit(ref).score(cur).to_dict()

    ks = ks_2samp(reference, current)
    effect, scale = effect_and_scale(reference, wasserstein_distance(reference, current))
    edges, ref_bins = quantile_bin_counts(reference, reference)
    _, cur_bins = quantile_bin_counts(reference, current)
    assert verdict["method"] == "ks" and verdict["statistic_name"] == "ks_statistic"
    assert verdict["statistic"] == ks.statistic and verdict["p_value"] == ks.pvalue
    assert verdict["test_results"] == [{"test": "ks_2samp", "statistic_name": "ks_statistic",
                                        "statistic": ks.statistic, "p_value": ks.pvalue}]
    assert verdict["effect_scale"] == scale and close(verdict["effect"], effect)
    assert verdict["effect_name"] == ("wasserstein" if scale == "none" else "wasserstein_normed")
    assert ref.edges == edges.tolist()
    assert close(verdict["psi"], textbook_psi(ref_bins, cur_bins))
    assert f"KS statistic {ks.statistic:.3g} (p={ks.pvalue:.3g})" in verdict["description"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(1.0, 100.0), min_size=8, max_size=60, unique=True), st.data())
def test_the_ks_detector_can_normalise_by_scipys_interquartile_range(a, data):
    reference = np.asarray(a)
    current = np.asarray(data.draw(st.lists(st.floats(1.0, 100.0), min_size=2, max_size=60)))
    ref, cur = numeric_pair(reference, current)

    verdict = KSDetector(DriftConfig(min_sample=2, normalise_by="iqr")).fit(ref).score(cur)

    from scipy.stats import iqr

    assert verdict.effect_scale == "iqr"
    assert close(verdict.effect, wasserstein_distance(reference, current) / iqr(reference))


def test_a_constant_reference_reports_the_absolute_distance_under_its_own_name():
    """Regression: the computed std of a hundred 0.1s is 2.8e-17 (rounding), not 0, so the "normalised"
    effect was the distance times 3.6e16, named wasserstein_normed."""
    reference, current = np.full(100, 0.1), np.linspace(0.1, 0.3, 100)
    ref, cur = numeric_pair(reference, current)

    verdict = KSDetector(SMALL).fit(ref).score(cur)

    assert close(verdict.effect, wasserstein_distance(reference, current))
    assert verdict.effect_name == "wasserstein" and verdict.effect_scale == "none"
    assert "not normalised" in verdict.to_dict()["description"]


# ------------------------------------------------------------------------------------- numeric, large
@settings(max_examples=120, deadline=None)
@given(SAMPLE, SAMPLE)
def test_the_wasserstein_detector_reports_scipys_chi_square_and_ks_combined_by_bonferroni(a, b):
    reference, current = np.asarray(a), np.asarray(b)
    ref, cur = numeric_pair(reference, current)

    verdict = WassersteinDetector(LARGE).fit(ref).score(cur).to_dict()

    _, ref_bins = quantile_bin_counts(reference, reference)
    _, cur_bins = quantile_bin_counts(reference, current)
    chi2, p_bins, dof = chi_square(np.vstack([ref_bins, cur_bins]))
    ks = ks_2samp(reference, current)
    bonferroni = float(multipletests([p_bins, ks.pvalue], method="bonferroni")[1].min())
    binned, ks_test = verdict["test_results"]
    assert verdict["method"] == "wasserstein" and verdict["p_value_combination"] == "bonferroni"
    assert binned["test"] == "chi2_binned" and binned["dof"] == dof
    assert close(binned["statistic"], chi2) and close(binned["p_value"], p_bins)
    assert ks_test["statistic"] == ks.statistic and ks_test["p_value"] == ks.pvalue
    assert close(verdict["p_value"], bonferroni)
    assert close(verdict["psi"], textbook_psi(ref_bins, cur_bins))
    effect_bound, _ = effect_and_scale(reference, wasserstein_distance(reference, current))
    assert verdict["statistic"] == verdict["effect"]
    assert verdict["effect"] <= effect_bound * (1 + 1e-9) + 1e-9  # binned: a lower bound of scipy's


@settings(max_examples=100, deadline=None)
@given(SAMPLE, st.floats(0.0, 1e3))
def test_the_wasserstein_detector_equals_scipy_for_a_shift(a, shift):
    reference = np.asarray(a)
    current = reference + shift  # F_current <= F_reference everywhere: the binned distance is exact
    ref, cur = numeric_pair(reference, current)

    verdict = WassersteinDetector(LARGE).fit(ref).score(cur)

    effect, scale = effect_and_scale(reference, wasserstein_distance(reference, current))
    assert verdict.effect_scale == scale
    assert verdict.effect == pytest.approx(effect, rel=1e-7, abs=1e-9 * max(1.0, np.abs(current).max()))


@settings(max_examples=150, deadline=None)
@given(SAMPLE, SAMPLE, st.lists(VALUE, max_size=8))
def test_binned_wasserstein_never_exceeds_scipy_for_any_edges(a, b, raw_edges):
    reference, current = np.asarray(a), np.asarray(b)
    edges = np.unique(raw_edges)
    counts, sums = [], []
    for values in (reference, current):
        index = np.searchsorted(edges, values, side="right")
        counts.append(np.bincount(index, minlength=len(edges) + 1))
        sums.append(np.bincount(index, weights=values, minlength=len(edges) + 1))

    distance = stats.binned_wasserstein(edges, counts[0], sums[0], counts[1], sums[1])

    exact = wasserstein_distance(reference, current)
    assert 0.0 <= distance <= exact + 1e-9 * max(1.0, np.abs(reference).max(), np.abs(current).max())
    if len(edges) == 0:
        assert close(distance, abs(reference.mean() - current.mean()))


# ------------------------------------------------------------------------------------------ categorical
@settings(max_examples=120, deadline=None)
@given(CATEGORIES, CATEGORIES)
def test_the_chi_square_detector_reports_scipys_chi_square_jensen_shannon_and_textbook_psi(a, b):
    ref, cur = categorical_pair(a, b)

    verdict = CategoricalDriftDetector(SMALL).fit(ref).score(cur).to_dict()

    keys = sorted(set(a) | set(b))
    r = np.array([a.count(k) for k in keys])
    c = np.array([b.count(k) for k in keys])
    chi2, p, dof = chi_square(np.vstack([r, c]))
    assert verdict["method"] == "chi_square" and verdict["statistic_name"] == "chi_square_statistic"
    assert close(verdict["statistic"], chi2) and close(verdict["p_value"], p)
    assert verdict["test_results"][0]["dof"] == dof
    assert close(verdict["effect"], float(jensenshannon(r, c, base=2)))
    assert close(verdict["psi"], textbook_psi(r, c))
    shown = f"chi-square statistic {verdict['statistic']:.3g} (dof {dof}, p={verdict['p_value']:.3g})"
    assert shown in verdict["description"]


@settings(max_examples=80, deadline=None)
@given(CATEGORIES, CATEGORIES)
def test_the_jensen_shannon_detector_reports_scipys_distance_in_base_2(a, b):
    ref, cur = categorical_pair(a, b)

    verdict = JensenShannonDetector(LARGE).fit(ref).score(cur)

    keys = sorted(set(a) | set(b))
    r = np.array([a.count(k) for k in keys])
    c = np.array([b.count(k) for k in keys])
    js = float(jensenshannon(r, c, base=2))
    assert verdict.statistic_name == "jensen_shannon_distance"
    assert close(verdict.statistic, js) and close(verdict.effect, js)
    assert close(verdict.p_value, chi_square(np.vstack([r, c]))[1])
    assert ChiSquareDetector(LARGE).fit(ref).score(cur).effect == verdict.effect


# ---------------------------------------------------------------------------------- PSI, missing share
@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 100_000), st.integers(0, 100_000)), min_size=1, max_size=12))
def test_psi_is_the_textbook_index_with_only_empty_bins_replaced(pairs):
    """Regression: every share below 1e-4 was raised to 1e-4, so a bin holding 1 of 100 000 reference
    values that became common counted as if it had held 10."""
    r, c = zip(*pairs, strict=True)
    assume(sum(r) and sum(c))

    assert close(stats.psi(r, c), textbook_psi(r, c))


def test_psi_counts_a_rare_reference_bin_that_became_common_in_full():
    assert close(stats.psi([1, 99_999], [50_000, 50_000]), textbook_psi([1, 99_999], [50_000, 50_000]))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 60), st.integers(20, 80), st.integers(0, 60), st.integers(20, 80))
def test_the_missing_share_test_is_scipys_chi_square_of_the_two_by_two_table(ref_missing, ref_present,
                                                                             cur_missing, cur_present):
    reference = [np.nan] * ref_missing + list(np.linspace(0, 1, ref_present))
    current = [np.nan] * cur_missing + list(np.linspace(0, 1, cur_present))
    ref = build_profile(pd.DataFrame({"x": reference}), {"x": "numeric"})
    cur = build_profile(pd.DataFrame({"x": current}), {"x": "numeric"}, reference=ref)

    verdict = KSDetector(DriftConfig(min_sample=2, missing_threshold=0.01)).fit(ref["x"]).score(cur["x"])

    before = ref_missing / (ref_missing + ref_present)
    after = cur_missing / (cur_missing + cur_present)
    if abs(after - before) < 0.01:
        assert verdict.missing_share_p_value is None
    else:
        _, p, _ = chi_square(np.array([[ref_missing, ref_present], [cur_missing, cur_present]]))
        assert close(verdict.missing_share_p_value, p)
