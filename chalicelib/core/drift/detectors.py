"""Drift detectors in scikit-learn's shape, and ``detect_drift`` over whole profiles.

A detector's ``__init__`` stores its parameters (a :class:`DriftConfig`); ``fit(reference_feature_profile)``
learns from the reference and returns ``self``; ``score(current_feature_profile)`` returns a
:class:`FeatureDrift`. ``score`` before ``fit`` raises :class:`DetectorNotFittedError`.

Every verdict applies the same gate: ``drift`` needs a significant test (``p < alpha``) AND a large effect
(the method's effect size at or above its threshold, or PSI at or above ``psi_drift``); significant with
a small effect is ``minor``, so huge samples no longer flag every column; the rest is ``stable``.

==================  ===========================  ===================================  ====================
detector            statistic                    significance test                    effect size
==================  ===========================  ===================================  ====================
KS (numeric,        KS D on the samples          ``ks_2samp`` on the samples          Wasserstein / scale
small samples)                                                                        on the samples
Wasserstein         Wasserstein / scale, all     chi-square on the reference-quantile the statistic
(numeric, large)    rows (per-bin counts and     bins (all rows) and KS on the
                    sums)                        samples, Bonferroni-combined
chi-square          chi-square of the 2 x K      ``chi2_contingency``                 Jensen-Shannon
(categorical,       table                                                             distance
small)
Jensen-Shannon      Jensen-Shannon distance      ``chi2_contingency`` (all rows)      the statistic
(categorical,       (base 2)
large)
==================  ===========================  ===================================  ====================

``scale`` is the reference's std (or IQR, ``normalise_by="iqr"``, std when the IQR is 0), recorded as
``effect_scale``; a constant reference has no spread, so its effect is the distance itself (``effect_name``
``wasserstein``, ``effect_scale`` ``none``). Each verdict names its statistic (``statistic_name``) and
lists the tests behind its p-value (``test_results``). A significant change of at least
``missing_threshold`` in the share of missing values is ``drift`` too (also when too few values are left).

PSI over the reference-quantile bins (numeric) or the categories is reported by all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from chalicelib.core.drift import stats
from chalicelib.core.drift.config import (
    CATEGORICAL,
    MIN_SAMPLE_CAP,
    MIN_SAMPLE_FLOOR,
    NUMERIC,
    OTHER,
    DetectorNotFittedError,
    DriftConfig,
    ProfileMismatchError,
)
from chalicelib.core.drift.profile import FeatureProfile, Profile
from chalicelib.core.drift.result import (
    DRIFT,
    INSUFFICIENT,
    MINOR,
    STABLE,
    DriftResult,
    FeatureDrift,
    Status,
    effect_label,
)

if TYPE_CHECKING:
    import numpy as np

NORMAL_IQR = 1.3489795003921634  # a normal distribution's interquartile range, in standard deviations


@dataclass(frozen=True)
class _Measure:
    """What a detector measured: its statistic (named), the p-value behind the verdict and the tests it
    came from, the effect size and its threshold."""

    statistic: float
    statistic_name: str
    test: str
    p_value: float
    effect: float
    threshold: float
    test_results: tuple[dict[str, Any], ...] = ()
    p_value_combination: str | None = None
    effect_name: str | None = None  # the detector's own, unless the measure renames it
    effect_scale: str | None = None


class _Detector:
    """Shared fit/score protocol; subclasses implement ``_measure`` (a :class:`_Measure`)."""

    kind: str = ""
    method: str = ""
    effect_name: str = ""

    def __init__(self, config: DriftConfig | None = None) -> None:
        self.config = config

    @property
    def _cfg(self) -> DriftConfig:
        return self.config if self.config is not None else DriftConfig()

    def fit(self, reference: FeatureProfile) -> Self:
        if reference.kind != self.kind:
            raise ProfileMismatchError(
                f"{type(self).__name__} needs a {self.kind} feature; {reference.name!r} is {reference.kind}")
        self.reference_ = reference
        return self

    def score(self, current: FeatureProfile) -> FeatureDrift:
        reference = getattr(self, "reference_", None)
        if reference is None:
            raise DetectorNotFittedError(f"{type(self).__name__} is not fitted: call fit(reference) first")
        if current.kind != self.kind:
            raise ProfileMismatchError(
                f"feature {current.name!r} is {current.kind} in the current profile, "
                f"{self.kind} in the reference")
        cfg = self._cfg
        common: dict[str, Any] = {
            "feature": reference.name, "kind": self.kind, "method": self.method,
            "n_reference": int(reference.count), "n_current": int(current.count),
            "missing_share_reference": reference.missing_share,
            "missing_share_current": current.missing_share,
        }
        need = cfg.required_sample(reference.count)
        common["min_sample"] = need
        missing, missing_p = _missing_shift(reference, current, cfg, need)
        common["missing_share_p_value"] = missing_p
        if min(reference.count, current.count) < need:
            too_few = _too_few(reference.count, current.count, need, cfg)
            if missing:
                return FeatureDrift(**{**common, "method": "missing_share"}, status=DRIFT,
                                    reason=f"{missing}; {too_few}")
            return FeatureDrift(status=INSUFFICIENT, **common, reason=too_few)
        psi = self._psi(reference, current)
        m = self._measure(reference, current, cfg)
        effect_name = m.effect_name or self.effect_name
        status, reason = _gate(m.p_value, m.effect, m.threshold, psi, cfg, effect_name, m.effect_scale)
        if missing:
            status, reason = DRIFT, f"{missing}; values: {reason}"
        return FeatureDrift(status=status, statistic=m.statistic, statistic_name=m.statistic_name,
                            test=m.test, p_value=m.p_value, test_results=m.test_results,
                            p_value_combination=m.p_value_combination, effect_name=effect_name,
                            effect=m.effect, effect_scale=m.effect_scale, effect_threshold=m.threshold,
                            psi=psi, psi_level=_psi_level(psi, cfg), reason=reason,
                            power=self._power(reference, current, cfg, m), **common)

    def _power(self, reference: FeatureProfile, current: FeatureProfile, cfg: DriftConfig,
               m: _Measure) -> dict[str, Any] | None:
        """The significance test's power at the effect threshold and its minimum detectable effect."""
        return None

    def _psi(self, reference: FeatureProfile, current: FeatureProfile) -> float:
        raise NotImplementedError

    def _measure(self, reference: FeatureProfile, current: FeatureProfile, cfg: DriftConfig) -> _Measure:
        raise NotImplementedError


