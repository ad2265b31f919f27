"""Uploads with a contract: curated Parquet, quarantine, reports, alerts, invocations, no PII in clear."""

import gzip
import hashlib
import hmac
import json
import os
import threading

import boto3
import pytest

from chalicelib.services.uploads import process_object
from chalicelib.storage import datasets as store
from tests.functional.datasets.conftest import (
    REGION,
    all_objects,
    deliver,
    email,
    put_contract,
    put_raw,
    readable_texts,
    rides_contract,
    rides_csv,
    upload_and_process,
)
from tests.unit.alerts.chatbot_schema import decoded_context

EMAILS = [email(i) for i in range(40)]


def read_curated(version: int, dataset: str = "rides"):
    from chalicelib.storage import wrangler

    wr = wrangler()
    return wr.s3.read_parquet(f"s3://{os.environ['SLUICE_BUCKET']}/curated/{dataset}/dataset_version={version}/")


def assert_no_pii_in_clear(bucket, alerts_seen, caplog):
    texts = readable_texts(bucket)
    assert texts, "nothing was written"
    for key, text in texts.items():
        leaked = [e for e in EMAILS if e in text]
        assert not leaked, f"{key} holds {leaked[:2]}"
    for alert in alerts_seen:
        assert not any(e in json.dumps(alert) for e in EMAILS)
    assert not any(e in caplog.text for e in EMAILS)


@pytest.mark.slow
def test_a_clean_upload_becomes_curated_parquet_with_pii_hashed(client, moto_world, glue_database,
                                                               invocations, caplog):
    put_contract(client, rides_contract())
    body = rides_csv(40)
    ref, out = upload_and_process(client, "raw/rides/2026-11-26.csv", body)
    assert out["processed"] == [{"key": ref.key, "dataset": "rides", "version": 1, "status": "passed"}]

    curated = read_curated(1)
    assert len(curated) == 40
    assert sorted(curated["ride_id"]) == [f"R{i:06d}" for i in range(40)]
    key = os.environ["SLUICE_PII_KEY"].encode()
    assert set(curated["rider_email"]) == {hmac.new(key, e.encode(), hashlib.sha256).hexdigest()
                                           for e in EMAILS}
    assert str(curated["passengers"].dtype) in ("Int64", "int64")

    record = store.get_version("rides", 1)
    # the attempt's own folder in the version's partition (a fenced-out attempt's late parts land beside it)
    assert record.curated_path.startswith(f"s3://{moto_world.bucket}/curated/rides/dataset_version=1/run-")
    assert (record.rows, record.invalid_rows, record.contract_version) == (40, 0, 1)
    assert record.raw["sha256"] == hashlib.sha256(body).hexdigest()
    assert record.raw["version_id"] == ref.version_id and record.raw["etag"] == ref.etag
    assert record.glue_table == f"{glue_database}.rides"

    glue = boto3.client("glue", region_name=REGION)
    table = glue.get_table(DatabaseName=glue_database, Name="rides")["Table"]
    assert [p["Name"] for p in table["PartitionKeys"]] == ["dataset_version"]
    partitions = glue.get_partitions(DatabaseName=glue_database, TableName="rides")["Partitions"]
    assert [p["Values"] for p in partitions] == [["1"]]

    report = json.loads(all_objects(moto_world.bucket, "reports/validation/rides/1.json")[
        "reports/validation/rides/1.json"])
    assert report["verdict"] == "pass" and report["contract_version"] == 1
    assert report["input"] == {**record.raw, "rows": 40}
    assert invocations() == [{"function": "on_dataset_version",
                              "payload": {"dataset": "rides", "version": 1}}]
    assert store.latest_passing_version("rides").version == 1
    assert_no_pii_in_clear(moto_world.bucket, [], caplog)


@pytest.mark.slow
def test_a_corrupted_upload_under_reject_file_is_quarantined_and_alerted(client, moto_world, alerts,
                                                                        invocations, caplog):
    put_contract(client, rides_contract(policy="reject_file"))
    ref, out = upload_and_process(client, "raw/rides/bad.csv", rides_csv(40, bad=(3, 17)))
    assert out["processed"][0]["status"] == "failed"
    record = store.get_version("rides", 1)
    assert (record.verdict, record.decision, record.code) == ("fail", "reject_file", "invalid_rows")
    assert record.failing_rules == ["fare.range"] and record.invalid_rows == 2
    assert record.curated_path is None
    assert not all_objects(moto_world.bucket, "curated/")

    folder = str(record.quarantine_path).removeprefix(f"s3://{moto_world.bucket}/")  # the attempt's folder
    assert folder.startswith("quarantine/rides/0000000001/run-")
    quarantined = all_objects(moto_world.bucket, folder)
    manifest = json.loads(quarantined.pop(f"{folder}_manifest.json"))
    assert manifest["source"]["version_id"] == ref.version_id and manifest["code"] == "invalid_rows"
    rows = json.loads(readable_texts(moto_world.bucket, (f"{folder}rows/",)).popitem()[1])
    assert [(r["_row"], r["_reasons"]) for r in rows] == [(3, "fare.range"), (17, "fare.range")]

    [alert] = alerts()
    details = decoded_context(alert["Message"])
    assert alert["Subject"] == "sluice: upload to rides failed (invalid_rows)"
    assert details["failing_rules"] == ["fare.range"] and details["report_key"] == record.report_key
    assert invocations() == []
    assert_no_pii_in_clear(moto_world.bucket, [alert], caplog)


