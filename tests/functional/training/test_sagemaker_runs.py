"""Training on SageMaker in moto (issue 18, item 3): the train function starts a training job (moto records
CreateTrainingJob), the job's program runs the same training and gate, and ``on_training_job`` ends a run
its job left in flight; cancel stops the job; the reconciler leaves a run waiting for its job alone.

moto plays SageMaker's API; the tests play the job (its program, called here) and its state-change events.
moto's gaps are stood in for where a test needs them: StopTrainingJob is not implemented, and
DescribeTrainingJob answers Completed at once (tests/functional/infra/test_deploy_rehearsal.py lists them).
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from typing import Any

import pytest

from chalicelib.core.training.jobs import state_change_event
from chalicelib.services import sagemaker_jobs
from tests.functional.training.conftest import drain_invocations, send
from tests.unit.training.conftest import ROWS, spec_body

ROLE = "arn:aws:iam::123456789012:role/sluice-test-TrainingJobRole"
ON_SAGEMAKER = {"compute": "sagemaker", "sagemaker": {"instance_type": "ml.m5.2xlarge",
                                                      "max_runtime_seconds": 7200, "volume_gb": 40}}


@pytest.fixture
def tips(client, moto_world, make_dataset, monkeypatch):
    monkeypatch.setenv("SLUICE_TRAINING_ROLE_ARN", ROLE)  # as the template sets it for train
    make_dataset()
    status, body = send(client, "put", "/models/tips/spec", spec_body(**ON_SAGEMAKER))
    assert status == 201, body


def start(client, moto_world) -> dict[str, Any]:
    status, body = send(client, "post", "/models/tips/train", {"reason": "big data"})
    assert status == 202, body
    drain_invocations(client, moto_world, "train")
    return send(client, "get", f"/models/tips/runs/{body['run_id']}")[1]


def sagemaker() -> Any:
    import boto3

    return boto3.client("sagemaker", region_name="us-east-1")


def lock(model="tips") -> dict[str, Any]:
    from chalicelib.storage import runs

    return runs.get_lock(model) or {}


def event(client, run, status, reason="", secondary=None) -> Any:
    body = state_change_event(run["training_job"], status, region="us-east-1", account="123456789012",
                              model="tips", run_id=run["run_id"], failure_reason=reason,
                              secondary_status=secondary, role_arn=ROLE)
    return client.lambda_.invoke("on_training_job", body).payload


@contextmanager
def sagemaker_answers(operation: str, answer: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
    """Every SageMaker ``operation`` made meanwhile answered with ``answer`` (moto has no such answer);
    the calls' parameters are collected."""
    from botocore.awsrequest import AWSResponse
    from botocore.handlers import BUILTIN_HANDLERS

    calls: list[dict[str, Any]] = []

    def params(params: dict[str, Any], **_: Any) -> None:
        calls.append(dict(params))

    def respond(**_: Any) -> Any:
        parsed = {**answer, "ResponseMetadata": {"HTTPStatusCode": 200}}
        return AWSResponse("sagemaker", 200, {}, None), parsed

    hooks = [(f"provide-client-params.sagemaker.{operation}", params),
             (f"before-call.sagemaker.{operation}", respond)]
    BUILTIN_HANDLERS.extend(hooks)
    try:
        yield calls
    finally:
        for hook in hooks:
            BUILTIN_HANDLERS.remove(hook)


