"""Feedback data: labelled live traffic becomes versions of the dataset ``{model}-feedback``.

Called by the performance check of each labels object (:mod:`chalicelib.services.performance`), after
the labels were joined to the captured requests (:mod:`chalicelib.core.datasets.feedback`):

1. **the contract**: derived from the contract the production version trained on and stored as the
   feedback dataset's next contract version when it differs from the latest (contracts are versioned,
   never overwritten);
2. **the rows**: one per matched label, written once as ``feedback/{model}/{labels-id}.parquet``, with
   the manifest of every capture object they came from beside it;
3. **the data gate**: :func:`chalicelib.services.uploads.process_object` on that object, as dataset
   ``{model}-feedback``: the once-only claim, a version number, validation with the derived contract
   (its PII actions included), curated Parquet, quarantine, the report, the version record with its
   lineage (labels object, capture objects, the join's counts), ``on_dataset_version``.

On AWS the labels function runs on the ML layer, which has no pyarrow (the validation engine's reader):
it hands step 3 to the ``process_feedback`` function, on the AWS SDK for pandas layer, and waits for its
answer (a synchronous invoke, as the API hands contract inference to ``contract_inference``). Locally
and in tests, step 3 runs in this process.

The same labels object delivered twice yields one feedback version: the check runs once
(:func:`chalicelib.storage.checks.once`), a retry finds the feedback object already written and
reuses that object version, whose processing claim is complete.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.core.datasets.errors import ContractNotFoundError, GlueTableTakenError
from chalicelib.core.datasets.feedback import (
    FeedbackColumns,
    FeedbackContractError,
    Join,
    feedback_contract,
    feedback_frame,
    lineage_record,
    same_contract,
)
from chalicelib.core.events import ObjectRef
from chalicelib.core.log import logger
from chalicelib.core.settings import Settings, get_settings
from chalicelib.storage import datasets as dataset_store
from chalicelib.storage import glue_tables, layout

if TYPE_CHECKING:
    import datetime as dt

    from chalicelib.core.datasets.types import StoredContract
    from chalicelib.core.training.metadata import ModelMetadata
    from chalicelib.core.validation.contract import Contract
    from chalicelib.storage.feedback_files import FeedbackObject
    from chalicelib.storage.s3 import StoredObject

PROCESS_FEEDBACK = "process_feedback"  # the function that runs the data gate on AWS (pyarrow)


@dataclass(frozen=True)
class FeedbackRequest:
    """One labels object's join, and what it needs to become feedback rows."""

    model: str
    labels_id: str  # the performance check's id: one per labels object version
    labels: StoredObject
    labelled_at: dt.datetime
    join: Join
    metadata: ModelMetadata  # the production version's
    production_version: int
    window_hours: float


def collect_feedback(request: FeedbackRequest, settings: Settings | None = None) -> dict[str, Any]:
    """Turn the matched labels into a feedback dataset version; what happened, for the check's summary."""
    settings = settings or get_settings()
    join = request.join
    summary: dict[str, Any] = {
        "dataset": layout.feedback_dataset(request.model), "version": None, "status": None, "rows": 0,
        "labelled": join.labelled, "matched": join.matched, "unmatched": join.unmatched,
        "window_hours": request.window_hours}
    if not join.matches:
        return {**summary, "status": "no_rows",
                "reason": f"no label matched a request captured in the last {request.window_hours:g} h"}
    try:
        training = training_contract(request.metadata)
        contract = _derive(request, training)
        stored = store_contract(contract)
    except (ContractNotFoundError, FeedbackContractError, GlueTableTakenError) as exc:
        logger.warning("no feedback rows", extra={"model": request.model, "code": exc.code})
        return {**summary, "status": "skipped", "code": exc.code, "reason": exc.message}
    frame = feedback_frame(join, _columns(request.metadata, training.contract), request.labelled_at)
    from chalicelib.storage.feedback_files import put_feedback_object

    written = put_feedback_object(request.model, request.labels_id, frame, join.sources)
    lineage = _lineage(request, training, written)
    outcome = process(written.rows, summary["dataset"], lineage, settings)
    logger.info("feedback rows", extra={"model": request.model, "rows": len(frame),
                                        "version": outcome.get("version"), "status": outcome.get("status")})
    return {**summary, "version": outcome.get("version"), "status": outcome.get("status"),
            "rows": len(frame), "key": written.rows.key, "contract_version": stored.version,
            "report_key": (layout.report_key(summary["dataset"], int(outcome["version"]))
                           if outcome.get("version") else None)}


