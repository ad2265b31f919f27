"""Uploads, dataset listings and version details over HTTP, with their 4xx errors."""

import json
from urllib.parse import parse_qs, urlparse

import pytest

from tests.functional.datasets.conftest import (
    email,
    put_contract,
    put_raw,
    rides_contract,
    rides_csv,
    upload_and_process,
)

JSON = {"Content-Type": "application/json"}


def post(client, path, body):
    return client.http.post(path, body=json.dumps(body), headers=JSON)


def error_of(response):
    return json.loads(response.body)["error"]


def test_an_upload_url_points_into_raw_of_the_dataset(client, moto_world):
    response = post(client, "/datasets/rides/uploads", {"filename": "jan-2026.csv"})
    assert response.status_code == 201
    out = json.loads(response.body)
    assert out["method"] == "PUT" and out["key"].startswith("raw/rides/")
    assert out["key"].endswith("-jan-2026.csv")
    url = urlparse(out["url"])
    assert url.path.endswith(out["key"]) and moto_world.bucket in out["url"]
    assert "X-Amz-Signature" in parse_qs(url.query)
    second = json.loads(post(client, "/datasets/rides/uploads", {"filename": "jan-2026.csv"}).body)
    assert second["key"] != out["key"]


def test_upload_file_names_with_path_tricks_are_rejected(client):
    tricks = ["../x.csv", "a/b.csv", "..", ".hidden", "x\\y.csv", "a b.csv", "x%2F..%2Fy", "\u00e9.csv"]
    for filename in tricks:
        response = post(client, "/datasets/rides/uploads", {"filename": filename})
        assert response.status_code == 400, filename
        assert error_of(response)["code"] == "invalid_filename", filename
    for filename in ["", "x" * 201]:  # the request model's bounds: every field error listed
        response = post(client, "/datasets/rides/uploads", {"filename": filename})
        assert error_of(response)["code"] == "invalid_input", filename


def test_an_upload_request_without_a_filename_lists_the_field_error(client):
    response = post(client, "/datasets/rides/uploads", {"name": "x.csv"})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_input"
    assert {d["loc"] for d in error["details"]} == {"filename", "name"}


def test_upload_to_an_invalid_dataset_name_is_400(client):
    response = post(client, "/datasets/UPPER/uploads", {"filename": "x.csv"})
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_name"


def test_datasets_are_listed_in_pages(client):
    for name in ("alpha", "bravo", "charlie"):
        put_contract(client, rides_contract(name))
    first = json.loads(client.http.get("/datasets?limit=2").body)
    assert [d["dataset"] for d in first["items"]] == ["alpha", "bravo"]
    assert first["items"][0]["latest_contract_version"] == 1
    rest = json.loads(client.http.get(f"/datasets?limit=2&next_token={first['next_token']}").body)
    assert [d["dataset"] for d in rest["items"]] == ["charlie"] and rest["next_token"] is None


def test_bad_paging_parameters_are_400(client):
    forged = "eyJwayI6IDF9"  # base64 of {"pk": 1}: not a key this listing issued
    for query, code in [("limit=0", "invalid_limit"), ("limit=abc", "invalid_limit"),
                        ("next_token=%%%", "invalid_token"), (f"next_token={forged}", "invalid_token")]:
        for path in ("/datasets", "/datasets/rides/versions"):
            response = client.http.get(f"{path}?{query}")
            assert response.status_code == 400, (path, query)
            assert error_of(response)["code"] == code


def test_versions_are_listed_newest_first_in_pages_and_shown_with_report_and_lineage(client):
    refs = [upload_and_process(client, f"raw/orphans/{i}.csv", f"a\n{i}\n".encode())[0] for i in range(3)]
    page = json.loads(client.http.get("/datasets/orphans/versions?limit=2").body)
    assert [v["version"] for v in page["items"]] == [3, 2]
    token = page["next_token"]
    rest = json.loads(client.http.get(f"/datasets/orphans/versions?limit=2&next_token={token}").body)
    assert [v["version"] for v in rest["items"]] == [1]

    detail = json.loads(client.http.get("/datasets/orphans/versions/1").body)
    assert detail["status"] == "quarantined" and detail["code"] == "no_contract"
    assert detail["report"]["input"]["key"] == refs[0].key
    assert detail["lineage"]["raw"]["version_id"] == refs[0].version_id
    assert detail["lineage"]["report_key"] == "reports/validation/orphans/1.json"
    listing = json.loads(client.http.get("/datasets").body)
    summary = listing["items"][0]
    assert (summary["latest_version"], summary["latest_status"]) == (3, "quarantined")


