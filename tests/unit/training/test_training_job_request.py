"""A run's SageMaker training job (issue 18, item 3): its name, the CreateTrainingJob request built from a
run (image, role, hyperparameters in the SDK's script-mode contract, environment, stopping condition), the
state-change events it ends with, and what an ended job means for a run still in flight."""

from __future__ import annotations

import json

import pytest

from chalicelib.core.training.jobs import (
    EVENT_DETAIL_TYPE,
    JobEnd,
    JobEvent,
    JobNameError,
    JobPlan,
    image_uri,
    job_end,
    job_name,
    lease_seconds,
    requirements_text,
    state_change_event,
    training_job_request,
)

RUN = "20261126T164435123Z-3f9a2c1b"


def plan(**overrides):
    values = dict(name=job_name("sluice-dev", RUN), model="fare", run_id=RUN, region="eu-west-1",
                  role_arn="arn:aws:iam::111122223333:role/sluice-dev-TrainingJobRole",
                  bucket="sluice-dev-data", source_key="sagemaker/code/abc/sourcedir.tar.gz",
                  instance_type="ml.m5.2xlarge", volume_gb=40, max_runtime_seconds=7200,
                  environment={"SLUICE_BUCKET": "sluice-dev-data", "SLUICE_TABLE": "sluice-dev-state"},
                  stack="sluice-dev")
    values.update(overrides)
    return JobPlan(**values)


def test_the_image_is_the_scikit_learn_framework_container_of_the_region():
    assert image_uri("eu-west-1") == ("141502667606.dkr.ecr.eu-west-1.amazonaws.com/"
                                      "sagemaker-scikit-learn:1.4-2-py312-cpu-py3")
    assert image_uri("us-east-1").startswith("683313688378.dkr.ecr.us-east-1.amazonaws.com/")
    assert image_uri("cn-north-1").startswith("450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/")
    with pytest.raises(ValueError, match="no SageMaker scikit-learn"):
        image_uri("mars-east-1")


def test_the_job_name_is_the_stack_and_the_run_and_the_same_for_a_retried_start():
    assert job_name("sluice-dev", RUN) == f"sluice-dev-{RUN.lower()}"
    assert job_name("sluice-dev", RUN) == job_name("sluice-dev", RUN)
    assert len(job_name("s" * 34, RUN)) == 63
    with pytest.raises(JobNameError, match="at most 34"):
        job_name("s" * 35, RUN)


def test_the_request_runs_the_entry_program_from_the_bundle_in_script_mode():
    request = training_job_request(plan())
    hyper = {k: json.loads(v) for k, v in request["HyperParameters"].items()}
    assert hyper == {"sagemaker_program": "sluice_training_job.py",
                     "sagemaker_submit_directory": "s3://sluice-dev-data/sagemaker/code/abc/sourcedir.tar.gz",
                     "sagemaker_region": "eu-west-1", "sagemaker_container_log_level": "20",
                     "model": "fare", "run_id": RUN}
    assert request["AlgorithmSpecification"] == {"TrainingImage": image_uri("eu-west-1"),
                                                 "TrainingInputMode": "File"}
    assert request["RoleArn"] == "arn:aws:iam::111122223333:role/sluice-dev-TrainingJobRole"
    assert request["ResourceConfig"] == {"InstanceType": "ml.m5.2xlarge", "InstanceCount": 1,
                                         "VolumeSizeInGB": 40}
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 7200}
    assert request["Environment"] == {"SLUICE_BUCKET": "sluice-dev-data", "SLUICE_TABLE": "sluice-dev-state"}
    assert request["OutputDataConfig"] == {"S3OutputPath": "s3://sluice-dev-data/sagemaker/output/"}
    assert {t["Key"]: t["Value"] for t in request["Tags"]} == {"sluice:stack": "sluice-dev",
                                                               "sluice:model": "fare", "sluice:run": RUN}


def test_the_run_is_leased_for_the_jobs_startup_and_its_whole_runtime():
    assert lease_seconds(7200) == 7200 + 3600


def test_requirements_pin_every_library_the_training_path_imports():
    versions = {d: "1.0" for d in ("numpy", "scipy", "scikit-learn", "joblib", "threadpoolctl", "pandas",
                                   "python-dateutil", "fastparquet", "cramjam", "fsspec", "skops", "pydantic",
                                   "PyYAML", "aws-lambda-powertools")}
    text = requirements_text({**versions, "scikit-learn": "1.9.1"})
    assert "scikit-learn==1.9.1\n" in text and text.count("==") == len(versions)
    with pytest.raises(ValueError, match="cannot pin pandas"):
        requirements_text({k: v for k, v in versions.items() if k != "pandas"})


def test_a_state_change_event_names_its_run_through_the_hyperparameters():
    event = state_change_event("sluice-dev-x", "Failed", region="eu-west-1", account="1", model="fare",
                               run_id=RUN, failure_reason="AlgorithmError: boom")
    parsed = JobEvent.parse(event)
    assert (parsed.job_name, parsed.status, parsed.model, parsed.run_id, parsed.failure_reason) == (
        "sluice-dev-x", "Failed", "fare", RUN, "AlgorithmError: boom")
    assert parsed.terminal and event["detail-type"] == EVENT_DETAIL_TYPE
    # DescribeTrainingJob's list of tags, without hyperparameters, names it too
    detail = {"TrainingJobName": "j", "TrainingJobStatus": "InProgress",
              "Tags": [{"Key": "sluice:model", "Value": "m"}, {"Key": "sluice:run", "Value": RUN}]}
    other = JobEvent.parse({"source": "aws.sagemaker", "detail-type": EVENT_DETAIL_TYPE, "detail": detail})
    assert (other.model, other.run_id, other.terminal) == ("m", RUN, False)
    with pytest.raises(ValueError):
        JobEvent.parse({"source": "aws.s3", "detail-type": "Object Created", "detail": {}})


RUNNING = {"model": "fare", "run_id": RUN, "status": "running", "version": 4}


@pytest.mark.parametrize(("status", "secondary", "code"), [
    ("Failed", "Failed", "training_job_failed"), ("Stopped", "Stopped", "training_job_stopped"),
    ("Stopped", "MaxRuntimeExceeded", "training_job_timed_out"),
    ("Completed", "Completed", "training_job_without_outcome")])
def test_a_job_that_ended_with_its_run_in_flight_fails_the_run_with_a_code_that_says_how(status, secondary,
                                                                                          code):
    end = job_end(status, secondary, "OOM: the instance ran out of memory", RUNNING, None, None)
    assert end.status == "failed" and end.fields["error"]["code"] == code
    assert end.fields["error"]["message"].endswith("OOM: the instance ran out of memory")


def test_a_job_that_died_after_registering_its_version_succeeded_from_the_registry():
    registered = {"run_id": RUN, "version": 4, "status": "approved", "metrics": {"accuracy": 0.9},
                  "decision": {"promote": True}}
    end = job_end("Failed", "Failed", "killed", RUNNING, registered, 4)
    assert isinstance(end, JobEnd) and end.status == "succeeded"
    assert end.fields["version"] == 4 and end.fields["promotion"]["promoted"] is True
