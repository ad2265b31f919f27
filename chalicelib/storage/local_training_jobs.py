"""The local stack's SageMaker: a job's program run in a subprocess, its end sent as SageMaker's event.

What the scikit-learn framework container does with a job, done here the same way: the job's
``sagemaker_submit_directory`` is downloaded (from the local stack's S3) and unpacked, ``sagemaker_program``
runs in it with the other hyperparameters as ``--name value`` arguments and the job's ``Environment`` plus
the toolkit's ``SM_*`` variables (``SM_MODEL_DIR``, ``SM_OUTPUT_DIR``, ``SM_HPS``). The program's
``requirements.txt`` is not installed: the subprocess uses this interpreter's packages, the ones the
bundle pins. When the process exits, the ``SageMaker Training Job State Change`` event goes to the local
EventBridge (the stack's rule routes it to the pump, which calls ``on_training_job``): ``Completed`` on exit
code 0, ``Stopped`` after :func:`stop`, else ``Failed`` with the program's failure file as
``FailureReason``.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.core.log import logger
from chalicelib.core.settings import Settings
from chalicelib.core.training.jobs import EVENT_DETAIL_TYPE, EVENT_SOURCE, state_change_event

ACCOUNT = "123456789012"  # moto's


@dataclass
class LocalJob:
    name: str
    process: subprocess.Popen[bytes]
    folder: Path
    model: str
    run_id: str
    role_arn: str
    status: str = "InProgress"
    failure_reason: str = ""
    stop_requested: bool = False
    done: threading.Event = field(default_factory=threading.Event)


_jobs: dict[str, LocalJob] = {}
_lock = threading.Lock()


def _decoded(value: str) -> str:
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return decoded if isinstance(decoded, str) else value


def launch(request: dict[str, Any], settings: Settings) -> LocalJob:
    """Run the job's program in a subprocess (returns at once; a thread waits for it)."""
    from chalicelib.storage import s3

    name = request["TrainingJobName"]
    hyper = {k: _decoded(v) for k, v in request["HyperParameters"].items()}
    bucket, _, key = hyper["sagemaker_submit_directory"].removeprefix("s3://").partition("/")
    folder = Path(tempfile.mkdtemp(prefix=f"sluice-{name}-"))
    code, model_dir, output = folder / "code", folder / "model", folder / "output"
    for path in (code, model_dir, output):
        path.mkdir()
    with tarfile.open(fileobj=io.BytesIO(s3.get_bytes(key, bucket=bucket, settings=settings)),
                      mode="r:gz") as tar:
        tar.extractall(code, filter="data")
    user = {k: v for k, v in hyper.items() if not k.startswith("sagemaker_")}
    args = [part for k, v in user.items() for part in (f"--{k}", v)]
    env = {**os.environ, **request.get("Environment", {}), "SM_MODEL_DIR": str(model_dir),
           "SM_OUTPUT_DIR": str(output), "SM_HPS": json.dumps(user), "SM_CURRENT_HOST": "algo-1",
           "SM_TRAINING_ENV": json.dumps({"job_name": name, "hyperparameters": user})}
    with (folder / "job.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, hyper["sagemaker_program"], *args], cwd=code, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    job = LocalJob(name, process, folder, user.get("model", ""), user.get("run_id", ""),
                   str(request.get("RoleArn", "")))
    with _lock:
        _jobs[name] = job
    threading.Thread(target=_follow, args=(job, settings), daemon=True, name=f"sluice-job-{name}").start()
    logger.info("local training job started", extra={"job": name, "folder": str(folder)})
    return job


def _follow(job: LocalJob, settings: Settings) -> None:
    code = job.process.wait()
    failure = job.folder / "output" / "failure"
    with _lock:
        if code == 0:
            job.status = "Completed"
        elif job.stop_requested:
            job.status = "Stopped"
        else:
            job.status = "Failed"
            job.failure_reason = (failure.read_text()[:500] if failure.exists()
                                  else f"the training program exited with code {code}")
    try:
        _send(job, settings)
    except Exception:  # the stack stopped under it: its event is lost as a stopped stack's would be
        logger.warning("the local training job's end could not be sent", extra={"job": job.name})
    finally:
        job.done.set()


def _send(job: LocalJob, settings: Settings) -> None:
    import boto3

    event = state_change_event(job.name, job.status, region=settings.region, account=ACCOUNT,
                               model=job.model, run_id=job.run_id, failure_reason=job.failure_reason,
                               role_arn=job.role_arn)
    events = boto3.session.Session().client("events", region_name=settings.region,
                                             endpoint_url=settings.endpoint_url)
    events.put_events(Entries=[{"Source": EVENT_SOURCE, "DetailType": EVENT_DETAIL_TYPE,
                                "Detail": json.dumps(event["detail"]), "Resources": event["resources"]}])


def stop(name: str) -> None:
    """StopTrainingJob: the program is terminated, and its end is reported as ``Stopped``."""
    with _lock:
        job = _jobs.get(name)
        if job is None or job.status != "InProgress":
            return
        job.stop_requested = True
    job.process.terminate()


def stop_all() -> list[str]:
    """Stop every job still running (the local stack stops: no training process outlives it)."""
    with _lock:
        running = [name for name, job in _jobs.items() if job.status == "InProgress"]
    for name in running:
        stop(name)
    return running


def describe(name: str) -> dict[str, Any] | None:
    """The part of DescribeTrainingJob the reconciler reads, for a job this process runs."""
    with _lock:
        job = _jobs.get(name)
        if job is None:
            return None
        return {"TrainingJobName": name, "TrainingJobStatus": job.status,
                "SecondaryStatus": "Training" if job.status == "InProgress" else job.status,
                **({"FailureReason": job.failure_reason} if job.failure_reason else {})}


def wait(name: str, timeout: float) -> bool:
    """Wait for a local job's end (and its event sent): tests and ``sluice`` shutdown."""
    with _lock:
        job = _jobs.get(name)
    return job is None or job.done.wait(timeout)