class _NumericDetector(_Detector):
    kind = NUMERIC
    effect_name = "wasserstein_normed"

    def fit(self, reference: FeatureProfile) -> Self:
        import numpy as np

        super().fit(reference)
        self.reference_sample_ = np.asarray(reference.sample, dtype=float)
        self.scale_, self.scale_name_ = _scale(reference, self.reference_sample_, self._cfg.normalise_by)
        return self

    def _effect(self, distance: float) -> tuple[float, str, str]:
        """The Wasserstein distance as an effect size: (value, effect_name, effect_scale)."""
        if self.scale_ > 0:
            return distance / self.scale_, self.effect_name, self.scale_name_
        return distance, "wasserstein", "none"

    def _power(self, reference: FeatureProfile, current: FeatureProfile, cfg: DriftConfig,
               m: _Measure) -> dict[str, Any] | None:
        """KS on the samples (at alpha; at alpha/2 where Bonferroni combines it with the binned test, a
        lower bound then) against a normal shift; the effect in the verdict's units (std or IQR)."""
        if m.effect_scale not in ("std", "iqr"):
            return None  # a constant reference: no spread to express a shift in
        per_std = NORMAL_IQR if m.effect_scale == "iqr" else 1.0  # a normal's IQR is 1.349 std
        n_ref, n_cur = len(reference.sample), len(current.sample)
        alpha = cfg.alpha / 2 if m.p_value_combination == "bonferroni" else cfg.alpha
        mde = stats.ks_detectable_shift(n_ref, n_cur, alpha)
        return _power_record(
            "ks_2samp", alpha, n_ref, n_cur, m.effect_name or self.effect_name, m.threshold,
            stats.ks_power(n_ref, n_cur, m.threshold * per_std, alpha),
            None if mde is None else mde / per_std,
            f"a normal feature shifted by the effect ({m.effect_scale} units); KS at its Pitman efficiency "
            "2/pi relative to the z-test")

    def _psi(self, reference: FeatureProfile, current: FeatureProfile) -> float:
        if current.edges != reference.edges:
            raise ProfileMismatchError(
                f"feature {reference.name!r}: the current profile is not binned on the reference's edges "
                "(build it with build_profile(..., reference=reference_profile))")
        return stats.psi(reference.bin_counts, current.bin_counts)


