"""Each invocation writes its CloudWatch metrics as one embedded-metric-format line (no API call): an
upload's validation outcome and rows, predictions and their latency, drift checks. The lines must be
what CloudWatch parses: the EMF envelope naming every metric, values beside it."""

from __future__ import annotations

import json

import pytest

from tests.functional.datasets.conftest import put_contract, put_raw, rides_contract, rides_csv
from tests.functional.training.conftest import make_dataset  # noqa: F401  (a fixture)


@pytest.fixture(autouse=True)
def on_lambda(monkeypatch):
    """Metrics are written on Lambda only (the runtime sets the function's name)."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "sluice-dev-on_raw_object")


def emf_lines(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            out.append(json.loads(line))
    return out


def metric_values(lines: list[dict]) -> dict[str, float]:
    """Metric name → summed value, checking each line's envelope names every metric it carries."""
    totals: dict[str, float] = {}
    for line in lines:
        [directive] = line["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "sluice" and directive["Dimensions"] == [["service"]]
        assert line["service"] == "sluice" and isinstance(line["_aws"]["Timestamp"], int)
        for metric in directive["Metrics"]:
            values = line[metric["Name"]]
            totals[metric["Name"]] = totals.get(metric["Name"], 0.0) + sum(
                values if isinstance(values, list) else [values])
    return totals


def test_an_upload_invocation_writes_its_validation_metrics(client, moto_world, capsys):
    put_contract(client, rides_contract(policy="quarantine_rows"))
    ref = put_raw("raw/rides/jan.csv", rides_csv(40, bad=(2, 5, 7)))
    event = {"version": "0", "id": "e1", "detail-type": "Object Created", "source": "aws.s3",
             "account": "123456789012", "time": "2026-12-06T00:00:00Z", "region": "us-east-1",
             "resources": [], "detail": {"bucket": {"name": ref.bucket},
                                         "object": {"key": ref.key, "version-id": ref.version_id,
                                                    "etag": ref.etag, "size": ref.size}}}
    capsys.readouterr()
    client.lambda_.invoke("on_raw_object", event)
    lines = emf_lines(capsys.readouterr().out)
    assert len(lines) == 1  # one flush per invocation
    assert metric_values(lines) == {"ValidationsPassed": 1.0, "ValidatedRows": 40.0, "QuarantinedRows": 3.0}
    assert lines[0]["dataset"] == "rides"  # metadata, not a dimension


def test_an_invocation_that_records_nothing_writes_no_metrics_line(client, capsys):
    capsys.readouterr()
    assert client.http.get("/health").status_code == 200
    assert emf_lines(capsys.readouterr().out) == []


def test_training_and_prediction_invocations_write_theirs(client, moto_world, make_dataset, capsys):  # noqa: F811
    from tests.functional.training.conftest import drain_invocations, send
    from tests.unit.training.conftest import rides_frame, spec_body

    make_dataset()
    assert send(client, "put", "/models/tips/spec", spec_body())[0] == 201
    send(client, "post", "/models/tips/train", {})
    capsys.readouterr()
    drain_invocations(client, moto_world)
    assert metric_values(emf_lines(capsys.readouterr().out)) == {"TrainingRunsSucceeded": 1.0}

    features = ["distance_km", "zone", "night", "pickup_ts"]
    records = json.loads(rides_frame(7, seed=3)[features].to_json(orient="records", date_format="iso"))
    status, _ = send(client, "post", "/models/tips/predict", {"records": records})
    assert status == 200
    [line] = emf_lines(capsys.readouterr().out)
    values = metric_values([line])
    assert values["Predictions"] == 7.0 and values["PredictionLatency"] > 0
    assert {m["Name"]: m["Unit"] for m in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]} == {
        "Predictions": "Count", "PredictionLatency": "Milliseconds"}


def test_off_lambda_nothing_is_written_and_nothing_carries_over(client, moto_world, capsys, monkeypatch):
    from chalicelib.core import metrics

    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME")
    metrics.count("Predictions", 3.0)
    metrics.flush()  # the local stack, a CLI's process: no EMF on stdout
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "sluice-dev-api_handler")
    metrics.flush()
    assert emf_lines(capsys.readouterr().out) == []
