"""Processing one upload under ``raw/{dataset}/``: claim, validate, write outputs, record, announce.

Exactly-once effects under at-least-once delivery
-------------------------------------------------
S3 (through EventBridge) delivers each object-created event at least once, and Lambda retries. The
unit of work is one *object version*: bucket, key, version id and ETag. Before anything is allocated,
:func:`store.claim_object` makes a conditional write on the item ``OBJECT#{sha256(identity)}``:

* the first delivery acquires it (``in_progress`` with a lease as long as the Lambda may still run),
  then allocates the dataset version number with the atomic counter and records it *on the claim*;
* a delivery that finds the claim ``complete`` returns the recorded version and does nothing else;
* a delivery that finds a live lease raises :class:`ObjectInProgressError` (retryable: Lambda /
  EventBridge try again later);
* a delivery that finds an expired lease (a crashed or timed-out attempt) takes the claim over and
  reuses the version number already recorded on it, so a crash never burns or duplicates a version.

Conditional writes were chosen over powertools' idempotency utility because the claim has to carry
state *between* attempts (the allocated version number) and must be taken before the version counter
moves; powertools stores only a finished result, and its in-progress records cannot be resumed with
the partial state. The claim lives in the same table under the dataset's partition (no extra table).

Outputs go to keys derived from the version number (retries overwrite them), in this order: curated
Parquet (then its Glue partition) or the quarantine copy, then the JSON report, then the version record
(a conditional put — the step that makes the version visible), then the SNS alert or the
``on_dataset_version`` invocation, and last the claim is marked complete. Notifications are therefore
at-least-once (a crash between the record and the claim's completion repeats them); consumers of
``on_dataset_version`` must be idempotent per (dataset, version). Concurrent uploads to one dataset
get distinct version numbers from the counter; none is lost. The raw object is only read.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.core.datasets import names
from chalicelib.core.datasets.errors import ContractNotFoundError, ObjectInProgressError
from chalicelib.core.datasets.types import FAILED, PASSED, QUARANTINED, DatasetVersion, Outcome
from chalicelib.core.errors import NotFoundError
from chalicelib.core.events import ObjectRef, ObjectVersionDict
from chalicelib.core.log import logger
from chalicelib.core.settings import Settings, get_settings
from chalicelib.storage import dataset_files as outputs
from chalicelib.storage import datasets as store
from chalicelib.storage import layout
from chalicelib.storage.invoke import invoke_async
from chalicelib.storage.notify import publish_alert
from chalicelib.storage.pii_key import pii_key

if TYPE_CHECKING:
    from chalicelib.core.datasets.types import StoredContract
    from chalicelib.storage.s3 import StoredObject

DEFAULT_LEASE_SECONDS = 960.0  # Lambda's 15-minute ceiling plus a margin
ON_DATASET_VERSION = "on_dataset_version"
_REASONS = {"invalid_rows": "rows failed error-severity rules",
            "too_many_invalid_rows": "more rows failed than the failure policy allows",
            "unreadable_file": "the file could not be read with the contract's format",
            "validation_failed": "the file failed error-severity rules"}


def process_object(ref: ObjectRef, *, lease_seconds: float = DEFAULT_LEASE_SECONDS,
                   settings: Settings | None = None, dataset: str | None = None,
                   lineage: Mapping[str, Any] | None = None) -> Outcome:
    """Validate one raw object version and record the resulting dataset version (once per version).

    ``dataset``: the dataset of an object sluice wrote itself outside ``raw/`` (feedback rows under
    ``feedback/{model}/``, :mod:`chalicelib.services.feedback`); by default the key names it.
    ``lineage``: where those rows came from, kept on the version record and in its report.

    Never raises for bad input (unreadable files, no contract, keys outside ``raw/{dataset}/``); raises
    for AWS trouble and :class:`ObjectInProgressError`, which the handler lets Lambda retry.
    """
    settings = settings or get_settings()
    dataset = dataset or layout.dataset_of_key(ref.key)
    if dataset is None:
        logger.info("ignored: not a dataset upload", extra={"key": ref.key})
        from chalicelib.storage.notify import publish_alert

        publish_alert("sluice: an upload under raw/ was ignored",
                      f"{ref.key} is not raw/{{dataset}}/<file> with a dataset name of lowercase letters, "
                      "digits, '-' or '_' (at most 63): nothing validated it. Upload it under a valid name.",
                      {"key": ref.key, "code": "not_a_dataset_key"}, settings)
        return Outcome(ref.key, skipped="not_a_dataset_key")
    try:
        obj = outputs.identify(ref.bucket, ref.key, ref.version_id, settings)
    except NotFoundError:
        logger.warning("ignored: object version no longer exists", extra={"key": ref.key,
                                                                           "version_id": ref.version_id})
        return Outcome(ref.key, dataset, skipped="object_not_found")
    if ref.etag and not ref.version_id and obj.etag != ref.etag:
        # Unversioned bucket and the key was overwritten since: the newer object has its own event.
        return Outcome(ref.key, dataset, skipped="object_superseded")
    identity = ObjectRef(obj.bucket, obj.key, obj.version_id, obj.etag).identity
    claim_key = layout.object_hash(identity)
    claim = store.claim_object(dataset, claim_key, {**obj.to_dict(), "identity": identity},
                               lease_seconds=lease_seconds)
    if claim.state == "complete":
        logger.info("duplicate delivery: already processed",
                    extra={"dataset": dataset, "version": claim.version, "key": ref.key})
        return Outcome(ref.key, dataset, claim.version, duplicate=True)
    if claim.state == "busy":
        raise ObjectInProgressError(f"{ref.key} is being processed by another attempt")
    try:
        version = claim.version or _allocate(dataset, claim_key, claim.owner)
        record = _existing(dataset, version) or _process(obj, dataset, version, settings, dict(lineage or {}))
        _announce(record, settings)
        store.complete_claim(dataset, claim_key, version)
    except BaseException:
        _release_quietly(dataset, claim_key, claim.owner)
        raise
    logger.info("dataset version recorded", extra={"dataset": dataset, "version": version,
                                                   "status": record.status, "rows": record.rows})
    return Outcome(ref.key, dataset, version, record.status)


def _allocate(dataset: str, claim_key: str, owner: str | None) -> int:
    version = store.next_version(dataset)
    if not store.set_claim_version(dataset, claim_key, version, owner or ""):
        raise ObjectInProgressError("another attempt took over the claim")
    return version


def _existing(dataset: str, version: int) -> DatasetVersion | None:
    try:
        return store.get_version(dataset, version)
    except NotFoundError:
        return None


def _release_quietly(dataset: str, claim_key: str, owner: str | None) -> None:
    try:
        store.release_claim(dataset, claim_key, owner or "")
    except Exception:  # the lease expires anyway; the original error matters more
        logger.warning("could not release the processing claim", extra={"dataset": dataset})


def _process(obj: StoredObject, dataset: str, version: int, settings: Settings,
             lineage: dict[str, Any]) -> DatasetVersion:
    started = time.perf_counter()
    try:
        stored = store.get_contract(dataset)
    except ContractNotFoundError:
        return _quarantine_without_contract(obj, dataset, version, started, settings, lineage)
    key = pii_key(settings)
    with tempfile.TemporaryDirectory(prefix="sluice-") as folder:  # deleted with everything in it
        path = os.path.join(folder, "object" + names.suffix_of(obj.key))
        sha256 = outputs.download(obj, path, settings)
        downloaded = time.perf_counter()
        from chalicelib.core.validation.engine import validate_file

        result = validate_file(path, stored.contract, pii_key=key)
        validated = time.perf_counter()
        raw = {**obj.to_dict(), "sha256": sha256}
        record, outputs_info = _write_outcome(result, obj, raw, stored, dataset, version, settings, lineage)
        written = time.perf_counter()
    timings = {"download_s": downloaded - started, "validate_s": validated - downloaded,
               "write_s": written - validated, "total_s": written - started}
    report = _report(result.report, record, stored, raw, outputs_info, timings)
    outputs.put_report(dataset, version, report, settings)
    final = DatasetVersion.from_dict({**record.to_dict(), "timings": _rounded(timings)})
    store.put_version(final)
    return final


def _write_outcome(result: Any, obj: StoredObject, raw: dict[str, Any], stored: StoredContract,
                   dataset: str, version: int, settings: Settings, lineage: dict[str, Any]
                   ) -> tuple[DatasetVersion, dict[str, Any]]:
    """Curated Parquet when the file is accepted (its invalid rows to quarantine), else the evidence."""
    report = result.report or {}
    failing, warnings = _failing_rules(report)
    code = report.get("reason") or (None if result.verdict == "pass" else "validation_failed")
    reason = report.get("message") or _REASONS.get(str(code), str(code)) if code else None
    manifest = {"dataset": dataset, "version": version, "source": raw, "failing_rules": failing,
                "code": code, "reason": reason, "report_key": layout.report_key(dataset, version)}
    info: dict[str, Any] = {"curated_path": None, "quarantine_path": None, "glue_table": None}
    base = {"dataset": dataset, "version": version, "raw": raw, "report_key": manifest["report_key"],
            "created_at": names.now_iso(), "contract_version": stored.version, "rows": int(result.rows or 0),
            "invalid_rows": int(result.invalid_rows or 0), "verdict": result.verdict,
            "decision": result.decision, "failing_rules": failing, "warning_rules": warnings,
            "code": code, "reason": reason, "lineage": lineage}
    if result.decision in ("accept", "accept_rows"):
        curated = outputs.write_curated(result.iter_curated(), dataset, version,
                                        _column_types(stored.contract), settings)
        info.update(curated_path=curated.path, glue_table=curated.glue_table, curated_rows=curated.rows,
                    curated_columns=curated.columns)
        if result.invalid_rows:
            info["quarantine_path"], _ = outputs.quarantine_rows(result.iter_quarantined(), dataset, version,
                                                                 manifest, settings)
        return DatasetVersion.from_dict({**base, "status": PASSED, **info}), info
    info["quarantine_path"] = _quarantine_failed(result, obj, dataset, version, manifest, settings,
                                                 stored.contract)
    return DatasetVersion.from_dict({**base, "status": FAILED, **info}), info


def _quarantine_failed(result: Any, obj: StoredObject, dataset: str, version: int,
                       manifest: dict[str, Any], settings: Settings, contract: Any) -> str:
    """The evidence of a rejected file in ``quarantine/``.

    When the engine could read the rows and the contract declares PII columns, the invalid rows go
    there PII-handled (hashed/masked/dropped) with ``_row`` and ``_reasons``, and the manifest names
    the exact raw version (bucket, key, version id, ETag, SHA-256), which stays in ``raw/``: copying
    the raw bytes would put those PII columns in clear into ``quarantine/``. A file the engine could
    not read under such a contract gets the manifest alone (the raw version it names is the evidence).
    Without PII columns the exact object version is copied whole.
    """
    declares_pii = any(getattr(c, "pii", None) for c in getattr(contract, "columns", None) or [])
    if result.rows and declares_pii:
        path, _ = outputs.quarantine_rows(result.iter_quarantined(), dataset, version, manifest, settings)
        return path
    if declares_pii:
        return outputs.quarantine_manifest(dataset, version, manifest, settings)
    return outputs.quarantine_object(obj, dataset, version, manifest, settings)


def _quarantine_without_contract(obj: StoredObject, dataset: str, version: int, started: float,
                                 settings: Settings, lineage: dict[str, Any]) -> DatasetVersion:
    raw: ObjectVersionDict = {**obj.to_dict(), "sha256": outputs.sha256_of(obj, settings)}
    reason = f"dataset {dataset!r} has no contract; PUT /datasets/{dataset}/contract first"
    report_key = layout.report_key(dataset, version)
    manifest = {"dataset": dataset, "version": version, "source": raw, "code": "no_contract",
                "reason": reason, "report_key": report_key}
    quarantine_path = outputs.quarantine_object(obj, dataset, version, manifest, settings)
    timings = {"total_s": time.perf_counter() - started}
    record = DatasetVersion(dataset=dataset, version=version, status=QUARANTINED, raw=raw,
                            report_key=report_key, created_at=names.now_iso(), verdict="fail",
                            code="no_contract", reason=reason, quarantine_path=quarantine_path,
                            timings=_rounded(timings), lineage=lineage)
    report = {"dataset": dataset, "version": version, "status": QUARANTINED, "verdict": "fail",
              "code": "no_contract", "reason": "no_contract", "message": reason, "contract_version": None,
              "rules": [],
              "input": {**raw, "rows": None}, "outputs": {"quarantine_path": quarantine_path},
              "timings": _rounded(timings), "created_at": record.created_at}
    if lineage:
        report["lineage"] = lineage
    outputs.put_report(dataset, version, report, settings)
    store.put_version(record)
    return record


def _report(engine_report: dict[str, Any], record: DatasetVersion, stored: StoredContract,
            raw: dict[str, Any], info: dict[str, Any], timings: dict[str, float]) -> dict[str, Any]:
    """The engine's report plus who/what/where: dataset version, contract version, input identity."""
    report = dict(engine_report or {})
    report.update(
        dataset=record.dataset, version=record.version, status=record.status, verdict=record.verdict,
        decision=record.decision, code=record.code, contract_version=stored.version,
        input={**raw, "rows": record.rows}, outputs=info, created_at=record.created_at,
        timings={**(report.get("timings") or {}),  # the engine's read/validate/total
                 **_rounded({"download_s": timings["download_s"], "write_s": timings["write_s"],
                             "process_s": timings["total_s"]})},
    )
    if record.reason and not report.get("message"):
        report["message"] = record.reason
    if record.lineage:
        report["lineage"] = record.lineage
    return report


