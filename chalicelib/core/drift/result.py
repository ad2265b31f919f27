"""Frozen drift results: one ``FeatureDrift`` per feature and the ``DriftResult`` of a comparison."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, SupportsFloat, TypedDict, cast

Status = Literal["stable", "minor", "drift", "insufficient_data"]
STABLE: Status = "stable"
MINOR: Status = "minor"
DRIFT: Status = "drift"
INSUFFICIENT: Status = "insufficient_data"


class FeatureDriftDict(TypedDict):
    """:meth:`FeatureDrift.to_dict` (non-finite numbers as None) plus its ``description``."""

    feature: str
    kind: str
    status: Status
    method: str
    statistic: float | None
    test: str | None
    p_value: float | None
    effect_name: str | None
    effect: float | None
    effect_threshold: float | None
    psi: float | None
    psi_level: str | None
    n_reference: int
    n_current: int
    missing_share_reference: float | None
    missing_share_current: float | None
    reason: str
    statistic_name: str | None
    effect_scale: str | None
    test_results: list[dict[str, Any]]  # {"test", "statistic_name", "statistic", "p_value"[, "dof"]}
    p_value_combination: str | None
    missing_share_p_value: float | None
    min_sample: int | None  # the non-missing values each side needed (DriftConfig.required_sample)
    power: dict[str, Any] | None  # the test's power at the effect threshold, minimum detectable effect
    description: str


class DriftResultDict(TypedDict):
    status: Status
    dataset_drift: bool
    prediction_drift: bool
    drift_share: float | None
    share_threshold: float
    n_features: int
    n_evaluated: int
    n_drifted: int
    n_minor: int
    drifted_features: list[str]
    minor_features: list[str]
    rows_reference: int
    rows_current: int
    features: list[FeatureDriftDict]
    prediction: FeatureDriftDict | None
    ignored_features: list[str]
    config: dict[str, Any]  # the DriftConfig as JSON


@dataclass(frozen=True)
class FeatureDrift:
    """Verdict on one feature.

    ``method`` names the detector (``ks``, ``wasserstein``, ``chi_square``, ``jensen_shannon``) and
    ``statistic`` its value, which ``statistic_name`` names (``ks_statistic``, ``wasserstein_normed``,
    ``chi_square_statistic``, ``jensen_shannon_distance``): the KS detector's statistic is the KS D, the
    Wasserstein detector's the effect size. ``test`` / ``p_value`` are the significance test behind the
    verdict and ``test_results`` each test that ran (its statistic, p-value, degrees of freedom), with
    ``p_value_combination`` (``bonferroni``) when ``p_value`` combines several. ``effect`` is the effect
    size gated by ``effect_threshold``; ``effect_name`` names it (``wasserstein_normed``, or ``wasserstein``
    when the reference is constant and the distance is not normalised; ``jensen_shannon``) and
    ``effect_scale`` names what a Wasserstein distance was divided by (``std``, ``iqr``, ``none``).
    ``psi`` is always reported, with its level; ``missing_share_p_value`` is the chi-square p-value of the
    change of the missing share, when it was large enough to be tested. ``to_dict`` adds ``description``:
    one line that names every number (:func:`describe`).
    """

    feature: str
    kind: str
    status: Status
    method: str
    statistic: float | None = None
    test: str | None = None
    p_value: float | None = None
    effect_name: str | None = None
    effect: float | None = None
    effect_threshold: float | None = None
    psi: float | None = None
    psi_level: str | None = None
    n_reference: int = 0
    n_current: int = 0
    missing_share_reference: float = 0.0
    missing_share_current: float = 0.0
    reason: str = ""
    statistic_name: str | None = None
    effect_scale: str | None = None
    test_results: tuple[dict[str, Any], ...] = field(default=(), hash=False)  # dicts: not hashable
    p_value_combination: str | None = None
    missing_share_p_value: float | None = None
    min_sample: int | None = None
    power: dict[str, Any] | None = field(default=None, hash=False, compare=False)

    @property
    def drifted(self) -> bool:
        return self.status == DRIFT

    def to_dict(self) -> FeatureDriftDict:
        out = {key: _json_safe(value) for key, value in self.__dict__.items()}
        out["description"] = describe(out)
        return cast(FeatureDriftDict, out)


@dataclass(frozen=True)
class DriftResult:
    """Comparison of a current profile with a reference profile.

    ``dataset_drift`` holds when the share of drifted features among those with enough data reaches
    ``share_threshold``; the prediction feature (if profiled) is judged apart, as ``prediction``.
    """

    features: list[FeatureDrift]
    prediction: FeatureDrift | None
    share_threshold: float
    rows_reference: int
    rows_current: int
    config: dict[str, Any] = field(default_factory=dict)
    ignored_features: list[str] = field(default_factory=list)

    @property
    def evaluated(self) -> list[FeatureDrift]:
        return [f for f in self.features if f.status != INSUFFICIENT]

    @property
    def drifted_features(self) -> list[str]:
        return [f.feature for f in self.features if f.status == DRIFT]

    @property
    def minor_features(self) -> list[str]:
        return [f.feature for f in self.features if f.status == MINOR]

    @property
    def drift_share(self) -> float:
        evaluated = self.evaluated
        return len(self.drifted_features) / len(evaluated) if evaluated else 0.0

    @property
    def dataset_drift(self) -> bool:
        return bool(self.evaluated) and self.drift_share >= self.share_threshold

    @property
    def prediction_drift(self) -> bool:
        return self.prediction is not None and self.prediction.status == DRIFT

    @property
    def status(self) -> Status:
        """``drift`` (dataset or prediction drift), ``minor`` (some feature moved), ``stable``, or
        ``insufficient_data`` when no feature had enough data."""
        if self.dataset_drift or self.prediction_drift:
            return DRIFT
        judged = self.evaluated + ([self.prediction] if self.prediction and
                                   self.prediction.status != INSUFFICIENT else [])
        if not judged:
            return INSUFFICIENT
        return MINOR if any(f.status in (MINOR, DRIFT) for f in judged) else STABLE

    def feature(self, name: str) -> FeatureDrift:
        for f in [*self.features, *([self.prediction] if self.prediction else [])]:
            if f.feature == name:
                return f
        raise KeyError(name)

    def to_dict(self) -> DriftResultDict:
        return {
            "status": self.status,
            "dataset_drift": self.dataset_drift,
            "prediction_drift": self.prediction_drift,
            "drift_share": _json_safe(self.drift_share),
            "share_threshold": self.share_threshold,
            "n_features": len(self.features),
            "n_evaluated": len(self.evaluated),
            "n_drifted": len(self.drifted_features),
            "n_minor": len(self.minor_features),
            "drifted_features": self.drifted_features,
            "minor_features": self.minor_features,
            "rows_reference": self.rows_reference,
            "rows_current": self.rows_current,
            "features": [f.to_dict() for f in self.features],
            "prediction": self.prediction.to_dict() if self.prediction else None,
            "ignored_features": list(self.ignored_features),
            "config": dict(self.config),
        }


# What each stored name means, in words a reader of a report knows.
STATISTIC_LABELS = {"ks_statistic": "KS statistic", "chi_square_statistic": "chi-square statistic",
                    "jensen_shannon_distance": "Jensen-Shannon distance"}
_METHOD_STATISTIC = {"ks": "ks_statistic", "chi_square": "chi_square_statistic",
                     "wasserstein": "wasserstein_normed", "jensen_shannon": "jensen_shannon_distance"}
_TABLES = {"chi2_binned": " (reference-quantile bins)"}


def effect_label(effect_name: str | None, effect_scale: str | None = None) -> str:
    """How a report names an effect size: ``Wasserstein/std`` (or ``/iqr``), ``Wasserstein distance (not
    normalised: constant reference)``, ``Jensen-Shannon distance``."""
    if effect_name in ("wasserstein_normed", "wasserstein"):
        if effect_scale == "none" or effect_name == "wasserstein":
            return "Wasserstein distance (not normalised: constant reference)"
        return f"Wasserstein/{effect_scale or 'std'}"
    if effect_name in ("jensen_shannon", "jensen_shannon_distance"):
        return "Jensen-Shannon distance"
    return str(effect_name or "effect size")


def statistic_label(statistic_name: str | None, effect_scale: str | None = None) -> str:
    if statistic_name in ("wasserstein_normed", "wasserstein"):
        return effect_label(statistic_name, effect_scale)
    return STATISTIC_LABELS.get(str(statistic_name), str(statistic_name or "statistic"))


def statistic_name_of(item: Mapping[str, Any]) -> str | None:
    """What a stored verdict's ``statistic`` is (verdicts stored before ``statistic_name``: by method)."""
    return item.get("statistic_name") or _METHOD_STATISTIC.get(str(item.get("method")))


