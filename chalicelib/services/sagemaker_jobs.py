"""Training runs on SageMaker: started by the ``train`` function, run by the job, ended by its event.

What runs where (docs/sagemaker.md):

1. **the ``train`` function** (:func:`start_job`): the run is queued and started as every run (lock,
   ``running``); where the spec's ``compute`` says SageMaker, the function builds the job (the source
   bundle stored once, the framework image, the execution role, the stack's ``SLUICE_*`` names, the
   stopping condition), hands the run over to it — ``compute: sagemaker``, ``training_job``, phase
   ``training_job`` and a lease that covers the job's startup and runtime — and calls CreateTrainingJob.
   The job's name is the stack's name and the run id: a retried start finds the job it started.
2. **the job** (:func:`main`, the container's program): takes the run's lease over (a checkpoint: a
   cancelled run stops here) and runs :func:`chalicelib.services.training.run_started` — the same code as
   the function: the window's curated Parquet read from S3, the fit, the artifact under
   ``models/{model}/{version}/``, registration, the gate, the run's outcome — under the same heartbeat and
   fence. A run that failed exits 1 with its error in SageMaker's failure file (the job is ``Failed``).
3. **``on_training_job``** (:func:`on_state_change`, an EventBridge rule on the stack's jobs' state
   changes): a job that ended while its run is still in flight (the code died, never started, ran out of
   time, was stopped) ends the run — from the registry when it registered its version, else ``failed``
   with the job's reason — and frees the model. Idempotent: SageMaker may send an event more than once.

Cancelling a run stops its job (:func:`stop_for_cancel`); the reconciler asks DescribeTrainingJob about a
SageMaker run past its lease (:func:`reconcile_run`) instead of calling it lost while its job is running.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from chalicelib.core.errors import NotFoundError, SluiceError
from chalicelib.core.log import logger
from chalicelib.core.settings import get_settings
from chalicelib.core.training.compute import ComputeChoice
from chalicelib.core.training.errors import RunStoppedError
from chalicelib.core.training.jobs import (
    JobEvent,
    JobPlan,
    job_end,
    job_name,
    lease_seconds,
    training_job_request,
)
from chalicelib.core.training.lease import IN_FLIGHT
from chalicelib.storage import runs, training_jobs
from chalicelib.storage import specs as store

# the stack's names the job's code reads (chalicelib/core/settings.py); nothing else of the function's
# environment reaches the job
JOB_ENVIRONMENT = ("SLUICE_STAGE", "SLUICE_BUCKET", "SLUICE_TABLE", "SLUICE_FUNCTION_PREFIX",
                   "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL")
FOREVER = 100 * 365 * 24 * 3600  # "as of the job's end": no lease of the run can be live any more
MAX_ERROR_CHARS = 500


class TrainingJobConfigurationError(SluiceError):
    """The stack cannot start SageMaker training jobs (no execution role, a name too long, no image)."""

    status = 500
    code = "training_job_not_configured"


def stack_name(settings: Any) -> str:
    """The stack's name (its functions' prefix); locally the stack's bucket name."""
    return str(settings.function_prefix).rstrip("-") or str(settings.bucket)


def job_plan(model: str, run_id: str, choice: ComputeChoice, source_key: str) -> JobPlan:
    """The job of run ``run_id`` under ``choice`` (the spec's sagemaker settings)."""
    from chalicelib.core.training.jobs import JobNameError, image_uri

    settings = get_settings()
    run = runs.get_run(model, run_id)
    spec = store.get_spec(model, int(run["spec_version"])).spec
    role = training_jobs.role_arn()
    if not role:
        raise TrainingJobConfigurationError(f"{training_jobs.ENV_TRAINING_ROLE_ARN} is not set: the train "
                                            "function has no SageMaker execution role (infra/functions.yaml)")
    try:
        name = job_name(stack_name(settings), run_id)
        image_uri(settings.region)
    except (JobNameError, ValueError) as exc:
        raise TrainingJobConfigurationError(str(exc)) from exc
    environment = {k: os.environ[k] for k in JOB_ENVIRONMENT if os.environ.get(k)}
    environment.update({"SLUICE_BUCKET": settings.bucket, "SLUICE_TABLE": settings.table,
                        "AWS_DEFAULT_REGION": settings.region})
    return JobPlan(name=name, model=model, run_id=run_id, region=settings.region, role_arn=role,
                   bucket=settings.bucket, source_key=source_key,
                   instance_type=choice.instance_type or "ml.m5.xlarge", volume_gb=spec.sagemaker.volume_gb,
                   max_runtime_seconds=spec.sagemaker.max_runtime_seconds, environment=environment,
                   stack=stack_name(settings))


def start_job(model: str, run_id: str, choice: ComputeChoice) -> dict[str, object]:
    """Hand the running run to a SageMaker training job (module docstring, 1). The model stays locked
    until the job's end; a start that fails records the run as failed and frees the model."""
    try:
        plan = job_plan(model, run_id, choice, training_jobs.upload_source_bundle())
        fields: dict[str, object] = {"compute": "sagemaker", "training_job": plan.name,
                                     "instance_type": plan.instance_type, "compute_choice": choice.to_dict()}
        if not training_jobs.hand_over(model, run_id, fields=fields,
                                       lease_seconds=lease_seconds(plan.max_runtime_seconds)):
            logger.info("run stopped before its training job started",
                        extra={"model": model, "run_id": run_id})
            return dict(runs.get_run(model, run_id))
        created = training_jobs.create_job(training_job_request(plan))
    except Exception as exc:
        _fail(model, run_id, exc)
        runs.release_lock(model, run_id)
        return dict(runs.get_run(model, run_id))
    logger.info("training run handed to SageMaker", extra={"model": model, "run_id": run_id,
                                                           "job": plan.name, "new_job": created})
    return dict(runs.get_run(model, run_id))


