"""The HTML validation report through the API on moto: rules, masked failing values, profile, lineage."""

import json
import random
import re

from tests.functional.datasets.conftest import put_contract, upload_and_process

CITIES = ["Berlin", "Hamburg", "Munich"]


def contract(policy: str = "quarantine_rows") -> dict:
    """Rides with a hashed e-mail column that also has a pattern rule (so PII values can fail a rule)."""
    return {
        "dataset": "rides",
        "format": {"type": "csv"},
        "columns": [
            {"name": "ride_id", "type": "string", "unique": True},
            {"name": "rider_email", "type": "string", "pii": "hash", "pattern": r"[a-z.0-9]+@example\.com"},
            {"name": "city", "type": "category", "allowed": CITIES},
            {"name": "fare", "type": "float", "min": 0, "max": 500},
            {"name": "note", "type": "string", "nullable": True},
        ],
        "undeclared_pii": "warn",
        "failure_policy": {"action": policy, "max_invalid_fraction": 0.5},
    }


def rides(rows: int = 60) -> tuple[bytes, list[str]]:
    """A CSV where row 3 has a negative fare, row 5 an e-mail outside the pattern, and the notes hold phone
    numbers (undeclared PII); returns the body and every e-mail and phone number in it."""
    rnd = random.Random(3)
    secrets, lines = [], ["ride_id,rider_email,city,fare,note"]
    for i in range(rows):
        mail = "eve.intruder@evil.org" if i == 5 else f"rider.{i:03d}@example.com"
        phone = f"+49 170 {1000000 + i}"
        secrets += [mail, phone]
        fare = -5.5 if i == 3 else round(rnd.uniform(3, 80), 2)
        lines.append(f"R{i:05d},{mail},{rnd.choice(CITIES)},{fare},call {phone}")
    return ("\n".join(lines) + "\n").encode(), secrets


def html(client, path: str):
    response = client.http.get(path)
    assert response.status_code == 200, response.body
    return response, response.body.decode()


def test_the_report_page_shows_each_rule_its_failing_values_masked_the_profile_and_the_lineage(client):
    put_contract(client, contract())
    body, secrets = rides()
    ref, _ = upload_and_process(client, "raw/rides/march.csv", body)
    version = json.loads(client.http.get("/datasets/rides/versions/1").body)
    assert version["report_html"] == "/datasets/rides/versions/1/report.html"

    response, page = html(client, version["report_html"])
    assert response.headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "<script" not in page and "<link" not in page
    rows = {m.group(1): m.group(0) for m in re.finditer(r'<tr><td><code>([\w.]+)</code>.*?</tr>', page)}
    assert "failed" in rows["fare.range"] and "row 3: -5.5" in rows["fare.range"]
    assert "1 (1.67%)" in rows["fare.range"]
    assert "failed" in rows["rider_email.pattern"] and "row 5: e***@***.org" in rows["rider_email.pattern"]
    assert "passed" in rows["city.allowed"]
    assert "failed" in rows["note.undeclared_pii"]
    # no e-mail address or phone number of the file appears in clear anywhere on the page
    assert [s for s in secrets if s in page] == []
    # the profile: values of ordinary columns, counts only for the PII column
    profile = page.split('id="profile"')[1].split("</section>")[0]
    assert "Berlin" in profile and "histogram" in profile
    assert "PII (hash): only counts are shown" in profile
    assert "of 58 rows" in profile or "all 58 rows" in profile  # 60 rows, 2 quarantined
    lineage = page.split('id="lineage"')[1]
    assert f"s3://{ref.bucket}/raw/rides/march.csv" in lineage and ref.version_id in lineage
    assert "curated/rides/dataset_version=1/" in lineage


def test_a_rejected_file_has_its_rules_and_says_why_it_has_no_profile(client):
    put_contract(client, contract("reject_file"))
    body, secrets = rides(20)
    upload_and_process(client, "raw/rides/bad.csv", body)
    _, page = html(client, "/datasets/rides/versions/1/report.html")
    assert "Validation report: rides v1" in page
    assert "reject file" in page and "fare.range" in page
    assert "no curated rows to profile" in page
    assert [s for s in secrets if s in page] == []


def test_an_unknown_version_is_a_json_404(client):
    put_contract(client, contract())
    response = client.http.get("/datasets/rides/versions/9/report.html")
    assert response.status_code == 404
    assert json.loads(response.body)["error"]["code"]