class KSDetector(_NumericDetector):
    """Numeric, small samples: two-sample KS test on the profiles' samples (all values up to max_sample)."""

    method = "ks"

    def _measure(self, reference: FeatureProfile, current: FeatureProfile, cfg: DriftConfig) -> _Measure:
        import numpy as np

        sample = np.asarray(current.sample, dtype=float)
        d, p = stats.ks(self.reference_sample_, sample)
        effect, name, scale = self._effect(stats.wasserstein(self.reference_sample_, sample, 0.0))
        ks_test = {"test": "ks_2samp", "statistic_name": "ks_statistic", "statistic": d, "p_value": p}
        return _Measure(d, "ks_statistic", "ks_2samp", p, effect, cfg.wasserstein_threshold, (ks_test,),
                        effect_name=name, effect_scale=scale)


class WassersteinDetector(_NumericDetector):
    """Numeric, large samples: Wasserstein distance of all rows normalised by the reference's std (or IQR).

    The distance comes from the per-bin counts and sums (:func:`stats.binned_wasserstein`: exact for shifts,
    a lower bound otherwise), so it carries no sampling noise of the bounded sample. Significance uses every
    row through the binned counts (chi-square) and the samples' shape (KS), the smaller p-value doubled
    (Bonferroni), so that a shift too small for the effect gate is still reported as ``minor``.
    """

    method = "wasserstein"

    def _measure(self, reference: FeatureProfile, current: FeatureProfile, cfg: DriftConfig) -> _Measure:
        import numpy as np

        chi2, p_bins, dof = stats.chi2_counts(reference.bin_counts, current.bin_counts)
        d, p_ks = stats.ks(self.reference_sample_, np.asarray(current.sample, dtype=float))
        p = min(1.0, 2.0 * min(p_bins, p_ks))
        distance = stats.binned_wasserstein(reference.edges, reference.bin_counts, reference.bin_sums,
                                            current.bin_counts, current.bin_sums)
        effect, name, scale = self._effect(distance)
        tests = ({"test": "chi2_binned", "statistic_name": "chi_square_statistic", "statistic": chi2,
                  "dof": dof, "p_value": p_bins},
                 {"test": "ks_2samp", "statistic_name": "ks_statistic", "statistic": d, "p_value": p_ks})
        return _Measure(effect, "wasserstein_normed" if scale != "none" else "wasserstein",
                        "chi2_binned+ks_2samp", p, effect, cfg.wasserstein_threshold, tests, "bonferroni",
                        effect_name=name, effect_scale=scale)


class _CategoricalDetector(_Detector):
    kind = CATEGORICAL
    effect_name = "jensen_shannon"

    def _aligned(self, reference: FeatureProfile, current: FeatureProfile) -> tuple[list[int], list[int]]:
        cur = current.frequencies
        if OTHER in reference.frequencies:  # the reference was capped: unknown categories may hide in OTHER
            cur = {}
            for key, n in current.frequencies.items():
                target = key if key in reference.frequencies else OTHER
                cur[target] = cur.get(target, 0) + n
        _, r, c = stats.aligned_counts(reference.frequencies, cur)
        return r, c

    def _psi(self, reference: FeatureProfile, current: FeatureProfile) -> float:
        return stats.psi(*self._aligned(reference, current))

    def _power(self, reference: FeatureProfile, current: FeatureProfile, cfg: DriftConfig,
               m: _Measure) -> dict[str, Any] | None:
        """Chi-square over the reference's categories against shares moved by the JS threshold."""
        k = len(reference.frequencies)
        power = stats.chi2_power(reference.count, current.count, k, m.threshold, cfg.alpha)
        if power is None:
            return None
        return _power_record(
            "chi2_contingency", cfg.alpha, reference.count, current.count, self.effect_name, m.threshold,
            power, stats.chi2_detectable_js(reference.count, current.count, k, cfg.alpha),
            f"category shares moved by the effect over the reference's {k} categories; noncentral "
            "chi-square")

    def _tests(self, reference: FeatureProfile, current: FeatureProfile
               ) -> tuple[float, float, float, dict[str, Any]]:
        r, c = self._aligned(reference, current)
        chi2, p, dof = stats.chi2_counts(r, c)
        test = {"test": "chi2_contingency", "statistic_name": "chi_square_statistic", "statistic": chi2,
                "dof": dof, "p_value": p}
        return chi2, p, stats.js_distance(r, c), test