def _fail(model: str, run_id: str, exc: BaseException) -> None:
    if isinstance(exc, SluiceError):
        error = {"code": exc.code, "message": exc.message[:MAX_ERROR_CHARS]}
    else:
        logger.exception("the training job could not be started", extra={"model": model, "run_id": run_id})
        error = {"code": "training_job_not_started",
                 "message": f"the SageMaker training job could not be started: {type(exc).__name__}: "
                            f"{exc}"[:MAX_ERROR_CHARS]}
    runs.finish_run(model, run_id, "failed", error=error)


# ---- the job's program --------------------------------------------------------------------------


def run_job(model: str, run_id: str) -> dict[str, object]:
    """What the job runs (module docstring, 2): the run's work, as the ``train`` function does it."""
    from chalicelib.services.training import run_started

    try:
        training_jobs.take_over(model, run_id)
    except RunStoppedError as exc:  # cancelled, or resolved, before the job got to it
        logger.info("the run is no longer this job's",
                    extra={"model": model, "run_id": run_id, "code": exc.code})
        return {**runs.get_run(model, run_id), "stopped": exc.code}
    return run_started(model, run_id)


def main(argv: list[str] | None = None) -> int:
    """The container's entry: ``--model M --run_id R`` (the job's hyperparameters). Exit 0 when the run
    succeeded; 1 otherwise, with the run's error in ``$SM_OUTPUT_DIR/failure`` (SageMaker's FailureReason)."""
    parser = argparse.ArgumentParser(description="a sluice training run as a SageMaker training job")
    parser.add_argument("--model", required=True)
    parser.add_argument("--run_id", required=True)
    args, _ = parser.parse_known_args(argv)
    record = run_job(args.model, args.run_id)
    if record.get("status") == "succeeded":
        return 0
    error = record.get("error")
    reason = (f"{error.get('code')}: {error.get('message')}" if isinstance(error, dict) else
              f"the run is {record.get('status')}")
    output = Path(os.environ.get("SM_OUTPUT_DIR", "/opt/ml/output"))
    try:
        output.mkdir(parents=True, exist_ok=True)
        (output / "failure").write_text(str(reason)[:1000])
    except OSError:
        logger.warning("could not write the failure file", extra={"path": str(output)})
    return 1


# ---- the job's end ------------------------------------------------------------------------------


def on_state_change(event: dict[str, Any]) -> dict[str, Any]:
    """``on_training_job``: a job's state change (module docstring, 3)."""
    try:
        job = JobEvent.parse(event)
    except ValueError as exc:
        logger.warning("not a training job state change", extra={"why": str(exc)})
        return {"status": "ignored", "why": str(exc)}
    if not job.terminal:
        return {"job": job.job_name, "status": "ignored", "why": f"the job is {job.status}"}
    if not job.model or not job.run_id:
        logger.warning("a training job of no sluice run", extra={"job": job.job_name})
        return {"job": job.job_name, "status": "ignored", "why": "the job names no sluice run"}
    return end_run(job.model, job.run_id, job.job_name, job.status, job.secondary_status, job.failure_reason)


def end_run(model: str, run_id: str, name: str, status: str, secondary_status: str = "",
            failure_reason: str = "") -> dict[str, Any]:
    """Job ``name`` of the run ended with ``status``: end the run if it is still in flight (from the
    registry, or failed with the job's reason), and free the model if the run still holds it."""
    from chalicelib.services.training import registered_version

    try:
        run = runs.get_run(model, run_id)
    except NotFoundError:
        return {"job": name, "status": "ignored", "why": "no such run"}
    if run.get("training_job") != name:
        return {"job": name, "status": "ignored", "why": "the run has another (or no) training job"}
    outcome: dict[str, Any] = {"job": name, "job_status": status, "run_id": run_id}
    if run.get("status") in IN_FLIGHT:
        registered, production = registered_version(model, run)
        end = job_end(status, secondary_status, failure_reason, run, registered, production)
        if runs.resolve_lost_run(model, run_id, end.status, now=time.time() + FOREVER, **end.fields):
            logger.warning("a training job ended before its run recorded an outcome",
                           extra={"model": model, "run_id": run_id, "job": name, "status": end.status})
            return {**outcome, "status": "resolved", "run_status": end.status}
    released = runs.release_lock(model, run_id)  # the code frees it itself; a job that died could not
    return {**outcome, "status": "unchanged", "run_status": runs.get_run(model, run_id).get("status"),
            "released": released}


def stop_for_cancel(model: str, run_id: str, name: str) -> None:
    """A cancelled run's job is stopped (best effort: the job's code stops at its next checkpoint anyway)."""
    try:
        training_jobs.stop_job(name)
    except Exception:
        logger.exception("could not stop the cancelled run's training job",
                         extra={"model": model, "run_id": run_id, "job": name})


def reconcile_run(model: str, run_id: str, name: str) -> dict[str, Any] | None:
    """A SageMaker run past its lease, as the reconciler finds it: None while its job is still in progress
    (its event will end the run), the job's end applied when the event was missed, and None too when the
    job does not exist (the caller resolves the run as lost)."""
    job = training_jobs.describe_job(name)
    if job is None:
        return None
    status = str(job.get("TrainingJobStatus") or "")
    if status not in ("Completed", "Failed", "Stopped"):
        return {"outcome": "skipped", "why": f"its SageMaker training job {name} is {status} "
                                              f"({job.get('SecondaryStatus')}): its end event ends the run"}
    ended = end_run(model, run_id, name, status, str(job.get("SecondaryStatus") or ""),
                    str(job.get("FailureReason") or ""))
    return {"outcome": "done" if ended["status"] == "resolved" else "skipped", **ended}
