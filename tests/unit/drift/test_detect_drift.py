"""detect_drift over whole profiles: the share rule, prediction drift, missing features, JSON output."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from chalicelib.core.drift.config import DriftConfig
from chalicelib.core.drift.detectors import detect_drift
from chalicelib.core.drift.profile import Profile, build_profile

N = 5_000


def frame(rng: np.random.Generator, shifts: dict[str, float], n: int = N) -> pd.DataFrame:
    return pd.DataFrame({name: rng.normal(shift, 1.0, n) for name, shift in shifts.items()})


def compare(rng, ref_shifts, cur_shifts, config=None, n_current=N):
    types = dict.fromkeys(ref_shifts, "numeric")
    reference = build_profile(frame(rng, ref_shifts), types)
    current = build_profile(frame(rng, cur_shifts, n_current), dict.fromkeys(cur_shifts, "numeric"),
                            reference=reference, seed=1)
    return detect_drift(reference, current, config)


def test_dataset_drift_when_the_share_of_drifted_features_reaches_the_threshold(rng):
    result = compare(rng, {"a": 0, "b": 0, "c": 0, "d": 0}, {"a": 1.0, "b": 1.0, "c": 0, "d": 0})

    assert result.drifted_features == ["a", "b"]
    assert result.drift_share == 0.5
    assert result.dataset_drift is True
    assert result.status == "drift"


def test_no_dataset_drift_below_the_share_threshold(rng):
    result = compare(rng, {"a": 0, "b": 0, "c": 0, "d": 0}, {"a": 1.0, "b": 1.0, "c": 0, "d": 0},
                     DriftConfig(drift_share=0.75))

    assert result.drifted_features == ["a", "b"]
    assert result.dataset_drift is False
    assert result.status == "minor"


def test_features_without_enough_data_do_not_count_in_the_share(rng):
    types = {"a": "numeric", "b": "numeric", "c": "numeric"}
    old, new = frame(rng, {"a": 0, "b": 0, "c": 0}), frame(rng, {"a": 2.0, "b": 0, "c": 0})
    old.loc[20:, "c"] = new.loc[20:, "c"] = np.nan  # 20 values in c on each side: below the 30 at least
    reference = build_profile(old, types)
    current = build_profile(new, types, reference=reference)

    result = detect_drift(reference, current)

    assert result.feature("c").status == "insufficient_data"
    assert len(result.evaluated) == 2
    assert result.drift_share == 0.5 and result.dataset_drift is True


def test_no_feature_with_enough_data_is_insufficient_data_not_stable(rng):
    result = compare(rng, {"a": 0}, {"a": 0}, n_current=20)

    assert result.status == "insufficient_data"
    assert result.dataset_drift is False


def test_prediction_drift_is_judged_apart_from_the_features(rng):
    result = compare(rng, {"a": 0, "b": 0, "prediction": 0}, {"a": 0, "b": 0, "prediction": 1.0})

    assert result.prediction is not None and result.prediction.feature == "prediction"
    assert result.prediction_drift is True
    assert [f.feature for f in result.features] == ["a", "b"]
    assert result.dataset_drift is False
    assert result.status == "drift"


def test_a_stable_window_is_stable(rng):
    result = compare(rng, {"a": 0, "b": 0}, {"a": 0, "b": 0}, DriftConfig(alpha=1e-6))

    assert result.status == "stable"
    assert result.drifted_features == [] and result.minor_features == []


def test_a_feature_absent_from_the_current_data_is_insufficient_and_extra_ones_are_ignored(rng):
    reference = build_profile(frame(rng, {"a": 0, "b": 0}), {"a": "numeric", "b": "numeric"})
    current = build_profile(frame(rng, {"a": 0}), {"a": "numeric"}, reference=reference)
    current.features["z"] = build_profile(frame(rng, {"z": 0}), {"z": "numeric"})["z"]

    result = detect_drift(reference, current)

    assert result.feature("b").status == "insufficient_data"
    assert result.feature("b").reason == "feature absent from the current data"
    assert result.ignored_features == ["z"]


def test_the_result_is_json_safe_and_deterministic(rng):
    data = pd.DataFrame({"x": rng.normal(size=N), "k": rng.choice(["u", "v"], size=N),
                         "const": np.ones(N)})
    types = {"x": "numeric", "k": "categorical", "const": "numeric"}
    reference = build_profile(data, types)
    shifted = data.assign(x=data["x"] + 1.0, const=2.0)
    current = Profile.from_dict(build_profile(shifted, types, reference=reference).to_dict())

    first = detect_drift(reference, current).to_dict()
    again = detect_drift(Profile.from_dict(reference.to_dict()), current).to_dict()

    text = json.dumps(first, allow_nan=False)
    assert json.loads(text) == again
    assert first["drifted_features"] == ["x", "const"]
    assert first["features"][0]["reason"].startswith("significant (p=")
    assert set(first["features"][0]) >= {"feature", "kind", "status", "method", "statistic", "p_value",
                                         "effect", "psi", "psi_level", "n_reference", "n_current"}


def test_the_result_records_the_config_it_used(rng):
    result = compare(rng, {"a": 0}, {"a": 0}, DriftConfig(wasserstein_threshold=0.2))

    assert result.to_dict()["config"]["wasserstein_threshold"] == 0.2
    assert result.feature("a").effect_threshold == pytest.approx(0.2)


def test_per_feature_thresholds_override_the_model_config(rng):
    config = DriftConfig(features={"a": {"wasserstein_threshold": 5.0, "psi_drift": 10.0}})

    result = compare(rng, {"a": 0, "b": 0}, {"a": 1.0, "b": 1.0}, config)

    assert result.feature("a").status == "minor" and result.feature("a").effect_threshold == 5.0
    assert result.feature("b").status == "drift" and result.feature("b").effect_threshold == 0.1


def test_a_per_feature_override_must_be_consistent():
    with pytest.raises(ValidationError, match="psi_minor must not exceed psi_drift"):
        DriftConfig(features={"a": {"psi_minor": 0.5}})
