"""The validation report of an accepted upload carries its column profile, taken from the curated rows as
the one pass writes them: so a deployed report page (whose API function has no pyarrow) shows it too."""

from __future__ import annotations

import json

from chalicelib.services.upload_profile import ProfilingSink
from chalicelib.services.uploads import process_object
from chalicelib.storage import datasets as store
from chalicelib.storage import s3
from tests.functional.datasets.conftest import email, put_contract, put_raw, rides_contract, rides_csv


def test_an_accepted_upload_reports_each_columns_profile_with_pii_as_counts_only(client, moto_world):
    put_contract(client, rides_contract(policy="quarantine_rows"))
    assert process_object(put_raw("raw/rides/jan.csv", rides_csv(60, bad=(3, 9)))).status == "passed"
    record = store.get_version("rides", 1)
    report = json.loads(s3.get_bytes(record.report_key))
    profile = report["profile"]
    assert (profile["rows"], profile["profiled_rows"], profile["source"]) == (58, 58, "curated")
    columns = {c["name"]: c for c in profile["columns"]}
    assert list(columns) == ["ride_id", "rider_email", "city", "fare", "passengers"]
    assert columns["fare"]["count"] == 58 and columns["fare"]["min"] >= 0
    assert columns["ride_id"]["distinct"] == 58
    assert "withheld" in columns["rider_email"] and "min" not in columns["rider_email"]
    assert email(0) not in json.dumps(profile)


def test_the_profile_keeps_only_the_first_rows_whatever_the_file(moto_world):
    import pyarrow as pa

    written = []

    class Inner:
        def write(self, part, table):
            written.append(table.num_rows)

    sink = ProfilingSink(Inner(), limit=5)
    for part in range(3):
        sink.write(part, pa.table({"x": list(range(4))}))
    assert written == [4, 4, 4] and sink.kept == 5
    assert sum(t.num_rows for t in sink.tables) == 5