@pytest.mark.slow
def test_a_corrupted_upload_under_quarantine_rows_keeps_the_valid_rows(client, moto_world, alerts,
                                                                      invocations, caplog):
    put_contract(client, rides_contract(policy="quarantine_rows", max_invalid_fraction=0.1))
    upload_and_process(client, "raw/rides/some-bad.csv", rides_csv(40, bad=(3, 17)))
    record = store.get_version("rides", 1)
    assert (record.status, record.decision, record.invalid_rows) == ("passed", "accept_rows", 2)
    curated = read_curated(1)
    assert len(curated) == 38 and "R000003" not in set(curated["ride_id"])
    folder = str(record.quarantine_path).removeprefix(f"s3://{moto_world.bucket}/")
    rows = json.loads(readable_texts(moto_world.bucket, (f"{folder}rows/",)).popitem()[1])
    assert [r["ride_id"] for r in rows] == ["R000003", "R000017"]
    assert all(r["rider_email"] not in EMAILS for r in rows)
    [alert] = alerts()
    assert alert["Subject"] == "sluice: upload to rides passed with 2 rows quarantined"
    assert [i["payload"] for i in invocations()] == [{"dataset": "rides", "version": 1}]
    assert_no_pii_in_clear(moto_world.bucket, [alert], caplog)


def test_too_many_invalid_rows_under_quarantine_rows_reject_the_file(client, moto_world):
    put_contract(client, rides_contract(policy="quarantine_rows", max_invalid_fraction=0.01))
    upload_and_process(client, "raw/rides/many-bad.csv", rides_csv(40, bad=(1, 2, 3)))
    record = store.get_version("rides", 1)
    assert (record.status, record.code) == ("failed", "too_many_invalid_rows")
    assert not all_objects(moto_world.bucket, "curated/")


GZIPPED = gzip.compress(rides_csv(5))


BAD_INPUTS = [
    ("empty.csv", b"", "empty_file"),
    ("header-only.csv", b"ride_id,rider_email,city,fare,passengers\n", "no_rows"),
    ("ragged.csv", b"ride_id,rider_email,city,fare,passengers\nR000001,a@example.com,Berlin\n",
     "ragged_rows"),
    ("garbage.csv", bytes(range(256)) * 8, "unreadable_file"),
    ("gzip.csv", GZIPPED, "compressed_input"),
    ("latin1.csv", "ride_id,rider_email,city,fare,passengers\nR000001,j\xf6rg@example.com,M\xfcnchen,3.5,1\n"
     .encode("latin-1"), "encoding_error"),
    ("excel-unicode.csv", "ride_id,rider_email,city,fare,passengers\nR000001,a@example.com,Berlin,3.5,1\n"
     .encode("utf-16"), "encoding_mismatch"),
    ("missing-columns.csv", b"ride_id,fare\nR000001,3.5\n", "missing_columns"),
    ("unknown.parquet", b"PAR1 not really", "format_mismatch"),
]


UNREAD = {"empty_file", "unreadable_file", "compressed_input", "encoding_error", "encoding_mismatch",
          "format_mismatch"}


@pytest.mark.slow
def test_bad_input_yields_a_failed_version_with_a_report_not_a_crash(client, moto_world):
    put_contract(client, rides_contract())
    for version, (name, body, code) in enumerate(BAD_INPUTS, start=1):
        _, out = upload_and_process(client, f"raw/rides/{name}", body)
        assert out["processed"][0]["status"] == "failed", (name, out)
        record = store.get_version("rides", version)
        assert (record.code, bool(record.reason)) == (code, True), name
        report = json.loads(all_objects(moto_world.bucket, record.report_key)[record.report_key])
        assert report["verdict"] == "fail" and report["reason"] == code, name
        assert report["input"]["key"] == f"raw/rides/{name}" and report["input"]["size"] == len(body)
        statuses = {r["id"]: r["status"] for r in report["rules"]}
        if code in UNREAD:  # the rules never ran: none reads as passed
            assert {rid: s for rid, s in statuses.items() if s != "not_evaluated"} == \
                {"dataset.readable": "failed"}, name
        if code == "missing_columns":
            assert statuses["city.allowed"] == "not_evaluated" and statuses["fare.range"] == "passed"
        quarantined = all_objects(moto_world.bucket, f"quarantine/rides/{version:010d}/")
        assert quarantined, name
        # the contract declares PII: an unreadable file is named by the manifest, never copied in clear
        assert not any(b"@example.com" in body for body in quarantined.values()), name


def test_duplicate_delivery_of_a_passing_upload_writes_everything_once(client, moto_world, invocations):
    put_contract(client, rides_contract())
    ref = put_raw("raw/rides/dup.csv", rides_csv(10))
    deliver(client, ref)
    files = sorted(all_objects(moto_world.bucket, "curated/"))
    again = deliver(client, ref)
    assert again["processed"][0]["duplicate"] is True
    assert sorted(all_objects(moto_world.bucket, "curated/")) == files
    assert [v.version for v in store.list_versions("rides", 10)[0]] == [1]
    assert len(invocations()) == 1


