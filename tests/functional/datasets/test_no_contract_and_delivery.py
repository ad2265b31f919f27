"""Processing without a contract, duplicate delivery, concurrent uploads, bad events, untouched raw."""

import json
import threading

import boto3
import pytest

from chalicelib.core.events import ObjectRef, eventbridge_object_created
from chalicelib.services.uploads import process_object
from chalicelib.storage import datasets as store
from tests.functional.datasets.conftest import (
    REGION,
    all_objects,
    deliver,
    email,
    put_raw,
    rides_csv,
    upload_and_process,
)
from tests.unit.alerts.chatbot_schema import decoded_context


def test_an_upload_without_a_contract_is_quarantined_with_code_no_contract(client, moto_world, alerts):
    body = rides_csv(5)
    ref, out = upload_and_process(client, "raw/orphans/first.csv", body)
    assert out == {"processed": [{"key": "raw/orphans/first.csv", "dataset": "orphans", "version": 1,
                                  "status": "quarantined"}]}
    record = store.get_version("orphans", 1)
    assert (record.status, record.code, record.verdict) == ("quarantined", "no_contract", "fail")
    assert record.raw["version_id"] == ref.version_id and record.raw["etag"] == ref.etag
    assert record.raw["size"] == len(body) and len(record.raw["sha256"]) == 64

    s3 = boto3.client("s3", region_name=REGION)
    copy = s3.get_object(Bucket=moto_world.bucket, Key="quarantine/orphans/0000000001/object.csv")
    assert copy["Body"].read() == body
    assert copy["Metadata"]["sluice-code"] == "no_contract"
    report = json.loads(s3.get_object(Bucket=moto_world.bucket,
                                      Key="reports/validation/orphans/1.json")["Body"].read())
    assert report["code"] == "no_contract" and report["input"]["sha256"] == record.raw["sha256"]
    assert report["reason"] == "no_contract" and "PUT /datasets/orphans/contract" in report["message"]

    [alert] = alerts()
    assert alert["Subject"] == "sluice: upload to orphans quarantined (no_contract)"
    details = decoded_context(alert["Message"])
    assert details["code"] == "no_contract" and details["version"] == 1
    assert email(0) not in alert["Message"]


def test_the_same_object_version_delivered_twice_yields_one_dataset_version(client, moto_world, alerts):
    ref = put_raw("raw/orphans/twice.csv", rides_csv(3))
    first = deliver(client, ref)
    second = deliver(client, ref)
    assert first["processed"][0]["version"] == 1
    assert second == {"processed": [{"key": "raw/orphans/twice.csv", "dataset": "orphans", "version": 1,
                                     "duplicate": True}]}
    versions, _ = store.list_versions("orphans", 10)
    assert [v.version for v in versions] == [1]
    assert len(alerts()) == 1
    assert sorted(all_objects(moto_world.bucket, "quarantine/")) == [
        "quarantine/orphans/0000000001/_manifest.json", "quarantine/orphans/0000000001/object.csv"]


def test_a_new_version_of_the_same_key_is_a_new_dataset_version(client):
    put_raw("raw/orphans/same.csv", b"a\n1\n")
    deliver(client, put_raw("raw/orphans/same.csv", b"a\n2\n"))
    ref_old = ObjectRef(**{**_latest_versions("raw/orphans/same.csv")[-1]})
    out = deliver(client, ref_old)
    assert out["processed"][0]["version"] == 2


def _latest_versions(key):
    import os

    s3 = boto3.client("s3", region_name=REGION)
    found = s3.list_object_versions(Bucket=os.environ["SLUICE_BUCKET"], Prefix=key)["Versions"]
    return [{"bucket": os.environ["SLUICE_BUCKET"], "key": key, "version_id": v["VersionId"],
             "etag": v["ETag"].strip('"')} for v in sorted(found, key=lambda v: v["LastModified"],
                                                           reverse=True)]


@pytest.mark.slow
def test_concurrent_uploads_to_one_dataset_get_distinct_versions_none_lost(moto_world):
    refs = [put_raw(f"raw/orphans/c{i}.csv", f"a\n{i}\n".encode()) for i in range(8)]
    outcomes, errors = [], []

    def work(ref):
        try:
            outcomes.append(process_object(ref))
        except Exception as exc:  # pragma: no cover - shown on failure
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(ref,)) for ref in refs * 2]  # each one delivered twice
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    from chalicelib.core.datasets.errors import ObjectInProgressError

    assert all(isinstance(e, ObjectInProgressError) for e in errors)
    versions, _ = store.list_versions("orphans", 50)
    assert sorted(v.version for v in versions) == list(range(1, 9))
    assert sorted(v.raw["key"] for v in versions) == sorted(r.key for r in refs)


def test_a_crashed_attempt_is_retried_and_reuses_its_version_number(moto_world, monkeypatch):
    from chalicelib.services import uploads as service

    ref = put_raw("raw/orphans/crash.csv", b"a\n1\n")
    calls = []

    def fail_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("lost the network")
        return original(*args, **kwargs)

    original = service.outputs.put_report
    monkeypatch.setattr(service.outputs, "put_report", fail_once)
    with pytest.raises(ConnectionError):
        process_object(ref)
    with pytest.raises(Exception):  # noqa: B017 - nothing is visible after the crash
        store.get_version("orphans", 1)
    outcome = process_object(ref)  # the failed attempt released its claim: a retry may run at once
    assert (outcome.version, outcome.status) == (1, "quarantined")
    assert process_object(ref).duplicate


