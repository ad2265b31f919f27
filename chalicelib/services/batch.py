"""Batch predictions: ``batch/{model}/input/{name}`` (CSV, Parquet, JSONL) → ``batch/{model}/output/{name}``.

The output has the input's rows, in order and unchanged, plus the predictions (see
:mod:`chalicelib.core.serving.batch_files`, which does the scoring); bad rows are reported, not fatal; a
file that cannot be used at all (unknown model, unreadable, unsupported extension) gets
``batch/{model}/output/{name}.error.json`` instead.

Scored with the model's ``production`` alias, chunk by chunk: the input is streamed to local disk
(Lambda's ``/tmp``), the output written there chunk by chunk and then uploaded once — a crash leaves no
partial output. **Idempotent under redelivery**: the output object carries the input version's identity
(ETag, version id) in its metadata; an event for an input version that already has its output is
skipped. A new upload to the same key is a new version and is rescored.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from chalicelib.core.errors import SluiceError
from chalicelib.core.events import ObjectRef
from chalicelib.core.log import logger
from chalicelib.core.serving.batch_files import CHUNK_ROWS, CONTENT_TYPES, batch_format, score_file
from chalicelib.core.serving.errors import BatchFileUnreadableError
from chalicelib.storage import batch_objects, sql_tables
from chalicelib.storage.layout import BATCH_INPUT_KEY, batch_output_key

BATCH_ALIAS = "production"


@dataclass(frozen=True)
class BatchOutcome:
    """What one input object produced (the handler's return value; no data values)."""

    key: str
    status: str  # "written" | "skipped" | "failed"
    output_key: str | None = None
    model: str | None = None
    version: int | None = None
    rows: int = 0
    error_rows: int = 0
    code: str | None = None
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def score_object(ref: ObjectRef, service: Any, *, chunk_rows: int = CHUNK_ROWS) -> BatchOutcome:
    """Score one input object version into its output object (or skip it, if already done), and record
    what it made as a row of the ``sluice_batch_outputs`` SQL table (docs/queries.md)."""
    outcome = _score(ref, service, chunk_rows)
    sql_tables.put_batch_output(outcome.to_dict())
    return outcome


def _score(ref: ObjectRef, service: Any, chunk_rows: int) -> BatchOutcome:
    match = BATCH_INPUT_KEY.match(ref.key)
    out_key = batch_output_key(ref.key)
    if match is None or out_key is None:
        raise ValueError(f"not a batch input key: {ref.key!r}")
    model = match["model"]
    etag, version_id = batch_objects.identity(ref)
    if batch_objects.already_scored(ref.bucket, out_key, etag, version_id):
        logger.info("batch input already scored", extra={"key": ref.key, "output": out_key})
        return BatchOutcome(ref.key, "skipped", out_key, model)
    if batch_objects.superseded(ref, version_id):  # EventBridge does not order events: a late one for an
        logger.info("batch input superseded", extra={"key": ref.key})  # old version must not overwrite
        return BatchOutcome(ref.key, "skipped", out_key, model)
    try:
        fmt = batch_format(match["name"])
        target = service.resolve(model, alias=BATCH_ALIAS)
        served = service.load(target)
    except SluiceError as exc:
        return _fail(ref, out_key, model, exc.code, exc.message)
    with tempfile.TemporaryDirectory(prefix="sluice-batch-") as tmp:
        source, result = Path(tmp) / "input", Path(tmp) / "output"
        batch_objects.download(ref, version_id, source)
        try:
            rows, bad = score_file(source, result, fmt, served.pipeline, served.features,
                                   chunk_rows=chunk_rows)
        except BatchFileUnreadableError as exc:
            return _fail(ref, out_key, model, exc.code, exc.message)
        batch_objects.upload_output(result, ref.bucket, out_key, etag=etag, version_id=version_id,
                                    content_type=CONTENT_TYPES[fmt],
                                    details={"model": model, "model-version": str(target.version),
                                             "rows": str(rows), "error-rows": str(bad)})
    logger.info("batch scored", extra={"key": ref.key, "output": out_key, "rows": rows, "error_rows": bad,
                                       "version": target.version})
    return BatchOutcome(ref.key, "written", out_key, model, target.version, rows, bad)


def _fail(ref: ObjectRef, out_key: str, model: str, code: str, message: str) -> BatchOutcome:
    logger.warning("batch input not scored", extra={"key": ref.key, "code": code})
    error_key = batch_objects.put_error(ref, out_key, code, message)
    return BatchOutcome(ref.key, "failed", error_key, model, code=code, message=message)
