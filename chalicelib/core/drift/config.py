"""Drift thresholds (``DriftConfig``) and the drift package's errors.

The defaults follow common practice: significance at 5 %, Evidently's 0.1 for the normalised
Wasserstein distance and the Jensen-Shannon distance, and the PSI rule of thumb (0.1 minor, 0.25 major).
A model's spec may override any of them; ``DriftConfig.model_validate(spec_dict)`` rejects unknown keys.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chalicelib.core.errors import SluiceError

# The minimum sample when the config sets none: half the reference's values, at least 30, at most 100.
MIN_SAMPLE_FLOOR = 30
MIN_SAMPLE_CAP = 100
FeatureKind = Literal["numeric", "categorical"]
NUMERIC: FeatureKind = "numeric"
CATEGORICAL: FeatureKind = "categorical"
OTHER = "__other__"  # bucket of the categories beyond the top-K cap


class FeatureThresholds(BaseModel):
    """Per-feature overrides of :class:`DriftConfig`'s thresholds (unset fields keep the model's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alpha: float | None = Field(None, gt=0.0, lt=1.0)
    wasserstein_threshold: float | None = Field(None, gt=0.0)
    js_threshold: float | None = Field(None, gt=0.0, le=1.0)
    psi_minor: float | None = Field(None, ge=0.0)
    psi_drift: float | None = Field(None, gt=0.0)
    min_sample: int | None = Field(None, ge=2)
    missing_threshold: float | None = Field(None, gt=0.0, le=1.0)
    normalise_by: Literal["std", "iqr"] | None = None


class DriftConfig(BaseModel):
    """Thresholds of the drift detectors.

    A feature is ``drift`` only when its test is significant (``p_value < alpha``) AND its effect size
    reaches the method's threshold (or its PSI reaches ``psi_drift``); significant with a small effect is
    ``minor``; otherwise ``stable``. Fewer than the minimum sample (:meth:`required_sample`) of non-missing
    values on either side gives ``insufficient_data``, unless the missing share itself moved: a significant
    change of at least
    ``missing_threshold`` in the share of missing values is ``drift`` whatever the values say. Up to
    ``large_sample`` values the small-sample methods run on the samples (KS, chi-square); above it the
    large-sample effect sizes (normalised Wasserstein, Jensen-Shannon) decide.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    alpha: float = Field(0.05, gt=0.0, lt=1.0, description="significance level of the tests")
    wasserstein_threshold: float = Field(0.1, gt=0.0, description="normalised Wasserstein effect for drift")
    js_threshold: float = Field(0.1, gt=0.0, le=1.0, description="Jensen-Shannon distance (base 2) for drift")
    psi_minor: float = Field(0.1, ge=0.0, description="PSI reported as a minor shift")
    psi_drift: float = Field(0.25, gt=0.0, description="PSI that counts as a large effect on its own")
    min_sample: int | None = Field(None, ge=2, description="fewer non-missing values on either side: "
                                   "insufficient_data; unset: scales with the reference (required_sample)")
    missing_threshold: float = Field(0.1, gt=0.0, le=1.0,
                                     description="change of the missing share that is drift when significant")
    large_sample: int = Field(1000, ge=2, description="above this many values: large-sample methods")
    drift_share: float = Field(0.5, gt=0.0, le=1.0, description="share of drifted features for dataset drift")
    normalise_by: Literal["std", "iqr"] = Field("std", description="scale of the Wasserstein distance")
    prediction_feature: str = Field("prediction", min_length=1, description="feature holding model outputs")
    features: dict[str, FeatureThresholds] = Field(default_factory=dict, description="per-feature overrides")

    @model_validator(mode="after")
    def _psi_thresholds_ordered(self) -> DriftConfig:
        if self.psi_minor > self.psi_drift:
            raise ValueError("psi_minor must not exceed psi_drift")
        for name in self.features:
            self.for_feature(name)  # each override must give a consistent config too
        return self

    def required_sample(self, reference_count: int) -> int:
        """The non-missing values each side needs for a verdict on a feature whose reference holds
        ``reference_count``: ``min_sample`` when set; else half the reference (rounded up), at least
        :data:`MIN_SAMPLE_FLOOR` and at most :data:`MIN_SAMPLE_CAP`.

        Why: a two-sample test's evidence is its effective size ``n_ref * n_cur / (n_ref + n_cur)``, which
        the smaller side bounds, so a fixed 100 left every model trained on fewer than ~125 rows (80 % of
        them as training rows) unmonitored for ever. Half the reference lets the window's effective size
        reach a third of the reference's; below 30 values KS and chi-square only see shifts of about a
        standard deviation or more (each verdict states its power); 100 stays the largest requirement,
        as before, so large references behave as they did.
        """
        if self.min_sample is not None:
            return self.min_sample
        return min(MIN_SAMPLE_CAP, max(MIN_SAMPLE_FLOOR, -(-int(reference_count) // 2)))

    def for_feature(self, name: str) -> DriftConfig:
        """This config with ``features[name]``'s overrides applied (itself when there are none)."""
        override = self.features.get(name)
        if override is None:
            return self
        data = self.model_dump(exclude={"features"})
        data.update(override.model_dump(exclude_none=True))
        return DriftConfig.model_validate(data)


class DriftError(SluiceError):
    """Base of the drift package's errors."""

    status = 400
    code = "drift_error"


class ProfileMismatchError(DriftError):
    """Two profiles cannot be merged or compared (other features, kinds or bin edges)."""

    code = "profile_mismatch"


class DetectorNotFittedError(DriftError):
    """A drift detector was used before ``fit`` on a reference profile."""

    status = 500
    code = "detector_not_fitted"
