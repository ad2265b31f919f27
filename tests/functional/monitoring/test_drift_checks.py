import datetime as dt
import json
import re
from html import escape

import boto3
import pytest

from chalicelib.services.drift import CheckRequest, run_drift_check
from chalicelib.storage import s3
from tests.functional.monitoring.conftest import capture, make_frame, register_model
from tests.functional.monitoring.newdata import put_passing_version
from tests.unit.drift.model_monitor_checks import (
    constraints_problems,
    statistics_problems,
    violations_problems,
)

NOW = dt.datetime.now(dt.UTC)


def _subscribe(topic_arn: str) -> str:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return url


def _alerts(url: str) -> list[dict]:
    messages = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def _queued_runs(moto_world) -> list[dict]:
    sqs = boto3.client("sqs")
    bodies = []
    while True:
        got = sqs.receive_message(QueueUrl=moto_world.invoke_queue_url,
                                  MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return bodies
        bodies.extend(json.loads(m["Body"]) for m in got)


@pytest.mark.slow
def test_traffic_like_the_training_data_is_not_drift_and_raises_no_alert(moto_world, production_model):
    alerts = _subscribe(moto_world.topic_arn)
    capture(production_model, make_frame(2000, seed=7), NOW - dt.timedelta(hours=1))
    summary = run_drift_check(CheckRequest(production_model.name, now=NOW))
    assert summary["status"] in ("stable", "minor")
    assert summary["rows"] == 2000
    assert not summary["dataset_drift"] and summary["run_id"] is None
    assert {f["name"] for f in summary["features"]} == {"distance", "city", "prediction"}
    assert _alerts(alerts) == []


@pytest.mark.slow
def test_drifted_traffic_alerts_writes_reports_and_starts_one_retraining_run(moto_world):
    model = register_model("fare-drift", retrain_on_drift=True, cooldown_minutes=60)
    put_passing_version("rides")  # something new to learn from (the version has no lineage: all is new)
    alerts = _subscribe(moto_world.topic_arn)
    capture(model, make_frame(3000, seed=8, shift=8.0, city_p=(0.1, 0.2, 0.7)), NOW - dt.timedelta(hours=2))
    summary = run_drift_check(CheckRequest(model.name, now=NOW))
    assert summary["status"] == "drift" and summary["dataset_drift"]
    assert {f["name"] for f in summary["features"] if f["status"] == "drift"} >= {"distance", "city"}
    assert summary["run_id"]
    runs = _queued_runs(moto_world)
    assert runs == [{"function": "train", "payload": {"model": model.name, "run_id": summary["run_id"]}}]
    alert = _alerts(alerts)[0]
    assert alert["Subject"].startswith(f"sluice: drift on {model.name}")
    event = json.loads(alert["Message"])
    assert event["metadata"]["additionalContext"]["report"] == summary["reports"]["html"]
    assert event["metadata"]["relatedResources"] == [f"s3://{moto_world.bucket}/{summary['reports']['html']}"]
    assert alert["MessageAttributes"]["kind"]["Value"] == "drift"
    stored = s3.get_json(summary["reports"]["json"])
    assert stored["run_id"] == summary["run_id"] and stored["status"] == "drift"
    # a second drifted check within the cooldown starts nothing
    again = run_drift_check(CheckRequest(model.name, now=NOW + dt.timedelta(minutes=5)))
    assert again["status"] == "drift" and again["run_id"] is None
    assert _queued_runs(moto_world) == []
    from chalicelib.services.registry import get_registry

    events = get_registry().list_audit_events(model.name, limit=50).items
    linked = [e for e in events if e.event == "drift_detected"]
    assert linked and linked[-1].details["run_id"] in (summary["run_id"], None)
    assert any(e.details.get("run_id") == summary["run_id"] for e in linked)


@pytest.mark.slow
def test_the_html_report_is_self_contained(moto_world, production_model):
    capture(production_model, make_frame(1500, seed=9, shift=5.0), NOW - dt.timedelta(hours=1))
    summary = run_drift_check(CheckRequest(production_model.name, now=NOW))
    page = s3.get_bytes(summary["reports"]["html"]).decode()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    for external in ("<script", "<link", "src=", "href=", "url(", "@import", "http://", "https://"):
        assert external not in page, external
    assert production_model.name in page


@pytest.mark.slow
def test_model_monitor_files_have_sagemakers_shapes(moto_world, production_model):
    capture(production_model, make_frame(1500, seed=10, shift=6.0), NOW - dt.timedelta(hours=1))
    summary = run_drift_check(CheckRequest(production_model.name, now=NOW))
    statistics = s3.get_json(summary["reports"]["statistics"])
    assert statistics["dataset"]["item_count"] == 1500
    by_name = {f["name"]: f for f in statistics["features"]}
    assert by_name["distance"]["inferred_type"] == "Fractional"
    numeric = by_name["distance"]["numerical_statistics"]
    assert set(numeric) >= {"common", "mean", "sum", "std_dev", "min", "max", "distribution"}
    assert numeric["common"]["num_present"] == 1500
    assert sum(b["count"] for b in numeric["distribution"]["kll"]["buckets"]) == 1500
    assert by_name["city"]["inferred_type"] == "String"
    assert by_name["city"]["string_statistics"]["distinct_count"] == 3
    constraints = s3.get_json(summary["reports"]["constraints"])
    assert constraints["monitoring_config"]["distribution_constraints"]["perform_comparison"] == "Enabled"
    city = next(f for f in constraints["features"] if f["name"] == "city")
    assert sorted(city["string_constraints"]["domains"]) == ["berlin", "hamburg", "munich"]
    violations = s3.get_json(summary["reports"]["violations"])["violations"]
    assert {"feature_name": "distance", "constraint_check_type": "baseline_drift_check"}.items() <= {
        k: v for k, v in next(v for v in violations if v["feature_name"] == "distance").items()}.items()


@pytest.mark.slow
def test_model_monitor_files_of_a_drift_check_follow_the_aws_schemas_and_name_each_number(
        moto_world, production_model):
    capture(production_model, make_frame(1500, seed=10, shift=6.0), NOW - dt.timedelta(hours=1))
    summary = run_drift_check(CheckRequest(production_model.name, now=NOW))

    statistics = s3.get_json(summary["reports"]["statistics"])
    assert statistics_problems(statistics) == []
    assert constraints_problems(s3.get_json(summary["reports"]["constraints"])) == []
    document = s3.get_json(summary["reports"]["violations"])
    assert violations_problems(document) == []
    distance = next(f for f in summary["features"] if f["name"] == "distance")
    [drift] = [v for v in document["violations"]
               if v["feature_name"] == "distance" and v["constraint_check_type"] == "baseline_drift_check"]
    assert distance["method"] == "wasserstein" and distance["statistic_name"] == "wasserstein_normed"
    assert f"effect size: Wasserstein/std {distance['effect']:.3g} ≥ 0.1" in drift["description"]
    ks = next(t for t in distance["test_results"] if t["test"] == "ks_2samp")
    assert f"KS statistic {ks['statistic']:.3g} (p={ks['p_value']:.3g})" in drift["description"]


@pytest.mark.slow
def test_the_html_report_shows_the_test_statistic_and_the_effect_size_under_their_own_names(
        moto_world, production_model):
    capture(production_model, make_frame(600, seed=13, shift=6.0), NOW - dt.timedelta(hours=1))
    summary = run_drift_check(CheckRequest(production_model.name, now=NOW))
    page = s3.get_bytes(summary["reports"]["html"]).decode()

    distance = next(f for f in summary["features"] if f["name"] == "distance")
    assert distance["method"] == "ks"
    assert f"<td>KS statistic {distance['statistic']:.4g}</td>" in page
    assert f"<td>Wasserstein/std {distance['effect']:.4g} (0.1)</td>" in page
    assert "effect size: Wasserstein/std" in distance["description"]
    assert escape(distance["description"]) in page


def test_an_empty_window_is_insufficient_data(moto_world, production_model):
    summary = run_drift_check(CheckRequest(production_model.name, now=NOW))
    assert summary["status"] == "insufficient_data" and summary["rows"] == 0
    assert "statistics" not in summary["reports"]
    violations = s3.get_json(summary["reports"]["violations"])["violations"]
    assert {v["constraint_check_type"] for v in violations} == {"missing_column_check"}


def test_captures_outside_the_window_or_of_other_versions_are_ignored(moto_world, production_model):
    capture(production_model, make_frame(800, seed=11), NOW - dt.timedelta(hours=30))
    summary = run_drift_check(CheckRequest(production_model.name, now=NOW, window_hours=24))
    assert summary["rows"] == 0
    summary = run_drift_check(CheckRequest(production_model.name, now=NOW, window_hours=48))
    assert summary["rows"] == 800


def test_the_api_runs_checks_and_pages_their_history(client, production_model):
    capture(production_model, make_frame(600, seed=12), NOW - dt.timedelta(hours=1))
    headers = {"Content-Type": "application/json"}
    for _ in range(3):
        response = client.http.post(f"/models/{production_model.name}/drift/check", headers=headers,
                                    body=json.dumps({"window_hours": 6}))
        assert response.status_code == 200, response.body
    page = client.http.get(f"/models/{production_model.name}/drift?limit=2").json_body
    assert len(page["items"]) == 2 and page["next_token"]
    rest = client.http.get(f"/models/{production_model.name}/drift?limit=2&next_token={page['next_token']}")
    assert len(rest.json_body["items"]) == 1
    assert [i["checked_at"] for i in page["items"]] == sorted((i["checked_at"] for i in page["items"]),
                                                               reverse=True)


def test_bad_check_requests_are_4xx_with_codes(client, production_model):
    headers = {"Content-Type": "application/json"}
    bad = client.http.post(f"/models/{production_model.name}/drift/check", headers=headers,
                           body=json.dumps({"config": {"alpha": 2, "bogus": 1}}))
    assert bad.status_code == 400
    assert bad.json_body["error"]["code"] == "invalid_input"
    assert {d["loc"] for d in bad.json_body["error"]["details"]} == {"alpha", "bogus"}
    missing = client.http.post("/models/nobody/drift/check", headers=headers, body="{}")
    assert missing.status_code == 409
    assert missing.json_body["error"]["code"] == "no_production_version"
    assert client.http.get("/models/Bad%20Name/drift").status_code == 400
    assert re.match(r"^4\d\d$", str(client.http.get("/models/x/drift?kind=nope").status_code))


@pytest.mark.slow
def test_drifted_new_training_data_is_reported_but_retraining_is_left_to_on_new_data(moto_world):
    from chalicelib.storage import wrangler

    model = register_model("fare-newdata", retrain_on_drift=True)
    alerts = _subscribe(moto_world.topic_arn)
    path = f"s3://{moto_world.bucket}/curated/rides/dataset_version=2/"
    wrangler().s3.to_parquet(make_frame(1500, seed=13, shift=9.0), path=path + "part-0.parquet")
    summary = run_drift_check(CheckRequest(model.name, trigger="dataset", now=NOW, dataset_version={
        "dataset": "rides", "version": 2, "curated_path": path}))
    assert summary["status"] == "drift" and summary["rows"] == 1500
    assert summary["source"] == {"dataset": "rides", "dataset_version": 2}
    assert summary["run_id"] is None and _queued_runs(moto_world) == []
    assert "(new training data)" in _alerts(alerts)[0]["Subject"]


def test_a_new_dataset_version_is_checked_once_however_often_it_is_announced(moto_world):
    from chalicelib.storage import wrangler

    model = register_model("fare-newdata-twice")
    path = f"s3://{moto_world.bucket}/curated/rides/dataset_version=3/"
    wrangler().s3.to_parquet(make_frame(500, seed=14), path=path + "part-0.parquet")
    request = CheckRequest(model.name, trigger="dataset", now=NOW, dataset_version={
        "dataset": "rides", "version": 3, "curated_path": path})
    first, second = run_drift_check(request), run_drift_check(request)
    assert first["check_id"] == "dataset-rides-v3" and second["status"] == "duplicate"
    from chalicelib.storage import checks as store

    items, _ = store.list_checks(model.name, limit=10)
    assert [i["check_id"] for i in items] == ["dataset-rides-v3"]


def test_each_drift_report_charts_every_feature_over_the_checks_before_it(moto_world, production_model):
    capture(production_model, make_frame(300, seed=41), NOW - dt.timedelta(hours=3))
    first = run_drift_check(CheckRequest(production_model.name, now=NOW - dt.timedelta(hours=2),
                                         window_hours=2))
    capture(production_model, make_frame(300, seed=6, shift=8.0), NOW - dt.timedelta(minutes=30))
    second = run_drift_check(CheckRequest(production_model.name, now=NOW, window_hours=1))
    html = s3.get_bytes(second["reports"]["html"]).decode()
    assert "over the last 2 check(s)" in html and "over the last 1 check(s)" not in html
    assert s3.get_bytes(first["reports"]["html"]).decode().count("over the last 1 check(s)") > 0
