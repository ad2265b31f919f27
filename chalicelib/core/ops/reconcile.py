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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.core.training.lease import FUNCTION_TIMEOUT_SECONDS, IN_FLIGHT, lease_live

RESOLVE_RUN = "resolve_run"
DELETE_ORPHAN_ARTIFACTS = "delete_orphan_artifacts"
RETRY_UPLOAD = "retry_upload"
RETRY_CHECK = "retry_check"
REDRIVE = "redrive"
ACKNOWLEDGE = "acknowledge"
INSPECT = "inspect"

# What the scheduled reconciler applies (inspect is for people). retry_upload is safe: an upload claim
# has a 45 s lease a retry takes over, and an owner token fences the dead attempt's late writes.
DEFAULT_ACTIONS: frozenset[str] = frozenset({RESOLVE_RUN, DELETE_ORPHAN_ARTIFACTS, RETRY_UPLOAD, RETRY_CHECK,
                                             REDRIVE, ACKNOWLEDGE})
ACTIONS: tuple[str, ...] = (RESOLVE_RUN, DELETE_ORPHAN_ARTIFACTS, RETRY_UPLOAD, RETRY_CHECK, REDRIVE,
                            ACKNOWLEDGE, INSPECT)
DATASET_CHECK = re.compile(r"dataset-(?P<dataset>.+)-v(?P<version>\d+)")

# Artifacts are an orphan only when no function can still be writing them: longer than any function
# lives (the train function's timeout) plus a margin for clocks.
ORPHAN_GRACE_SECONDS = FUNCTION_TIMEOUT_SECONDS + 60
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
    return Finding("run_past_lease", {"model": run["model"], "run_id": run["run_id"]}, RESOLVE_RUN,
                   f"the run is {run['status']} but {why}",
                   {"status": run["status"], "phase": run.get("phase"), "version": run.get("version")})


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
