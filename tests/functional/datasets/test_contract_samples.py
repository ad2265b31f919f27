"""Contract inference from a sample under staging/: no upload into raw/, no dataset version, a round trip.

``POST /datasets/{dataset}/samples`` signs a PUT under ``staging/{dataset}/``; ``POST …/contract/infer``
reads it (or a raw/ object) by full key or by a key relative to raw/{dataset}/ then staging/{dataset}/;
what it suggests, ``PUT …/contract`` stores as it is.
"""

import json
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
import yaml

from chalicelib.storage import layout
from chalicelib.triggers.table import functions_for_key
from tests.functional.datasets.conftest import REGION, put_raw, rides_csv

JSON = {"Content-Type": "application/json"}


def post(client, path, body):
    return client.http.post(path, body=json.dumps(body), headers=JSON)


def error_of(response):
    return json.loads(response.body)["error"]


def stage(client, dataset: str, filename: str, body: bytes) -> str:
    """Ask for a sample URL and put ``body`` at its key (as the CLI's PUT would)."""
    response = post(client, f"/datasets/{dataset}/samples", {"filename": filename})
    assert response.status_code == 201, response.body
    key = json.loads(response.body)["key"]
    put_raw(key, body)
    return key


def test_a_sample_url_points_into_staging_of_the_dataset_and_lives_briefly(client, moto_world):
    response = post(client, "/datasets/rides/samples", {"filename": "rides-2026-11.csv"})
    assert response.status_code == 201
    out = json.loads(response.body)
    assert out["method"] == "PUT" and out["key"].startswith("staging/rides/")
    assert out["key"].endswith("-rides-2026-11.csv") and out["retention_days"] == 1
    assert 0 < out["expires_in"] <= 3600
    url = urlparse(out["url"])
    assert url.path.endswith(out["key"]) and moto_world.bucket in out["url"]
    assert "X-Amz-Signature" in parse_qs(url.query)
    again = json.loads(post(client, "/datasets/rides/samples", {"filename": "rides-2026-11.csv"}).body)
    assert again["key"] != out["key"]


def test_sample_names_with_path_tricks_and_bad_dataset_names_are_refused(client):
    for filename in ["../x.csv", "a/b.csv", ".hidden", "x\\y.csv"]:
        response = post(client, "/datasets/rides/samples", {"filename": filename})
        assert (response.status_code, error_of(response)["code"]) == (400, "invalid_filename"), filename
    assert error_of(post(client, "/datasets/Rides/samples", {"filename": "a.csv"}))["code"] == "invalid_name"
    assert error_of(post(client, "/datasets/rides/samples", {}))["code"] == "invalid_input"


@pytest.mark.slow
def test_a_staged_sample_infers_a_contract_that_put_stores_and_no_dataset_version_appears(client, alerts):
    key = stage(client, "rides", "rides.csv", rides_csv(30))
    assert functions_for_key(key) == []  # staging/ starts nothing (no validation, no alert)
    answer = post(client, "/datasets/rides/contract/infer", {"key": key})
    assert answer.status_code == 200, answer.body
    contract = json.loads(answer.body)["contract"]
    assert json.loads(answer.body)["source"]["key"] == key
    stored = client.http.put("/datasets/rides/contract", body=yaml.safe_dump(contract, sort_keys=False),
                             headers={"Content-Type": "application/x-yaml"})
    assert stored.status_code == 201, stored.body
    from chalicelib.core.validation.contract import parse_contract

    assert json.loads(stored.body)["contract"] == parse_contract(contract).model_dump(mode="json")
    versions = json.loads(client.http.get("/datasets/rides/versions").body)
    assert versions == {"items": [], "next_token": None}  # inferring created no junk version
    assert alerts() == []


@pytest.mark.slow
def test_a_relative_key_names_the_object_under_raw_then_under_staging(client):
    put_raw("raw/rides/2026/jan.csv", rides_csv(12))
    by_relative = json.loads(post(client, "/datasets/rides/contract/infer", {"key": "2026/jan.csv"}).body)
    assert by_relative["source"]["key"] == "raw/rides/2026/jan.csv"
    staged = stage(client, "rides", "feb.csv", rides_csv(12))
    relative = staged.removeprefix("staging/rides/")
    answer = json.loads(post(client, "/datasets/rides/contract/infer", {"key": relative}).body)
    assert answer["source"]["key"] == staged
    missing = post(client, "/datasets/rides/contract/infer", {"key": "nothing.csv"})
    assert missing.status_code == 404
    assert error_of(missing)["code"] == "object_not_found"
    assert "raw/rides/nothing.csv" in error_of(missing)["message"]
    assert "staging/rides/nothing.csv" in error_of(missing)["message"]


def test_full_keys_outside_the_datasets_raw_or_staging_prefix_are_refused(client):
    cases = {"staging/other/x.csv": "staging/rides/", "staging/rides/../other/x.csv": "staging/rides/",
             "staging/rides/": "staging/rides/", "raw/other/x.csv": "raw/rides/",
             "models/rides/1/model.joblib": "raw/rides/", "../x.csv": "raw/rides/", "a//b.csv": "raw/rides/"}
    for key, where in cases.items():
        response = post(client, "/datasets/rides/contract/infer", {"key": key})
        assert response.status_code == 400, key
        assert error_of(response) == {"code": "invalid_key",
                                      "message": f"key must name an object under {where}"}, key


def test_the_inference_function_reads_staging_and_relative_keys(client, moto_world):
    staged = layout.staging_key("rides", "a.csv")
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=moto_world.bucket, Key=staged, Body=b"ride_id,km\nr1,1.5\nr2,2.5\n")
    invoke = client.lambda_.invoke
    answer = invoke("contract_inference", {"dataset": "rides", "key": staged}).payload
    assert answer["result"]["source"]["key"] == staged
    relative = invoke("contract_inference", {"dataset": "rides", "key": staged.split("/", 2)[2]}).payload
    assert relative["result"]["source"]["key"] == staged
    outside = invoke("contract_inference", {"dataset": "rides", "key": "staging/other/a.csv"}).payload
    assert outside["error"]["code"] == "invalid_key"