def describe(item: Mapping[str, Any]) -> str:
    """One line naming every number of a verdict (a ``FeatureDrift.to_dict()``, also as stored by older
    versions): ``KS statistic 0.979 (p=1e-12); effect size: Wasserstein/std 5.22 ≥ 0.1; PSI 8.3``."""
    if item.get("p_value") is None or item.get("effect") is None:
        return str(item.get("reason") or item.get("status") or "")
    scale = item.get("effect_scale")
    tests = [_test_text(t, scale) for t in item.get("test_results") or []]
    if not tests:  # stored before test_results existed: the statistic under its method's name
        name = statistic_name_of(item)
        tests = [f"{statistic_label(name, scale)} {_g(item.get('statistic'))} (p={_g(item['p_value'])})"]
    text = ", ".join(tests)
    if item.get("p_value_combination"):
        text += f": {item['p_value_combination'].capitalize()} p={_g(item['p_value'])}"
    effect, threshold = item["effect"], item.get("effect_threshold")
    text += f"; effect size: {effect_label(item.get('effect_name'), scale)} {_g(effect)}"
    if threshold is not None:
        text += f" {'≥' if effect >= threshold else '<'} {_g(threshold)}"
    if item.get("psi") is not None:
        text += f"; PSI {_g(item['psi'])}"
    if item.get("missing_share_p_value") is not None:
        before, after = item.get("missing_share_reference"), item.get("missing_share_current")
        p_missing = _g(item["missing_share_p_value"])
        text += f"; missing share {_g(before)} → {_g(after)} (chi-square p={p_missing})"
    return text


