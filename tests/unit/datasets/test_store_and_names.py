"""Naming rules of the dataset store (keys, curated column names, timestamps) and a missing PII key."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.core.datasets import names
from chalicelib.core.datasets.errors import (
    DatasetNameInvalidError,
    ObjectKeyInvalidError,
    UploadFilenameInvalidError,
)
from chalicelib.core.errors import ConfigurationError
from chalicelib.core.settings import Settings
from chalicelib.storage import layout
from chalicelib.storage.pii_key import pii_key


@pytest.mark.parametrize(("key", "dataset"), [
    ("raw/rides/a.csv", "rides"), ("raw/rides/2026/01/a.csv", "rides"), ("raw/rides/", None),
    ("raw/a.csv", None), ("raw/Rides/a.csv", None), ("raw/rides/../x/a.csv", None), ("curated/rides/a", None),
    ("raw/rides//a.csv", None), ("raw/rides\n/a.csv", None),
])
def test_the_dataset_of_a_raw_key(key, dataset):
    assert layout.dataset_of_key(key) == dataset


@pytest.mark.parametrize("name", ["rides\n", "rides\r", "rides ", "\nrides"])
def test_dataset_names_with_a_newline_or_space_at_either_end_are_refused(name):
    """"$" matches before a trailing newline: names are full matches, or "rides\n" would be stored."""
    with pytest.raises(DatasetNameInvalidError):
        names.check_dataset_name(name)


@pytest.mark.parametrize("filename", ["rides.csv\n", "rides.csv\r", "\nrides.csv"])
def test_upload_file_names_with_a_newline_at_either_end_are_refused(filename):
    with pytest.raises(UploadFilenameInvalidError):
        names.check_filename(filename)


def test_upload_keys_are_unique_time_stamped_and_inside_raw():
    at = dt.datetime(2026, 11, 26, 16, 33, 47, tzinfo=dt.UTC)
    assert layout.upload_key("rides", "a.csv", now=at, token="abc") == "raw/rides/20261126T163347Z-abc-a.csv"
    with pytest.raises(UploadFilenameInvalidError):
        layout.upload_key("rides", "../a.csv")
    with pytest.raises(ObjectKeyInvalidError):
        layout.check_raw_key("rides", "raw/taxis/a.csv")


def test_timestamps_are_iso_utc_with_milliseconds():
    at = dt.datetime(2026, 11, 26, 16, 33, 47, 123456, tzinfo=dt.UTC)
    assert names.now_iso(at) == "2026-11-26T16:33:47.123Z"


def test_no_pii_key_is_a_configuration_error_that_names_the_settings():
    with pytest.raises(ConfigurationError) as caught:
        pii_key(Settings())
    assert caught.value.code == "pii_key_missing"
    assert "SLUICE_PII_KEY_PARAMETER" in caught.value.message


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_curated_column_names_are_exactly_what_awswrangler_gives_athena(name):
    from awswrangler.catalog import sanitize_column_name

    assert layout.curated_column(name) == sanitize_column_name(name)


def test_curated_names_stay_distinct_when_undeclared_columns_collide():
    assert layout.curated_columns(["Sepal Length", "sepal_length", "dataset_version", "x"]) == {
        "Sepal Length": "sepal_length", "sepal_length": "sepal_length_2",
        "dataset_version": "dataset_version_2", "x": "x"}
