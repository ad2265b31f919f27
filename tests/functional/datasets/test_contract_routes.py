"""PUT/GET /datasets/{dataset}/contract: versioned, validated, JSON or YAML."""

import json

from tests.functional.datasets.conftest import put_contract, rides_contract

JSON = {"Content-Type": "application/json"}


def error_of(response):
    return json.loads(response.body)["error"]


def test_each_put_stores_a_new_contract_version_and_older_ones_stay_readable(client):
    first = put_contract(client, rides_contract())
    changed = rides_contract()
    changed["columns"][3]["max"] = 900
    second = put_contract(client, changed)
    assert (first["version"], second["version"]) == (1, 2)

    latest = json.loads(client.http.get("/datasets/rides/contract").body)
    assert latest["version"] == 2 and latest["contract"]["columns"][3]["max"] == 900
    old = json.loads(client.http.get("/datasets/rides/contract?version=1").body)
    assert old["version"] == 1 and old["contract"]["columns"][3]["max"] == 500
    assert old["created_at"].endswith("Z")


def test_a_yaml_contract_is_accepted_and_the_dataset_name_comes_from_the_path(client):
    body = """
columns:
  - {name: ride_id, type: string, unique: true}
  - {name: rider_email, type: string, pii: hash}
failure_policy: quarantine_rows
"""
    response = client.http.put("/datasets/rides-yaml/contract", body=body,
                               headers={"Content-Type": "application/x-yaml"})
    assert response.status_code == 201, response.body
    stored = json.loads(response.body)
    assert stored["contract"]["dataset"] == "rides-yaml"
    assert stored["contract"]["failure_policy"]["action"] == "quarantine_rows"
    text_yaml = client.http.put("/datasets/rides-yaml/contract", body=body,
                                headers={"Content-Type": "text/yaml"})
    assert json.loads(text_yaml.body)["version"] == 2


def test_an_invalid_contract_gets_400_listing_every_field_error(client):
    bad = {"columns": [{"name": "fare", "type": "money"}, {"name": "n", "type": "int", "min": 5, "max": 1}],
           "failure_policy": {"action": "shrug"}}
    response = client.http.put("/datasets/rides/contract", body=json.dumps(bad), headers=JSON)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_input"
    locations = {d["loc"] for d in error["details"]}
    assert {"columns.0.type", "failure_policy.action"} <= locations
    assert any(loc.startswith("columns.1") for loc in locations)
    assert client.http.get("/datasets/rides/contract").status_code == 404


def test_a_contract_naming_another_dataset_is_rejected(client):
    response = client.http.put("/datasets/rides/contract", body=json.dumps(rides_contract("taxis")),
                               headers=JSON)
    assert response.status_code == 400
    assert error_of(response) == {
        "code": "dataset_mismatch",
        "message": "the contract names dataset 'taxis' but is stored under 'rides'"}


UNPARSEABLE = [("{not json", "application/json", "invalid_json"),
               ("columns: [unclosed", "application/x-yaml", "invalid_yaml"),
               ("", "application/json", "missing_body"),
               (b"\xff\xfe\x00columns", "application/x-yaml", "invalid_body"),
               ("[" * 100_000, "application/json", "invalid_json")]


def test_a_body_that_does_not_parse_gets_400_with_its_code(client):
    for body, content_type, code in UNPARSEABLE:
        response = client.http.put("/datasets/rides/contract", body=body,
                                   headers={"Content-Type": content_type})
        assert response.status_code == 400, body
        assert error_of(response)["code"] == code, body


def test_a_contract_that_is_not_a_mapping_is_invalid_input(client):
    response = client.http.put("/datasets/rides/contract", body="[1, 2]", headers=JSON)
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_input"


def test_invalid_dataset_names_are_400_invalid_name(client):
    for name in ["Rides", "-rides", "r" * 64, "rides.v2", "ri%20des"]:
        for response in (client.http.get(f"/datasets/{name}/contract"),
                         client.http.get(f"/datasets/{name}/versions/1")):
            assert response.status_code == 400, name
            error = error_of(response)
            assert error["code"] == "invalid_name"
            assert "lowercase letters, digits" in error["message"]


def test_a_missing_contract_or_version_is_404(client):
    missing = client.http.get("/datasets/nothing/contract")
    assert missing.status_code == 404
    assert error_of(missing) == {"code": "contract_not_found", "message": "dataset 'nothing' has no contract"}
    put_contract(client, rides_contract())
    no_version = client.http.get("/datasets/rides/contract?version=7")
    assert no_version.status_code == 404
    assert error_of(no_version)["message"] == "dataset 'rides' has no version 7 of the contract"


def test_a_bad_contract_version_is_400(client):
    for version in ["0", "-1", "x", "1.5"]:
        response = client.http.get(f"/datasets/rides/contract?version={version}")
        assert response.status_code == 400, version
        assert error_of(response) == {"code": "invalid_version", "message": "versions are positive integers"}


def test_a_contract_in_an_unsupported_media_type_is_415(client):
    response = client.http.put("/datasets/rides/contract", body="a,b", headers={"Content-Type": "text/csv"})
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


def test_columns_that_would_share_one_curated_name_are_refused_naming_both(client):
    contract = rides_contract("clash")
    contract["columns"] += [{"name": "Fare (usd)", "type": "float"}, {"name": "fare_usd_", "type": "float"},
                            {"name": "dataset_version", "type": "int"}]
    response = client.http.put("/datasets/clash/contract", body=json.dumps(contract),
                               headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    error = json.loads(response.body)["error"]
    assert error["code"] == "curated_name_collision"
    assert error["details"]["collisions"] == {"fare_usd_": ["Fare (usd)", "fare_usd_"],
                                              "dataset_version": ["(the partition column dataset_version)",
                                                                  "dataset_version"]}
    assert "'Fare (usd)', 'fare_usd_' → 'fare_usd_'" in error["message"]
