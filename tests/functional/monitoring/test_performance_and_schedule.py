import datetime as dt
import io
import json

import boto3
import pandas as pd
import pytest

from chalicelib.core.events import ObjectRef, eventbridge_object_created
from chalicelib.services.performance import LabelsRequest, run_performance_check
from chalicelib.services.schedule import check_production_models
from chalicelib.storage import s3
from tests.functional.monitoring.conftest import capture, make_frame, register_model
from tests.functional.monitoring.newdata import put_passing_version

NOW = dt.datetime.now(dt.UTC)


def _labels_csv(ids_and_frame: list[tuple[str, pd.DataFrame]], flip: bool = False) -> bytes:
    rows = []
    for request_id, frame in ids_and_frame:
        for index, label in enumerate(frame["label"]):
            rows.append({"request_id": request_id, "record_index": index,
                         "label": 1 - label if flip else label})
    out = io.StringIO()
    pd.DataFrame(rows).to_csv(out, index=False)
    return out.getvalue().encode()


def _captured(model, n: int, seed: int) -> list[tuple[str, pd.DataFrame]]:
    frame = make_frame(n, seed=seed)
    ids = capture(model, frame, NOW - dt.timedelta(hours=3), per_request=100)
    return [(rid, frame.iloc[i * 100:(i + 1) * 100]) for i, rid in enumerate(ids)]


@pytest.mark.slow
def test_correct_labels_keep_live_accuracy_near_the_holdouts(moto_world):
    model = register_model("fare-labels-ok")
    s3.put_bytes(f"labels/{model.name}/batch1.csv", _labels_csv(_captured(model, 400, seed=21)))
    summary = run_performance_check(LabelsRequest(model.name, f"labels/{model.name}/batch1.csv", now=NOW))
    assert summary["matched"] == 400 and summary["status"] == "ok"
    assert abs(summary["live"] - model.holdout_accuracy) < 0.06
    assert s3.get_json(summary["report"])["check_id"] == summary["check_id"]


@pytest.mark.slow
def test_a_performance_drop_alerts_and_retrains_through_the_label_trigger(client, moto_world):
    model = register_model("fare-labels-bad", on_performance_drop=True)
    put_passing_version("rides")  # retraining needs something new to learn from
    sqs = boto3.client("sqs")
    alerts = sqs.create_queue(QueueName="perf-alerts")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=alerts, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns").subscribe(TopicArn=moto_world.topic_arn, Protocol="sqs", Endpoint=arn)
    key = f"labels/{model.name}/flipped.csv"
    stored = s3.put_bytes(key, _labels_csv(_captured(model, 300, seed=22), flip=True))
    event = eventbridge_object_created(ObjectRef(stored.bucket, key, stored.version_id, stored.etag))
    [summary] = client.lambda_.invoke("on_label_object", event).payload
    assert summary["status"] == "degraded" and summary["live"] < 0.5
    assert summary["run_id"]
    queued = json.loads(sqs.receive_message(QueueUrl=moto_world.invoke_queue_url)["Messages"][0]["Body"])
    assert queued["payload"]["run_id"] == summary["run_id"]
    alert = json.loads(sqs.receive_message(QueueUrl=alerts)["Messages"][0]["Body"])
    assert "performance dropped" in alert["Subject"]
    history = client.http.get(f"/models/{model.name}/drift?kind=performance").json_body["items"]
    assert [h["check_id"] for h in history] == [summary["check_id"]]


def test_a_labels_file_without_request_ids_is_rejected_with_a_reason(client, moto_world):
    model = register_model("fare-labels-broken")
    key = f"labels/{model.name}/broken.csv"
    stored = s3.put_bytes(key, b"id,truth\n1,0\n")
    event = eventbridge_object_created(ObjectRef(stored.bucket, key, stored.version_id, stored.etag))
    sqs = boto3.client("sqs")
    told = sqs.create_queue(QueueName="labels-alerts")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=told, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns").subscribe(TopicArn=moto_world.topic_arn, Protocol="sqs", Endpoint=arn)
    [outcome] = client.lambda_.invoke("on_label_object", event).payload
    assert outcome["status"] == "rejected" and outcome["code"] == "labels_unreadable"
    alert = json.loads(sqs.receive_message(QueueUrl=told)["Messages"][0]["Body"])
    assert alert["Subject"] == f"sluice: labels for {model.name} were not evaluated"


@pytest.mark.slow
def test_the_schedule_checks_every_production_model_and_isolates_failures(moto_world):
    healthy = register_model("sched-a")
    drifting = register_model("sched-b")
    broken = register_model("sched-c")
    capture(healthy, make_frame(2000, seed=7), NOW - dt.timedelta(hours=1))
    capture(drifting, make_frame(500, seed=32, shift=9.0), NOW - dt.timedelta(hours=1))
    s3.put_bytes(f"models/{broken.name}/{broken.version}/reference_profile.json", b"not json")
    result = check_production_models()
    by_model = {c["model"]: c["status"] for c in result["checked"]}
    assert by_model[drifting.name] == "drift"
    assert by_model[healthy.name] in ("stable", "minor")
    assert [f["model"] for f in result["failed"]] == [broken.name]


def test_a_labels_event_delivered_twice_checks_alerts_and_retrains_once(client, moto_world):
    model = register_model("fare-labels-twice", on_performance_drop=True)
    put_passing_version("rides")  # retraining needs something new to learn from
    key = f"labels/{model.name}/twice.csv"
    stored = s3.put_bytes(key, _labels_csv(_captured(model, 300, seed=23), flip=True))
    event = eventbridge_object_created(ObjectRef(stored.bucket, key, stored.version_id, stored.etag))
    [first] = client.lambda_.invoke("on_label_object", event).payload
    [second] = client.lambda_.invoke("on_label_object", event).payload
    assert first["status"] == "degraded" and second["status"] == "duplicate"
    assert second["check_id"] == first["check_id"]
    history = client.http.get(f"/models/{model.name}/drift?kind=performance").json_body["items"]
    assert len(history) == 1
    queued = boto3.client("sqs").receive_message(QueueUrl=moto_world.invoke_queue_url,
                                                 MaxNumberOfMessages=10).get("Messages", [])
    assert len(queued) == 1
