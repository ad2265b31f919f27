"""The reconciler's decisions, pure: each thing found after a crash, and the action that finishes or
cleans it. :mod:`chalicelib.services.reconcile` gathers the facts and applies the actions.

=============================  ===========================  ===========================================
finding                        action                       what the action does
=============================  ===========================  ===========================================
``run_past_lease``             ``resolve_run``              record the run's outcome from the registry:
                                                            ``succeeded`` with the version it
                                                            registered, else ``failed``/``run_lost``
``orphan_artifacts``           ``delete_orphan_artifacts``  delete ``models/{model}/{version}/`` of a
                                                            version the registry does not hold, once no
                                                            run can still be writing it
``orphan_outputs``             ``delete_orphan_outputs``    delete an upload attempt's folder under
                                                            ``curated/`` (``run-{attempt}/``) or
                                                            ``quarantine/`` that no version record
                                                            points to: a fenced-out attempt's, or one
                                                            of a version never recorded, once no live
                                                            claim can still be writing it
``upload_claim_past_lease``    ``retry_upload``             re-invoke ``on_raw_object`` for the claimed
                                                            object (off until the upload claim's lease
                                                            and fencing let a retry take it over)
``check_claim_past_lease``     ``retry_check``              a once-only drift check of a new dataset
                                                            version whose attempt died: re-invoke
                                                            ``on_dataset_version`` (the expired claim is
                                                            taken over); a labels check's claim does not
                                                            name its object: ``inspect``
``dead_letter``                ``redrive``                  re-invoke the function the event was for,
                                                            then delete the message
``dead_letter``                ``acknowledge``              delete a message whose work is finished
                                                            another way (a training run, a schedule)
``dead_letter``                ``inspect``                  never automatic: a message the reconciler
                                                            does not understand stays in the queue
=============================  ===========================  ===========================================
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib.core.training.lease import FUNCTION_TIMEOUT_SECONDS, IN_FLIGHT, lease_live

RESOLVE_RUN = "resolve_run"
DELETE_ORPHAN_ARTIFACTS = "delete_orphan_artifacts"
DELETE_ORPHAN_OUTPUTS = "delete_orphan_outputs"
RETRY_UPLOAD = "retry_upload"
RETRY_CHECK = "retry_check"
REDRIVE = "redrive"
ACKNOWLEDGE = "acknowledge"
INSPECT = "inspect"

# What the scheduled reconciler applies (inspect is for people). retry_upload is safe: an upload claim
# has a 45 s lease a retry takes over, and an owner token fences the dead attempt's late writes.
DEFAULT_ACTIONS: frozenset[str] = frozenset({RESOLVE_RUN, DELETE_ORPHAN_ARTIFACTS, DELETE_ORPHAN_OUTPUTS,
                                             RETRY_UPLOAD, RETRY_CHECK, REDRIVE, ACKNOWLEDGE})
ACTIONS: tuple[str, ...] = (RESOLVE_RUN, DELETE_ORPHAN_ARTIFACTS, DELETE_ORPHAN_OUTPUTS, RETRY_UPLOAD,
                            RETRY_CHECK, REDRIVE, ACKNOWLEDGE, INSPECT)
DATASET_CHECK = re.compile(r"dataset-(?P<dataset>.+)-v(?P<version>\d+)")

# Artifacts are an orphan only when no function can still be writing them: longer than any function
# lives (the train function's timeout) plus a margin for clocks.
ORPHAN_GRACE_SECONDS = FUNCTION_TIMEOUT_SECONDS + 60
# An upload attempt writes only while its claim's lease is live (it renews it; its fence stops its writes
# once it cannot): a folder of a version never recorded, untouched for longer than that lease (the upload
# path's LEASE_SECONDS, pinned by a test) plus a margin for parts in flight and clocks, is dead.
UPLOAD_LEASE_SECONDS = 45.0
OUTPUT_GRACE_SECONDS = UPLOAD_LEASE_SECONDS + 300
RUN_FOLDER = "run-"  # an upload attempt's folder: run-{the first 16 characters of its owner token}/
MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class Finding:
    """One thing left behind, and what to do about it. ``subject`` names it (no data values)."""

    kind: str
    subject: dict[str, Any]
    action: str
    reason: str
    details: dict[str, Any] = field(default_factory=dict)
    handle: str | None = field(default=None, compare=False)  # an SQS receipt handle: never shown

    @property
    def id(self) -> str:
        """Stable across scans: the kind and the subject."""
        text = json.dumps({"kind": self.kind, **self.subject}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "subject": self.subject, "action": self.action,
                "reason": self.reason, "details": self.details}


def run_finding(run: Mapping[str, Any], lock: Mapping[str, Any] | None, now: float) -> Finding | None:
    """A queued or running run whose model lock does not name it with a live lease: its function is
    gone (or never started), and nothing else will record how it ended."""
    if run.get("status") not in IN_FLIGHT or lease_live(lock, str(run.get("run_id")), now):
        return None
    held_by = (lock or {}).get("run_id")
    why = ("another run holds the model's lock" if held_by and held_by != run.get("run_id") else
           f"its lease ran out {max(0, int(now - float((lock or {}).get('lock_until', 0))))} s ago")
    details = {"status": run["status"], "phase": run.get("phase"), "version": run.get("version")}
    if run.get("training_job"):  # resolved only once its SageMaker job ended (the job is asked first)
        details["training_job"] = run["training_job"]
        why += f"; its SageMaker training job {run['training_job']} is asked first"
    return Finding("run_past_lease", {"model": run["model"], "run_id": run["run_id"]}, RESOLVE_RUN,
                   f"the run is {run['status']} but {why}", details)


def artifact_finding(model: str, version: int, *, objects: int, newest: float, registered: bool,
                     live_reservation: bool, now: float) -> Finding | None:
    """``models/{model}/{version}/`` of a version the registry does not hold, that no live run reserved,
    last written longer ago than any function lives: an orphan (a run died between its artifacts and
    its registration). A version number may be burned, never point to nothing: registered versions are
    never touched."""
    if registered or live_reservation or now - newest < ORPHAN_GRACE_SECONDS:
        return None
    return Finding("orphan_artifacts", {"model": model, "version": int(version),
                                        "prefix": f"models/{model}/{version}/"}, DELETE_ORPHAN_ARTIFACTS,
                   f"version {version} is not registered and its {objects} object(s) were last written "
                   f"{int(now - newest)} s ago (no run can still register them)",
                   {"objects": objects})


def output_finding(folder: Mapping[str, Any], record: Mapping[str, Any] | None,
                   live_claims: Sequence[Mapping[str, Any]], now: float) -> Finding | None:
    """An upload attempt's output folder (``dataset``, ``version``, ``area``, ``prefix``, ``objects``,
    ``newest``, ``loose``) that nothing points to: under a recorded version (``record``: its
    ``curated_path``/``quarantine_path``), any folder other than the one it records (a fenced-out
    attempt's, or every one of a version recorded without that output); under a version never recorded,
    one untouched for :data:`OUTPUT_GRACE_SECONDS` while no live claim works on that version. Never the
    folder a version points to (nor one inside it), nor the folder of a live claim's attempt."""
    version, prefix, area = int(folder["version"]), str(folder["prefix"]), str(folder["area"])
    owners = {f"{RUN_FOLDER}{str(c.get('owner') or '')[:16]}/" for c in live_claims}
    if any(prefix.endswith(owner) for owner in owners):
        return None
    if record is not None:
        pointed = _key_of(record.get(f"{area}_path"))
        if pointed is not None and prefix.startswith(pointed):
            return None
        why = (f"version {version} records {record.get(f'{area}_path')}, not this folder" if pointed else
               f"version {version} is recorded without {area} output")
    else:
        if any(_int(c.get("version")) == version for c in live_claims):
            return None
        idle = now - float(folder["newest"])
        if idle < OUTPUT_GRACE_SECONDS:
            return None
        why = f"version {version} was never recorded and nothing wrote here for {int(idle)} s"
    subject = {"dataset": str(folder["dataset"]), "version": version, "prefix": prefix}
    details = {"area": area, "objects": int(folder["objects"]), "loose": bool(folder.get("loose")),
               "recorded": record is not None}
    reason = f"an upload attempt's {area} folder: {why}"
    return Finding("orphan_outputs", subject, DELETE_ORPHAN_OUTPUTS, reason, details)


def _key_of(path: object) -> str | None:
    """``s3://bucket/key`` → ``key`` (a prefix ends with ``/``); None when there is no path."""
    if not isinstance(path, str) or not path.startswith("s3://"):
        return None
    key = path.removeprefix("s3://").partition("/")[2]
    return key if key.endswith("/") else f"{key}/"


def _int(value: object) -> int | None:
    try:
        return None if value is None else int(str(value))
    except ValueError:
        return None


def upload_claim_finding(dataset: str, claim: Mapping[str, Any], now: float) -> Finding | None:
    """A processing claim of a raw object still ``in_progress`` after its lease ran out: the attempt
    died and no retry took it over (Lambda retries within minutes, the lease outlived them)."""
    if claim.get("status") != "in_progress" or float(claim.get("lease_until", 0)) >= now:
        return None
    identity = claim.get("identity") or {}
    subject = {"dataset": dataset, "key": identity.get("key"), "version_id": identity.get("version_id")}
    version = claim.get("version")
    late = int(now - float(claim.get("lease_until", 0)))
    return Finding("upload_claim_past_lease", subject, RETRY_UPLOAD,
                   f"the upload's processing claim is in progress {late} s past its lease"
                   + (f" (version {version} allocated)" if version is not None else ""),
                   {"attempts": claim.get("attempts"), "version": version,
                    "bucket": identity.get("bucket"), "etag": identity.get("etag")})


def check_claim_finding(model: str, claim: Mapping[str, Any], now: float) -> Finding | None:
    """A once-only check's claim (``CLAIM#{id}``) still ``running`` after its lease: its attempt died,
    and the event's retries found the claim taken (they answered ``duplicate``), so nothing re-runs it."""
    if claim.get("status") != "running" or float(claim.get("lease_until", 0)) >= now:
        return None
    check_id = str(claim.get("sk", "")).removeprefix("CLAIM#")
    late = int(now - float(claim.get("lease_until", 0)))
    subject = {"model": model, "check_id": check_id}
    match = DATASET_CHECK.fullmatch(check_id)
    if match is None:
        return Finding("check_claim_past_lease", subject, INSPECT,
                       f"a labels check's claim is running {late} s past its lease; the claim does not "
                       "name its labels object: upload the labels again (or copy the object onto itself)")
    return Finding("check_claim_past_lease", subject, RETRY_CHECK,
                   f"the drift check of dataset {match['dataset']} version {match['version']} is running "
                   f"{late} s past its lease",
                   {"dataset": match["dataset"], "version": int(match["version"])})


@dataclass(frozen=True)
class DeadLetter:
    """One message of the failed-events queue (an EventBridge event or an asynchronous invocation's
    payload that failed for good)."""

    message_id: str
    body: str
    attributes: Mapping[str, str]
    handle: str = ""
    received: int = 1


def dead_letter_finding(letter: DeadLetter, functions_for_key: Callable[[str], list[str]]) -> Finding:
    """What the message was for, and whether redriving it is safe (every handler it names is idempotent
    under redelivery: claims, output identity, once-only checks)."""
    subject = {"message_id": letter.message_id}
    details: dict[str, Any] = {"error": _error(letter.attributes), "received": letter.received}
    try:
        event = json.loads(letter.body)
    except ValueError:
        event = None
    if not isinstance(event, dict):
        return Finding("dead_letter", subject, INSPECT, "the message is not a JSON object", details)
    function, action, reason = _route(event, letter.attributes, functions_for_key)
    details["function"] = function
    if action == REDRIVE:
        details["payload"] = event
    return Finding("dead_letter", subject, action, reason, details)


def _route(event: Mapping[str, Any], attributes: Mapping[str, str],
           functions_for_key: Callable[[str], list[str]]) -> tuple[str | None, str, str]:
    """(function, action, reason) for one failed event."""
    if event.get("source") == "aws.s3":
        key = str(((event.get("detail") or {}).get("object") or {}).get("key") or "")
        functions = functions_for_key(key)
        target = str(attributes.get("TARGET_ARN") or "").rsplit(":", 1)[-1]
        chosen = [f for f in functions if target.endswith(f)] or functions
        if len(chosen) == 1:
            return chosen[0], REDRIVE, f"object event of {key.split('/', 1)[0]}/…: its handler is idempotent"
        return None, INSPECT, "an object event no single function handles"
    if event.get("source") == "aws.sagemaker":
        return ("on_training_job", REDRIVE, "a SageMaker training job's state change: its handler is "
                "idempotent (a run it already ended is left as it is)")
    if event.get("source") == "aws.events" or "detail-type" in event:
        return None, ACKNOWLEDGE, "a missed scheduled run: the next one runs on schedule"
    if {"model", "run_id"} <= set(event):
        return "train", ACKNOWLEDGE, ("a training run is not retried: the reconciler records its outcome "
                                      "(resolve_run); start a new run to train again")
    if {"dataset", "version"} <= set(event):
        return "on_dataset_version", REDRIVE, "a passed dataset version's follow-ups (once-only claims)"
    return None, INSPECT, "an event the reconciler does not know"


def _error(attributes: Mapping[str, str]) -> dict[str, str]:
    """Lambda's (``ErrorCode``/``ErrorMessage``) or EventBridge's (``ERROR_CODE``/``ERROR_MESSAGE``)."""
    code = attributes.get("ErrorCode") or attributes.get("ERROR_CODE") or ""
    message = attributes.get("ErrorMessage") or attributes.get("ERROR_MESSAGE") or ""
    return {"code": str(code), "message": str(message)[:MAX_ERROR_CHARS]}


def object_event(bucket: str, key: str, version_id: str | None, etag: str | None) -> dict[str, Any]:
    """An EventBridge ``Object Created`` event for one object version (what a retry of its upload
    handler receives)."""
    obj: dict[str, Any] = {"key": key}
    if version_id:
        obj["version-id"] = version_id
    if etag:
        obj["etag"] = etag
    return {"version": "0", "source": "aws.s3", "detail-type": "Object Created", "resources": [],
            "detail": {"bucket": {"name": bucket}, "object": obj, "reason": "sluice reconciler retry"}}
