"""The reconciler: after a crash, finds what was left half done and finishes or cleans it.

It runs on a schedule (the ``reconcile`` function) and on demand (``sluice ops``). Each pass:

1. **runs past their lease** — every run in flight (one Query) whose model lock does not name it with
   a live lease: resolved from the registry (:func:`chalicelib.services.training.resolve_lost_run`);
2. **orphan artifacts** — ``models/{model}/{version}/`` of a version the registry does not hold, that
   no live run reserved, written longer ago than any function lives: deleted;
3. **upload claims past their lease** — their upload re-invoked (``retry_upload``: the retry takes the
   claim over); **orphan outputs** — an upload attempt's folder under ``curated/`` or ``quarantine/``
   that no version record points to (a fenced-out attempt's ``run-{attempt}/``, a version never
   recorded), once no live claim can be writing it: deleted; **check claims past their lease** (a
   once-only drift check of a new dataset version whose attempt died): re-invoked;
4. **dead letters** — the failed-events queue: idempotent handlers' events redriven (re-invoked), the
   work of others acknowledged (a lost training run is resolved by step 1), unknown ones left for a
   person.

Decisions are pure (:mod:`chalicelib.core.ops.reconcile`); every action taken is audited (the
reconciler's log, ``pk = OPS``, and the model's audit log for actions on a model). A dry run decides
and changes nothing — the queue's messages are made visible again.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict
from typing import Any

from chalicelib.core.clock import iso
from chalicelib.core.errors import BadRequestError, NotFoundError
from chalicelib.core.log import logger
from chalicelib.core.ops.reconcile import (
    ACKNOWLEDGE,
    ACTIONS,
    DEFAULT_ACTIONS,
    DELETE_ORPHAN_ARTIFACTS,
    DELETE_ORPHAN_OUTPUTS,
    REDRIVE,
    RESOLVE_RUN,
    RETRY_CHECK,
    RETRY_UPLOAD,
    Finding,
    artifact_finding,
    check_claim_finding,
    dead_letter_finding,
    object_event,
    output_finding,
    run_finding,
    upload_claim_finding,
)
from chalicelib.storage import artifacts, dead_letters, ops, runs
from chalicelib.storage.invoke import invoke_async

Route = Callable[[str], list[str]]  # an object key → the functions its events go to (triggers.table)


def no_route(key: str) -> list[str]:
    """Without the trigger table, no object event can be redriven (each is left for a person)."""
    return []


KINDS = ("run_past_lease", "orphan_artifacts", "upload_claim_past_lease", "orphan_outputs",
         "check_claim_past_lease", "dead_letter")
ACTOR = "reconciler"


def scan(now: float | None = None, *, kinds: Iterable[str] = KINDS, route: Route = no_route) -> list[Finding]:
    """Everything left behind, with the action each calls for; dead letters are received (hidden for a
    minute: the caller acts on them or :func:`release` shows them again)."""
    now = time.time() if now is None else now
    wanted = set(kinds)
    findings: list[Finding] = []
    reserved: set[tuple[str, int]] = set()  # versions live runs reserved: their artifacts are not orphans
    if wanted & {"run_past_lease", "orphan_artifacts"}:
        locks: dict[str, dict[str, Any] | None] = {}
        for run in runs.in_flight_runs():
            model = run["model"]
            if model not in locks:
                locks[model] = runs.get_lock(model)
            found = run_finding(run, locks[model], now)
            if found is None and run.get("version") is not None:
                reserved.add((model, int(run["version"])))
            elif found is not None and "run_past_lease" in wanted:
                findings.append(found)
    if "orphan_artifacts" in wanted:
        findings.extend(_orphans(now, reserved))
    if wanted & {"upload_claim_past_lease", "orphan_outputs"}:
        findings.extend(_uploads(now, wanted))
    if "check_claim_past_lease" in wanted:
        findings.extend(_check_claims(now))
    if "dead_letter" in wanted and (url := dead_letters.queue_url()):
        for letter in dead_letters.receive(url):
            found = dead_letter_finding(letter, route)
            findings.append(Finding(found.kind, found.subject, found.action, found.reason, found.details,
                                    letter.handle))
    return findings


def _check_claims(now: float) -> list[Finding]:
    """Claims of the production models (the only ones monitoring checks)."""
    from chalicelib.services.registry import get_registry

    return [f for model, _ in get_registry().models_with_alias("production")
            for c in ops.check_claims_running(model) if (f := check_claim_finding(model, c, now)) is not None]


def _orphans(now: float, reserved: set[tuple[str, int]]) -> list[Finding]:
    registered: dict[str, set[int]] = {}
    found: list[Finding] = []
    for prefix in artifacts.list_artifact_prefixes():
        if prefix.model not in registered:
            registered[prefix.model] = _registered_versions(prefix.model)
        finding = artifact_finding(prefix.model, prefix.version, objects=prefix.objects, newest=prefix.newest,
                                   registered=prefix.version in registered[prefix.model],
                                   live_reservation=(prefix.model, prefix.version) in reserved, now=now)
        if finding is not None:
            found.append(finding)
    return found


def _uploads(now: float, wanted: set[str]) -> list[Finding]:
    """Upload claims past their lease and orphan output folders, dataset by dataset."""
    found: list[Finding] = []
    for dataset in ops.dataset_names():
        claims = ops.claims_in_progress(dataset)
        if "upload_claim_past_lease" in wanted:
            found.extend(f for c in claims if (f := upload_claim_finding(dataset, c, now)) is not None)
        if "orphan_outputs" in wanted:
            found.extend(_orphan_outputs(dataset, claims, now))
    return found


def _orphan_outputs(dataset: str, claims: list[dict[str, Any]], now: float,
                    only: str | None = None) -> list[Finding]:
    """The dataset's output folders no version record points to (``only``: that folder's finding)."""
    live = [c for c in claims if float(c.get("lease_until", 0)) >= now]
    records: dict[int, dict[str, Any] | None] = {}
    found: list[Finding] = []
    for folder in ops.output_folders(dataset):
        if only is not None and folder.prefix != only:
            continue
        if folder.version not in records:
            records[folder.version] = _version_record(dataset, folder.version)
        finding = output_finding(asdict(folder), records[folder.version], live, now)
        if finding is not None:
            found.append(finding)
    return found


def _version_record(dataset: str, version: int) -> dict[str, Any] | None:
    from chalicelib.core.datasets.errors import DatasetVersionNotFoundError
    from chalicelib.storage import datasets

    try:
        return dict(datasets.get_version(dataset, version).to_dict())
    except DatasetVersionNotFoundError:
        return None


def _registered_versions(model: str) -> set[int]:
    from chalicelib.services.registry import get_registry

    registry = get_registry()
    versions: set[int] = set()
    token = None
    while True:
        try:
            page = registry.search_model_versions(model, limit=1000, next_token=token)
        except NotFoundError:  # no registered version at all (or not a valid model name)
            return versions
        versions.update(v.version for v in page.items)
        token = page.next_token
        if not token:
            return versions


def reconcile(*, dry_run: bool = True, actions: Iterable[str] | None = None, now: float | None = None,
              actor: str = ACTOR, kinds: Iterable[str] = KINDS, message_ids: Iterable[str] | None = None,
              route: Route = no_route) -> dict[str, Any]:
    """One pass: scan, then (unless ``dry_run``) apply each finding's action when it is in ``actions``
    (default: :data:`DEFAULT_ACTIONS`). ``message_ids`` limits dead letters to those messages; ``route``
    tells which function an object event was for (the trigger table: the triggers pass it in).

    Returns ``{"dry_run", "at", "actions", "findings": [finding + "outcome" (+ "result")], "counts"}``;
    outcomes: ``planned`` (dry run), ``not_enabled``, ``done``, ``skipped`` (the state moved on:
    nothing to do), ``error``.
    """
    enabled = DEFAULT_ACTIONS if actions is None else frozenset(actions)
    unknown = sorted(enabled - set(ACTIONS))
    if unknown:
        raise BadRequestError(f"unknown action(s) {', '.join(unknown)}; known: {', '.join(ACTIONS)}",
                              code="invalid_action")
    now = time.time() if now is None else now
    only = None if message_ids is None else set(message_ids)
    findings = scan(now, kinds=kinds, route=route)
    results: list[dict[str, Any]] = []
    url = dead_letters.queue_url()
    kept: list[str] = []  # received messages to show again
    try:
        for finding in findings:
            if only is not None and finding.subject.get("message_id", "") not in only:
                kept.append(finding.handle or "")
                continue
            outcome = _decide(finding, enabled, dry_run, now, actor, url)
            consumed = outcome["outcome"] == "done" and finding.action in (REDRIVE, ACKNOWLEDGE)
            if finding.handle and not consumed:
                kept.append(finding.handle)
            results.append({**finding.to_dict(), **outcome})
    finally:
        if url and kept:
            dead_letters.unhide(url, [h for h in kept if h])
    counts = Counter(r["outcome"] for r in results)
    logger.info("reconciler pass", extra={"dry_run": dry_run, "findings": len(results), **counts})
    return {"dry_run": dry_run, "at": iso(), "actions": sorted(enabled), "findings": results,
            "counts": dict(counts)}


def _decide(finding: Finding, enabled: frozenset[str], dry_run: bool, now: float, actor: str,
            url: str | None) -> dict[str, Any]:
    if finding.action not in enabled:
        return {"outcome": "not_enabled"}
    if dry_run:
        return {"outcome": "planned"}
    try:
        result = APPLY[finding.action](finding, now, url)
    except Exception as exc:  # one finding's trouble must not stop the pass; it is found again next time
        logger.exception("reconciler action failed", extra={"action": finding.action, "kind": finding.kind})
        result = {"outcome": "error", "error": getattr(exc, "code", type(exc).__name__)}
    _audit(finding, result, actor)
    return {"outcome": result.pop("outcome"), **({"result": result} if result else {})}


def _resolve_run(finding: Finding, now: float, _url: str | None) -> dict[str, Any]:
    from chalicelib.services.training import resolve_lost_run

    model, run_id = finding.subject["model"], finding.subject["run_id"]
    job = finding.details.get("training_job")
    if job:  # a run on SageMaker: its job says whether it still runs (the end event may have been missed)
        from chalicelib.services.sagemaker_jobs import reconcile_run

        answer = reconcile_run(model, run_id, str(job))
        if answer is not None:
            return answer
    resolved = resolve_lost_run(model, run_id, now=now)
    if resolved is None:
        return {"outcome": "skipped", "why": "the run ended or renewed its lease meanwhile"}
    return {"outcome": "done", "status": resolved["status"], "version": resolved.get("version")}


def _delete_orphan(finding: Finding, _now: float, _url: str | None) -> dict[str, Any]:
    model, version = finding.subject["model"], int(finding.subject["version"])
    if version in _registered_versions(model):  # registered since the scan: never delete it
        return {"outcome": "skipped", "why": f"version {version} is registered now"}
    return {"outcome": "done", "deleted": artifacts.delete_artifacts(model, version)}


def _delete_outputs(finding: Finding, now: float, _url: str | None) -> dict[str, Any]:
    """Decided again on fresh facts (a version recorded, a claim taken, a write since the scan: skipped)."""
    dataset, prefix = finding.subject["dataset"], finding.subject["prefix"]
    if not _orphan_outputs(dataset, ops.claims_in_progress(dataset), now, only=prefix):
        return {"outcome": "skipped", "why": "the folder is in use or recorded now, or gone"}
    return {"outcome": "done", "deleted": ops.delete_folder(prefix, loose=bool(finding.details.get("loose")))}


def _retry_upload(finding: Finding, _now: float, _url: str | None) -> dict[str, Any]:
    details = finding.details
    invoke_async("on_raw_object", object_event(str(details.get("bucket")), str(finding.subject["key"]),
                                               finding.subject.get("version_id"), details.get("etag")))
    return {"outcome": "done", "invoked": "on_raw_object"}


def _retry_check(finding: Finding, _now: float, _url: str | None) -> dict[str, Any]:
    payload = {"dataset": finding.details["dataset"], "version": int(finding.details["version"])}
    invoke_async("on_dataset_version", payload)
    return {"outcome": "done", "invoked": "on_dataset_version"}


def _redrive(finding: Finding, _now: float, url: str | None) -> dict[str, Any]:
    function = str(finding.details["function"])
    invoke_async(function, finding.details["payload"])
    if url and finding.handle:
        dead_letters.delete(url, finding.handle)
    return {"outcome": "done", "invoked": function}


def _acknowledge(finding: Finding, _now: float, url: str | None) -> dict[str, Any]:
    if url and finding.handle:
        dead_letters.delete(url, finding.handle)
    return {"outcome": "done"}


APPLY: dict[str, Callable[[Finding, float, str | None], dict[str, Any]]] = {
    RESOLVE_RUN: _resolve_run, DELETE_ORPHAN_ARTIFACTS: _delete_orphan,
    DELETE_ORPHAN_OUTPUTS: _delete_outputs, RETRY_UPLOAD: _retry_upload, RETRY_CHECK: _retry_check,
    REDRIVE: _redrive, ACKNOWLEDGE: _acknowledge,
}


def _audit(finding: Finding, result: dict[str, Any], actor: str) -> None:
    """The reconciler's log, and the model's audit log when the finding is about a model."""
    details = {k: v for k, v in finding.details.items() if k != "payload"}
    ops.append_audit({"action": finding.action, "kind": finding.kind, "finding": finding.id,
                      "subject": finding.subject, "reason": finding.reason, "actor": actor,
                      "details": details, **result})
    model = finding.subject.get("model")
    if model and result.get("outcome") == "done":
        from chalicelib.services.registry import get_registry

        get_registry().append_audit(model, f"reconciler_{finding.action}", actor=actor,
                                    version=finding.subject.get("version") or result.get("version"),
                                    details={"subject": finding.subject, "reason": finding.reason,
                                             **{k: v for k, v in result.items() if k != "outcome"}})


# ---- what `sluice ops` asks for (the API hands it to the reconcile function on AWS) -------------


def run_operation(request: dict[str, Any], route: Route = no_route) -> dict[str, Any]:
    """``{"operation": "findings" | "reconcile" | "redrive" | "audit", ...}`` → its answer."""
    operation = request.get("operation")
    actor = str(request.get("actor") or ACTOR)
    if operation == "findings":
        return reconcile(dry_run=True, route=route)
    if operation == "reconcile":
        return reconcile(dry_run=bool(request.get("dry_run", True)), actions=request.get("actions"),
                         actor=actor, route=route)
    if operation == "redrive":
        ids = request.get("message_ids")
        return reconcile(dry_run=bool(request.get("dry_run", False)), actions={REDRIVE, ACKNOWLEDGE},
                         kinds=("dead_letter",), message_ids=None if ids is None else list(ids), actor=actor,
                         route=route)
    if operation == "audit":
        items, last = ops.list_audit(limit=int(request.get("limit") or 50), start_key=request.get("start"))
        return {"items": items, "next": last}
    raise BadRequestError(f"unknown operation {operation!r}", code="invalid_operation")
