"""A drift or performance trigger retrains only when something new arrived since the production version's
training data; otherwise no run starts, the check records ``retrain: skipped`` and the alert says what to
upload where. Small models are monitored: 100 training rows give a 100-prediction reference, their date
parts are checked as the model sees them."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import boto3
import pandas as pd
import pytest

from chalicelib.services import training as service
from chalicelib.services.drift import CheckRequest, run_drift_check
from chalicelib.storage import s3
from tests.functional.training.conftest import drain_invocations, send
from tests.functional.training.test_window_runs import FEEDBACK_CONTRACT, feedback
from tests.unit.training.conftest import rides_frame, spec_body

NOW = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC)
INPUTS = ["distance_km", "zone", "night", "pickup_ts"]


def subscribe(topic_arn: str) -> str:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"alerts-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return url


def alerts(url: str) -> list[dict]:
    messages = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def queued_trains(moto_world) -> list[dict]:
    sqs = boto3.client("sqs")
    out = []
    while messages := sqs.receive_message(QueueUrl=moto_world.invoke_queue_url,
                                          MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            sqs.delete_message(QueueUrl=moto_world.invoke_queue_url, ReceiptHandle=message["ReceiptHandle"])
            body = json.loads(message["Body"])
            out += [body] if body["function"] == "train" else []
    return out


def production(client, moto_world, registry, spec, frame=None, make_dataset=None):
    """Train the first version through the train function: it becomes production, with its lineage."""
    make_dataset(rides_frame() if frame is None else frame)
    assert send(client, "put", "/models/tips/spec", spec)[0] == 201
    send(client, "post", "/models/tips/train", {})
    drain_invocations(client, moto_world)
    assert registry.get_alias("tips", "production") == 1


def capture(frame: pd.DataFrame, when: dt.datetime, version: int = 1) -> None:
    """Captured requests of ``frame``'s rows, as serving writes them, with the production model's answers."""
    from chalicelib.services.registry import get_registry
    from chalicelib.storage import artifacts

    record = get_registry().get_model_version("tips", version)
    model = artifacts.load_model("tips", version, record.artifact_sha256)
    predictions = model.pipeline.predict(frame[INPUTS])
    request_id = str(uuid.uuid4())
    lines = [json.dumps({"request_id": request_id, "record_index": i, "time": when.isoformat(),
                         "model": "tips", "version": version, "alias": "production",
                         "input": {"distance_km": None if pd.isna(row.distance_km) else row.distance_km,
                                   "zone": None if pd.isna(row.zone) else row.zone, "night": bool(row.night),
                                   "pickup_ts": row.pickup_ts.isoformat()},
                         "prediction": prediction})
             for i, (row, prediction) in enumerate(zip(frame.itertuples(), predictions, strict=True))]
    s3.put_bytes(f"capture/tips/date={when:%Y-%m-%d}/hour={when:%H}/{uuid.uuid4()}.jsonl",
                 ("\n".join(lines) + "\n").encode())


def summer(rows: int, seed: int = 9) -> pd.DataFrame:
    """Long summer rides: drifted distance and pickup months the winter model never saw."""
    frame = rides_frame(rows, seed=seed)
    frame["distance_km"] = frame["distance_km"] * 4 + 20
    frame["pickup_ts"] = pd.date_range("2026-07-01", periods=rows, freq="53min", tz="UTC")
    return frame


def drift_spec(**overrides):
    return spec_body(retrain={"on_drift": True, **overrides.pop("retrain", {})}, cooldown_minutes=0,
                     **overrides)


@pytest.mark.slow
def test_drift_without_new_data_starts_no_run_records_why_and_the_alert_says_what_to_upload(
        client, moto_world, make_dataset, registry):
    production(client, moto_world, registry, drift_spec(), make_dataset=make_dataset)
    told = subscribe(moto_world.topic_arn)
    capture(summer(300), NOW - dt.timedelta(hours=1))

    summary = run_drift_check(CheckRequest("tips", now=NOW))
    assert summary["status"] == "drift" and summary["run_id"] is None
    assert summary["retrain"]["status"] == "skipped"
    assert summary["retrain"]["reason"] == "no new data since version 1"
    assert summary["retrain"]["new_data"]["since_version"] == 1
    assert queued_trains(moto_world) == []  # zero runs when nothing new has arrived
    [alert] = alerts(told)
    bucket = moto_world.bucket
    assert ("no retraining started: no new data since version 1. Upload a new version of dataset rides to "
            f"s3://{bucket}/raw/rides/; labels under s3://{bucket}/labels/tips/ become training data once "
            "the spec sets data.feedback: true. Report: ") in alert["Message"]
    stored = s3.get_json(summary["reports"]["json"])
    assert stored["retrain"]["status"] == "skipped"
    _, history = send(client, "get", "/models/tips/drift")
    assert history["items"][0]["retrain"]["reason"] == "no new data since version 1"
    again = run_drift_check(CheckRequest("tips", now=NOW + dt.timedelta(minutes=5)))
    assert again["retrain"]["status"] == "skipped" and queued_trains(moto_world) == []

    make_dataset(summer(300, seed=10))  # rides version 2 arrives
    after = run_drift_check(CheckRequest("tips", now=NOW + dt.timedelta(minutes=10)))
    assert after["retrain"]["status"] == "started" and after["run_id"]
    assert after["retrain"]["new_data"]["reason"] == "new data: dataset rides version(s) 2"
    [queued] = queued_trains(moto_world)
    assert queued["payload"]["run_id"] == after["run_id"]
    _, run = send(client, "get", f"/models/tips/runs/{after['run_id']}")
    assert run["cause"]["trigger"] == "drift"
    assert run["cause"]["new_data"] == after["retrain"]["new_data"]["reason"]


@pytest.mark.slow
def test_feedback_rows_retrain_once_the_spec_s_minimum_has_arrived(client, moto_world, make_dataset,
                                                                   registry):
    spec = drift_spec(data={"feedback": True}, retrain={"min_new_feedback_rows": 30})
    production(client, moto_world, registry, spec, make_dataset=make_dataset)
    told = subscribe(moto_world.topic_arn)
    make_dataset(feedback(range(20), "yes", "2026-12-05"), dataset="tips-feedback",
                 contract=FEEDBACK_CONTRACT)
    capture(summer(300), NOW - dt.timedelta(hours=1))

    few = run_drift_check(CheckRequest("tips", now=NOW))
    assert few["retrain"]["status"] == "skipped" and few["retrain"]["new_data"]["new_feedback_rows"] == 20
    [alert] = alerts(told)
    assert (f"Upload a new version of dataset rides to s3://{moto_world.bucket}/raw/rides/, or labels of 10 "
            f"more captured record(s) to s3://{moto_world.bucket}/labels/tips/ (20 new labelled row(s) of "
            "the 30 the spec's retrain.min_new_feedback_rows asks for). Report: ") in alert["Message"]
    assert queued_trains(moto_world) == []

    make_dataset(feedback(range(20, 30), "no", "2026-12-05"), dataset="tips-feedback",
                 contract=FEEDBACK_CONTRACT)
    enough = run_drift_check(CheckRequest("tips", now=NOW + dt.timedelta(minutes=1)))
    assert enough["retrain"]["status"] == "started"
    assert enough["retrain"]["new_data"]["reason"] == "new data: 30 new labelled feedback row(s)"
    assert len(queued_trains(moto_world)) == 1


def test_a_performance_trigger_follows_the_same_rule(client, moto_world, make_dataset, registry):
    production(client, moto_world, registry, spec_body(retrain={"on_performance_drop": True}),
               make_dataset=make_dataset)
    skipped = service.retrain("tips", "performance_drop", {"performance_check": "labels-1"})
    assert skipped["status"] == "skipped" and skipped["reason"] == "no new data since version 1"
    assert service.maybe_retrain("tips", "performance_drop", {}) is None
    assert service.retrain("tips", "drift", {}) == {"status": "not_requested",
                                                    "reason": "the spec does not retrain on_drift"}
    make_dataset()
    started = service.retrain("tips", "performance_drop", {"performance_check": "labels-2"})
    assert started["status"] == "started"
    busy = service.retrain("tips", "performance_drop", {})  # single flight still holds
    assert busy["status"] == "skipped" and busy["code"] == "run_in_progress"


@pytest.mark.slow
def test_a_model_trained_on_100_rows_gets_prediction_and_date_part_drift_verdicts(
        client, moto_world, make_dataset, registry):
    production(client, moto_world, registry, spec_body(), frame=rides_frame(100), make_dataset=make_dataset)
    capture(summer(20), NOW - dt.timedelta(hours=2))
    short = run_drift_check(CheckRequest("tips", now=NOW))
    assert short["status"] == "insufficient_data" and short["reference_rows"] == 100
    assert short["rows_needed"]["per_feature"] == 50 and short["rows_needed"]["window_rows"] == 20
    assert short["rows_needed"]["message"].startswith(
        "9 feature(s) lack values for a verdict: 50 non-missing values are needed on each side, the window "
        "holds 20 row(s)")

    capture(summer(60, seed=11), NOW - dt.timedelta(hours=1))
    summary = run_drift_check(CheckRequest("tips", now=NOW))
    by_name = {f["name"]: f for f in summary["features"]}
    assert summary["reference"]["prediction"]["method"] == "out_of_fold"
    assert by_name["prediction"]["n_reference"] == 100 and by_name["prediction"]["n_current"] == 80
    assert by_name["prediction"]["status"] != "insufficient_data"
    assert by_name["pickup_ts.month"]["status"] == "drift"  # July in a model that saw January
    assert by_name["pickup_ts.month"]["method"] == "chi_square"
    assert by_name["distance_km"]["status"] == "drift"
    power = summary["power"]["distance_km"]
    assert power["n_reference"] == 94 and power["n_current"] == 74 and 0 < power["power"] < 1
    assert "rows_needed" not in summary
    page = s3.get_bytes(summary["reports"]["html"]).decode()
    assert "power" in page and "minimum detectable effect" in page


@pytest.mark.slow
def test_a_new_dataset_version_is_checked_on_the_date_parts_the_model_sees(client, moto_world, make_dataset,
                                                                          registry):
    from chalicelib.services.schedule import check_new_dataset_version

    production(client, moto_world, registry, spec_body(), make_dataset=make_dataset)
    new = make_dataset(summer(300, seed=12))
    [checked] = check_new_dataset_version("rides", new.version)["checked"]
    assert checked["model"] == "tips" and checked["status"] == "drift"
    _, history = send(client, "get", "/models/tips/drift")
    by_name = {f["name"]: f for f in history["items"][0]["features"]}
    assert by_name["pickup_ts.month"]["status"] == "drift" and by_name["pickup_ts.month"]["n_current"] == 300