def test_a_delivery_of_an_object_another_attempt_holds_is_acknowledged_not_retried(moto_world):
    from chalicelib.storage import layout

    ref = put_raw("raw/orphans/busy.csv", b"a\n1\n")
    identity = ObjectRef(ref.bucket, ref.key, ref.version_id, ref.etag).identity
    claim = store.claim_object("orphans", layout.object_hash(identity), {}, lease_seconds=60)
    assert claim.state == "acquired"
    outcome = process_object(ref)  # no exception: Lambda does not retry it into errors
    assert (outcome.duplicate, outcome.skipped, outcome.version) == (True, "object_in_progress", None)
    assert store.list_versions("orphans", 10)[0] == []


def test_the_raw_object_is_never_modified(client, moto_world):
    body = rides_csv(5)
    ref, _ = upload_and_process(client, "raw/orphans/keep.csv", body)
    s3 = boto3.client("s3", region_name=REGION)
    versions = s3.list_object_versions(Bucket=moto_world.bucket, Prefix="raw/")["Versions"]
    assert [(v["Key"], v["VersionId"]) for v in versions] == [(ref.key, ref.version_id)]
    assert s3.get_object(Bucket=moto_world.bucket, Key=ref.key)["Body"].read() == body


MALFORMED = [{}, {"source": "aws.s3"}, {"Records": "nope"}, "not json", {"Records": [{"body": "{garbage"}]},
             {"source": "aws.s3", "detail": {"bucket": {}}}, None, [1, 2], {"Records": [{"s3": {}}]}]


def test_malformed_events_do_not_crash_the_handler(client):
    for event in MALFORMED:
        out = client.lambda_.invoke("on_raw_object", event).payload
        assert out["processed"] == [], event


def test_keys_outside_a_dataset_and_vanished_objects_are_skipped(client, moto_world, alerts):
    gone = ObjectRef(moto_world.bucket, "raw/orphans/never-uploaded.csv", None, "abc", 3)
    root = put_raw("raw/loose.csv", b"a\n1\n")
    bad_name = put_raw("raw/Bad Name/x.csv", b"a\n1\n")
    out = [deliver(client, ref)["processed"][0] for ref in (gone, root, bad_name)]
    assert [o.get("skipped") for o in out] == ["object_not_found", "not_a_dataset_key", "not_a_dataset_key"]
    told = [a["Subject"] for a in alerts()]
    assert told == ["sluice: an upload under raw/ was ignored"] * 2  # the uploader hears of it


def test_an_unexpected_error_is_logged_without_its_message_and_not_retried(client, monkeypatch, caplog,
                                                                           alerts):
    from chalicelib.services import uploads as service

    def explode(*args, **kwargs):
        raise ValueError(f"cannot parse {email(1)}")

    monkeypatch.setattr(service, "_process", explode)
    ref = put_raw("raw/orphans/boom.csv", b"a\n1\n")
    out = client.lambda_.invoke("on_raw_object", eventbridge_object_created(ref)).payload
    assert out["processed"] == [{"key": ref.key, "error": "ValueError", "retryable": False}]
    [record] = [r for r in caplog.records if r.getMessage() == "processing an upload failed"]
    assert record.error_type == "ValueError" and record.retryable is False
    assert email(1) not in caplog.text and email(1) not in json.dumps(record.__dict__, default=str)
    [alert] = alerts()
    assert alert["Subject"] == "sluice: an upload could not be processed" and email(1) not in str(alert)


def test_retryable_aws_trouble_is_raised_so_lambda_retries(client, monkeypatch):
    from botocore.exceptions import ClientError

    from chalicelib.services import uploads as service

    def throttled(*args, **kwargs):
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"},
                           "ResponseMetadata": {"HTTPStatusCode": 400}}, "PutItem")

    original = service._process
    monkeypatch.setattr(service, "_process", throttled)
    ref = put_raw("raw/orphans/throttled.csv", b"a\n1\n")
    with pytest.raises(ClientError):
        deliver(client, ref)
    monkeypatch.setattr(service, "_process", original)
    assert deliver(client, ref)["processed"][0]["version"] == 1  # the retry succeeds


def test_classic_s3_records_wrapped_in_sqs_are_processed_like_eventbridge_events(client):
    ref = put_raw("raw/orphans/with space.csv", b"a\n1\n")
    record = {"eventName": "ObjectCreated:Put", "s3": {
        "bucket": {"name": ref.bucket},
        "object": {"key": "raw/orphans/with+space.csv", "versionId": ref.version_id, "eTag": ref.etag}}}
    event = {"Records": [{"body": json.dumps({"Records": [record]})}]}
    out = client.lambda_.invoke("on_raw_object", event).payload
    assert out["processed"] == [{"key": ref.key, "dataset": "orphans", "version": 1, "status": "quarantined"}]
    assert deliver(client, ref)["processed"][0]["duplicate"] is True  # the same version via EventBridge