def test_the_train_function_starts_a_training_job_with_the_runs_request_and_keeps_the_model(
        client, moto_world, tips):
    run = start(client, moto_world)
    assert (run["status"], run["compute"], run["phase"], run["instance_type"]) == (
        "running", "sagemaker", "training_job", "ml.m5.2xlarge")
    assert run["training_job"] == f"{moto_world.bucket}-{run['run_id']}".lower()
    job = sagemaker().describe_training_job(TrainingJobName=run["training_job"])  # moto recorded the call
    assert job["RoleArn"] == ROLE
    assert job["ResourceConfig"] == {"InstanceType": "ml.m5.2xlarge", "InstanceCount": 1,
                                     "VolumeSizeInGB": 40}
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 7200}
    image = job["AlgorithmSpecification"]["TrainingImage"]
    assert image.endswith("/sagemaker-scikit-learn:1.4-2-py312-cpu-py3")
    hyper = {k: json.loads(v) for k, v in job["HyperParameters"].items()}
    assert (hyper["model"], hyper["run_id"], hyper["sagemaker_program"]) == ("tips", run["run_id"],
                                                                             "sluice_training_job.py")
    # the model stays locked for the job's startup and runtime (not the function's 3 minutes)
    assert lock()["run_id"] == run["run_id"] and lock()["lock_until"] >= time.time() + 7200 + 3000
    assert send(client, "post", "/models/tips/train", {})[0] == 409

    bucket, _, key = hyper["sagemaker_submit_directory"].removeprefix("s3://").partition("/")
    import boto3

    body = boto3.client("s3", region_name="us-east-1").get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(body))) as tar:
        names = set(tar.getnames())
        requirements = tar.extractfile("requirements.txt").read().decode()  # type: ignore[union-attr]
    assert {"sluice_training_job.py", "chalicelib/services/sagemaker_jobs.py",
            "chalicelib/services/training.py"} <= names
    assert f"scikit-learn=={metadata.version('scikit-learn')}\n" in requirements


def test_the_jobs_program_trains_registers_and_gates_as_the_function_does(client, moto_world, tips):
    run = start(client, moto_world)
    assert sagemaker_jobs.main(["--model", "tips", "--run_id", run["run_id"]]) == 0
    done = send(client, "get", f"/models/tips/runs/{run['run_id']}")[1]
    assert done["status"] == "succeeded" and done["version"] == 1 and done["compute"] == "sagemaker"
    assert done["promotion"]["promoted"] and done["rows"]["total"] == ROWS
    assert send(client, "get", "/models/tips/aliases/production")[1]["version"] == 1
    assert lock()["lock_until"] == 0  # the job's code freed the model
    for _ in range(2):  # SageMaker's Completed event, twice: nothing to do
        answer = event(client, run, "Completed")
        assert (answer["status"], answer["run_status"]) == ("unchanged", "succeeded")
    assert send(client, "get", f"/models/tips/runs/{run['run_id']}")[1] == done


@pytest.mark.parametrize(("status", "secondary", "code"), [
    ("Failed", "Failed", "training_job_failed"), ("Stopped", "MaxRuntimeExceeded", "training_job_timed_out"),
    ("Completed", "Completed", "training_job_without_outcome")])
def test_a_job_that_ended_without_its_run_ending_fails_the_run_once_and_frees_the_model(client, moto_world,
                                                                                       tips, status,
                                                                                       secondary, code):
    run = start(client, moto_world)
    first = event(client, run, status, reason="AlgorithmError: the instance ran out of memory",
                  secondary=secondary)
    assert (first["status"], first["run_status"]) == ("resolved", "failed")
    failed = send(client, "get", f"/models/tips/runs/{run['run_id']}")[1]
    assert failed["error"]["code"] == code and "ran out of memory" in failed["error"]["message"]
    assert event(client, run, status, reason="again", secondary=secondary)["status"] == "unchanged"
    assert send(client, "get", f"/models/tips/runs/{run['run_id']}")[1] == failed
    assert send(client, "post", "/models/tips/train", {})[0] == 202  # the model is free


def test_an_event_of_another_job_or_in_progress_changes_nothing(client, moto_world, tips):
    run = start(client, moto_world)
    assert event(client, run, "InProgress")["status"] == "ignored"
    other = state_change_event("sluice-other-job", "Failed", region="us-east-1", account="123456789012",
                               model="tips", run_id=run["run_id"])
    assert client.lambda_.invoke("on_training_job", other).payload["status"] == "ignored"
    assert send(client, "get", f"/models/tips/runs/{run['run_id']}")[1]["status"] == "running"


