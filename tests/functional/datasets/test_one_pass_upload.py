"""The upload path in one pass: the raw object read in place once, outputs written part by part while it
is read, all-or-nothing under crashes, files above the limit refused up front, duplicate events
acknowledged, a crashed attempt taken over by Lambda's retry and fenced out afterwards."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
from typing import Any

import boto3
import pytest

from chalicelib.core.events import ObjectRef
from chalicelib.core.validation.contract import FormatSpec
from chalicelib.services import uploads as service
from chalicelib.services.uploads import process_object
from chalicelib.storage import dataset_files as outputs
from chalicelib.storage import datasets as store
from chalicelib.storage import layout
from tests.functional.datasets.conftest import (
    REGION,
    Ahead,
    all_objects,
    killed_at_part,
    put_contract,
    put_raw,
    rides_contract,
    rides_csv,
)


def curated_rows(record) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    bucket, prefix = record.curated_path.removeprefix("s3://").split("/", 1)
    rows: list[dict[str, Any]] = []
    for _, body in sorted(all_objects(bucket, prefix).items()):
        rows += pq.read_table(io.BytesIO(body)).to_pylist()
    return rows


class CountingRaw(outputs.RawObject):
    """The raw object reader, counting the bytes fetched from S3 (shared by every instance)."""

    fetched: list[int] = []

    def fetch(self, start: int, end: int) -> bytes:
        data = super().fetch(start, end)
        CountingRaw.fetched.append(len(data))
        return data


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 10 rows: a 40-row file is four parts."""
    monkeypatch.setattr(service, "CHUNK_ROWS", 10)
    CountingRaw.fetched = []
    monkeypatch.setattr(service.outputs, "RawObject", CountingRaw)


def test_a_csv_upload_is_read_in_place_its_key_column_first_and_written_as_one_part_per_chunk(
        client, moto_world, small_chunks):
    put_contract(client, rides_contract(policy="quarantine_rows"))
    body = rides_csv(40, bad=(3, 25))
    outcome = process_object(put_raw("raw/rides/one-pass.csv", body))
    assert outcome.status == "passed"
    # no /tmp copy; the unique ride_id read first (every duplicate known up front), then the one pass: no
    # end-of-file read, no part written twice
    assert sum(CountingRaw.fetched) == 2 * len(body)
    record = store.get_version("rides", 1)
    assert record.raw["sha256"] == hashlib.sha256(body).hexdigest()
    parts = sorted(all_objects(moto_world.bucket, "curated/rides/dataset_version=1/"))
    assert [p.rsplit("/", 1)[1] for p in parts] == [f"part-{k:05d}.snappy.parquet" for k in range(4)]
    assert sorted(r["ride_id"] for r in curated_rows(record)) == \
        [f"R{i:06d}" for i in range(40) if i not in (3, 25)]
    folder = str(record.quarantine_path).removeprefix(f"s3://{moto_world.bucket}/")
    quarantined = sorted(all_objects(moto_world.bucket, f"{folder}rows/"))
    assert [p.rsplit("/", 1)[1] for p in quarantined] == ["part-00000.snappy.parquet",
                                                         "part-00002.snappy.parquet"]


def test_a_large_csv_is_read_ahead_in_blocks_and_hashed_exactly_once_read(client, moto_world, monkeypatch):
    monkeypatch.setattr(outputs, "READ_BLOCK", 4096)  # ~90 blocks, fetched two ahead of the reader
    CountingRaw.fetched = []
    monkeypatch.setattr(service.outputs, "RawObject", CountingRaw)
    put_contract(client, rides_contract(policy="quarantine_rows"))
    body = rides_csv(3000, bad=(7,))
    outcome = process_object(put_raw("raw/rides/ahead.csv", body))
    record = store.get_version("rides", outcome.version or 0)
    assert (record.status, record.rows, record.invalid_rows) == ("passed", 3000, 1)
    assert record.raw["sha256"] == hashlib.sha256(body).hexdigest()
    assert sum(CountingRaw.fetched) == 2 * len(body)  # the digest needed no GET of its own
    assert sorted(r["ride_id"] for r in curated_rows(record)) == [f"R{i:06d}" for i in range(3000) if i != 7]


