"""A presigned upload URL writes once: ``If-None-Match: *`` is signed into it, so a replay of the URL
within its hour is refused by S3 (412) instead of making a second version of the same upload."""

import json
from urllib.parse import parse_qs, urlparse

import pytest
import requests

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("route", ["/datasets/rides/uploads", "/datasets/rides/samples"])
def test_a_presigned_url_signs_if_none_match_and_a_replayed_put_is_refused(client, moto_world, route):
    from chalicelib.storage import s3

    response = client.http.post(route, body=json.dumps({"filename": "jan.csv"}), headers=JSON)
    assert response.status_code == 201, response.body
    grant = json.loads(response.body)
    assert grant["headers"] == {"If-None-Match": "*"}
    signed = parse_qs(urlparse(grant["url"]).query)["X-Amz-SignedHeaders"][0].split(";")
    assert "if-none-match" in signed  # without the header the signature does not match on AWS

    first = requests.put(grant["url"], data=b"id\n1\n", headers=grant["headers"], timeout=10)
    assert first.status_code == 200
    replay = requests.put(grant["url"], data=b"id\n2\n", headers=grant["headers"], timeout=10)
    assert replay.status_code == 412
    assert s3.get_bytes(grant["key"]) == b"id\n1\n"