def test_cancelling_a_sagemaker_run_stops_its_job_and_the_job_then_does_nothing(client, moto_world, tips):
    run = start(client, moto_world)
    with sagemaker_answers("StopTrainingJob", {}) as stops:
        status, cancelled = send(client, "post", f"/models/tips/runs/{run['run_id']}/cancel", {"reason": "x"})
    assert status == 200 and cancelled["status"] == "cancelled"
    assert stops == [{"TrainingJobName": run["training_job"]}]
    assert sagemaker_jobs.main(["--model", "tips", "--run_id", run["run_id"]]) == 1  # it started anyway
    assert event(client, run, "Stopped")["run_status"] == "cancelled"
    assert send(client, "get", "/models/tips/versions")[0] == 404  # nothing registered


def test_the_reconciler_leaves_a_run_waiting_for_its_job_alone_and_ends_one_whose_event_was_missed(
        client, moto_world, tips):
    from chalicelib.services.reconcile import reconcile

    run = start(client, moto_world)
    an_hour_on = reconcile(dry_run=False, now=time.time() + 3600, kinds=["run_past_lease"])
    assert an_hour_on["findings"] == []  # its lease covers the job's startup and runtime
    later = time.time() + 7200 + 3600 + 60
    with sagemaker_answers("DescribeTrainingJob", {"TrainingJobName": run["training_job"],
                                                   "TrainingJobStatus": "InProgress",
                                                   "SecondaryStatus": "Training"}):
        still = reconcile(dry_run=False, now=later, kinds=["run_past_lease"])
    [finding] = still["findings"]
    assert finding["outcome"] == "skipped" and "InProgress" in finding["result"]["why"]
    assert send(client, "get", f"/models/tips/runs/{run['run_id']}")[1]["status"] == "running"
    ended = reconcile(dry_run=False, now=later, kinds=["run_past_lease"])  # moto: the job is Completed
    assert ended["findings"][0]["outcome"] == "done"
    assert send(client, "get", f"/models/tips/runs/{run['run_id']}")[1]["error"]["code"] == (
        "training_job_without_outcome")


def test_auto_trains_past_the_functions_limit_on_sagemaker(client, moto_world, make_dataset, monkeypatch):
    monkeypatch.setenv("SLUICE_TRAINING_ROLE_ARN", ROLE)
    make_dataset()
    assert send(client, "put", "/models/tips/spec", spec_body(compute="auto"))[0] == 201
    monkeypatch.setenv("SLUICE_TRAIN_MAX_ROWS", str(ROWS - 1))
    monkeypatch.setenv("SLUICE_TRAIN_MEASURED_COLUMNS", "8")
    run = start(client, moto_world)
    assert run["compute"] == "sagemaker" and "exceed the train function's measured limit" in (
        run["compute_choice"]["reason"])
    assert sagemaker_jobs.main(["--model", "tips", "--run_id", run["run_id"]]) == 0  # the job has no limit
    assert send(client, "get", f"/models/tips/runs/{run['run_id']}")[1]["status"] == "succeeded"


def test_a_spec_whose_data_no_instance_holds_is_refused_at_put_with_the_numbers(client, moto_world,
                                                                               make_dataset, monkeypatch):
    make_dataset()
    for name, value in {"SLUICE_TRAIN_KB_PER_ROW": "1e7", "SLUICE_TRAIN_MEASURED_COLUMNS": "7",
                        "SLUICE_TRAIN_FIXED_MB": "600",  # 10 GB a row: 300 rows need 3 TB
                        "SLUICE_TRAIN_MAX_ROWS": "100"}.items():
        monkeypatch.setenv(name, value)
    status, body = send(client, "put", "/models/tips/spec", spec_body(compute="auto"))
    assert (status, body["error"]["code"]) == (413, "training_data_too_large")
    details = body["error"]["details"]
    assert details["rows"] == ROWS and details["largest_instance"] == "ml.r5.24xlarge"
    assert details["estimated_gb"] > details["largest_instance_gb"]
    assert f"{ROWS:,} rows" in body["error"]["message"] and "ml.r5.24xlarge" in body["error"]["message"]
    assert send(client, "put", "/models/tips/spec", spec_body())[0] == 201  # compute: lambda is not checked