def training_contract(metadata: ModelMetadata) -> StoredContract:
    """The contract version the model version trained on (its lineage), else its dataset's latest."""
    spec = metadata.get("spec") or {}
    dataset = str(spec.get("dataset") or "")
    version = _lineage_contract_version(metadata.get("lineage") or {}, dataset)
    if not dataset:
        raise ContractNotFoundError("the model version's metadata names no training dataset")
    return dataset_store.get_contract(dataset, version)


def _lineage_contract_version(lineage: Mapping[str, Any], dataset: str) -> int | None:
    """``lineage.dataset`` (one dataset version) or the entry of ``lineage.datasets`` for ``dataset``."""
    entries = [lineage.get("dataset"), *(lineage.get("datasets") or [])]
    for entry in entries:
        if isinstance(entry, Mapping) and entry.get("dataset") == dataset and entry.get("contract_version"):
            return int(entry["contract_version"])
    return None


def _split_column(metadata: ModelMetadata) -> str | None:
    split = (metadata.get("spec") or {}).get("split") or {}
    column = split.get("column")
    return str(column) if column else None


def _feature_names(metadata: ModelMetadata) -> list[str]:
    return [str(f["name"]) for f in metadata.get("features") or []]


def _derive(request: FeedbackRequest, training: StoredContract) -> Contract:
    metadata = request.metadata
    source = (f"Feedback rows of model {request.model}: labelled captured requests, derived from "
              f"contract v{training.version} of dataset {training.contract.dataset!r}")
    return feedback_contract(training.contract, dataset=layout.feedback_dataset(request.model),
                             features=_feature_names(metadata), target=str(metadata.get("target")),
                             split_column=_split_column(metadata), source=source)


def store_contract(contract: Contract) -> StoredContract:
    """The feedback dataset's latest contract when it is ``contract``, else ``contract`` stored anew
    (:class:`GlueTableTakenError` when another dataset holds its Glue table name)."""
    glue_tables.claim_table_of(contract.dataset)
    try:
        latest = dataset_store.get_contract(contract.dataset)
    except ContractNotFoundError:
        return dataset_store.put_contract(contract)
    return latest if same_contract(latest.contract, contract) else dataset_store.put_contract(contract)


def _columns(metadata: ModelMetadata, training: Contract) -> FeedbackColumns:
    split = _split_column(metadata)
    split_type = training.column(split).type if split and split in training.column_names else None
    classes = metadata.get("classes") if metadata.get("task") == "classification" else None
    return FeedbackColumns(features=tuple(_feature_names(metadata)), target=str(metadata.get("target")),
                           split=(split, str(split_type)) if split else None, classes=tuple(classes or ()))


def _lineage(request: FeedbackRequest, training: StoredContract, written: FeedbackObject) -> dict[str, Any]:
    labels = request.labels
    return lineage_record(
        {"bucket": labels.bucket, "key": labels.key, "version_id": labels.version_id, "etag": labels.etag},
        request.join, window_hours=request.window_hours, model=request.model,
        model_version=request.production_version,
        training_contract={"dataset": training.contract.dataset, "version": training.version},
        manifest={"key": written.manifest.key, "version_id": written.manifest.version_id,
                  "captures": len(written.captures)})


def process(rows: StoredObject, dataset: str, lineage: Mapping[str, Any],
            settings: Settings) -> dict[str, Any]:
    """Run the data gate on a feedback object: in the ``process_feedback`` function on AWS, else here."""
    payload = {"bucket": rows.bucket, "key": rows.key, "version_id": rows.version_id, "etag": rows.etag,
               "dataset": dataset, "lineage": dict(lineage)}
    if settings.invoke_mode == "lambda":
        from chalicelib.storage.invoke import invoke_sync

        answer: dict[str, Any] = invoke_sync(PROCESS_FEEDBACK, payload, settings)
        return answer
    return process_here(payload)


def process_here(payload: Mapping[str, Any]) -> dict[str, Any]:
    """``process_feedback``'s work: the upload path on one feedback object version."""
    from chalicelib.services.uploads import process_object

    dataset = str(payload["dataset"])
    key = str(payload["key"])
    model = layout.model_of_feedback_key(key)
    if model is None or layout.feedback_dataset(model) != dataset:
        from chalicelib.core.errors import BadRequestError

        raise BadRequestError(f"{key} is not a feedback object of dataset {dataset!r}",
                              code="not_a_feedback_object")
    ref = ObjectRef(str(payload["bucket"]), key, payload.get("version_id"), payload.get("etag"))
    outcome = process_object(ref, dataset=dataset, lineage=payload.get("lineage") or {})
    answer: dict[str, Any] = dict(outcome.to_dict())
    if outcome.duplicate and outcome.version:  # processed before: its recorded outcome
        answer["status"] = dataset_store.get_version(dataset, outcome.version).status
    return answer