def _failing_rules(report: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Ids of failed rules: (error severity, warn severity)."""
    errors: list[str] = []
    warnings: list[str] = []
    for rule in report.get("rules") or []:
        if rule.get("passed") is not False:  # True, or None when the rule could not be evaluated
            continue
        name = str(rule.get("id") or rule.get("rule") or "?")
        (warnings if rule.get("severity") == "warn" else errors).append(name)
    return errors, warnings


def _column_types(contract: Any) -> dict[str, str]:
    """Contract type per curated column; PII hashed or masked columns are strings."""
    types = {}
    for column in getattr(contract, "columns", None) or []:
        pii = getattr(column, "pii", None)
        if pii == "drop":
            continue
        types[column.name] = "string" if pii in ("hash", "mask") else str(column.type)
    return types


def _announce(record: DatasetVersion, settings: Settings) -> None:
    """``on_dataset_version`` after a pass; an SNS alert when anything was quarantined. No PII in either."""
    if record.passed:
        invoke_async(ON_DATASET_VERSION, {"dataset": record.dataset, "version": record.version}, settings)
        if not record.invalid_rows:
            return
    what = (f"passed with {record.invalid_rows} rows quarantined" if record.passed
            else f"{record.status} ({record.code})")
    publish_alert(
        f"sluice: upload to {record.dataset} {what}",
        f"dataset {record.dataset!r} version {record.version} {what}: {record.reason}",
        {"dataset": record.dataset, "version": record.version, "status": record.status, "code": record.code,
         "failing_rules": record.failing_rules, "rows": record.rows, "invalid_rows": record.invalid_rows,
         "raw_key": record.raw.get("key"), "raw_version_id": record.raw.get("version_id"),
         "report_key": record.report_key, "quarantine_path": record.quarantine_path},
        settings=settings)


def _rounded(timings: dict[str, float]) -> dict[str, float]:
    return {k: round(float(v), 4) for k, v in timings.items()}
