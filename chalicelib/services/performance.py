"""Live performance: ground truth uploaded to ``labels/{model}/`` joined to captured predictions.

Labels usually arrive later than predictions, so the join looks back over ``window_hours`` (default 7
days) of capture; only the labelled requests are kept in memory. The production version's live metric
is compared with its holdout metric (:mod:`chalicelib.core.monitoring.live`); a drop beyond the spec's
tolerance alerts and, when the spec allows, retrains.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.core.clock import iso
from chalicelib.core.log import logger
from chalicelib.core.monitoring.live import JoinedRow, live_metrics, read_labels

if TYPE_CHECKING:
    from chalicelib.core.training.metadata import ModelMetadata
from chalicelib.services.drift import NoProductionVersionError
from chalicelib.services.registry import get_registry
from chalicelib.storage import artifacts, layout, s3
from chalicelib.storage import checks as store
from chalicelib.storage.capture_window import iter_capture_lines

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
    labels = _download_labels(request, metadata.get("target"))
    joined = _join(request, version, labels)
    summary = _summary(request, check_id, version, metadata, joined, len(labels))
    _react(registry, summary)
    summary["report"] = layout.drift_report_prefix(request.model, summary["check_id"]) + "performance.json"
    s3.put_json(summary["report"], summary)
    store.put_check(request.model, summary)
    return summary


def _download_labels(request: LabelsRequest, target: str | None) -> Any:
    with tempfile.TemporaryDirectory(prefix="sluice-labels-") as folder:
        path = Path(folder) / ("labels" + (Path(request.key).suffix or ".csv"))
        path.write_bytes(s3.get_bytes(request.key, version_id=request.version_id))
        return read_labels(str(path), target)


def _join(request: LabelsRequest, version: int, labels: Any) -> list[JoinedRow]:
    wanted = {(r, int(i)): label for r, i, label in
              zip(labels["request_id"], labels["record_index"], labels["label"], strict=True)}
    now = (request.now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    start = now - dt.timedelta(hours=request.window_hours)
    joined: list[JoinedRow] = []
    for line in iter_capture_lines(request.model, start, now + dt.timedelta(hours=1), version=version):
        key = (str(line.get("request_id")), int(line.get("record_index", 0)))
        if key in wanted:
            joined.append({"prediction": line.get("prediction"), "label": wanted.pop(key),
                           "probabilities": line.get("probabilities")})
    return joined


def _summary(request: LabelsRequest, check_id: str, version: int, metadata: ModelMetadata,
             joined: list[JoinedRow], labelled: int) -> dict[str, Any]:
    metrics, verdict = live_metrics(metadata, joined)
    now = (request.now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return {"kind": "performance", "check_id": check_id, "checked_at": iso(now),
            "model": request.model, "version": version, "labels_key": request.key,
            "labels": labelled, "matched": len(joined), **verdict.to_dict(), "metrics": metrics,
            "status": verdict.status}


def _react(registry: Any, summary: dict[str, Any]) -> None:
    from chalicelib.services.training import maybe_retrain
    from chalicelib.storage.notify import publish_alert

    summary["run_id"] = None
    if summary["status"] != "degraded":
        return
    cause = {"performance_check": summary["check_id"], "version": summary["version"]}
    summary["run_id"] = maybe_retrain(summary["model"], "performance_drop", cause)
    publish_alert(
        f"sluice: {summary['model']} v{summary['version']} performance dropped",
        f"live {summary['metric']} {summary['live']:.4g} vs holdout {summary['holdout']:.4g} on "
        f"{summary['rows']} labelled records; "
        f"{'retraining run ' + summary['run_id'] if summary['run_id'] else 'no retraining started'}.",
        {"model": summary["model"], "version": summary["version"], "check_id": summary["check_id"],
         "run_id": summary["run_id"]},
    )
    registry.append_audit(summary["model"], "performance_drop", actor="system", version=summary["version"],
                          details={"check_id": summary["check_id"], "metric": summary["metric"],
                                   "live": summary["live"], "holdout": summary["holdout"],
                                   "run_id": summary["run_id"]})
    logger.info("performance drop", extra={"model": summary["model"], "check_id": summary["check_id"]})
