"""Profiles: compact, exact where they claim to be, mergeable across chunks, JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from chalicelib.core.drift.config import OTHER, ProfileMismatchError
from chalicelib.core.drift.profile import Profile, build_profile, profile_chunks
from tests.unit.drift.conftest import FEATURES


def test_numeric_profile_holds_counts_moments_and_decile_bins_of_the_data():
    values = np.array([*range(1, 101), np.nan, None, np.inf], dtype=float)
    fp = build_profile(pd.DataFrame({"x": values}), {"x": "numeric"})["x"]

    finite = np.arange(1, 101, dtype=float)
    assert (fp.count, fp.missing) == (100, 3)
    assert fp.mean == pytest.approx(finite.mean(), abs=1e-12)
    assert fp.std == pytest.approx(finite.std(), abs=1e-12)
    assert (fp.min, fp.max) == (1.0, 100.0)
    assert fp.edges == pytest.approx(np.quantile(finite, np.linspace(0, 1, 11)[1:-1]).tolist())
    assert fp.bin_counts == [10] * 10
    assert sum(fp.bin_sums) == pytest.approx(finite.sum())
    assert sorted(fp.sample) == finite.tolist()  # 100 values <= max_sample: the sample is the data


def test_current_profile_uses_the_reference_edges_with_open_outer_bins():
    reference = build_profile(pd.DataFrame({"x": np.arange(100.0)}), {"x": "numeric"})
    far = pd.DataFrame({"x": [-1e9, 50.0, 1e9, 1e9]})
    current = build_profile(far, {"x": "numeric"}, reference=reference)

    assert current["x"].edges == reference["x"].edges
    assert current["x"].bin_counts[0] == 1 and current["x"].bin_counts[-1] == 2
    assert sum(current["x"].bin_counts) == 4


def test_sample_is_bounded_and_drawn_from_the_data(rng):
    data = rng.normal(size=50_000)
    fp = build_profile(pd.DataFrame({"x": data}), {"x": "numeric"}, max_sample=300)["x"]

    assert len(fp.sample) == 300
    assert set(fp.sample) <= set(data.tolist())


def test_unparseable_values_in_a_numeric_column_count_as_missing():
    fp = build_profile(pd.DataFrame({"x": ["1.5", "free", None, "3"]}), {"x": "numeric"})["x"]

    assert (fp.count, fp.missing, fp.mean) == (2, 2, 2.25)


def test_merging_chunk_profiles_equals_the_profile_of_the_concatenation(table):
    reference = build_profile(table(5_000), FEATURES)
    a, b = table(7_000, shift=0.3), table(4_000, shift=-0.2)
    a.loc[::13, "fare"] = np.nan
    b.loc[::7, "payment"] = None

    merged = build_profile(a, FEATURES, reference=reference, seed=1).merge(
        build_profile(b, FEATURES, reference=reference, seed=2))
    whole = build_profile(pd.concat([a, b], ignore_index=True), FEATURES, reference=reference)

    m, w = merged["fare"], whole["fare"]
    assert (m.count, m.missing, m.bin_counts) == (w.count, w.missing, w.bin_counts)
    assert (m.min, m.max) == (w.min, w.max)
    assert m.mean == pytest.approx(w.mean, abs=1e-9)
    assert m.std == pytest.approx(w.std, abs=1e-9)
    assert m.bin_sums == pytest.approx(w.bin_sums, abs=1e-6)
    assert len(m.sample) == 1000 and set(m.sample) <= set(pd.concat([a, b])["fare"].dropna().tolist())
    assert merged["payment"].frequencies == whole["payment"].frequencies
    mp, wp = merged["payment"], whole["payment"]
    assert (mp.count, mp.missing) == (wp.count, wp.missing)
    assert merged.rows == whole.rows == 11_000


def test_merged_sample_draws_from_each_chunk_in_proportion_to_its_size():
    reference = build_profile(pd.DataFrame({"x": np.arange(10.0)}), {"x": "numeric"})
    big = build_profile(pd.DataFrame({"x": np.zeros(90_000)}), {"x": "numeric"}, reference=reference, seed=1)
    small = build_profile(pd.DataFrame({"x": np.ones(10_000)}), {"x": "numeric"}, reference=reference, seed=2)

    sample = big.merge(small)["x"].sample

    assert len(sample) == 1000
    assert 0.06 < np.mean(sample) < 0.14  # 10 % of the rows are ones


def test_profile_chunks_holds_one_chunk_at_a_time_and_matches_the_whole_table(table):
    data = table(20_000)
    reference = build_profile(data.iloc[:5_000], FEATURES)

    chunked = profile_chunks((data.iloc[i:i + 3_000] for i in range(0, 20_000, 3_000)), FEATURES,
                             reference=reference)
    whole = build_profile(data, FEATURES, reference=reference)

    assert chunked["fare"].bin_counts == whole["fare"].bin_counts
    assert chunked["fare"].std == pytest.approx(whole["fare"].std, abs=1e-9)
    assert chunked["payment"].frequencies == whole["payment"].frequencies
    assert chunked.rows == 20_000


def test_profile_chunks_without_reference_fixes_the_edges_on_the_first_chunk(table):
    data = table(9_000)

    chunked = profile_chunks((data.iloc[i:i + 3_000] for i in range(0, 9_000, 3_000)), FEATURES)

    assert chunked["fare"].edges == build_profile(data.iloc[:3_000], FEATURES)["fare"].edges
    assert sum(chunked["fare"].bin_counts) == 9_000


def test_pyarrow_tables_profile_like_pandas_frames(table):
    data = table(3_000)
    data.loc[::5, "fare"] = np.nan

    from_pandas = build_profile(data, FEATURES)
    from_arrow = build_profile(pa.Table.from_pandas(data), FEATURES)

    assert from_arrow.to_dict() == from_pandas.to_dict()


def test_profiles_round_trip_through_json(table):
    reference = build_profile(table(2_000), FEATURES)
    current = build_profile(table(3_000, shift=1.0), FEATURES, reference=reference)

    for profile in (reference, current):
        text = json.dumps(profile.to_dict(), allow_nan=False)
        again = Profile.from_dict(json.loads(text))
        assert again.to_dict() == profile.to_dict()
        assert again["fare"].std == profile["fare"].std


def test_profile_stays_compact_whatever_the_row_count(rng):
    n = 200_000
    data = pd.DataFrame({"x": rng.normal(size=n), "c": rng.integers(0, 10_000, size=n).astype(str)})

    profile = build_profile(data, {"x": "numeric", "c": "categorical"}, max_sample=500, max_categories=50)

    assert len(json.dumps(profile.to_dict())) < 20_000
    assert len(profile["x"].sample) == 500
    assert len(profile["c"].frequencies) == 51  # top 50 and __other__
    assert sum(profile["c"].frequencies.values()) == n


def test_categories_beyond_the_cap_are_folded_into_other():
    data = pd.DataFrame({"c": ["a"] * 5 + ["b"] * 4 + ["c"] * 3 + ["d"] * 2 + ["e"]})

    fp = build_profile(data, {"c": "categorical"}, max_categories=2)["c"]

    assert fp.frequencies == {"a": 5, "b": 4, OTHER: 6}


def test_current_profile_keeps_the_reference_categories_and_the_top_new_ones():
    reference = build_profile(pd.DataFrame({"c": ["a", "b", "rare"]}), {"c": "categorical"}, max_categories=3)
    current = build_profile(pd.DataFrame({"c": ["x"] * 10 + ["y"] * 9 + ["rare"]}), {"c": "categorical"},
                            reference=reference, max_categories=1)

    assert current["c"].frequencies == {"x": 10, "rare": 1, OTHER: 9}


def test_booleans_and_integers_are_categories_by_their_text():
    data = pd.DataFrame({"flag": [True, False, True], "vendor": [1, 2, 1]})

    profile = build_profile(data, {"flag": "categorical", "vendor": "categorical"})

    assert profile["flag"].frequencies == {"True": 2, "False": 1}
    assert profile["vendor"].frequencies == {"1": 2, "2": 1}


def test_chunks_binned_on_different_edges_do_not_merge():
    a = build_profile(pd.DataFrame({"x": np.arange(100.0)}), {"x": "numeric"})
    b = build_profile(pd.DataFrame({"x": np.arange(100.0) * 2}), {"x": "numeric"})

    with pytest.raises(ProfileMismatchError) as info:
        a.merge(b)

    assert info.value.code == "profile_mismatch"
    assert "bin edges differ" in info.value.message


def test_a_current_profile_needs_every_feature_in_the_reference():
    reference = build_profile(pd.DataFrame({"x": [1.0, 2.0]}), {"x": "numeric"})

    with pytest.raises(ProfileMismatchError) as info:
        build_profile(pd.DataFrame({"y": [1.0]}), {"y": "numeric"}, reference=reference)

    assert info.value.code == "profile_mismatch"
    assert "not in the reference profile: ['y']" in info.value.message


def test_unknown_feature_types_are_rejected():
    with pytest.raises(ProfileMismatchError) as info:
        build_profile(pd.DataFrame({"x": [1]}), {"x": "text"})

    assert "'numeric' or 'categorical'" in info.value.message


def test_unused_categories_of_a_pandas_categorical_are_not_counted():
    data = pd.DataFrame({"c": pd.Categorical(["a", "a"], categories=["a", "b"])})

    assert build_profile(data, {"c": "categorical"})["c"].frequencies == {"a": 2}


def test_profiles_of_the_same_rows_join_into_one(table):
    data = table(500)
    inputs = build_profile(data, {"fare": "numeric"})
    outputs = build_profile(pd.DataFrame({"prediction": data["payment"]}), {"prediction": "categorical"})

    joined = inputs.join(outputs)

    assert joined.feature_types == {"fare": "numeric", "prediction": "categorical"}
    assert joined.rows == 500
    with pytest.raises(ProfileMismatchError, match=r"both hold features \['fare'\]"):
        joined.join(inputs)


def test_an_integer_category_column_that_gained_missing_values_keeps_its_categories():
    reference = build_profile(pd.DataFrame({"vendor": [1, 2, 2]}), {"vendor": "categorical"})
    current = build_profile(pd.DataFrame({"vendor": [1.0, 2.0, None, 2.5]}), {"vendor": "categorical"},
                            reference=reference)

    assert current["vendor"].frequencies == {"1": 1, "2": 1, "2.5": 1}
    assert current["vendor"].missing == 1