@pytest.mark.slow
def test_concurrent_uploads_with_a_contract_get_distinct_versions(client, moto_world):
    put_contract(client, rides_contract())
    refs = [put_raw(f"raw/rides/c{i}.csv", rides_csv(5, seed=i)) for i in range(4)]
    errors = []

    def work(ref):
        try:
            process_object(ref)
        except Exception as exc:  # a second delivery may find the first one's claim held
            errors.append(type(exc).__name__)

    threads = [threading.Thread(target=work, args=(r,)) for r in refs + refs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(errors) <= {"ObjectInProgressError"}
    versions, _ = store.list_versions("rides", 10)
    assert sorted(v.version for v in versions) == [1, 2, 3, 4]
    assert {v.status for v in versions} == {"passed"}
    for v in versions:
        assert len(read_curated(v.version)) == 5


@pytest.mark.slow
def test_a_crash_before_the_version_record_leaves_nothing_visible_and_the_retry_writes_once(
        client, moto_world, glue_database, invocations, monkeypatch):
    from chalicelib.services import uploads as service

    put_contract(client, rides_contract())
    ref = put_raw("raw/rides/crash.csv", rides_csv(20))
    original = service.store.put_version_fenced

    def crash(record, object_hash, owner):
        raise ConnectionError("the network went away")

    monkeypatch.setattr(service.store, "put_version_fenced", crash)
    with pytest.raises(ConnectionError):
        process_object(ref)
    assert store.list_versions("rides", 10)[0] == [] and invocations() == []
    assert store.latest_passing_version("rides") is None

    monkeypatch.setattr(service.store, "put_version_fenced", original)
    outcome = process_object(ref)
    assert (outcome.version, outcome.status) == (1, "passed")
    assert len(read_curated(1)) == 20  # the retry replaced the partial partition, not added to it
    assert len(invocations()) == 1


@pytest.mark.slow
def test_every_column_type_and_pii_action_lands_in_curated_parquet_and_glue(client, glue_database):
    contract = {
        "dataset": "typed", "format": {"type": "csv"},
        "columns": [
            {"name": "n", "type": "int"}, {"name": "x", "type": "float", "nullable": True},
            {"name": "ok", "type": "bool"}, {"name": "s", "type": "string"},
            {"name": "c", "type": "category", "allowed": ["a", "b"]}, {"name": "d", "type": "date"},
            {"name": "ts", "type": "timestamp"}, {"name": "phone", "type": "string", "pii": "mask"},
            {"name": "mail", "type": "string", "pii": "drop"},
            {"name": "empty", "type": "string", "nullable": True},
        ],
    }
    put_contract(client, contract)
    body = (b"n,x,ok,s,c,d,ts,phone,mail,empty\n"
            b"1,1.5,true,hi,a,2026-01-02,2026-01-02T03:04:05Z,+49 170 1234567,a@example.com,\n"
            b"2,,false,yo,b,2026-02-03,2026-02-03T04:05:06Z,+49 170 7654321,b@example.com,\n")
    _, out = upload_and_process(client, "raw/typed/t.csv", body)
    assert out["processed"][0]["status"] == "passed", out
    curated = read_curated(1, "typed")
    assert list(curated.columns) == ["n", "x", "ok", "s", "c", "d", "ts", "phone", "empty"]
    assert curated["n"].tolist() == [1, 2] and curated["ok"].tolist() == [True, False]
    assert not any("1234567" in str(v) for v in curated["phone"])
    glue = boto3.client("glue", region_name=REGION)
    table = glue.get_table(DatabaseName=glue_database, Name="typed")["Table"]
    columns = {c["Name"]: c["Type"] for c in table["StorageDescriptor"]["Columns"]}
    assert columns["n"] == "bigint" and columns["x"] == "double" and columns["ok"] == "boolean"
    assert columns["ts"] == "timestamp" and columns["empty"] == "string" and "mail" not in columns


def test_a_clean_daily_file_keyed_by_its_date_becomes_a_passed_version(client, moto_world):
    contract = {"dataset": "daily", "format": {"type": "csv"},
                "columns": [{"name": "day", "type": "date", "unique": True},
                            {"name": "rides", "type": "int", "min": 0}],
                "rules": {"primary_key": {"columns": ["day"]}}}
    put_contract(client, contract)
    body = ("day,rides\n" + "".join(f"2026-03-{d:02d},{d * 17}\n" for d in range(1, 32))).encode()
    _, out = upload_and_process(client, "raw/daily/2026-03.csv", body)
    assert out["processed"][0]["status"] == "passed", out
    record = store.get_version("daily", 1)
    assert (record.rows, record.invalid_rows, record.failing_rules) == (31, 0, [])
    curated = read_curated(1, "daily")
    assert sorted(str(d)[:10] for d in curated["day"]) == [f"2026-03-{d:02d}" for d in range(1, 32)]