def test_blocks_read_ahead_are_hashed_in_file_order_whatever_order_they_arrive_in():
    from chalicelib.storage.s3 import StoredObject

    data = bytes(range(256)) * 41
    raw = outputs.RawObject(StoredObject("b", "raw/d/x.csv", None, "etag", len(data)))
    starts = list(range(0, len(data), 1000))
    for i in [0, 2, 1, 3, 5, 4, 6, 8, 9, 7, 10]:  # never more than READ_AHEAD + 1 waiting
        raw._hash_in_order(starts[i], data[starts[i]:starts[i] + 1000])
    assert raw.sha256() == hashlib.sha256(data).hexdigest() and raw.gets == 0


class FakeRaw(outputs.RawObject):
    """A raw object of ``size`` zero bytes that records the blocks asked of S3."""

    def __init__(self, size: int) -> None:
        from chalicelib.storage.s3 import StoredObject

        super().__init__(StoredObject("b", "raw/d/x.csv", None, "etag", size))
        self.starts: list[int] = []

    def fetch(self, start: int, end: int) -> bytes:
        self.starts.append(start)
        return bytes(end - start)


def test_a_front_to_back_reader_has_the_next_blocks_fetched_ahead_and_a_seek_does_not(monkeypatch):
    monkeypatch.setattr(outputs, "READ_BLOCK", 100)
    raw = FakeRaw(1000)
    file = raw.open()
    assert file.read(150) == bytes(150)  # blocks 0 and 1; 2 and 3 fetched ahead
    for ahead in list(file._ahead.values()):
        ahead.result()
    assert sorted(raw.starts) == [0, 100, 200, 300]
    file.seek(750)
    file.read(10)  # a jump (Parquet's footer, a column chunk): no read-ahead from there
    assert sorted(raw.starts) == [0, 100, 200, 300, 700]
    file.close()


class BytesRaw(FakeRaw):
    """A raw object holding ``data``, recording the blocks asked of S3."""

    def __init__(self, data: bytes) -> None:
        super().__init__(len(data))
        self.data = data

    def fetch(self, start: int, end: int) -> bytes:
        self.starts.append(start)
        return self.data[start:end]


