"""Feedback data: labels joined to captured requests become versions of ``{model}-feedback`` through the
same data gate as uploads, with their lineage; the labels' edge cases (twice, late, unknown,
contradicting) behave as documented."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid

import boto3
import pandas as pd
import pytest

from chalicelib.core.datasets.feedback import CAPTURED_AT, LABELLED_AT, RECORD_INDEX, REQUEST_ID, keep_latest
from chalicelib.core.events import ObjectRef, eventbridge_object_created
from chalicelib.services.performance import LabelsRequest, run_performance_check
from chalicelib.storage import dataset_files, layout, s3
from chalicelib.storage import datasets as dataset_store
from tests.functional.monitoring.conftest import CITIES, capture, make_frame, register_model

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
CONTRACT = {
    "dataset": "rides",
    "columns": [
        {"name": "distance", "type": "float", "min": 0},
        {"name": "city", "type": "category", "allowed": CITIES},
        {"name": "label", "type": "int", "allowed": [0, 1]},
        {"name": "email", "type": "string", "pii": "hash", "nullable": True},
    ],
    "failure_policy": {"action": "quarantine_rows", "max_invalid_fraction": 0.5},
}
FEEDBACK_COLUMNS = ["distance", "city", "label", REQUEST_ID, RECORD_INDEX, CAPTURED_AT, LABELLED_AT]


def put_contract(body: dict | None = None) -> None:
    from chalicelib.core.validation.contract import parse_contract

    dataset_store.put_contract(parse_contract(body or CONTRACT))


@pytest.fixture
def model(moto_world):
    put_contract()
    return register_model(f"fare-{uuid.uuid4().hex[:6]}")


def captured(model, frame: pd.DataFrame, hours_ago: float, per_request: int = 100) -> list[tuple]:
    """(request id, record index, row) of every captured record."""
    ids = capture(model, frame, NOW - dt.timedelta(hours=hours_ago), per_request=per_request)
    out = []
    for i, request_id in enumerate(ids):
        part = frame.iloc[i * per_request:(i + 1) * per_request]
        out += [(request_id, index, row) for index, (_, row) in enumerate(part.iterrows())]
    return out


def labels_csv(rows: list[tuple], *, flip: bool = False) -> bytes:
    body = pd.DataFrame([{"request_id": r, "record_index": i,
                          "label": (1 - row["label"]) if flip else row["label"]} for r, i, row in rows])
    out = io.StringIO()
    body.to_csv(out, index=False)
    return out.getvalue().encode()


def upload_labels(model, name: str, body: bytes):
    return s3.put_bytes(f"labels/{model.name}/{name}", body)


def check(model, stored, **kwargs):
    return run_performance_check(LabelsRequest(model.name, stored.key, stored.version_id, now=NOW, **kwargs))


def curated_feedback(model, version: int) -> pd.DataFrame:
    record = dataset_store.get_version(layout.feedback_dataset(model.name), version)
    return dataset_files.read_curated(record.curated_path, FEEDBACK_COLUMNS)


def alerts_queue(moto_world) -> str:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"alerts-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns").subscribe(TopicArn=moto_world.topic_arn, Protocol="sqs", Endpoint=arn)
    return url


def alerts(url: str) -> list[dict]:
    messages = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_labelled_captured_requests_become_a_passed_feedback_version_with_their_lineage(model, moto_world):
    frame = make_frame(250, seed=31)
    rows = captured(model, frame, hours_ago=3)
    stored = upload_labels(model, "day1.csv", labels_csv(rows))
    summary = check(model, stored)

    feedback = summary["feedback"]
    dataset = layout.feedback_dataset(model.name)
    assert (feedback["dataset"], feedback["version"], feedback["status"]) == (dataset, 1, "passed")
    assert (feedback["rows"], feedback["matched"], feedback["unmatched"]) == (250, 250, 0)
    record = dataset_store.get_version(dataset, 1)
    assert record.rows == 250 and record.invalid_rows == 0
    assert record.raw["key"] == layout.feedback_key(model.name, summary["check_id"])
    lineage = record.lineage
    assert lineage["labels"] == {"bucket": stored.bucket, "key": stored.key, "version_id": stored.version_id,
                                 "etag": stored.etag}
    listing = boto3.client("s3").list_object_versions(Bucket=moto_world.bucket,
                                                      Prefix=f"capture/{model.name}/")
    every_capture = sorted(({"key": v["Key"], "version_id": v["VersionId"]} for v in listing["Versions"]),
                           key=lambda c: c["key"])
    assert sorted(lineage["captures"], key=lambda c: c["key"]) == every_capture
    assert lineage["captures_total"] == 3
    manifest = s3.get_json(lineage["captures_manifest"]["key"],
                           version_id=lineage["captures_manifest"]["version_id"])
    assert sorted(manifest["captures"], key=lambda c: c["key"]) == every_capture
    assert lineage["join"] == {"window_hours": 168, "labelled": 250, "matched": 250, "unmatched": 0}
    assert lineage["model_version"] == model.version
    report = dataset_files.get_report(record.report_key)
    assert report["lineage"] == lineage and report["verdict"] == "pass"

    curated = curated_feedback(model, 1)
    expected = pd.DataFrame([{REQUEST_ID: r, RECORD_INDEX: i, "distance": row["distance"],
                              "city": row["city"], "label": row["label"]} for r, i, row in rows])
    got = curated.sort_values([REQUEST_ID, RECORD_INDEX]).reset_index(drop=True)
    expected = expected.sort_values([REQUEST_ID, RECORD_INDEX]).reset_index(drop=True)
    assert got[REQUEST_ID].tolist() == expected[REQUEST_ID].tolist()
    assert got[RECORD_INDEX].tolist() == expected[RECORD_INDEX].tolist()
    assert got["distance"].tolist() == expected["distance"].tolist()
    assert got["city"].astype(str).tolist() == expected["city"].tolist()
    assert got["label"].tolist() == expected["label"].tolist()
    captured_at = pd.Timestamp(NOW - dt.timedelta(hours=3)).tz_localize(None)
    assert set(pd.to_datetime(got[CAPTURED_AT]).dt.tz_localize(None)) == {captured_at}
    labels_time = boto3.client("s3").head_object(Bucket=stored.bucket, Key=stored.key)["LastModified"]
    assert set(pd.to_datetime(got[LABELLED_AT]).dt.tz_localize(None)) == {
        pd.Timestamp(labels_time.astimezone(dt.UTC)).tz_localize(None)}


def test_feedback_rows_are_validated_by_the_training_contracts_rules_and_invalid_ones_quarantined(model):
    frame = make_frame(40, seed=32)
    frame.loc[3, "distance"] = -1.0  # the contract says min 0: the model answered, the data gate refuses
    rows = captured(model, frame, hours_ago=2, per_request=40)
    body = pd.read_csv(io.BytesIO(labels_csv(rows)))
    body.loc[7, "label"] = 7  # not an allowed label
    out = io.StringIO()
    body.to_csv(out, index=False)
    summary = check(model, upload_labels(model, "bad.csv", out.getvalue().encode()))

    record = dataset_store.get_version(layout.feedback_dataset(model.name), summary["feedback"]["version"])
    assert record.status == "passed" and (record.rows, record.invalid_rows) == (40, 2)
    assert sorted(record.failing_rules) == ["distance.range", "label.allowed"]
    assert record.quarantine_path
    assert len(curated_feedback(model, record.version)) == 38


def test_feedback_rows_are_pii_handled_exactly_as_an_upload_of_the_training_dataset(moto_world):
    from chalicelib.services.uploads import process_object

    hashed = {**CONTRACT, "columns": [{**c, "pii": "hash"} if c["name"] == "city" else c
                                      for c in CONTRACT["columns"]]}
    put_contract(hashed)
    model = register_model(f"pii-{uuid.uuid4().hex[:6]}")  # a model trained before PII features were refused
    frame = make_frame(30, seed=33)
    rows = captured(model, frame, hours_ago=1, per_request=30)
    summary = check(model, upload_labels(model, "l.csv", labels_csv(rows)))
    feedback = curated_feedback(model, summary["feedback"]["version"]).sort_values(RECORD_INDEX)

    upload = io.StringIO()
    frame.assign(email=None).to_csv(upload, index=False)
    raw = s3.put_bytes("raw/rides/same-rows.csv", upload.getvalue().encode())
    outcome = process_object(ObjectRef(raw.bucket, raw.key, raw.version_id, raw.etag))
    uploaded = dataset_files.read_curated(dataset_store.get_version("rides", outcome.version).curated_path,
                                          ["city"])
    assert feedback["city"].tolist() == uploaded["city"].tolist()  # the same HMAC, row for row
    assert not set(feedback["city"]) & set(CITIES)  # never the clear value


def test_the_same_labels_event_delivered_twice_makes_one_feedback_version(client, model):
    stored = upload_labels(model, "twice.csv", labels_csv(captured(model, make_frame(50, seed=34), 2, 50)))
    event = eventbridge_object_created(ObjectRef(stored.bucket, stored.key, stored.version_id, stored.etag))
    [first] = client.lambda_.invoke("on_label_object", event).payload
    [second] = client.lambda_.invoke("on_label_object", event).payload
    assert first["feedback"]["version"] == 1 and second["status"] == "duplicate"
    versions, _ = dataset_store.list_versions(layout.feedback_dataset(model.name), limit=10)
    assert [v.version for v in versions] == [1]


def test_a_retried_check_reuses_the_feedback_object_and_its_version(model):
    from chalicelib.storage import checks

    stored = upload_labels(model, "retry.csv", labels_csv(captured(model, make_frame(20, seed=35), 2, 20)))
    first = check(model, stored)
    checks.release_claim(model.name, first["check_id"])  # as if the attempt had failed after its feedback
    second = check(model, stored)
    assert second["feedback"]["version"] == first["feedback"]["version"] == 1
    assert second["feedback"]["status"] == "passed"
    versions, _ = dataset_store.list_versions(layout.feedback_dataset(model.name), limit=10)
    assert len(versions) == 1


def test_a_key_labelled_twice_in_one_file_keeps_its_last_label(model):
    rows = captured(model, make_frame(10, seed=36), 2, 10)
    request_id = rows[0][0]
    body = labels_csv(rows) + f"{request_id},4,0\n{request_id},4,1\n".encode()  # record 4: 0, then 1
    summary = check(model, upload_labels(model, "dup.csv", body))
    curated = curated_feedback(model, summary["feedback"]["version"])
    assert len(curated) == 10
    assert curated.loc[curated[RECORD_INDEX] == 4, "label"].tolist() == [1]


def test_unknown_ids_and_requests_older_than_the_window_are_counted_and_reported_not_rows(model, moto_world):
    queue = alerts_queue(moto_world)
    recent = captured(model, make_frame(30, seed=37), hours_ago=5, per_request=30)
    old = captured(model, make_frame(20, seed=38), hours_ago=8 * 24, per_request=20)  # beyond 7 days
    unknown = [(str(uuid.uuid4()), 0, {"label": 1}) for _ in range(5)]
    summary = check(model, upload_labels(model, "late.csv", labels_csv(recent + old + unknown, flip=True)))

    assert (summary["labels"], summary["matched"], summary["unmatched"]) == (55, 30, 25)
    assert summary["window_hours"] == 168
    assert s3.get_json(summary["report"])["unmatched"] == 25
    feedback = summary["feedback"]
    assert (feedback["rows"], feedback["unmatched"]) == (30, 25)
    record = dataset_store.get_version(layout.feedback_dataset(model.name), feedback["version"])
    assert record.lineage["join"] == {"window_hours": 168, "labelled": 55, "matched": 30, "unmatched": 25}
    assert set(curated_feedback(model, record.version)[REQUEST_ID]) == {recent[0][0]}
    [drop] = [a for a in alerts(queue) if "performance dropped" in a["Subject"]]
    assert "25 of 55 labels matched no request captured in the last 168 h" in drop["Message"]
    assert f"dataset {feedback['dataset']} version {feedback['version']}" in drop["Message"]


def test_labels_that_match_nothing_alert_and_make_no_feedback_version(model, moto_world):
    queue = alerts_queue(moto_world)
    unknown = [(str(uuid.uuid4()), 0, {"label": 1}) for _ in range(4)]
    summary = check(model, upload_labels(model, "nothing.csv", labels_csv(unknown)))
    assert summary["feedback"]["status"] == "no_rows" and summary["feedback"]["version"] is None
    assert dataset_store.get_dataset(layout.feedback_dataset(model.name)) is None
    [alert] = alerts(queue)
    assert alert["Subject"] == f"sluice: labels for {model.name} matched no captured request"
    assert "none of its 4 labels matched a request captured in the last 168 h" in alert["Message"]


def test_a_contradicting_later_label_is_a_second_version_and_the_latest_wins(model):
    rows = captured(model, make_frame(10, seed=39), 2, 10)
    first = check(model, upload_labels(model, "a.csv", labels_csv(rows)))
    second = check(model, upload_labels(model, "b.csv", labels_csv(rows[:3], flip=True)))
    assert (first["feedback"]["version"], second["feedback"]["version"]) == (1, 2)
    assert first["feedback"]["contract_version"] == second["feedback"]["contract_version"] == 1  # not re-put
    both = pd.concat([curated_feedback(model, 1).assign(v=1), curated_feedback(model, 2).assign(v=2)])
    latest = keep_latest(both, "v").set_index([REQUEST_ID, RECORD_INDEX])["label"]
    for request_id, index, row in rows:
        expected = 1 - row["label"] if index < 3 else row["label"]
        assert latest[(request_id, index)] == expected


def test_without_a_training_contract_the_check_runs_and_feedback_is_skipped_with_the_reason(moto_world):
    model = register_model(f"nocontract-{uuid.uuid4().hex[:6]}")
    rows = captured(model, make_frame(20, seed=40), 1, 20)
    summary = check(model, upload_labels(model, "x.csv", labels_csv(rows)))
    assert summary["matched"] == 20 and summary["status"] in ("ok", "insufficient_data")
    assert summary["feedback"]["status"] == "skipped"
    assert summary["feedback"]["code"] == "contract_not_found"


def test_the_lineage_of_a_model_trained_on_feedback_names_its_labels_and_capture_objects(client, model):
    from chalicelib.services.registry import get_registry

    stored = upload_labels(model, "l.csv", labels_csv(captured(model, make_frame(20, seed=41), 1, 20)))
    summary = check(model, stored)
    dataset = layout.feedback_dataset(model.name)
    registry = get_registry()
    version = registry.reserve_version(model.name)
    registry.register_model_version(model.name, version, source="s3://x", artifact_sha256="0" * 64,
                                    run_id="r", metrics={}, spec_version=1,
                                    dataset_versions=[{"dataset": dataset, "version": 1}])
    body = client.http.get(f"/models/{model.name}/versions/{version}/lineage").json_body
    [entry] = body["datasets"]
    assert entry["found"] and entry["raw"]["key"] == summary["feedback"]["key"]
    assert entry["feedback"]["labels"]["key"] == stored.key
    assert entry["feedback"]["labels"]["version_id"] == stored.version_id
    assert [c["key"].split("/")[1] for c in entry["feedback"]["captures"]] == [model.name]
    assert entry["feedback"]["join"]["matched"] == 20


def test_the_process_feedback_function_validates_feedback_objects_and_nothing_else(client, model):
    stored = upload_labels(model, "f.csv", labels_csv(captured(model, make_frame(10, seed=42), 1, 10)))
    summary = check(model, stored)
    record = dataset_store.get_version(layout.feedback_dataset(model.name), 1)
    raw = record.raw
    payload = {"bucket": raw["bucket"], "key": raw["key"], "version_id": raw["version_id"],
               "etag": raw["etag"], "dataset": layout.feedback_dataset(model.name), "lineage": record.lineage}
    again = client.lambda_.invoke("process_feedback", payload).payload
    assert again["result"]["version"] == summary["feedback"]["version"] and again["result"]["duplicate"]
    assert again["result"]["status"] == "passed"
    upload = s3.put_bytes("raw/rides/any.csv", b"distance,city,label\n1.0,berlin,1\n")
    for key, dataset in ((upload.key, layout.feedback_dataset(model.name)), (raw["key"], "rides")):
        refused = client.lambda_.invoke("process_feedback", {**payload, "key": key, "dataset": dataset})
        assert refused.payload["error"]["code"] == "not_a_feedback_object"
    assert dataset_store.get_dataset("rides")["latest_version"] is None
