"""A SageMaker training job for a run: its name, the CreateTrainingJob request, and its state-change events.

The job runs AWS's scikit-learn framework container in script mode (the SageMaker Python SDK's contract,
``sagemaker.sklearn.SKLearn``): the container downloads ``sagemaker_submit_directory`` (a tar.gz of sluice's
code, :func:`source_files`), installs its ``requirements.txt`` (the versions the ML layer serves, so the
artifact loads in Lambda) and runs ``sagemaker_program`` with the other hyperparameters as
``--name value`` arguments. That program (:data:`ENTRY_PROGRAM`) calls the same training function as the
``train`` Lambda function: it reads the curated Parquet from S3 and writes the artifact, the registry and
the run record itself, then applies the gate. The job's own model output (``/opt/ml/model``) stays empty.

The image is the ``1.4-2-py312`` framework version (Python 3.12, as the functions): its registry account
per region is the SDK's ``image_uri_config/sklearn.json``; the tag is ``{version}-cpu-py3`` as the SDK
formats it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

FRAMEWORK_VERSION = "1.4-2-py312"
IMAGE_TAG = f"{FRAMEWORK_VERSION}-cpu-py3"
IMAGE_REPOSITORY = "sagemaker-scikit-learn"
# sagemaker-python-sdk: sagemaker-core/src/sagemaker/core/image_uri_config/sklearn.json,
# "training" -> "1.4-2-py312" -> "registries"
IMAGE_ACCOUNTS: dict[str, str] = {
    "af-south-1": "510948584623", "ap-east-1": "651117190479", "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698", "ap-northeast-3": "867004704886", "ap-south-1": "720646828776",
    "ap-south-2": "628508329040", "ap-southeast-1": "121021644041", "ap-southeast-2": "783357654285",
    "ap-southeast-3": "951798379941", "ap-southeast-4": "106583098589", "ca-central-1": "341280168497",
    "ca-west-1": "190319476487", "cn-north-1": "450853457545", "cn-northwest-1": "451049120500",
    "eu-central-1": "492215442770", "eu-central-2": "680994064768", "eu-north-1": "662702820516",
    "eu-south-1": "978288397137", "eu-south-2": "104374241257", "eu-west-1": "141502667606",
    "eu-west-2": "764974769150", "eu-west-3": "659782779980", "il-central-1": "898809789911",
    "me-central-1": "272398656194", "me-south-1": "801668240914", "sa-east-1": "737474898029",
    "us-east-1": "683313688378", "us-east-2": "257758044811", "us-gov-east-1": "237065988967",
    "us-gov-west-1": "414596584902", "us-west-1": "746614075791", "us-west-2": "246618743249",
}

ENTRY_PROGRAM = "sluice_training_job.py"  # at the root of the source bundle, beside chalicelib/
ENTRY_SOURCE = '''"""A sluice training run as a SageMaker training job (the container runs this file)."""

from chalicelib.services.sagemaker_jobs import main

if __name__ == "__main__":
    raise SystemExit(main())
'''
# What the training path imports beyond the container's Python: pinned to the versions the ML layer (and
# the function's package) serve, so the artifact a job writes loads in the functions that serve it.
PINNED_DISTRIBUTIONS = ("numpy", "scipy", "scikit-learn", "joblib", "threadpoolctl", "pandas",
                        "python-dateutil", "fastparquet", "cramjam", "fsspec", "skops", "pydantic",
                        "PyYAML", "aws-lambda-powertools")
SOURCE_PREFIX = "sagemaker/code/"  # sagemaker/code/{sha256}/sourcedir.tar.gz (written once)
OUTPUT_PREFIX = "sagemaker/output/"  # the job's own (empty) model.tar.gz and failure output
JOB_NAME_MAX = 63
JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
EVENT_SOURCE = "aws.sagemaker"
EVENT_DETAIL_TYPE = "SageMaker Training Job State Change"
TERMINAL_STATUSES = ("Completed", "Failed", "Stopped")
# A job waits for its instance, pulls the image and installs requirements.txt before the training code
# holds the run's lease: the run's lease covers that and the whole runtime (the code's heartbeat takes
# over once it starts).
STARTUP_ALLOWANCE_SECONDS = 3600
MAX_REASON_CHARS = 500


class JobNameError(ValueError):
    """The stack's name leaves no room for a run id in a SageMaker job name (63 characters)."""