class ChiSquareDetector(_CategoricalDetector):
    """Categorical, small samples: chi-square test of homogeneity of the category counts."""

    method = "chi_square"

    def _measure(self, reference: FeatureProfile, current: FeatureProfile, cfg: DriftConfig) -> _Measure:
        chi2, p, js, test = self._tests(reference, current)
        return _Measure(chi2, "chi_square_statistic", "chi2_contingency", p, js, cfg.js_threshold, (test,))


class JensenShannonDetector(_CategoricalDetector):
    """Categorical, large samples: Jensen-Shannon distance (base 2) of the category frequencies."""

    method = "jensen_shannon"

    def _measure(self, reference: FeatureProfile, current: FeatureProfile, cfg: DriftConfig) -> _Measure:
        _, p, js, test = self._tests(reference, current)
        return _Measure(js, "jensen_shannon_distance", "chi2_contingency", p, js, cfg.js_threshold, (test,))


class _AutoDetector(_Detector):
    """Picks the small- or large-sample detector per comparison from both sides' counts."""

    small: type[_Detector] = _Detector
    large: type[_Detector] = _Detector

    def fit(self, reference: FeatureProfile) -> Self:
        super().fit(reference)
        self.small_ = self.small(self.config).fit(reference)
        self.large_ = self.large(self.config).fit(reference)
        return self

    def score(self, current: FeatureProfile) -> FeatureDrift:
        if getattr(self, "reference_", None) is None:
            raise DetectorNotFittedError(f"{type(self).__name__} is not fitted: call fit(reference) first")
        n = min(self.reference_.count, current.count)
        return (self.large_ if n > self._cfg.large_sample else self.small_).score(current)


class NumericDriftDetector(_AutoDetector):
    """KS up to ``large_sample`` values on either side, normalised Wasserstein above."""

    kind = NUMERIC
    small, large = KSDetector, WassersteinDetector


class CategoricalDriftDetector(_AutoDetector):
    """Chi-square up to ``large_sample`` values on either side, Jensen-Shannon above."""

    kind = CATEGORICAL
    small, large = ChiSquareDetector, JensenShannonDetector


def detector_for(kind: str, config: DriftConfig | None = None) -> _AutoDetector:
    """The size-switching detector of a feature kind (``numeric`` or ``categorical``)."""
    if kind == NUMERIC:
        return NumericDriftDetector(config)
    if kind == CATEGORICAL:
        return CategoricalDriftDetector(config)
    raise ProfileMismatchError(f"unknown feature kind {kind!r}")


def detect_drift(reference: Profile, current: Profile, config: DriftConfig | None = None) -> DriftResult:
    """Compare every reference feature with the current profile (built with ``reference=reference``).

    Features of the reference absent from the current profile are ``insufficient_data``; features only in
    the current profile are listed in ``ignored_features``. The prediction feature is judged apart.
    """
    cfg = config if config is not None else DriftConfig()
    features: list[FeatureDrift] = []
    prediction: FeatureDrift | None = None
    for name, ref in reference.features.items():
        cur = current.features.get(name)
        if cur is None:
            verdict = FeatureDrift(feature=name, kind=ref.kind, status=INSUFFICIENT, method="none",
                                   n_reference=int(ref.count), reason="feature absent from the current data")
        else:
            verdict = detector_for(ref.kind, cfg.for_feature(name)).fit(ref).score(cur)
        if name == cfg.prediction_feature:
            prediction = verdict
        else:
            features.append(verdict)
    ignored = [n for n in current.features if n not in reference.features]
    return DriftResult(features=features, prediction=prediction, share_threshold=cfg.drift_share,
                       rows_reference=reference.rows, rows_current=current.rows,
                       config=cfg.model_dump(mode="json"), ignored_features=ignored)