def test_parquet_row_groups_are_read_ahead_through_the_chunks_read_and_no_other_blocks(monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from chalicelib.core.validation.readers import ParquetReader
    from chalicelib.core.validation.sources import Source

    monkeypatch.setattr(outputs, "READ_BLOCK", 1024)
    n = 8_000
    table = pa.table({"id": [f"{i * 7919:016x}" for i in range(n)], "x": [i * 0.5 for i in range(n)],
                      "note": [f"note {i * 31 % 997:04d} of many words" for i in range(n)]})
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=2_000, compression="none", use_dictionary=False)
    raw = BytesRaw(sink.getvalue())
    reader = ParquetReader(Source(raw.open, name="x.parquet"), FormatSpec(type="parquet"), chunk_rows=500)
    blocks = len(raw.data) // 1024 + 1
    opened = set(raw.starts)  # the head and the footer
    raw.starts.clear()

    assert sum(t.num_rows for t in reader.chunks(["id"])) == n  # the key pre-pass: the id chunks alone
    needed = {b * 1024 for g in range(4) for start, end in reader.column_chunks(g, ["id"])
              for b in range(start // 1024, (end - 1) // 1024 + 1)}
    assert set(raw.starts) - opened <= needed and len(raw.starts) <= len(needed) + 1, \
        "a block outside the id column chunks was fetched (read-ahead past a chunk)"
    assert len(needed) < blocks / 2

    raw.starts.clear()
    assert reader.chunks().__next__().num_rows == 500 and len(raw.starts) >= 2  # read ahead within a group
    reader.close()


def test_unique_and_hashed_columns_are_written_without_a_parquet_dictionary(client, moto_world):
    import pyarrow.parquet as pq

    put_contract(client, rides_contract())  # ride_id unique, rider_email hashed
    record = store.get_version("rides", process_object(put_raw("raw/rides/dict.csv", rides_csv(50))).version
                               or 0)
    bucket, prefix = record.curated_path.removeprefix("s3://").split("/", 1)
    (part,) = all_objects(bucket, prefix).values()
    meta = pq.ParquetFile(io.BytesIO(part)).metadata.row_group(0)
    encodings = {meta.column(i).path_in_schema: meta.column(i).encodings for i in range(meta.num_columns)}
    assert not any("DICTIONARY" in e for e in encodings["ride_id"] + encodings["rider_email"])
    assert all(any("DICTIONARY" in e for e in encodings[c]) for c in ("city", "fare", "passengers"))
    assert sorted(r["ride_id"] for r in curated_rows(record)) == [f"R{i:06d}" for i in range(50)]


def test_a_parquet_upload_is_read_with_ranged_gets_and_hashed_exactly(client, moto_world, monkeypatch):
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    monkeypatch.setattr(outputs, "READ_BLOCK", 4096)  # many blocks: the footer first, then row groups
    contract = {**rides_contract(), "format": {"type": "parquet"}}
    put_contract(client, contract)
    table = pacsv.read_csv(io.BytesIO(rides_csv(3000)),
                           convert_options=pacsv.ConvertOptions(column_types={"ride_id": pa.string()}))
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=700)
    body = sink.getvalue()
    outcome = process_object(put_raw("raw/rides/rides.parquet", body))
    assert outcome.status == "passed", outcome
    record = store.get_version("rides", 1)
    assert record.rows == 3000 and len(curated_rows(record)) == 3000
    assert record.raw["sha256"] == hashlib.sha256(body).hexdigest()


def test_a_crash_between_chunks_leaves_no_version_and_the_retry_writes_it_once(client, moto_world,
                                                                               small_chunks, monkeypatch):
    put_contract(client, rides_contract())
    ref = put_raw("raw/rides/crash.csv", rides_csv(40))
    landed = killed_at_part(monkeypatch, ref, moto_world.bucket)
    assert len(landed) == 2
    left = all_objects(moto_world.bucket, "curated/rides/")
    assert len(left) == 2  # the crashed attempt's parts are there ...
    assert store.list_versions("rides", 10)[0] == []  # ... but no version points to them
    assert store.latest_passing_version("rides") is None

    monkeypatch.setattr(store, "time", Ahead(60))  # Lambda's retry, ~1 minute later: the lease ran out
    outcome = process_object(ref)
    assert (outcome.version, outcome.status) == (1, "passed")
    record = store.get_version("rides", 1)
    assert sorted(r["ride_id"] for r in curated_rows(record)) == [f"R{i:06d}" for i in range(40)]
    assert not set(left) & set(all_objects(moto_world.bucket, "curated/rides/"))  # the orphans are gone


def test_s3_trouble_while_reading_is_retried_not_recorded_as_an_unreadable_file(client, moto_world,
                                                                                  small_chunks, monkeypatch):
    from botocore.exceptions import ClientError

    put_contract(client, rides_contract())
    ref = put_raw("raw/rides/flaky.csv", rides_csv(40))

    def unavailable(self, start, end):
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "reduce your request rate"},
                           "ResponseMetadata": {"HTTPStatusCode": 503}}, "GetObject")

    working = CountingRaw.fetch
    monkeypatch.setattr(CountingRaw, "fetch", unavailable)
    with pytest.raises(ClientError):
        process_object(ref)
    assert store.list_versions("rides", 10)[0] == []
    monkeypatch.setattr(CountingRaw, "fetch", working)
    assert process_object(ref).status == "passed"


def test_a_file_above_the_limit_is_refused_with_file_too_large_before_it_is_read(client, moto_world, alerts,
                                                                                monkeypatch):
    put_contract(client, rides_contract())
    body = rides_csv(40)
    monkeypatch.setattr(service, "MAX_UPLOAD_BYTES", len(body) - 1)

    def never(*args, **kwargs):
        raise AssertionError("the object must not be read")

    monkeypatch.setattr(service.outputs, "RawObject", never)
    outcome = process_object(put_raw("raw/rides/huge.csv", body))
    assert outcome.status == "failed"
    record = store.get_version("rides", 1)
    assert record.code == "file_too_large"
    assert f"{len(body) - 1:,} bytes" in record.reason and "split it" in record.reason
    assert not all_objects(moto_world.bucket, "curated/")
    report = all_objects(moto_world.bucket, record.report_key)[record.report_key]
    assert b'"limit_bytes"' in report and b"file_too_large" in report
    [alert] = alerts()
    assert "file_too_large" in alert["Subject"]


