"""``compute: sagemaker`` end to end on the local stack (issue 18, item 3): through the HTTP API and S3 events
only, the train function starts a training job (moto records CreateTrainingJob), the job's program runs in
a subprocess from the source bundle as the framework container would run it, its Completed event reaches
``on_training_job`` through the local EventBridge and the pump, and the version it registered went through
the gate like a Lambda run's. A cancelled run's job is stopped and its Stopped event changes nothing."""

from __future__ import annotations

import io
import time

import boto3
import pytest
import requests

from tests.unit.training.conftest import CONTRACT, ROWS, rides_frame, spec_body

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
MODEL = "tips-on-sagemaker"
JOB_SECONDS = 180  # the subprocess imports scikit-learn and pandas, reads, fits and registers


def call(stack, method, path, body=None, status=(200, 201, 202)):
    response = requests.request(method, f"{stack.info.api_url}{path}", json=body, timeout=30)
    assert response.status_code in status, response.text
    return response.json()


def wait_for_run(stack, run_id, statuses, timeout):
    deadline = time.monotonic() + timeout
    while True:
        run = call(stack, "GET", f"/models/{MODEL}/runs/{run_id}")
        if run["status"] in statuses or time.monotonic() > deadline:
            return run
        time.sleep(0.5)


@pytest.fixture(scope="module")
def rides(stack):
    call(stack, "PUT", "/datasets/rides/contract", CONTRACT)
    s3 = boto3.client("s3", endpoint_url=stack.info.aws_endpoint, region_name=stack.info.region)
    body = io.StringIO()
    rides_frame().to_csv(body, index=False)
    s3.put_object(Bucket=stack.info.bucket, Key="raw/rides/january.csv", Body=body.getvalue().encode())
    assert stack.pump.wait_for("on_raw_object", "raw/rides/january.csv", timeout=60).ok
    stack.pump.wait_for("on_dataset_version", timeout=60)
    call(stack, "PUT", f"/models/{MODEL}/spec",
         spec_body(compute="sagemaker", sagemaker={"instance_type": "ml.m5.large"}))
    return stack


def test_a_sagemaker_run_trains_in_a_job_and_its_version_goes_through_the_gate(rides):
    stack = rides
    after = len(stack.pump.deliveries)
    run_id = call(stack, "POST", f"/models/{MODEL}/train", {"reason": "e2e"})["run_id"]
    assert stack.pump.wait_for("train", after=after, timeout=60).ok
    started = call(stack, "GET", f"/models/{MODEL}/runs/{run_id}")
    assert (started["compute"], started["instance_type"]) == ("sagemaker", "ml.m5.large")
    sagemaker = boto3.client("sagemaker", endpoint_url=stack.info.aws_endpoint, region_name=stack.info.region)
    job = sagemaker.describe_training_job(TrainingJobName=started["training_job"])  # recorded by moto
    assert job["ResourceConfig"]["InstanceType"] == "ml.m5.large"

    delivery = stack.pump.wait_for("on_training_job", started["training_job"], after=after,
                                   timeout=JOB_SECONDS)
    assert delivery.ok, delivery.error
    run = wait_for_run(stack, run_id, ("succeeded", "failed"), 10)
    assert run["status"] == "succeeded", run.get("error")
    assert run["rows"]["total"] == ROWS and run["version"] == 1
    assert run["promotion"]["promoted"] is True  # the gate: a first version against the baseline
    assert call(stack, "GET", f"/models/{MODEL}/aliases/production")["version"] == 1
    version = call(stack, "GET", f"/models/{MODEL}/versions/1")
    assert version["run_id"] == run_id and version["status"] == "approved"
    prediction = call(stack, "POST", f"/models/{MODEL}/predict",
                      {"records": [{"distance_km": 3.2, "zone": "north", "night": False,
                                    "pickup_ts": "2026-01-02T10:00:00Z", "rider_email": "a@b.c"}]})
    assert prediction["version"] == 1 and prediction["predictions"][0] in ("yes", "no")


def test_a_cancelled_sagemaker_run_stops_its_job_and_registers_nothing(rides):
    stack = rides
    after = len(stack.pump.deliveries)
    run_id = call(stack, "POST", f"/models/{MODEL}/train", {"reason": "to cancel"})["run_id"]
    assert stack.pump.wait_for("train", after=after, timeout=60).ok
    job = call(stack, "GET", f"/models/{MODEL}/runs/{run_id}")["training_job"]
    cancelled = call(stack, "POST", f"/models/{MODEL}/runs/{run_id}/cancel", {"reason": "e2e"})
    assert cancelled["status"] == "cancelled"
    assert stack.pump.wait_for("on_training_job", job, after=after, timeout=JOB_SECONDS).ok
    assert call(stack, "GET", f"/models/{MODEL}/runs/{run_id}")["status"] == "cancelled"
    assert [v["version"] for v in call(stack, "GET", f"/models/{MODEL}/versions")["items"]] == [1]