def image_uri(region: str) -> str:
    """The scikit-learn framework image of ``region`` (ValueError where SageMaker has none)."""
    account = IMAGE_ACCOUNTS.get(region)
    if account is None:
        raise ValueError(f"no SageMaker scikit-learn {FRAMEWORK_VERSION} image in region {region!r}")
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account}.dkr.ecr.{region}.{domain}/{IMAGE_REPOSITORY}:{IMAGE_TAG}"


def job_name(stack: str, run_id: str) -> str:
    """``{stack}-{run id}`` (lower case): deterministic, so a retried start finds the job it started, and
    within the stack's IAM grants (``training-job/{stack}-*``)."""
    name = f"{stack}-{run_id}".lower()
    if len(name) > JOB_NAME_MAX or not JOB_NAME.match(name):
        raise JobNameError(f"a SageMaker training job of stack {stack!r} would be named {name!r}: job names "
                           f"have at most {JOB_NAME_MAX} letters, digits and hyphens, so the stack's name "
                           f"may have at most {JOB_NAME_MAX - len(run_id) - 1}")
    return name


@dataclass(frozen=True)
class JobPlan:
    """Everything a CreateTrainingJob request is built from (one run's)."""

    name: str
    model: str
    run_id: str
    region: str
    role_arn: str
    bucket: str
    source_key: str
    instance_type: str
    volume_gb: int
    max_runtime_seconds: int
    environment: Mapping[str, str]
    stack: str


def _hyperparameter(value: str) -> str:
    """As the SDK passes them: JSON-encoded (the toolkit decodes each one)."""
    return json.dumps(value)


def training_job_request(plan: JobPlan) -> dict[str, Any]:
    """The CreateTrainingJob parameters of ``plan``."""
    hyperparameters = {
        "sagemaker_program": ENTRY_PROGRAM,
        "sagemaker_submit_directory": f"s3://{plan.bucket}/{plan.source_key}",
        "sagemaker_region": plan.region,
        "sagemaker_container_log_level": "20",
        "model": plan.model,
        "run_id": plan.run_id,
    }
    return {
        "TrainingJobName": plan.name,
        "AlgorithmSpecification": {"TrainingImage": image_uri(plan.region), "TrainingInputMode": "File"},
        "RoleArn": plan.role_arn,
        "HyperParameters": {k: _hyperparameter(v) for k, v in hyperparameters.items()},
        "OutputDataConfig": {"S3OutputPath": f"s3://{plan.bucket}/{OUTPUT_PREFIX}"},
        "ResourceConfig": {"InstanceType": plan.instance_type, "InstanceCount": 1,
                           "VolumeSizeInGB": plan.volume_gb},
        "StoppingCondition": {"MaxRuntimeInSeconds": plan.max_runtime_seconds},
        "Environment": dict(plan.environment),
        "Tags": [{"Key": "sluice:stack", "Value": plan.stack}, {"Key": "sluice:model", "Value": plan.model},
                 {"Key": "sluice:run", "Value": plan.run_id}],
    }


def lease_seconds(max_runtime_seconds: int) -> int:
    """How long a run handed to SageMaker holds its model before anyone may call it lost."""
    return max_runtime_seconds + STARTUP_ALLOWANCE_SECONDS


def requirements_text(versions: Mapping[str, str]) -> str:
    """``requirements.txt`` of the source bundle: each of :data:`PINNED_DISTRIBUTIONS` at ``versions``."""
    missing = [d for d in PINNED_DISTRIBUTIONS if d not in versions]
    if missing:
        raise ValueError(f"cannot pin {', '.join(missing)}: not installed where the job is started")
    return "".join(f"{d}=={versions[d]}\n" for d in PINNED_DISTRIBUTIONS)


