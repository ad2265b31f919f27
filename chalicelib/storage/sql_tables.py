"""Writes the records of sluice's SQL tables (:mod:`chalicelib.core.sql_tables`) under ``tables/``: one
object of one-line JSON per check, labels object, dataset version or batch input, at a key made of what
it records (so a retry writes the same object again, never a second row).

Best effort, like the column profile of an upload: a table row is a view of what the check, the labels,
the version or the batch output already recorded, never a reason to fail them (a failed drift check would
be run again and alert twice). A write that fails is logged and counted (``SqlTableWriteErrors``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.core import sql_records as records
from chalicelib.core.clock import iso
from chalicelib.core.log import logger
from chalicelib.core.settings import Settings
from chalicelib.core.sql_tables import day_of, jsonl, object_key
from chalicelib.storage import s3

CONTENT_TYPE = "application/x-ndjson"


def put_rows(table: str, day: str, record_id: str, rows: list[dict[str, Any]],
             settings: Settings | None = None) -> str | None:
    """Write ``rows`` as the object ``record_id`` of ``table``'s ``day``; its key (None: nothing to write,
    or the write failed and was logged)."""
    if not rows:
        return None
    key = object_key(table, day, record_id)
    try:
        s3.put_bytes(key, jsonl(rows), content_type=CONTENT_TYPE, settings=settings)
    except Exception as exc:
        logger.warning("SQL table record not written", extra={"table": table, "key": key,
                                                                "error": type(exc).__name__})
        from chalicelib.core import metrics

        metrics.count("SqlTableWriteErrors", table=table)
        return None
    return key


def put_check(summary: Mapping[str, Any], settings: Settings | None = None) -> list[str]:
    """A drift or performance check (its stored summary): its ``sluice_checks`` row and, for drift, its
    ``sluice_check_features`` rows. The keys written."""
    day = day_of(str(summary["checked_at"]))
    record_id = f"{summary['model']}.{summary['check_id']}"
    keys = [put_rows("sluice_checks", day, record_id, [records.check_row(summary)], settings),
            put_rows("sluice_check_features", day, record_id, records.feature_rows(summary), settings)]
    return [k for k in keys if k]


def put_labels(model: str, labels: Iterable[tuple[str, int, object]], *, labelled_at: str, labels_key: str,
               labels_version_id: str | None, check_id: str, settings: Settings | None = None) -> str | None:
    """The labels of one labels object version (its performance check ``check_id``) as ``sluice_labels``
    rows, in the day it was written."""
    rows = records.label_rows(model, labels, labelled_at=labelled_at, labels_key=labels_key,
                              labels_version_id=labels_version_id, check_id=check_id)
    return put_rows("sluice_labels", day_of(labelled_at), f"{model}.{check_id}", rows, settings)


def put_validation(record: Mapping[str, Any], report: Mapping[str, Any] | None = None,
                   settings: Settings | None = None) -> list[str]:
    """A dataset version (``DatasetVersion.to_dict()``): its ``sluice_validations`` row and one
    ``sluice_validation_rules`` row per rule of its report (read from ``report_key`` when not given)."""
    day = day_of(str(record["created_at"]))
    record_id = f"{record['dataset']}.{record['version']}"
    if report is None and record.get("report_key"):
        report = _report(str(record["report_key"]), settings)
    keys = [put_rows("sluice_validations", day, record_id, [records.validation_row(record)], settings),
            put_rows("sluice_validation_rules", day, record_id, records.rule_rows(record, report), settings)]
    return [k for k in keys if k]


def _report(key: str, settings: Settings | None) -> Mapping[str, Any] | None:
    try:
        report: Mapping[str, Any] = s3.get_json(key, settings=settings)
    except Exception as exc:  # the version's row is still worth writing
        logger.warning("validation report unreadable for the SQL tables",
                       extra={"key": key, "error": type(exc).__name__})
        return None
    return report


def put_batch_output(outcome: Mapping[str, Any], *, scored_at: str | None = None,
                     settings: Settings | None = None) -> str | None:
    """A batch input scored or refused (``BatchOutcome.to_dict()``) as a ``sluice_batch_outputs`` row; an
    input skipped (already scored, superseded) made no output and is not recorded."""
    if outcome.get("status") == "skipped":
        return None
    scored_at = scored_at or iso()
    row = records.batch_row(outcome, scored_at=scored_at)
    digest = hashlib.sha256(f"{outcome.get('key')}\n{outcome.get('output_key')}\n{scored_at}".encode())
    return put_rows("sluice_batch_outputs", day_of(scored_at), f"{row['model']}.{digest.hexdigest()[:20]}",
                    [row], settings)