def test_the_deployed_limit_of_each_format_comes_from_the_template_and_never_exceeds_the_ceiling(
        client, moto_world, monkeypatch):
    put_contract(client, rides_contract())
    body = rides_csv(40)
    monkeypatch.setenv("SLUICE_MAX_UPLOAD_BYTES", str(len(body) - 1))  # what sizing.json renders
    monkeypatch.setenv("SLUICE_MAX_UPLOAD_BYTES_PARQUET", str(10 * 2**30))
    assert service.upload_limit("raw/rides/a.parquet") == service.MAX_UPLOAD_BYTES  # capped
    outcome = process_object(put_raw("raw/rides/big.csv", body))
    record = store.get_version("rides", 1)
    assert (outcome.status, record.code) == ("failed", "file_too_large")
    assert f"{len(body) - 1:,} bytes" in record.reason
    monkeypatch.setenv("SLUICE_MAX_UPLOAD_BYTES", str(len(body)))
    assert process_object(put_raw("raw/rides/fits.csv", body)).status == "passed"


def test_a_file_with_more_rows_than_the_memory_holds_is_file_too_large_and_leaves_no_curated_data(
        client, moto_world, monkeypatch):
    from chalicelib.core.validation.contract import parse_contract

    put_contract(client, rides_contract())  # ride_id unique and the primary key: two key rules
    monkeypatch.setenv("SLUICE_MAX_UPLOAD_ROWS", "30")  # what sizing.json renders, measured...
    monkeypatch.setenv("SLUICE_MAX_UPLOAD_ROWS_KEY_RULES", "2")  # ...with as many key rules
    outcome = process_object(put_raw("raw/rides/long.csv", rides_csv(40)))
    record = store.get_version("rides", 1)
    assert (outcome.status, record.code, record.curated_path) == ("failed", "file_too_large", None)
    assert "more than 30 rows" in record.reason and "split it" in record.reason
    assert not all_objects(os.environ["SLUICE_BUCKET"], "curated/rides/")
    assert process_object(put_raw("raw/rides/short.csv", rides_csv(30))).status == "passed"
    # measured with no key rule, a contract with two holds fewer rows: the books per row scale the limit
    monkeypatch.setenv("SLUICE_MAX_UPLOAD_ROWS", "3300")
    monkeypatch.setenv("SLUICE_MAX_UPLOAD_ROWS_KEY_RULES", "0")
    keyed = parse_contract(rides_contract())
    assert service.upload_row_limit(keyed) == 3300 * 1 // 33
    monkeypatch.delenv("SLUICE_MAX_UPLOAD_ROWS")
    assert service.upload_row_limit(keyed) is None  # no measured limit (the local stack): none applied


def test_the_default_limit_is_the_documented_one():
    from pathlib import Path

    limits = (Path(__file__).resolve().parents[3] / "docs" / "limits.md").read_text()
    assert f"{service.MAX_UPLOAD_BYTES // 2**30} GiB" in limits and "file_too_large" in limits


def test_two_events_of_one_multipart_upload_end_as_one_version_without_an_error(client, moto_world,
                                                                                 small_chunks, monkeypatch):
    put_contract(client, rides_contract())
    ref = put_raw("raw/rides/multipart.csv", rides_csv(40))
    started, release = threading.Event(), threading.Event()
    original_upload = outputs.S3Parts._upload

    def slow_upload(self, key, table):  # the first attempt is still writing when the duplicate arrives
        started.set()
        release.wait(10)
        original_upload(self, key, table)

    monkeypatch.setattr(outputs.S3Parts, "_upload", slow_upload)
    outcomes: list[Any] = []
    first = threading.Thread(target=lambda: outcomes.append(process_object(ref)))
    first.start()
    assert started.wait(10)
    duplicate = client.lambda_.invoke("on_raw_object", _event(ref)).payload  # no exception, no retry
    release.set()
    first.join()
    assert duplicate["processed"] == [{"key": ref.key, "dataset": "rides", "version": 1, "duplicate": True,
                                       "skipped": "object_in_progress"}]
    assert (outcomes[0].version, outcomes[0].status) == (1, "passed")
    assert [v.version for v in store.list_versions("rides", 10)[0]] == [1]