@dataclass(frozen=True)
class JobEvent:
    """A ``SageMaker Training Job State Change`` event, as much of it as a run needs."""

    job_name: str
    status: str  # InProgress | Completed | Failed | Stopping | Stopped
    secondary_status: str
    failure_reason: str
    model: str | None
    run_id: str | None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @classmethod
    def parse(cls, event: Mapping[str, Any]) -> JobEvent:
        """ValueError for anything but a training job state change."""
        if event.get("source") != EVENT_SOURCE or event.get("detail-type") != EVENT_DETAIL_TYPE:
            raise ValueError("not a SageMaker training job state change")
        detail = event.get("detail") or {}
        name = detail.get("TrainingJobName")
        if not isinstance(name, str) or not name:
            raise ValueError("the event names no training job")
        hyper = detail.get("HyperParameters") or {}
        tags = _tags(detail.get("Tags"))
        return cls(job_name=name, status=str(detail.get("TrainingJobStatus") or ""),
                   secondary_status=str(detail.get("SecondaryStatus") or ""),
                   failure_reason=str(detail.get("FailureReason") or "")[:MAX_REASON_CHARS],
                   model=_decoded(hyper.get("model")) or tags.get("sluice:model"),
                   run_id=_decoded(hyper.get("run_id")) or tags.get("sluice:run"))


def _decoded(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return decoded if isinstance(decoded, str) else value


def _tags(tags: object) -> dict[str, str]:
    """The event's tags: a map, or DescribeTrainingJob's list of ``{Key, Value}``."""
    if isinstance(tags, Mapping):
        return {str(k): str(v) for k, v in tags.items()}
    if isinstance(tags, list):
        return {str(t.get("Key")): str(t.get("Value")) for t in tags if isinstance(t, Mapping)}
    return {}


def state_change_event(name: str, status: str, *, region: str, account: str, model: str, run_id: str,
                       failure_reason: str = "", secondary_status: str | None = None,
                       role_arn: str = "") -> dict[str, Any]:
    """The event SageMaker sends when job ``name`` reaches ``status`` (what the local stack delivers)."""
    detail: dict[str, Any] = {
        "TrainingJobName": name,
        "TrainingJobArn": f"arn:aws:sagemaker:{region}:{account}:training-job/{name}",
        "TrainingJobStatus": status, "SecondaryStatus": secondary_status or status,
        "HyperParameters": {"model": _hyperparameter(model), "run_id": _hyperparameter(run_id)},
        "RoleArn": role_arn, "Tags": {"sluice:model": model, "sluice:run": run_id},
    }
    if failure_reason:
        detail["FailureReason"] = failure_reason[:MAX_REASON_CHARS]
    return {"version": "0", "source": EVENT_SOURCE, "detail-type": EVENT_DETAIL_TYPE, "account": account,
            "region": region, "resources": [detail["TrainingJobArn"]], "detail": detail}


# ---- what an ended job means for its run --------------------------------------------------------


@dataclass(frozen=True)
class JobEnd:
    """The outcome to record for a run whose job ended without the run recording its own."""

    status: str  # "succeeded" | "failed"
    fields: dict[str, Any]


def job_end(status: str, secondary_status: str, failure_reason: str, run: Mapping[str, Any],
            registered: Mapping[str, Any] | None, production: int | None) -> JobEnd:
    """A job ended (``Completed``/``Failed``/``Stopped``) while its run is still in flight: the training
    code died before recording the outcome, or never ran. The registry decides as for a lost run
    (:func:`chalicelib.core.training.lease.lost_run_outcome`): the version it registered, else failed with
    the job's reason under a code that says how the job ended."""
    from chalicelib.core.training.lease import lost_run_outcome

    if status == "Completed":
        code, message = ("training_job_without_outcome", "the SageMaker training job completed but the run "
                         "recorded no outcome (its training code ended early: see the job's logs)")
    elif status == "Stopped":
        timed_out = secondary_status == "MaxRuntimeExceeded"
        code = "training_job_timed_out" if timed_out else "training_job_stopped"
        message = ("the SageMaker training job ran past the spec's sagemaker.max_runtime_seconds"
                   if timed_out else "the SageMaker training job was stopped")
    else:
        code, message = "training_job_failed", "the SageMaker training job failed"
    if failure_reason:
        message += f": {failure_reason}"
    outcome = lost_run_outcome(run, registered, production, message[:MAX_REASON_CHARS])
    if outcome.status == "failed":
        return JobEnd("failed", {"error": {"code": code, "message": message[:MAX_REASON_CHARS]}})
    return JobEnd(outcome.status, outcome.fields)
