"""Quarantined rows are written into the attempt's own folder, like curated parts: a fenced-out
attempt's late parts land beside the recorded version's quarantine rows, never among them."""

from __future__ import annotations

import io
from typing import Any

import pyarrow.parquet as pq

from chalicelib.services import uploads as service
from chalicelib.services.uploads import process_object
from chalicelib.storage import datasets as store
from tests.functional.datasets.conftest import (
    Ahead,
    all_objects,
    killed_at_part,
    put_contract,
    put_raw,
    rides_contract,
    rides_csv,
)


def contract(max_fare: float) -> dict[str, Any]:
    out = rides_contract(policy="quarantine_rows", max_invalid_fraction=0.9)
    for column in out["columns"]:
        if column["name"] == "fare":
            column["max"] = max_fare
    return out


def rows_under(bucket: str, folder: str) -> list[int]:
    """The ``_row`` numbers of the quarantined rows in ``folder``'s parts."""
    found: list[int] = []
    for key, body in sorted(all_objects(bucket, folder).items()):
        if key.endswith(".parquet"):
            found += pq.read_table(io.BytesIO(body), columns=["_row"]).column("_row").to_pylist()
    return sorted(found)


def test_a_fenced_out_attempts_late_quarantine_parts_never_land_among_the_versions_rows(
        client, moto_world, monkeypatch):
    monkeypatch.setattr(service, "CHUNK_ROWS", 10)
    put_contract(client, contract(max_fare=40))  # the first attempt quarantines every fare above 40
    ref = put_raw("raw/rides/jan.csv", rides_csv(40, bad=(3,)))
    late = killed_at_part(monkeypatch, ref, moto_world.bucket, counted=lambda key: "/rows/" in key)
    assert len(late) == 2
    put_contract(client, contract(max_fare=500))  # corrected before Lambda's retry: row 3 alone fails
    with monkeypatch.context() as retry:
        retry.setattr(store, "time", Ahead(60))  # the lease ran out: the retry takes the claim over
        outcome = process_object(ref)
    assert (outcome.status, outcome.version) == ("passed", 1)
    import boto3

    s3 = boto3.client("s3", region_name="us-east-1")
    for key, body in late.items():  # the fenced-out attempt's uploads in flight, landing late
        s3.put_object(Bucket=moto_world.bucket, Key=key, Body=body)

    record = store.get_version("rides", 1)
    recorded = str(record.quarantine_path).removeprefix(f"s3://{moto_world.bucket}/")
    assert record.invalid_rows == 1
    assert not [key for key in late if key.startswith(recorded)]
    assert rows_under(moto_world.bucket, recorded) == [3]  # the version's own quarantined row, only
    assert f"{recorded}_manifest.json" in all_objects(moto_world.bucket, recorded)
