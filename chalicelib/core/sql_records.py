"""The rows sluice writes to its SQL tables (:mod:`chalicelib.core.sql_tables`), from what the services
already hold: a check's summary, a labels object's labels, a dataset version and its report, a batch
outcome. Pure: :mod:`chalicelib.storage.sql_tables` writes them.

Each row carries only columns of its table; values that hold data (example cells, feature values) never
go here: a check's row names features and statistics, a rule's row counts failing rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.core.sql_tables import BY_NAME


def _only(table: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` cut to the columns of ``table`` (absent columns are null)."""
    return {c.name: values.get(c.name) for c in BY_NAME[table].columns}


def check_row(summary: Mapping[str, Any]) -> dict[str, Any]:
    """A drift or performance check summary as a ``sluice_checks`` row."""
    reports = summary.get("reports")
    report_key = reports.get("json") if isinstance(reports, Mapping) else summary.get("report")
    retrain = summary.get("retrain")
    return _only("sluice_checks", {
        **summary, "rows": summary.get("rows"), "report_key": report_key,
        "retrain": retrain.get("status") if isinstance(retrain, Mapping) else None})


def feature_rows(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each feature verdict of a drift check summary as a ``sluice_check_features`` row."""
    base = {k: summary.get(k) for k in ("model", "check_id", "checked_at", "version")}
    return [_only("sluice_check_features", {**feature, **base, "feature": feature.get("name")})
            for feature in summary.get("features") or [] if isinstance(feature, Mapping)]


def label_text(label: object) -> str:
    """A label as the text the ``prediction`` column holds for the same class: the JSON of the value
    (``1``, ``2.5``, ``true``) or the string itself, so ``prediction = label`` compares like classes."""
    if hasattr(label, "item"):  # a numpy scalar
        label = label.item()
    if isinstance(label, float) and label.is_integer():
        label = int(label)  # a CSV column with a gap reads 1 as 1.0; the class is 1
    return label if isinstance(label, str) else json.dumps(label)


def label_rows(model: str, labels: Iterable[tuple[str, int, object]], *, labelled_at: str,
               labels_key: str, labels_version_id: str | None, check_id: str) -> list[dict[str, Any]]:
    """``(request_id, record_index, label)`` triples of one labels object as ``sluice_labels`` rows."""
    return [{"model": model, "request_id": str(request_id), "record_index": int(index),
             "label": label_text(label), "labelled_at": labelled_at, "labels_key": labels_key,
             "labels_version_id": labels_version_id, "check_id": check_id}
            for request_id, index, label in labels]


def validation_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """A dataset version record (``DatasetVersion.to_dict()``) as a ``sluice_validations`` row."""
    raw = record.get("raw")
    raw = raw if isinstance(raw, Mapping) else {}
    failing = record.get("failing_rules")
    return _only("sluice_validations", {
        **record, "raw_key": raw.get("key"), "raw_version_id": raw.get("version_id"),
        "failed_rules": len(failing) if isinstance(failing, list) else None})


def rule_rows(record: Mapping[str, Any], report: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Each rule outcome of a version's report as a ``sluice_validation_rules`` row (no examples)."""
    base = {k: record.get(k) for k in ("dataset", "version", "created_at")}
    rules = (report or {}).get("rules") or []
    return [_only("sluice_validation_rules", {
        **rule, **base, "rule": rule.get("id"), "column_name": rule.get("column"),
        "status": rule.get("status") or _status(rule.get("passed"))})
        for rule in rules if isinstance(rule, Mapping)]


def _status(passed: object) -> str:
    """A report older than rule statuses (``report_version`` 1) says only passed: true/false/null."""
    if passed is True:
        return "passed"
    return "failed" if passed is False else "not_evaluated"


def batch_row(outcome: Mapping[str, Any], *, scored_at: str) -> dict[str, Any]:
    """A batch outcome (``BatchOutcome.to_dict()``) as a ``sluice_batch_outputs`` row."""
    return _only("sluice_batch_outputs", {**outcome, "input_key": outcome.get("key"), "scored_at": scored_at})
