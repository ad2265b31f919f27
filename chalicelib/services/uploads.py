"""Processing one upload under ``raw/{dataset}/``: claim, validate, write outputs, record, announce.

Exactly-once effects under at-least-once delivery
-------------------------------------------------
S3 (through EventBridge) delivers each object-created event at least once, and Lambda retries. The
unit of work is one *object version*: bucket, key, version id and ETag. Before anything is allocated,
:func:`store.claim_object` makes a conditional write on the item ``OBJECT#{sha256(identity)}``:

* the first delivery acquires it (``in_progress`` with a short lease its :class:`Lease` heartbeat
  renews), then allocates the dataset version number with the atomic counter and records it *on the claim*;
* a delivery that finds the claim ``complete`` returns the recorded version and does nothing else;
* a delivery that finds a live lease is acknowledged (``object_in_progress``): the holder finishes the
  version (S3 sends two events for some multipart uploads; neither may end in errors);
* a delivery that finds an expired lease (a crashed attempt: Lambda's retry ~1 minute later) takes the
  claim over and reuses the version number already recorded on it, so a crash never burns or
  duplicates a version. The owner token fences the old attempt out (see :class:`Lease`).

Conditional writes were chosen over powertools' idempotency utility because the claim has to carry
state *between* attempts (the allocated version number) and must be taken before the version counter
moves; powertools stores only a finished result, and its in-progress records cannot be resumed with
the partial state. The claim lives in the same table under the dataset's partition (no extra table).

Outputs go to keys derived from the version number, written in one pass over the raw object, which is
read in place (ranged GETs, no ``/tmp`` copy; objects above :data:`MAX_UPLOAD_BYTES` are refused with
``file_too_large`` before any read, see docs/limits.md): curated and quarantine Parquet parts while the
file is read (a retry first deletes what a crashed attempt left), then the Glue partition or the
quarantine evidence, the JSON report, the version record (a transaction fenced by the claim — the step
that makes the version visible), then the SNS alert or the ``on_dataset_version`` invocation, and last
the claim is marked complete. Notifications are therefore at-least-once (a crash between the record and
the claim's completion repeats them); consumers of ``on_dataset_version`` must be idempotent per
(dataset, version). Concurrent uploads to one dataset get distinct version numbers from the counter;
none is lost. The raw object is only read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.core.datasets import names
from chalicelib.core.datasets.errors import ContractNotFoundError, ObjectInProgressError
from chalicelib.core.datasets.types import FAILED, PASSED, QUARANTINED, DatasetVersion, Outcome
from chalicelib.core.errors import InvalidInputError, NotFoundError
from chalicelib.core.events import ObjectRef, ObjectVersionDict
from chalicelib.core.log import logger
from chalicelib.core.settings import Settings, get_settings
from chalicelib.services.upload_profile import ProfilingSink
from chalicelib.storage import dataset_files as outputs
from chalicelib.storage import datasets as store
from chalicelib.storage import layout, sql_tables
from chalicelib.storage.invoke import invoke_async
from chalicelib.storage.notify import publish_alert
from chalicelib.storage.pii_key import pii_key

if TYPE_CHECKING:
    from chalicelib.core.datasets.types import StoredContract
    from chalicelib.storage.s3 import StoredObject

# Lambda retries a failed asynchronous event after about 1 and 3 minutes: a crashed attempt's lease must
# have run out by then, so a live attempt holds a short lease and renews it (see Lease).
LEASE_SECONDS = 45.0
HEARTBEAT_SECONDS = 10.0
DEFAULT_LEASE_SECONDS = LEASE_SECONDS  # the name callers used for the old 15-minute lease
RUN_FOLDER = "run-"  # curated/{dataset}/dataset_version={n}/run-{attempt}/: the attempt's own folder
QUARANTINE_ROWS = "rows/"  # quarantine/{dataset}/{n:010d}/run-{attempt}/rows/: its quarantined rows
FILE_TOO_LARGE = "file_too_large"
# rows per chunk of the one pass (= one curated / quarantine part). Measured on the 1M-row bench files
# (engine with outputs): 65,536 rows as fast as 262,144 (CSV 2.7 s, Parquet 2.1 s) at 557 / 514 MiB
# instead of 943 / 832 MiB (every chunk in flight is 4 times smaller), and 77 parts for 5M rows
CHUNK_ROWS = 65_536
# The largest raw object validated (docs/limits.md: measured throughput, Lambda's 15 minutes, memory); a
# deployed function may take less: the template renders its measured limit (infra/sizing.json) per format
MAX_UPLOAD_BYTES = 2 * 2**30
ENV_MAX_UPLOAD_BYTES = {"text": "SLUICE_MAX_UPLOAD_BYTES", "parquet": "SLUICE_MAX_UPLOAD_BYTES_PARQUET"}
# ... and the rows its memory holds (what the engine keeps grows with rows, not bytes: a narrow file has
# many more rows per byte than the bench's), measured with a contract of that many key rules
ENV_MAX_UPLOAD_ROWS = "SLUICE_MAX_UPLOAD_ROWS"
ENV_MAX_UPLOAD_ROWS_KEY_RULES = "SLUICE_MAX_UPLOAD_ROWS_KEY_RULES"
ON_DATASET_VERSION = "on_dataset_version"
_REASONS = {"invalid_rows": "rows failed error-severity rules",
            "too_many_invalid_rows": "more rows failed than the failure policy allows",
            "unreadable_file": "the file could not be read with the contract's format",
            "validation_failed": "the file failed error-severity rules"}


def process_object(ref: ObjectRef, *, lease_seconds: float = LEASE_SECONDS,
                   settings: Settings | None = None, dataset: str | None = None,
                   lineage: Mapping[str, Any] | None = None) -> Outcome:
    """Validate one raw object version and record the resulting dataset version (once per version).

    ``dataset``: the dataset of an object sluice wrote itself outside ``raw/`` (feedback rows under
    ``feedback/{model}/``, :mod:`chalicelib.services.feedback`); by default the key names it.
    ``lineage``: where those rows came from, kept on the version record and in its report.

    Never raises for bad input (unreadable files, no contract, files above :data:`MAX_UPLOAD_BYTES`, keys
    outside ``raw/{dataset}/``) nor for a delivery of an object another attempt is processing (it is
    acknowledged); raises for AWS trouble, which the handler lets Lambda retry.
    """
    settings = settings or get_settings()
    dataset = dataset or layout.dataset_of_key(ref.key)
    if dataset is None:
        logger.info("ignored: not a dataset upload", extra={"key": ref.key})
        publish_alert("sluice: an upload under raw/ was ignored",
                      f"{ref.key} is not raw/{{dataset}}/<file> with a dataset name of lowercase letters, "
                      "digits, '-' or '_' (at most 63): nothing validated it. Upload it under a valid name.",
                      {"key": ref.key, "code": "not_a_dataset_key"}, settings, kind="upload_ignored",
                      severity="low", next_steps=["Upload the file again under raw/{dataset}/ with a valid "
                                                  "dataset name"])
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
        return _acknowledged(ref, dataset, claim.version, "object_in_progress")
    lease = Lease(dataset, claim_key, claim.owner or "", lease_seconds)
    try:
        with lease:
            version = claim.version or _allocate(dataset, claim_key, lease.owner)
            record = _existing(dataset, version) or _process(obj, dataset, version, settings,
                                                              dict(lineage or {}), lease)
            sql_tables.put_validation(record.to_dict(), settings=settings)  # sluice_validations (SQL)
            _announce(record, settings)
            store.complete_claim(dataset, claim_key, version, lease.owner)
    except ClaimLostError:
        return _acknowledged(ref, dataset, claim.version, "claim_taken_over")
    except BaseException:
        _release_quietly(dataset, claim_key, lease.owner)
        raise
    logger.info("dataset version recorded", extra={"dataset": dataset, "version": version,
                                                   "status": record.status, "rows": record.rows})
    return Outcome(ref.key, dataset, version, record.status)


def _acknowledged(ref: ObjectRef, dataset: str, version: int | None, why: str) -> Outcome:
    """Another attempt holds the object's claim (a duplicate event of a multipart upload, or the retry
    that took over from us): it finishes the version; this delivery ends here, without an error."""
    logger.info("duplicate delivery: another attempt is processing the object",
                extra={"dataset": dataset, "version": version, "key": ref.key, "why": why})
    return Outcome(ref.key, dataset, version, duplicate=True, skipped=why)


class ClaimLostError(ObjectInProgressError):
    """Our lease ran out and another attempt took the claim over: we stop writing (fencing)."""


class Lease:
    """The attempt's hold on an object's claim, kept alive by a heartbeat while it works.

    The lease is short (:data:`LEASE_SECONDS`) so that a crashed attempt (out of memory, timeout, a
    DynamoDB error that also blocked the claim's release) is taken over by Lambda's own retry of the
    event (about 1 and 3 minutes later) instead of the retries being refused; a live attempt renews it
    every :data:`HEARTBEAT_SECONDS`. The owner token is the fencing token: :meth:`check` (called before
    every output write) raises :class:`ClaimLostError` once a renewal found the claim taken over, or
    when renewals failed for longer than the lease (someone may have taken it over), and the version
    record is written in one transaction with a check that the claim is still ours.
    """

    def __init__(self, dataset: str, claim_key: str, owner: str, seconds: float) -> None:
        self.dataset, self.claim_key, self.owner, self.seconds = dataset, claim_key, owner, seconds
        self.renewed = time.monotonic()
        self.interval = min(HEARTBEAT_SECONDS, seconds / 3)
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Lease:
        self._thread = threading.Thread(target=self._beat, name="sluice-lease", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def check(self) -> None:
        # renewals failing for most of the lease: another attempt may take the claim over any moment
        if self.lost or time.monotonic() - self.renewed > self.seconds - self.interval:
            self.lost = True
            raise ClaimLostError("the processing claim was taken over by another attempt")

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if not store.renew_claim(self.dataset, self.claim_key, self.owner, self.seconds):
                    self.lost = True
                    return
                self.renewed = time.monotonic()
            except Exception:  # a transient error: the next beat tries again; check() sees the age
                logger.warning("could not renew the processing claim", extra={"dataset": self.dataset})


def _allocate(dataset: str, claim_key: str, owner: str | None) -> int:
    version = store.next_version(dataset)
    if not store.set_claim_version(dataset, claim_key, version, owner or ""):
        raise ClaimLostError("another attempt took over the claim")
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
             lineage: dict[str, Any], lease: Lease) -> DatasetVersion:
    """The one pass: the raw object read in place (ranged GETs), validated, its curated and quarantine
    rows written part by part as it is read; then the report and, last, the version record."""
    started = time.perf_counter()
    if obj.size > upload_limit(obj.key):
        return _refuse_too_large(obj, dataset, version, started, settings, lineage, lease)
    try:
        stored = store.get_contract(dataset)
    except ContractNotFoundError:
        return _quarantine_without_contract(obj, dataset, version, started, settings, lineage, lease)
    except InvalidInputError as exc:
        details = exc.details if isinstance(exc.details, list) else []
        problems = "; ".join(f"{d.get('loc')}: {d.get('msg')}" for d in details[:3] if isinstance(d, dict))
        return _quarantine_without_contract(obj, dataset, version, started, settings, lineage, lease,
                                            problem=problems or exc.code)
    from chalicelib.core.validation.engine import validate_stream

    curated_dir = layout.curated_partition(dataset, version)
    quarantine_dir = layout.quarantine_prefix(dataset, version)
    for prefix in (curated_dir, quarantine_dir):  # what a crashed attempt left: this attempt starts clean
        outputs.delete_prefix(settings.bucket, prefix, settings)
    # this attempt's own folders (curated and quarantine): a fenced-out attempt's late parts land beside
    # them, never in them; the version record points at this attempt's
    attempt = f"{RUN_FOLDER}{lease.owner[:16]}/"
    distinct = _distinct_columns(stored.contract)
    curated = outputs.S3Parts(f"{curated_dir}{attempt}", settings=settings,
                              rename=layout.curated_columns, fence=lease.check, distinct=distinct)
    quarantine = outputs.S3Parts(f"{quarantine_dir}{attempt}{QUARANTINE_ROWS}", settings=settings,
                                 fence=lease.check, distinct=distinct)
    raw_object = outputs.RawObject(obj, settings)
    profiled = ProfilingSink(curated)  # the report's column profile, from the curated stream's first rows
    result = validate_stream(raw_object.open, stored.contract, pii_key=pii_key(settings), curated=profiled,
                             quarantine=quarantine, name=obj.key, chunk_rows=CHUNK_ROWS,
                             max_rows=upload_row_limit(stored.contract))
    raw_object.raise_failed()  # S3 trouble while reading is not bad input: retried, never a verdict
    validated = time.perf_counter()
    raw = {**obj.to_dict(), "sha256": raw_object.sha256()}
    record, outputs_info = _write_outcome(result, obj, raw, stored, dataset, version, settings, lineage,
                                          curated, quarantine)
    written = time.perf_counter()
    timings = {"validate_s": validated - started, "write_s": written - validated,
               "total_s": written - started}
    report = _report(result.report, record, stored, raw, outputs_info, timings)
    if record.status == PASSED:
        try:  # a profile is a view of the data, never a reason to lose the version
            report["profile"] = profiled.profile(stored.contract, int(outputs_info.get("curated_rows") or 0))
        except Exception as exc:
            logger.warning("no column profile", extra={"dataset": dataset, "error_type": type(exc).__name__})
            report["profile_error"] = f"{type(exc).__name__}: the column profile could not be computed"
    lease.check()
    outputs.put_report(dataset, version, report, settings)
    return _commit(DatasetVersion.from_dict({**record.to_dict(), "timings": _rounded(timings)}), lease)


def _commit(record: DatasetVersion, lease: Lease) -> DatasetVersion:
    """Write the version record while our claim holds (the step that makes the version visible)."""
    lease.check()
    written = store.put_version_fenced(record, lease.claim_key, lease.owner)
    if written == "lost":
        raise ClaimLostError("another attempt took over the claim before the version record")
    return record if written == "written" else store.get_version(record.dataset, record.version)


def _write_outcome(result: Any, obj: StoredObject, raw: dict[str, Any], stored: StoredContract,
                   dataset: str, version: int, settings: Settings, lineage: dict[str, Any],
                   curated: outputs.S3Parts, quarantine: outputs.S3Parts
                   ) -> tuple[DatasetVersion, dict[str, Any]]:
    """Finish what the one pass wrote: register curated Parquet when the file is accepted (its invalid
    rows are in quarantine), else keep the evidence of the rejected file."""
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
        types = outputs.athena_types(curated.schema, _column_types(stored.contract, curated.renames)) \
            if curated.schema is not None else {}
        glue = outputs.register_curated(dataset, version, curated.path, types, settings) if types else None
        info.update(curated_path=curated.path, glue_table=glue, curated_rows=curated.total_rows,
                    curated_columns={k: v for k, v in curated.renames.items() if k != v})
        if result.invalid_rows:
            info["quarantine_path"] = outputs.quarantine_manifest_of_rows(
                dataset, version, {**manifest, "quarantined_rows": quarantine.total_rows}, settings,
                folder=_attempt_folder(quarantine))
        return DatasetVersion.from_dict({**base, "status": PASSED, **info}), info
    info["quarantine_path"] = _quarantine_failed(result, obj, dataset, version, manifest, settings,
                                                 stored.contract, quarantine)
    return DatasetVersion.from_dict({**base, "status": FAILED, **info}), info


def _quarantine_failed(result: Any, obj: StoredObject, dataset: str, version: int,
                       manifest: dict[str, Any], settings: Settings, contract: Any,
                       quarantine: outputs.S3Parts) -> str:
    """The evidence of a rejected file in ``quarantine/``.

    When the engine could read the rows and the contract declares PII columns, the invalid rows are
    there PII-handled (hashed/masked/dropped) with ``_row`` and ``_reasons`` (written during the pass),
    and the manifest names the exact raw version (bucket, key, version id, ETag, SHA-256), which stays
    in ``raw/``: copying the raw bytes would put those PII columns in clear into ``quarantine/``. A file
    the engine could not read under such a contract gets the manifest alone (the raw version it names
    is the evidence). Without PII columns the exact object version is copied whole instead of rows.
    """
    declares_pii = any(getattr(c, "pii", None) for c in getattr(contract, "columns", None) or [])
    if result.rows and declares_pii:
        return outputs.quarantine_manifest_of_rows(
            dataset, version, {**manifest, "quarantined_rows": quarantine.total_rows}, settings,
            folder=_attempt_folder(quarantine))
    quarantine.abort()  # the rows written during the pass: the whole object (or the manifest) instead
    if declares_pii:
        return outputs.quarantine_manifest(dataset, version, manifest, settings)
    return outputs.quarantine_object(obj, dataset, version, manifest, settings)


def _attempt_folder(quarantine: outputs.S3Parts) -> str:
    """``quarantine/{dataset}/{n:010d}/run-{attempt}/``: where this attempt's quarantined rows are."""
    return quarantine.prefix.removesuffix(QUARANTINE_ROWS)


def _distinct_columns(contract: Any) -> list[str]:
    """Columns whose values are about as distinct as the rows: unique columns, a one-column primary key,
    hashed PII (a Parquet dictionary of them is built only to be dropped)."""
    pk = contract.rules.primary_key
    single = list(pk.columns) if pk is not None and len(pk.columns) == 1 else []
    return [c.name for c in contract.columns if c.unique or c.pii == "hash"] + single


def upload_limit(key: str) -> int:
    """The largest object validated for ``key``'s format: the function's measured limit when the template
    sets one (``SLUICE_MAX_UPLOAD_BYTES[_PARQUET]``), never above :data:`MAX_UPLOAD_BYTES`."""
    import os

    kind = "parquet" if names.file_format_of(key) == "parquet" else "text"
    configured = os.environ.get(ENV_MAX_UPLOAD_BYTES[kind], "")
    return min(MAX_UPLOAD_BYTES, int(configured)) if configured.isdigit() else MAX_UPLOAD_BYTES


def upload_row_limit(contract: Any) -> int | None:
    """The most rows validated with ``contract``: the template's measured limit (``SLUICE_MAX_UPLOAD_ROWS``,
    measured with ``SLUICE_MAX_UPLOAD_ROWS_KEY_RULES`` key rules) scaled by the engine's books per row for
    this contract's key rules; None when no limit is set (the local stack, tests)."""
    import os

    from chalicelib.core.validation.engine import key_rule_count, row_books_bytes

    measured = os.environ.get(ENV_MAX_UPLOAD_ROWS, "")
    if not measured.isdigit():
        return None
    rules = os.environ.get(ENV_MAX_UPLOAD_ROWS_KEY_RULES, "")
    at = row_books_bytes(int(rules) if rules.isdigit() else 0)
    return int(measured) * at // row_books_bytes(key_rule_count(contract))


def _refuse_too_large(obj: StoredObject, dataset: str, version: int, started: float, settings: Settings,
                      lineage: dict[str, Any], lease: Lease) -> DatasetVersion:
    """A file above :data:`MAX_UPLOAD_BYTES`: a failed version saying so, before any byte is read."""
    raw: ObjectVersionDict = {**obj.to_dict(), "sha256": None}
    limit = upload_limit(obj.key)
    reason = (f"the file is {obj.size:,} bytes; the largest upload validated is {limit:,} bytes "
              f"({limit / 2**20:,.0f} MiB): split it into several files under raw/{dataset}/ "
              "(each becomes a dataset version) or convert it to Parquet (about 3x smaller)")
    report_key = layout.report_key(dataset, version)
    manifest = {"dataset": dataset, "version": version, "source": raw, "code": FILE_TOO_LARGE,
                "reason": reason, "report_key": report_key, "limit_bytes": limit}
    lease.check()
    quarantine_path = outputs.quarantine_manifest(dataset, version, manifest, settings)
    timings = _rounded({"total_s": time.perf_counter() - started})
    record = DatasetVersion(dataset=dataset, version=version, status=FAILED, raw=raw, report_key=report_key,
                            created_at=names.now_iso(), verdict="fail", decision="reject_file",
                            code=FILE_TOO_LARGE, reason=reason, quarantine_path=quarantine_path,
                            timings=timings, lineage=lineage)
    report = {"dataset": dataset, "version": version, "status": FAILED, "verdict": "fail",
              "decision": "reject_file", "code": FILE_TOO_LARGE, "reason": FILE_TOO_LARGE, "message": reason,
              "details": {"size_bytes": obj.size, "limit_bytes": limit}, "rules": [],
              "input": {**raw, "rows": None}, "outputs": {"quarantine_path": quarantine_path},
              "timings": timings, "created_at": record.created_at}
    if lineage:
        report["lineage"] = lineage
    outputs.put_report(dataset, version, report, settings)
    return _commit(record, lease)


def _quarantine_without_contract(obj: StoredObject, dataset: str, version: int, started: float,
                                 settings: Settings, lineage: dict[str, Any], lease: Lease,
                                 problem: str | None = None) -> DatasetVersion:
    """No contract to validate with: the dataset has none (the object is copied to ``quarantine/``), or
    its stored contract is no longer accepted (``problem``, e.g. a pattern RE2 cannot run, stored
    before such patterns were refused: only the manifest, as the contract may declare PII columns)."""
    code = "contract_invalid" if problem else "no_contract"
    raw: ObjectVersionDict = {**obj.to_dict(), "sha256": outputs.sha256_of(obj, settings)}
    reason = (f"the stored contract of dataset {dataset!r} is no longer valid ({problem}); PUT a corrected "
              f"contract to /datasets/{dataset}/contract and upload the file again") if problem else \
        f"dataset {dataset!r} has no contract; PUT /datasets/{dataset}/contract first"
    report_key = layout.report_key(dataset, version)
    manifest = {"dataset": dataset, "version": version, "source": raw, "code": code,
                "reason": reason, "report_key": report_key}
    lease.check()
    quarantine_path = outputs.quarantine_manifest(dataset, version, manifest, settings) if problem else \
        outputs.quarantine_object(obj, dataset, version, manifest, settings)
    timings = {"total_s": time.perf_counter() - started}
    status = FAILED if problem else QUARANTINED
    record = DatasetVersion(dataset=dataset, version=version, status=status, raw=raw,
                            report_key=report_key, created_at=names.now_iso(), verdict="fail",
                            code=code, reason=reason, quarantine_path=quarantine_path,
                            timings=_rounded(timings), lineage=lineage)
    report = {"dataset": dataset, "version": version, "status": status, "verdict": "fail",
              "code": code, "reason": code, "message": reason, "contract_version": None,
              "rules": [],
              "input": {**raw, "rows": None}, "outputs": {"quarantine_path": quarantine_path},
              "timings": _rounded(timings), "created_at": record.created_at}
    if lineage:
        report["lineage"] = lineage
    lease.check()
    outputs.put_report(dataset, version, report, settings)
    return _commit(record, lease)


def _report(engine_report: dict[str, Any], record: DatasetVersion, stored: StoredContract,
            raw: dict[str, Any], info: dict[str, Any], timings: dict[str, float]) -> dict[str, Any]:
    """The engine's report plus who/what/where: dataset version, contract version, input identity."""
    report = dict(engine_report or {})
    report.update(
        dataset=record.dataset, version=record.version, status=record.status, verdict=record.verdict,
        decision=record.decision, code=record.code, contract_version=stored.version,
        input={**raw, "rows": record.rows}, outputs=info, created_at=record.created_at,
        timings={**(report.get("timings") or {}),  # the engine's read/validate/total
                 **_rounded({"pass_s": timings["validate_s"], "write_s": timings["write_s"],
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


def _column_types(contract: Any, renames: Mapping[str, str]) -> dict[str, str]:
    """Contract type per curated column (by its stored name); PII hashed or masked columns are strings."""
    types = {}
    for column in getattr(contract, "columns", None) or []:
        pii = getattr(column, "pii", None)
        if pii == "drop":
            continue
        stored_name = renames.get(column.name, column.name)
        types[stored_name] = "string" if pii in ("hash", "mask") else str(column.type)
    return types


def _announce(record: DatasetVersion, settings: Settings) -> None:
    """``on_dataset_version`` after a pass; an SNS alert when anything was quarantined. No PII in either."""
    from chalicelib.core import metrics

    metrics.count("ValidationsPassed" if record.passed else "ValidationsFailed", dataset=record.dataset)
    metrics.count("ValidatedRows", float(record.rows or 0))
    metrics.count("QuarantinedRows", float(record.invalid_rows or 0))
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
        settings=settings, kind="validation", severity="medium" if record.passed else "high",
        next_steps=[f"Read the validation report: sluice datasets show {record.dataset} {record.version} "
                    "--html report.html", "Fix the file and upload it again (the raw object is kept)"
                    if not record.passed else "Review the quarantined rows"],
        reports=[record.report_key])


def _rounded(timings: dict[str, float]) -> dict[str, float]:
    return {k: round(float(v), 4) for k, v in timings.items()}
