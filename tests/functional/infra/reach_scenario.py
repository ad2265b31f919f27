"""A day of sluice, driven through every Lambda function of app.py, each call recorded with its function.

What a user does (put objects, call routes) runs outside any function; what sluice does runs in the
function AWS would run it in (:class:`~tests.functional.infra.aws_calls.FunctionRuntime`): the API
for routes, ``contract_inference`` and ``process_feedback`` through the API's and ``on_label_object``'s
synchronous invokes, ``train`` and ``on_dataset_version`` through asynchronous ones, the object
triggers for objects under ``raw/``, ``labels/`` and ``batch/*/input/``, ``monitor`` on its schedule.

Every path that reaches storage is walked at least once: a passing upload and one with quarantined
rows over a crashed attempt's leftovers, the PII key from Secrets Manager, training and its
registration, predictions with capture, a drift check, labels joined into feedback rows, batch scoring,
the hourly monitor, an export, alias moves (audited), the read routes and the HTML reports; training on
SageMaker (the ``train`` function starts jobs, the job's program runs as ``training_job`` under the jobs'
execution role, ``on_training_job`` follows their ends, a job stopped by a cancel); then a bad
day's end: a run cancelled, a run whose function never started, a crashed run's artifacts, dead letters
of every kind in the failed-events queue, and the reconciler (the ``reconcile`` function on its schedule
and through the API's ops routes) finishing or cleaning each.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.functional.infra.aws_calls import PREFIX, FunctionRuntime, Names

MODEL = "tips"
DATASET = "rides"


def _put(bucket: str, key: str, body: bytes) -> Any:
    """An object a user writes (not a function: not recorded), as its EventBridge event."""
    import boto3

    from chalicelib.core.events import ObjectRef, eventbridge_object_created

    out = boto3.client("s3", region_name="us-east-1").put_object(Bucket=bucket, Key=key, Body=body)
    return eventbridge_object_created(
        ObjectRef(bucket, key, out.get("VersionId"), out["ETag"].strip('"'), len(body))
    )


def _csv(frame: Any) -> bytes:
    out = io.StringIO()
    frame.to_csv(out, index=False)
    return out.getvalue().encode()


@contextmanager
def scenario_world(moto_session: Any) -> Iterator[tuple[FunctionRuntime, Names]]:
    """A fresh moto world where functions invoke each other through Lambda (as on AWS) and read the PII
    key from Secrets Manager; the runtime's hooks installed."""
    import boto3
    import pytest
    from chalice.test import Client

    from tests.functional.conftest import fresh_world

    with pytest.MonkeyPatch.context() as patch, fresh_world(moto_session, patch.setenv) as resources:
        secret = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name=f"{resources.bucket}-pii", SecretString="k" * 64
        )["ARN"]
        patch.delenv("SLUICE_PII_KEY")
        for key, value in {
            "SLUICE_TRAINING_ROLE_ARN": Names("", "", "", "", "", "", "").training_role_arn,
            "SLUICE_PII_KEY_SECRET": secret,
            "SLUICE_INVOKE_MODE": "lambda",
            "SLUICE_FUNCTION_PREFIX": PREFIX,
        }.items():
            patch.setenv(key, value)
        sqs = boto3.client("sqs", region_name="us-east-1")
        failed_events = sqs.create_queue(QueueName=f"{resources.table}-failed")["QueueUrl"]
        patch.setenv("SLUICE_DEAD_LETTER_QUEUE_URL", failed_events)  # as the template sets it for reconcile
        queue_arn = sqs.get_queue_attributes(QueueUrl=failed_events, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        names = Names(
            bucket=resources.bucket,
            table=resources.table,
            topic_arn=resources.topic_arn,
            queue_arn=queue_arn,
            glue_database=resources.glue_database,
            secret_arn=secret,
            key_arn="arn:aws:kms:us-east-1:123456789012:key/data-key",
        )
        import app

        with Client(app.app, stage_name="local") as client:
            runtime = FunctionRuntime(client)
            with runtime.installed():
                yield runtime, names


def _ok(answer: tuple[int, Any], *statuses: int) -> Any:
    status, body = answer
    assert status in (statuses or (200, 201, 202)), (status, body)
    return body


def run(runtime: FunctionRuntime, names: Names) -> None:
    """The day (see the module docstring); every step's answer is checked, so a step that silently did
    nothing cannot hide a permission the function needs."""
    from tests.unit.training.conftest import CONTRACT, rides_frame, spec_body

    http, bucket = runtime.http, names.bucket
    contract = {**CONTRACT, "failure_policy": {"action": "quarantine_rows", "max_invalid_fraction": 0.2}}
    _ok(http("put", f"/datasets/{DATASET}/contract", contract))
    _ok(http("post", f"/datasets/{DATASET}/uploads", {"filename": "january.csv"}))
    _ok(http("post", f"/datasets/{DATASET}/samples", {"filename": "sample.csv"}))
    frame = rides_frame()
    first_event = _put(bucket, f"raw/{DATASET}/january.csv", _csv(frame))
    [first] = runtime.invoke("on_raw_object", first_event)["processed"]
    assert first["status"] == "passed", first
    runtime.drain()  # on_dataset_version
    _ok(http("post", f"/datasets/{DATASET}/contract/infer", {"key": "january.csv"}))
    _put(bucket, f"staging/{DATASET}/sample.csv", _csv(frame.iloc[:50]))  # what the presigned URL is for
    _ok(http("post", f"/datasets/{DATASET}/contract/infer", {"key": f"staging/{DATASET}/sample.csv"}))

    _ok(http("put", f"/models/{MODEL}/spec", spec_body(retrain={"on_new_data": True})))
    run_id = _ok(http("post", f"/models/{MODEL}/train", {"reason": "scenario"}))["run_id"]
    runtime.drain()
    done = _ok(http("get", f"/models/{MODEL}/runs/{run_id}"))
    assert done["status"] == "succeeded" and done["promotion"]["promoted"], done

    bad = rides_frame(rows=120, seed=11)
    bad["fare"] = bad["fare"].astype(object)
    bad.loc[::10, "fare"] = "not a number"  # 12 rows of 120 quarantined
    for orphan in (
        f"curated/{DATASET}/dataset_version=2/crashed.parquet",  # a crashed attempt's leftovers
        f"quarantine/{DATASET}/0000000002/rows/crashed.parquet",
    ):
        _put(bucket, orphan, b"PAR1")
    [second] = runtime.invoke("on_raw_object", _put(bucket, f"raw/{DATASET}/february.csv", _csv(bad)))[
        "processed"
    ]
    assert second["status"] == "passed", second
    runtime.drain()  # on_dataset_version: retraining on new data (train), drift against the new version
    assert _ok(http("get", f"/datasets/{DATASET}/versions/2"))["invalid_rows"] == 12
    assert runtime.invocations["train"] == 2, dict(runtime.invocations)

    events = _serve(runtime, names, frame)
    _registry(runtime, names)
    for path in (
        "/",
        "/health",
        "/openapi.json",
        "/datasets",
        f"/datasets/{DATASET}/versions",
        f"/datasets/{DATASET}/versions/1",
        f"/datasets/{DATASET}/contract",
        "/models",
        f"/models/{MODEL}/versions",
        f"/models/{MODEL}/versions/1",
        f"/models/{MODEL}/versions/1/lineage",
        f"/models/{MODEL}/runs",
        f"/models/{MODEL}/audit",
        f"/models/{MODEL}/aliases/production",
        f"/models/{MODEL}/aliases/production/history",
        f"/models/{MODEL}/spec",
        f"/models/{MODEL}/serving",
        f"/models/{MODEL}/drift",
        f"/datasets/{DATASET}/versions/1/report.html",
        f"/datasets/{DATASET}/versions/2/report.html",
        f"/?model={MODEL}&runs={run_id}",
    ):
        _ok(http("get", path), 200)
    waiting = _sagemaker_day(runtime, names)
    _bad_day(runtime, names, [first_event, *events], waiting)


def _serve(runtime: FunctionRuntime, names: Names, frame: Any) -> list[dict[str, Any]]:
    """Predictions with capture, a drift check, labels (feedback rows), a batch file, the monitor; the
    object events of the labels and the batch file."""
    import pandas as pd

    from chalicelib.services.serving import get_service
    from sluice.local.pump import scheduled_event

    http = runtime.http
    _ok(http("put", f"/models/{MODEL}/serving", {"capture_percent": 100}))
    part = frame.iloc[:80].reset_index(drop=True)
    records = [
        {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
        for row in json.loads(part.drop(columns=["tipped"]).to_json(orient="records", date_format="iso"))
    ]
    answer = _ok(http("post", f"/models/{MODEL}/predict", {"records": records}), 200)
    get_service().capture.drain()
    _ok(http("post", f"/models/{MODEL}/drift/check"), 200)
    labels = pd.DataFrame(
        {"request_id": answer["request_id"], "record_index": range(len(part)), "tipped": part["tipped"]}
    )
    labels_event = _put(names.bucket, f"labels/{MODEL}/week1.csv", _csv(labels))
    [summary] = runtime.invoke("on_label_object", labels_event)
    assert summary["feedback"]["status"] == "passed", summary
    runtime.drain()
    batch = _csv(part.drop(columns=["tipped"]))
    batch_event = _put(names.bucket, f"batch/{MODEL}/input/day1.csv", batch)
    out = runtime.invoke("on_batch_object", batch_event)
    assert out["objects"] and out["objects"][0].get("rows"), out
    runtime.invoke("monitor", scheduled_event("monitor", "us-east-1"))
    runtime.drain()
    return [labels_event, batch_event]


def _registry(runtime: FunctionRuntime, names: Names) -> None:
    """Audited registry writes: an export, an import (request, the presigned PUT, the import run), tags,
    an alias set and removed."""
    import hashlib

    from tests.functional.imports.conftest import external_pipeline, skops_bytes

    http = runtime.http
    _ok(http("post", f"/models/{MODEL}/versions/1/exports", {"format": "sagemaker"}))
    body = skops_bytes(external_pipeline())
    grant = _ok(http("post", f"/models/{MODEL}/imports", {"format": "skops", "dataset": DATASET,
                                                          "sha256": hashlib.sha256(body).hexdigest(),
                                                          "size": len(body)}))
    _put(names.bucket, grant["upload"]["key"], body)  # what the presigned URL is for
    run_id = _ok(http("post", grant["start"], {}))["run_id"]
    runtime.drain()
    assert _ok(http("get", f"/models/{MODEL}/runs/{run_id}"))["status"] == "succeeded"
    _ok(http("patch", f"/models/{MODEL}/versions/1", {"tags": {"owner": "scenario"}}), 200)
    _ok(http("put", f"/models/{MODEL}/aliases/staging", {"version": 1}))
    _ok(http("delete", f"/models/{MODEL}/aliases/staging"), 200, 204)


SAGEMAKER_MODEL = "tips-big"


def _job_ended(runtime: FunctionRuntime, names: Names, run: dict[str, Any], status: str) -> dict[str, Any]:
    """SageMaker's state-change event of the run's job (EventBridge invokes on_training_job)."""
    from chalicelib.core.training.jobs import state_change_event

    event = state_change_event(run["training_job"], status, region="us-east-1", account="123456789012",
                               model=SAGEMAKER_MODEL, run_id=run["run_id"], role_arn=names.training_role_arn,
                               failure_reason="" if status == "Completed" else "AlgorithmError: exit 1")
    return dict(runtime.invoke("on_training_job", event))


def _job_runs(runtime: FunctionRuntime, names: Names, run: dict[str, Any]) -> None:
    """The job, as SageMaker runs it with TrainingJobRole: the toolkit downloads the source bundle, the
    program runs the training, SageMaker uploads the (empty) model output."""
    import boto3

    from chalicelib.services.sagemaker_jobs import main

    job = boto3.client("sagemaker", region_name="us-east-1").describe_training_job(
        TrainingJobName=run["training_job"])  # not in a function: the scenario reads what was asked
    source = json.loads(job["HyperParameters"]["sagemaker_submit_directory"]).removeprefix("s3://")
    with runtime.invocation("training_job"):
        s3 = boto3.session.Session().client("s3", region_name="us-east-1")  # a session with the hooks
        s3.get_object(Bucket=names.bucket, Key=source.split("/", 1)[1])
        assert main(["--model", SAGEMAKER_MODEL, "--run_id", run["run_id"]]) == 0
        s3.put_object(Bucket=names.bucket, Key=f"sagemaker/output/{run['training_job']}/output/model.tar.gz",
                      Body=b"")


def _sagemaker_day(runtime: FunctionRuntime, names: Names) -> str:
    """Runs on SageMaker: two jobs that train (the second scores the first's version as champion), one
    cancelled (its job stopped), one whose job failed before its code ran, and one left waiting for its
    job (the reconciler asks SageMaker about it on the bad day). Returns the waiting run's id."""
    http, model = runtime.http, SAGEMAKER_MODEL
    _ok(http("put", f"/models/{model}/spec", _big_spec()))

    def start() -> dict[str, Any]:
        run_id = _ok(http("post", f"/models/{model}/train", {"reason": "scenario"}))["run_id"]
        runtime.drain()  # train: the source bundle, CreateTrainingJob
        run = _ok(http("get", f"/models/{model}/runs/{run_id}"))
        assert run["compute"] == "sagemaker" and run["status"] == "running", run
        return dict(run)

    for _ in range(2):
        run = start()
        _job_runs(runtime, names, run)
        assert _job_ended(runtime, names, run, "Completed")["run_status"] == "succeeded"
    run = start()
    _ok(http("post", f"/models/{model}/runs/{run['run_id']}/cancel", {"reason": "scenario"}), 200)
    assert _job_ended(runtime, names, run, "Stopped")["run_status"] == "cancelled"
    run = start()
    assert _job_ended(runtime, names, run, "Failed")["status"] == "resolved"
    return str(start()["run_id"])


def _big_spec() -> dict[str, Any]:
    from tests.unit.training.conftest import spec_body

    return spec_body(compute="sagemaker", sagemaker={"max_runtime_seconds": 600})


class _Later:
    """The reconciler's clock an hour on: every lease and grace period of the day has run out."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def time(self) -> float:
        import time

        return time.time() + self.seconds


def _waiting_job_event(run_id: str) -> dict[str, Any]:
    from chalicelib.core.training.jobs import state_change_event
    from chalicelib.storage import runs

    run = runs.get_run(SAGEMAKER_MODEL, run_id)
    return state_change_event(str(run["training_job"]), "InProgress", region="us-east-1",
                              account="123456789012", model=SAGEMAKER_MODEL, run_id=run_id)


def _dead_letter(queue_url: str, payload: dict[str, Any]) -> None:
    """What Lambda sends to the failed-events queue when an asynchronous event failed for good."""
    import boto3

    boto3.client("sqs", region_name="us-east-1").send_message(
        QueueUrl=queue_url,
        MessageBody=json.dumps(payload),
        MessageAttributes={"ErrorCode": {"DataType": "String", "StringValue": "Runtime.ExitError"}},
    )


def _bad_day(runtime: FunctionRuntime, names: Names, object_events: list[dict[str, Any]],
             waiting: str) -> None:
    """A run cancelled; a run whose function never started; a crashed run's artifacts; dead letters for
    each function the reconciler redrives to, a training event (acknowledged) and one nobody knows (left
    for a person); the ops routes (the API hands them to ``reconcile``) and the scheduled pass."""
    import os

    import pytest

    from chalicelib.core.ops.reconcile import ORPHAN_GRACE_SECONDS
    from chalicelib.services import reconcile
    from sluice.local.pump import scheduled_event

    http, bucket = runtime.http, names.bucket
    cancelled = _ok(http("post", f"/models/{MODEL}/train", {"reason": "cancelled"}))["run_id"]
    _ok(http("post", f"/models/{MODEL}/runs/{cancelled}/cancel", {"reason": "scenario"}), 200)
    runtime.drain()  # train: the cancelled run stops at its first checkpoint
    assert _ok(http("get", f"/models/{MODEL}/runs/{cancelled}"))["status"] == "cancelled"
    lost = _ok(http("post", f"/models/{MODEL}/train", {"reason": "lost"}))["run_id"]
    assert runtime.drop("train") == 1  # its container died before the run started
    _put(bucket, f"models/{MODEL}/9/model.joblib", b"half")  # a crashed run's artifacts
    for orphan in (  # upload attempts' folders no version points to
        f"curated/{DATASET}/dataset_version=1/run-0fencedout00000/part-00000.snappy.parquet",  # fenced out
        f"curated/{DATASET}/dataset_version=9/run-0000deadattempt/part-00000.snappy.parquet",  # no record
        f"quarantine/{DATASET}/0000000009/rows/part-00000.snappy.parquet",
    ):
        _put(bucket, orphan, b"PAR1")

    queue = os.environ["SLUICE_DEAD_LETTER_QUEUE_URL"]
    for payload in [
        *object_events,  # on_raw_object, on_label_object, on_batch_object: idempotent, redriven
        {"dataset": DATASET, "version": 2},  # on_dataset_version: once-only claims, redriven
        {"model": MODEL, "run_id": lost},  # training: acknowledged (its run is resolved instead)
        _waiting_job_event(waiting),  # a training job's state change: redriven to on_training_job
        {"what": "nobody knows"},  # left for a person
    ]:
        _dead_letter(queue, payload)
    found = _ok(http("get", "/ops/findings"), 200)["findings"]
    assert {f["outcome"] for f in found} == {"planned", "not_enabled"}, found
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reconcile, "time", _Later(ORPHAN_GRACE_SECONDS + 3600))
        done = runtime.invoke("reconcile", scheduled_event("reconcile", "us-east-1"))
    outcomes = sorted((f["kind"], f["outcome"]) for f in done["findings"])
    assert outcomes.count(("dead_letter", "done")) == 6, outcomes
    assert ("run_past_lease", "done") in outcomes and ("orphan_artifacts", "done") in outcomes, outcomes
    assert outcomes.count(("orphan_outputs", "done")) == 3, outcomes
    runtime.drain()  # the redriven events: each handler sees it already did the work
    assert _ok(http("get", f"/models/{MODEL}/runs/{lost}"))["status"] == "failed"
    # the run left waiting for its job: past its lease, the reconciler asked SageMaker (moto: Completed)
    assert _ok(http("get", f"/models/{SAGEMAKER_MODEL}/runs/{waiting}"))["status"] == "failed"
    _ok(http("post", "/ops/redrive", {}), 200)
    assert _ok(http("get", "/ops/audit"), 200)["items"]
