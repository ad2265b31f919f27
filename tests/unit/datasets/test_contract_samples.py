"""The key rules of contract inference from a sample, without AWS: a key is full under raw/ or staging/,
or relative to both; staging keys are unique and time-stamped (the routes: tests/functional/datasets)."""

import pytest

from chalicelib.core.datasets.errors import ObjectKeyInvalidError
from chalicelib.storage import layout


@pytest.mark.parametrize(("key", "expected"), [
    ("raw/rides/a.csv", ["raw/rides/a.csv"]),
    ("staging/rides/2026/a.csv", ["staging/rides/2026/a.csv"]),
    ("a.csv", ["raw/rides/a.csv", "staging/rides/a.csv"]),
    ("2026/01/a.csv", ["raw/rides/2026/01/a.csv", "staging/rides/2026/01/a.csv"]),
    ("rawish/a.csv", ["raw/rides/rawish/a.csv", "staging/rides/rawish/a.csv"]),
])
def test_inference_keys_are_full_under_raw_or_staging_or_relative_to_both(key, expected):
    assert layout.inference_keys("rides", key) == expected


@pytest.mark.parametrize("key", ["", "raw/rides/", "raw/taxis/a.csv", "staging/taxis/a.csv",
                                 "curated/rides/x", "a/../../x.csv", "./a.csv", "/a.csv",
                                 "staging/rides/./a.csv"])
def test_inference_keys_refuse_other_datasets_other_prefixes_and_path_tricks(key):
    with pytest.raises(ObjectKeyInvalidError):
        layout.inference_keys("rides", key)


def test_staging_keys_are_unique_time_stamped_and_inside_staging():
    import datetime as dt

    at = dt.datetime(2026, 11, 26, 16, 33, 47, tzinfo=dt.UTC)
    assert layout.staging_key("rides", "a.csv", now=at, token="abc") == \
        "staging/rides/20261126T163347Z-abc-a.csv"
    assert layout.dataset_of_key(layout.staging_key("rides", "a.csv"), "staging") == "rides"
    assert layout.dataset_of_key(layout.staging_key("rides", "a.csv")) is None  # not a raw key
