"""Frozen drift results: one ``FeatureDrift`` per feature and the ``DriftResult`` of a comparison."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["stable", "minor", "drift", "insufficient_data"]
STABLE: Status = "stable"
MINOR: Status = "minor"
DRIFT: Status = "drift"
INSUFFICIENT: Status = "insufficient_data"


@dataclass(frozen=True)
class FeatureDrift:
    """Verdict on one feature.

    ``method`` names the detector (``ks``, ``wasserstein``, ``chi_square``, ``jensen_shannon``) and
    ``statistic`` its value; ``test`` / ``p_value`` the significance test behind the verdict; ``effect`` the
    effect size gated by ``effect_threshold`` (``effect_name``); ``psi`` is always reported, with its level.
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

    @property
    def drifted(self) -> bool:
        return self.status == DRIFT

    def to_dict(self) -> dict[str, Any]:
        return {key: _json_safe(value) for key, value in self.__dict__.items()}


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

    def to_dict(self) -> dict[str, Any]:
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


def _json_safe(value: Any) -> Any:
    """Plain Python values; NaN and infinities (not valid JSON) become None."""
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    try:
        return _json_safe(float(value))
    except (TypeError, ValueError):
        return str(value)