def _event(ref: ObjectRef) -> dict[str, Any]:
    from chalicelib.core.events import eventbridge_object_created

    return eventbridge_object_created(ref)


def _claim_key(ref: ObjectRef) -> str:
    return layout.object_hash(ObjectRef(ref.bucket, ref.key, ref.version_id, ref.etag).identity)


def test_lambdas_first_retry_a_minute_after_a_crash_takes_the_claim_over(moto_world, monkeypatch):
    ref = put_raw("raw/orphans/oom.csv", b"a\n1\n")
    crashed = store.claim_object("orphans", _claim_key(ref), {}, lease_seconds=service.LEASE_SECONDS)
    assert crashed.state == "acquired"  # then the function is killed: no heartbeat, no release
    monkeypatch.setattr(store, "time", Ahead(60))  # Lambda retries the event ~1 minute later
    outcome = process_object(ref)
    assert (outcome.version, outcome.status, outcome.duplicate) == (1, "quarantined", False)


def test_a_crashed_writers_late_writes_cannot_land_after_a_takeover(client, moto_world, monkeypatch):
    from chalicelib.core.datasets.types import DatasetVersion

    put_contract(client, rides_contract())
    ref = put_raw("raw/rides/late.csv", rides_csv(20))
    key = _claim_key(ref)
    stalled = store.claim_object("rides", key, {}, lease_seconds=service.LEASE_SECONDS)
    assert stalled.state == "acquired"
    with monkeypatch.context() as later:  # its lease ran out while it stalled: the retry takes over
        later.setattr(store, "time", Ahead(service.LEASE_SECONDS + 2))
        assert process_object(ref).status == "passed"

    late = service.Lease("rides", key, stalled.owner, service.LEASE_SECONDS)
    assert not store.renew_claim("rides", key, stalled.owner, 60)  # its heartbeat finds the claim gone
    late.lost = True
    with pytest.raises(service.ClaimLostError):
        late.check()  # so it writes no further part ...
    record = DatasetVersion.from_dict({**store.get_version("rides", 1).to_dict(), "version": 2})
    assert store.put_version_fenced(record, key, stalled.owner) == "lost"  # ... and records no version
    assert [v.version for v in store.list_versions("rides", 10)[0]] == [1]
    assert store.complete_claim("rides", key, 1, stalled.owner)  # complete already: nothing changes


def test_a_live_attempt_renews_its_lease_so_a_duplicate_never_takes_over(moto_world, monkeypatch):
    ref = put_raw("raw/orphans/live.csv", b"a\n1\n")
    key = _claim_key(ref)
    claim = store.claim_object("orphans", key, {}, lease_seconds=1)
    monkeypatch.setattr(service, "HEARTBEAT_SECONDS", 0.2)
    with service.Lease("orphans", key, claim.owner, 1):
        time.sleep(1.5)  # longer than the lease: only the heartbeat keeps it
        assert store.claim_object("orphans", key, {}, lease_seconds=1).state == "busy"
    item = boto3.resource("dynamodb", region_name=REGION).Table(moto_world.table).get_item(
        Key={"pk": layout.dataset_pk("orphans"), "sk": layout.object_sk(key)})["Item"]
    assert item["owner"] == claim.owner


def test_a_stored_contract_with_a_pattern_now_refused_fails_the_version_saying_why(client, moto_world):
    import json

    put_contract(client, rides_contract())
    table = boto3.resource("dynamodb", region_name=REGION).Table(moto_world.table)
    [item] = [i for i in table.scan()["Items"] if str(i["sk"]).startswith("CONTRACT")]
    stored = json.loads(item["contract_json"])
    stored["columns"][0]["pattern"] = "(R+)+(?=1)"  # stored before patterns RE2 cannot run were refused
    table.update_item(Key={"pk": item["pk"], "sk": item["sk"]}, UpdateExpression="SET contract_json = :c",
                      ExpressionAttributeValues={":c": json.dumps(stored)})
    outcome = process_object(put_raw("raw/rides/old-contract.csv", rides_csv(5)))
    record = store.get_version("rides", outcome.version)
    assert (record.status, record.code) == ("failed", "contract_invalid")
    assert "look-ahead" in record.reason and "PUT a corrected contract" in record.reason
    assert not any(b"@example.com" in body for body in all_objects(moto_world.bucket, "quarantine/").values())
