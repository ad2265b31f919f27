"""Live performance: ground truth uploaded to ``labels/{model}/`` joined to captured predictions.

Labels usually arrive later than predictions, so the join looks back over ``window_hours`` (default 7
days) of capture; only the labelled requests are kept in memory. The production version's live metric
is compared with its holdout metric (:mod:`chalicelib.core.monitoring.live`); a drop beyond the spec's
tolerance alerts and, when the spec allows, retrains.

The same join makes feedback data (:mod:`chalicelib.services.feedback`): every label matched to a
captured request of any version becomes a row of the dataset ``{model}-feedback``, through the same
data gate as an upload, before the check decides whether to retrain (so retraining sees those rows).
Labels that match no captured request in the window are counted (``unmatched``) in the summary, its
report and the alerts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.core.clock import iso
from chalicelib.core.datasets.feedback import Join, join_labels
from chalicelib.core.log import logger
from chalicelib.core.monitoring.live import JoinedRow, as_class, live_metrics, read_labels

if TYPE_CHECKING:
    from chalicelib.core.training.metadata import ModelMetadata
    from chalicelib.storage.feedback_files import LabelsObject
from chalicelib.services.drift import NoProductionVersionError
from chalicelib.services.feedback import FeedbackRequest, collect_feedback
from chalicelib.services.registry import get_registry
from chalicelib.storage import artifacts, layout, s3, sql_tables
from chalicelib.storage import checks as store
from chalicelib.storage.capture_window import iter_capture_sources
from chalicelib.storage.feedback_files import read_labels_object

DEFAULT_LABEL_WINDOW_HOURS = 7 * 24


@dataclass(frozen=True)
class LabelsRequest:
    model: str
    key: str
    version_id: str | None = None
    window_hours: float = DEFAULT_LABEL_WINDOW_HOURS
    now: dt.datetime | None = None
    actor: str = "system"


def run_performance_check(request: LabelsRequest) -> dict[str, Any]:
    """One labels object, checked once however often its event arrives (:func:`store.claim_check`)."""
    identity = f"{request.key}?versionId={request.version_id or ''}"
    claim = "labels-" + hashlib.sha256(identity.encode()).hexdigest()[:20]
    return store.once(request.model, claim, lambda: _check(request, claim),
                      {"model": request.model, "check_id": claim, "key": request.key, "status": "duplicate"})


def _check(request: LabelsRequest, check_id: str) -> dict[str, Any]:
    registry = get_registry()
    version = registry.get_alias(request.model, "production")
    if version is None:
        raise NoProductionVersionError(f"model {request.model!r} has no production version")
    metadata = artifacts.load_metadata(request.model, version)
    labels_object = read_labels_object(request.key, request.version_id)
    labels = _read(labels_object, request.key, metadata.get("target"))
    join = _join(request, labels)
    joined = _answers_of(join, version)
    feedback = collect_feedback(FeedbackRequest(
        request.model, check_id, labels_object.stored, labels_object.written_at, join, metadata, version,
        request.window_hours))
    summary = _summary(request, check_id, version, metadata, joined, join)
    summary["feedback"] = feedback
    _react(registry, summary)
    summary["report"] = layout.drift_report_prefix(request.model, summary["check_id"]) + "performance.json"
    s3.put_json(summary["report"], summary)
    store.put_check(request.model, summary)
    _record_rows(request, check_id, labels_object, labels, metadata, summary)
    return summary


def _record_rows(request: LabelsRequest, check_id: str, labels_object: LabelsObject, labels: Any,
                 metadata: ModelMetadata, summary: dict[str, Any]) -> None:
    """The SQL tables' rows (best effort): the check, and the labels spelled as the model's classes so
    that ``prediction = label`` compares like values (a labels file may write the class 1 as 1.0)."""
    classes = (metadata.get("classes") or []) if metadata.get("task") == "classification" else []
    triples = zip(labels["request_id"].tolist(), labels["record_index"].tolist(),
                  [as_class(label, classes) if classes else label for label in labels["label"].tolist()],
                  strict=True)
    sql_tables.put_labels(request.model, triples, labelled_at=iso(labels_object.written_at),
                          labels_key=request.key, labels_version_id=labels_object.stored.version_id,
                          check_id=check_id)
    sql_tables.put_check(summary)


def _read(labels_object: LabelsObject, key: str, target: str | None) -> Any:
    with tempfile.TemporaryDirectory(prefix="sluice-labels-") as folder:
        path = Path(folder) / ("labels" + (Path(key).suffix or ".csv"))
        path.write_bytes(labels_object.body)
        return read_labels(str(path), target)


def _join(request: LabelsRequest, labels: Any) -> Join:
    """Each label matched to its captured record (any version: feedback takes them all)."""
    wanted = {(str(r), int(i)): label for r, i, label in
              zip(labels["request_id"].tolist(), labels["record_index"].tolist(), labels["label"].tolist(),
                  strict=True)}
    now = (request.now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    start = now - dt.timedelta(hours=request.window_hours)
    return join_labels(wanted, iter_capture_sources(request.model, start, now + dt.timedelta(hours=1)))


def _answers_of(join: Join, version: int) -> list[JoinedRow]:
    """The matched labels beside the production version's answers: the live metric is its own."""
    return [{"prediction": m.line.get("prediction"), "label": m.label,
             "probabilities": m.line.get("probabilities")}
            for m in join.matches if m.line.get("version") == version]