def test_unknown_datasets_and_versions_are_404_and_bad_versions_400(client):
    unknown = client.http.get("/datasets/nobody/versions")
    assert unknown.status_code == 404
    assert error_of(unknown) == {"code": "dataset_not_found", "message": "no dataset named 'nobody'"}
    put_contract(client, rides_contract())
    assert json.loads(client.http.get("/datasets/rides/versions").body) == {"items": [], "next_token": None}
    missing = client.http.get("/datasets/rides/versions/4")
    assert missing.status_code == 404
    assert error_of(missing) == {"code": "version_not_found", "message": "dataset 'rides' has no version 4"}
    assert error_of(client.http.get("/datasets/rides/versions/zero"))["code"] == "invalid_version"


def test_infer_rejects_keys_outside_the_dataset_and_missing_objects(client):
    for key in ("raw/other/x.csv", "curated/rides/x.parquet", "raw/rides/../other/x.csv", "raw/rides/"):
        response = post(client, "/datasets/rides/contract/infer", {"key": key})
        assert response.status_code == 400, key
        assert error_of(response) == {"code": "invalid_key",
                                      "message": "key must name an object under raw/rides/"}
    missing = post(client, "/datasets/rides/contract/infer", {"key": "raw/rides/nothing.csv"})
    assert missing.status_code == 404
    assert error_of(missing)["code"] == "object_not_found"
    no_body = client.http.post("/datasets/rides/contract/infer", body="", headers=JSON)
    assert error_of(no_body)["code"] == "missing_body"


@pytest.mark.slow
def test_infer_suggests_a_contract_from_a_raw_object_that_can_be_stored(client):
    body = rides_csv(30)
    ref = put_raw("raw/rides/sample.csv", body)
    response = post(client, "/datasets/rides/contract/infer", {"key": ref.key})
    assert response.status_code == 200, response.body
    out = json.loads(response.body)
    assert out["source"] == {"bucket": ref.bucket, "key": ref.key, "version_id": ref.version_id,
                             "etag": ref.etag, "size": len(body)}
    contract = out["contract"]
    assert contract["dataset"] == "rides"
    columns = {c["name"]: c for c in contract["columns"]}
    assert list(columns) == ["ride_id", "rider_email", "city", "fare", "passengers"]
    assert columns["rider_email"]["pii"] == "hash" and columns["passengers"]["type"] == "int"
    assert email(0).encode() not in response.body
    stored = client.http.put("/datasets/rides/contract", body=json.dumps(contract), headers=JSON)
    assert stored.status_code == 201


def test_a_suggestion_whose_columns_collide_once_curated_says_so_and_put_refuses_it_alike(client):
    ref = put_raw("raw/rides/cased.csv", b"X,x,fare\n1,2,3.5\n4,5,6.5\n")
    out = json.loads(post(client, "/datasets/rides/contract/infer", {"key": ref.key}).body)
    assert [c["name"] for c in out["contract"]["columns"]] == ["X", "x", "fare"]
    (warning,) = out["warnings"]
    assert warning["code"] == "curated_name_collision" and warning["collisions"] == {"x": ["X", "x"]}
    refused = client.http.put("/datasets/rides/contract", body=json.dumps(out["contract"]), headers=JSON)
    assert refused.status_code == 400 and error_of(refused)["code"] == warning["code"]
    plain = put_raw("raw/rides/plain.csv", rides_csv(3))
    again = json.loads(post(client, "/datasets/rides/contract/infer", {"key": plain.key}).body)
    assert again["warnings"] == []


def test_infer_on_an_unreadable_object_is_400_with_the_reason(client):
    ref = put_raw("raw/rides/empty.csv", b"ride_id,fare\n")
    response = post(client, "/datasets/rides/contract/infer", {"key": ref.key})
    assert response.status_code == 400
    assert error_of(response)["code"] == "no_rows"
    bad_format = post(client, "/datasets/rides/contract/infer", {"key": ref.key, "format": "xlsx"})
    assert error_of(bad_format)["code"] == "invalid_input"


@pytest.mark.slow
def test_infer_samples_the_head_of_a_large_text_file_and_refuses_a_huge_parquet(client, monkeypatch):
    from chalicelib.services import contracts

    monkeypatch.setattr(contracts, "INFER_TEXT_BYTES", 500)
    monkeypatch.setattr(contracts, "MAX_INFER_BYTES", 1000)
    body = rides_csv(100)
    ref = put_raw("raw/rides/big.csv", body)
    out = json.loads(post(client, "/datasets/rides/contract/infer", {"key": ref.key}).body)
    assert 0 < out["sampled_bytes"] <= 500 and out["source"]["size"] == len(body)
    assert [c["name"] for c in out["contract"]["columns"]][-1] == "passengers"
    huge = put_raw("raw/rides/big.parquet", b"x" * 2000)
    response = post(client, "/datasets/rides/contract/infer", {"key": huge.key})
    assert response.status_code == 413
    assert error_of(response)["code"] == "object_too_large"