def power_text(item: Mapping[str, Any]) -> str:
    """What the verdict's test could see, in one line: ``power 0.13 to detect Wasserstein/std 0.1 at alpha
    0.05 (94 reference, 74 current values); minimum detectable effect at 80 % power: Wasserstein/std 0.46``
    (empty without a power statement)."""
    power = item.get("power")
    if not power:
        return ""
    label = effect_label(power.get("effect_name") or item.get("effect_name"), item.get("effect_scale"))
    detectable = power.get("minimum_detectable_effect")
    seen = (f"{label} {_g(detectable)}" if detectable is not None
            else "none (not even a complete change at these sizes)")
    sizes = f"{power.get('n_reference')} reference, {power.get('n_current')} current values"
    return (f"power {_g(power.get('power'))} to detect {label} {_g(power.get('effect_threshold'))} at alpha "
            f"{_g(power.get('alpha'))} ({sizes}); minimum detectable effect at "
            f"{power.get('power_target', 0.8):.0%} power: {seen}")


def _test_text(test: Mapping[str, Any], scale: str | None) -> str:
    label = statistic_label(test.get("statistic_name"), scale) + _TABLES.get(str(test.get("test")), "")
    dof = f"dof {test['dof']}, " if test.get("dof") is not None else ""
    return f"{label} {_g(test.get('statistic'))} ({dof}p={_g(test.get('p_value'))})"


def _g(value: SupportsFloat | str | None) -> str:
    return "n/a" if value is None else f"{float(value):.3g}"


def _json_safe(value: object) -> Any:
    """Plain Python values; NaN and infinities (not valid JSON) become None."""
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    try:  # numpy scalars, Decimal: whatever float() takes
        return _json_safe(float(cast(SupportsFloat, value)))
    except (TypeError, ValueError):
        return str(value)