def _summary(request: LabelsRequest, check_id: str, version: int, metadata: ModelMetadata,
             joined: list[JoinedRow], join: Join) -> dict[str, Any]:
    metrics, verdict = live_metrics(metadata, joined)
    now = (request.now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return {"kind": "performance", "check_id": check_id, "checked_at": iso(now),
            "model": request.model, "version": version, "labels_key": request.key,
            "labels": join.labelled, "matched": len(joined), "unmatched": join.unmatched,
            "window_hours": request.window_hours, **verdict.to_dict(), "metrics": metrics,
            "status": verdict.status}


def _react(registry: Any, summary: dict[str, Any]) -> None:
    from chalicelib.services.training import retrain, retrain_sentence
    from chalicelib.storage.notify import publish_alert

    summary["run_id"] = None
    if summary["labels"] and summary["unmatched"] == summary["labels"]:
        _alert_nothing_matched(summary)
    if summary["status"] != "degraded":
        return
    from chalicelib.core import metrics

    metrics.count("PerformanceDrops", model=summary["model"])
    cause = {"performance_check": summary["check_id"], "version": summary["version"]}
    summary["retrain"] = retrain(summary["model"], "performance_drop", cause)  # after the feedback rows
    summary["run_id"] = summary["retrain"].get("run_id")  # were written: they count as new data
    publish_alert(
        f"sluice: {summary['model']} v{summary['version']} performance dropped",
        f"live {summary['metric']} {summary['live']:.4g} vs holdout {summary['holdout']:.4g} on "
        f"{summary['rows']} labelled records; {retrain_sentence(summary['retrain'])}. "
        f"{feedback_text(summary)}",
        {"model": summary["model"], "version": summary["version"], "check_id": summary["check_id"],
         "run_id": summary["run_id"], "retrain": summary["retrain"].get("status"),
         "unmatched": summary["unmatched"], "window_hours": summary["window_hours"],
         "feedback_version": summary["feedback"].get("version")},
        kind="performance", severity="high",
        next_steps=[*([f"Follow retraining run {summary['run_id']}: sluice runs show {summary['model']} "
                       f"{summary['run_id']}"] if summary["run_id"] else []),
                    "Roll back if the previous version did better: "
                    f"sluice models rollback {summary['model']}"],
    )
    registry.append_audit(summary["model"], "performance_drop", actor="system", version=summary["version"],
                          details={"check_id": summary["check_id"], "metric": summary["metric"],
                                   "live": summary["live"], "holdout": summary["holdout"],
                                   "run_id": summary["run_id"], "retrain": summary["retrain"].get("status")})
    logger.info("performance drop", extra={"model": summary["model"], "check_id": summary["check_id"]})


def feedback_text(summary: dict[str, Any]) -> str:
    """What the labels gave: feedback rows and where they went, and the labels that matched nothing."""
    feedback = summary.get("feedback") or {}
    if feedback.get("version"):
        made = (f"{feedback['rows']} feedback rows: dataset {feedback['dataset']} version "
                f"{feedback['version']} ({feedback.get('status')}).")
    else:
        made = f"No feedback rows ({feedback.get('reason') or feedback.get('status')})."
    unmatched = (f" {summary['unmatched']} of {summary['labels']} labels matched no request captured in the "
                 f"last {summary['window_hours']:g} h (unknown request ids, older requests, or requests "
                 "the capture sample left out)." if summary["unmatched"] else "")
    return made + unmatched


def _alert_nothing_matched(summary: dict[str, Any]) -> None:
    from chalicelib.storage.notify import publish_alert

    publish_alert(
        f"sluice: labels for {summary['model']} matched no captured request",
        f"{summary['labels_key']}: none of its {summary['labels']} labels matched a request captured in the "
        f"last {summary['window_hours']:g} h, so nothing was checked and no feedback rows were made. Labels "
        "join on request_id (the prediction answer's request_id) and record_index; only a sample of "
        "requests is captured (the model's capture percentage).",
        {"model": summary["model"], "check_id": summary["check_id"], "labels_key": summary["labels_key"],
         "labels": summary["labels"], "unmatched": summary["unmatched"],
         "window_hours": summary["window_hours"]},
        kind="labels", severity="medium",
        next_steps=["Label the request_id values of prediction answers (and their record_index)",
                    f"Check the capture percentage: sluice models serving {summary['model']}"],
    )
