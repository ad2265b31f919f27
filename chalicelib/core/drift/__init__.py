"""Drift monitoring: compact reference/current profiles, drift detectors, drift results.

Pure statistics (numpy/scipy, imported lazily); storage and scheduling live in other modules.
Importing this package imports nothing: the names below load their module on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DriftConfig": "config", "ProfileMismatchError": "config", "DetectorNotFittedError": "config",
    "DriftError": "config", "FeatureThresholds": "config",
    "Profile": "profile", "FeatureProfile": "profile", "build_profile": "profile",
    "profile_chunks": "profile",
    "KSDetector": "detectors", "WassersteinDetector": "detectors", "ChiSquareDetector": "detectors",
    "JensenShannonDetector": "detectors", "NumericDriftDetector": "detectors",
    "CategoricalDriftDetector": "detectors", "detector_for": "detectors", "detect_drift": "detectors",
    "FeatureDrift": "result", "DriftResult": "result",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
