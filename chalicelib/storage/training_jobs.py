"""SageMaker training jobs: start, stop, describe; the source bundle they run; the run's hand-over.

On AWS (and on moto in tests) these are SageMaker's API. The local stack sets
``SLUICE_TRAINING_JOB_RUNNER=subprocess``: the CreateTrainingJob call still goes to its moto server (so it
is recorded), then :mod:`chalicelib.storage.local_training_jobs` runs the job's program in a subprocess,
as the framework container would, and delivers the state-change event SageMaker would send.

The source bundle (``sourcedir.tar.gz``) is built from the code this process runs (``chalicelib/``, the
entry program, ``requirements.txt`` pinned to the installed versions), byte for byte reproducible, and
stored once under ``sagemaker/code/{sha256}/``: every job of one deployment shares it, a new deployment
writes a new one.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from chalicelib.core.settings import Settings, get_settings
from chalicelib.core.training.jobs import (
    ENTRY_PROGRAM,
    ENTRY_SOURCE,
    PINNED_DISTRIBUTIONS,
    SOURCE_PREFIX,
    requirements_text,
)
from chalicelib.core.training.lease import PHASE_LOADING
from chalicelib.storage import runs, s3
from chalicelib.storage import table as state

ENV_TRAINING_ROLE_ARN = "SLUICE_TRAINING_ROLE_ARN"  # the jobs' execution role (the template sets it)
ENV_TRAINING_JOB_RUNNER = "SLUICE_TRAINING_JOB_RUNNER"  # "subprocess": the local stack runs jobs itself
PHASE_TRAINING_JOB = "training_job"  # a run handed to SageMaker, before its training code starts
BUNDLE_FILE = "sourcedir.tar.gz"


def _sagemaker(settings: Settings) -> Any:
    """A SageMaker client (made per call: jobs start and stop rarely, and a cached client would outlive
    a test's moto world)."""
    import boto3

    return boto3.session.Session().client("sagemaker", region_name=settings.region,
                                           endpoint_url=settings.endpoint_url)


def local_runner(environ: dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get(ENV_TRAINING_JOB_RUNNER, "") == "subprocess"


def role_arn(environ: dict[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return env.get(ENV_TRAINING_ROLE_ARN, "")


def create_job(request: dict[str, Any], settings: Settings | None = None) -> bool:
    """Start the job; False when a job of that name exists (a retried start: it is that run's job)."""
    settings = settings or get_settings()
    sagemaker = _sagemaker(settings)
    try:
        sagemaker.create_training_job(**request)
    except sagemaker.exceptions.ResourceInUse:
        return False
    if local_runner():
        from chalicelib.storage import local_training_jobs

        local_training_jobs.launch(request, settings)
    return True


def stop_job(name: str, settings: Settings | None = None) -> None:
    """Ask SageMaker to stop the job (its Stopped event follows); nothing when it already ended."""
    settings = settings or get_settings()
    if local_runner():
        from chalicelib.storage import local_training_jobs

        local_training_jobs.stop(name)
        return
    sagemaker = _sagemaker(settings)
    try:
        sagemaker.stop_training_job(TrainingJobName=name)
    except sagemaker.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ValidationException":  # not stoppable: it ended
            raise


def describe_job(name: str, settings: Settings | None = None) -> dict[str, Any] | None:
    """DescribeTrainingJob, or None when there is no such job."""
    settings = settings or get_settings()
    if local_runner():
        from chalicelib.storage import local_training_jobs

        local = local_training_jobs.describe(name)
        if local is not None:  # moto says Completed at once; the local runner knows better
            return local
    sagemaker = _sagemaker(settings)
    try:
        return dict(sagemaker.describe_training_job(TrainingJobName=name))
    except sagemaker.exceptions.ClientError as exc:
        if "Could not find" in str(exc.response.get("Error", {}).get("Message", "")):
            return None
        raise


# ---- the source bundle --------------------------------------------------------------------------


def _code_root() -> Path:
    """The folder holding ``chalicelib/`` (``/var/task`` on Lambda, the checkout locally)."""
    import chalicelib

    return Path(chalicelib.__file__).resolve().parent.parent


def installed_versions() -> dict[str, str]:
    found = {}
    for name in PINNED_DISTRIBUTIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def source_bundle(root: Path | None = None, versions: dict[str, str] | None = None) -> bytes:
    """``sourcedir.tar.gz``: ``chalicelib/**.py``, the entry program and ``requirements.txt``; the same bytes
    for the same code (sorted members, no times, owners or modes that vary)."""
    root = root or _code_root()
    members: list[tuple[str, bytes]] = [
        (path.relative_to(root).as_posix(), path.read_bytes())
        for path in sorted((root / "chalicelib").rglob("*.py")) if "__pycache__" not in path.parts]
    members += [(ENTRY_PROGRAM, ENTRY_SOURCE.encode()),
                ("requirements.txt", requirements_text(versions or installed_versions()).encode())]
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, body in sorted(members):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(body), 0o644, 0
            tar.addfile(info, io.BytesIO(body))
    return gzip.compress(raw.getvalue(), mtime=0)


def upload_source_bundle(settings: Settings | None = None) -> str:
    """The bundle's key, written once per content (a second writer finds it there)."""
    body = source_bundle()
    key = f"{SOURCE_PREFIX}{hashlib.sha256(body).hexdigest()}/{BUNDLE_FILE}"
    s3.put_bytes_once(key, body, content_type="application/gzip", settings=settings)
    return key


# ---- the run's hand-over to the job -------------------------------------------------------------


def hand_over(model: str, run_id: str, *, fields: dict[str, object], lease_seconds: int,
              now: float | None = None) -> bool:
    """The running run is now its job's: ``fields`` (compute, training_job, ...) recorded, phase
    ``training_job``, and its lease stretched over the job's startup and runtime, in one transaction
    fenced by the lock (False when the run was cancelled or lost its lease meanwhile)."""
    now_s = int(time.time() if now is None else now)
    values = {"phase": PHASE_TRAINING_JOB, "phase_at": runs.now_iso(), **fields}
    sets = ", ".join(f"#f{i} = :f{i}" for i in range(len(values)))
    table = state.table()
    run_update = {"Update": {
        "TableName": table.name, "Key": _run_key(model, run_id), "UpdateExpression": f"SET {sets}",
        "ConditionExpression": "#s = :running",
        "ExpressionAttributeNames": {"#s": "status", **{f"#f{i}": k for i, k in enumerate(values)}},
        "ExpressionAttributeValues": state.to_dynamo(
            {":running": "running", **{f":f{i}": v for i, v in enumerate(values.values())}})}}
    lock_update = {"Update": {
        "TableName": table.name, "Key": _lock_key(model),
        "UpdateExpression": "SET lock_until = :until, heartbeat_at = :now",
        "ConditionExpression": "run_id = :run AND lock_until >= :now",
        "ExpressionAttributeValues": {":until": now_s + lease_seconds, ":now": now_s, ":run": run_id}}}
    try:
        table.meta.client.transact_write_items(TransactItems=[run_update, lock_update])  # type: ignore[list-item]
    except Exception as exc:
        response = getattr(exc, "response", None) or {}
        if response.get("Error", {}).get("Code") == "TransactionCanceledException":
            return False
        raise
    return True


def take_over(model: str, run_id: str) -> None:
    """The job's training code starts: the run's lease becomes the code's (renewed by its heartbeat, a
    short lease that runs out soon after the container dies); ``run_cancelled``/``run_lease_lost`` when
    the run is no longer its job's."""
    runs.checkpoint(model, run_id, PHASE_LOADING)


def _run_key(model: str, run_id: str) -> dict[str, str]:
    from chalicelib.storage.layout import model_pk, run_sk

    return {"pk": model_pk(model), "sk": run_sk(run_id)}


def _lock_key(model: str) -> dict[str, str]:
    from chalicelib.storage.layout import RUN_LOCK, model_pk

    return {"pk": model_pk(model), "sk": RUN_LOCK}
