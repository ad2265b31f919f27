"""The CLI's HTTP client without a server: which URLs are signed, where the API URL comes from, how
record files are read (tests/functional/cli/test_api_client.py talks to a stub API)."""

import json

import pytest

from sluice.api_client import ApiClient, ApiError, resolve_api_url
from sluice.cli import main
from sluice.cli.files import read_records


def test_only_deployed_api_gateway_urls_are_signed_by_default():
    assert ApiClient("https://abc.execute-api.eu-west-1.amazonaws.com/api").sign is True
    assert ApiClient("http://127.0.0.1:8000").sign is False


def test_the_api_url_comes_from_the_flag_then_the_environment_then_the_local_stack(tmp_path, monkeypatch):
    state = tmp_path / "local.json"
    monkeypatch.delenv("SLUICE_API", raising=False)
    with pytest.raises(ApiError) as caught:
        resolve_api_url(None, state)
    assert caught.value.code == "no_api"
    state.write_text(json.dumps({"api_url": "http://127.0.0.1:9/"}))
    assert resolve_api_url(None, state) == "http://127.0.0.1:9"
    monkeypatch.setenv("SLUICE_API", "http://env:1")
    assert resolve_api_url(None, state) == "http://env:1"
    assert resolve_api_url("http://flag:2/", state) == "http://flag:2"


def test_csv_cells_become_json_values_but_codes_and_dates_stay_text(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("km,n,code,day,flag,city,missing\n3.5,2,007,2026-11-26,true,Berlin,\n")
    assert read_records(path) == [{"km": 3.5, "n": 2, "code": "007", "day": "2026-11-26", "flag": True,
                                   "city": "Berlin", "missing": None}]


def test_an_unreadable_records_file_is_a_clear_local_error(tmp_path, capsys):
    path = tmp_path / "in.json"
    path.write_text('{"rows": []}')
    with pytest.raises(ApiError) as caught:
        read_records(path)
    assert caught.value.code == "invalid_file" and "records" in caught.value.message
    assert main(["predict", "fare", str(tmp_path / "nowhere.csv"), "--api", "http://127.0.0.1:9"]) == 1
    assert "file_not_found" in capsys.readouterr().out