# --------------------------------------------------------------------------------------------- helpers
def _gate(p_value: float, effect: float, threshold: float, psi: float, cfg: DriftConfig,
          effect_name: str, effect_scale: str | None) -> tuple[Status, str]:
    significant = p_value < cfg.alpha
    large = effect >= threshold or psi >= cfg.psi_drift
    sig = f"p={p_value:.3g} {'<' if significant else '>='} alpha {cfg.alpha:g}"
    size = (f"{effect_label(effect_name, effect_scale)} {effect:.3g} {'>=' if effect >= threshold else '<'} "
            f"{threshold:g}, PSI {psi:.3g}")
    if significant and large:
        return DRIFT, f"significant ({sig}) and large ({size})"
    if significant:
        return MINOR, f"significant ({sig}) but small ({size})"
    return STABLE, f"not significant ({sig}); {size}"


def _too_few(n_reference: int, n_current: int, need: int, cfg: DriftConfig) -> str:
    """Why a feature has no verdict, and how many values it needs (on which side)."""
    rule = ("" if cfg.min_sample is not None else
            f"; the minimum is half the reference's values, at least {MIN_SAMPLE_FLOOR}, at most "
            f"{MIN_SAMPLE_CAP}")
    counts = f"fewer than {need} non-missing values (reference {n_reference}, current {n_current})"
    if n_reference < need:
        return (f"{counts}: the reference holds {n_reference} values, {need} are needed on each side; "
                f"train on more rows to monitor this feature{rule}")
    return f"{counts}: {need} are needed on each side, {need - n_current} more in the window{rule}"


def _power_record(test: str, alpha: float, n_reference: int, n_current: int, effect_name: str,
                  threshold: float, power: float | None, detectable: float | None, assumes: str
                  ) -> dict[str, Any]:
    return {"test": test, "alpha": alpha, "n_reference": n_reference, "n_current": n_current,
            "n_effective": stats.effective_n(n_reference, n_current), "effect_name": effect_name,
            "effect_threshold": threshold, "power": power, "power_target": stats.POWER_TARGET,
            "minimum_detectable_effect": detectable, "assumes": assumes}


def _missing_shift(reference: FeatureProfile, current: FeatureProfile, cfg: DriftConfig, need: int
                   ) -> tuple[str, float | None]:
    """A reason when the share of missing values moved significantly by ``missing_threshold`` or more,
    and the chi-square p-value of that change (None when the change was too small to be tested)."""
    ref_rows, cur_rows = reference.count + reference.missing, current.count + current.missing
    if min(ref_rows, cur_rows) < need:
        return "", None
    before, after = reference.missing_share, current.missing_share
    if abs(after - before) < cfg.missing_threshold:
        return "", None
    _, p, _ = stats.chi2_counts([reference.missing, reference.count], [current.missing, current.count])
    if p >= cfg.alpha:
        return "", p
    return f"missing share moved from {before:.3g} to {after:.3g} (p={p:.3g})", p


def _psi_level(psi: float, cfg: DriftConfig) -> str:
    if psi >= cfg.psi_drift:
        return DRIFT
    return MINOR if psi >= cfg.psi_minor else STABLE


def _scale(reference: FeatureProfile, sample: np.ndarray, normalise_by: str) -> tuple[float, str]:
    """The reference's spread and its name: ``iqr`` of its sample when asked and positive, else ``std``;
    ``(0, "none")`` for a constant reference (whose computed std is rounding noise, not a spread)."""
    import numpy as np

    if not reference.count or reference.min == reference.max:
        return 0.0, "none"
    if normalise_by == "iqr" and len(sample):
        q75, q25 = np.percentile(sample, [75, 25])
        if q75 > q25:
            return float(q75 - q25), "iqr"
    return float(reference.std or 0.0), "std"
