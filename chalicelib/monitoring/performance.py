"""Live performance: ground truth uploaded to ``labels/{model}/`` joined to captured predictions.

A labels file (CSV, JSONL or Parquet) has ``request_id``, optionally ``record_index`` (default 0),
and the truth in ``label`` (or a column named like the model's target). Labels usually arrive
later than predictions, so the join looks back over ``window_hours`` (default 7 days) of capture;
only the labelled requests are kept in memory. The production version's live metric is compared
with its holdout metric (:mod:`chalicelib.monitoring.policy`); a drop beyond the spec's tolerance
alerts and, when the spec allows, retrains.
"""

from __future__ import annotations

import datetime as dt
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.aws import client, s3
from chalicelib.clock import iso
from chalicelib.errors import BadRequestError
from chalicelib.events import ObjectRef
from chalicelib.log import logger
from chalicelib.monitoring import store
from chalicelib.monitoring.capture_window import iter_capture_lines
from chalicelib.monitoring.drift_check import REPORT_PREFIX, NoProductionVersionError
from chalicelib.monitoring.policy import judge_performance
from chalicelib.settings import get_settings

DEFAULT_LABEL_WINDOW_HOURS = 7 * 24


class LabelsUnreadableError(BadRequestError):
    """A labels file could not be read or lacks the columns needed for the join."""

    code = "labels_unreadable"


@dataclass(frozen=True)
class LabelsRequest:
    model: str
    key: str
    version_id: str | None = None
    window_hours: float = DEFAULT_LABEL_WINDOW_HOURS
    now: dt.datetime | None = None
    actor: str = "system"


def read_labels(path: str, target: str | None) -> Any:
    """The labels as a DataFrame with ``request_id``, ``record_index``, ``label``."""
    import pandas as pd

    suffix = Path(path).suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix in (".jsonl", ".ndjson", ".json"):
            frame = pd.read_json(path, lines=True, dtype=False)
        else:
            frame = pd.read_csv(path, dtype={"request_id": str})
    except Exception as exc:  # every reader fails differently (pandas, pyarrow, fastparquet, json)
        raise LabelsUnreadableError(f"cannot read the labels file: {type(exc).__name__}") from exc
    truth = "label" if "label" in frame.columns else target
    if "request_id" not in frame.columns or truth not in frame.columns:
        raise LabelsUnreadableError(f"a labels file needs the columns request_id and label (or {target!r})")
    out = pd.DataFrame({"request_id": frame["request_id"].astype(str), "label": frame[truth]})
    if "record_index" in frame.columns:
        index = pd.to_numeric(frame["record_index"], errors="coerce")
        if index.isna().any() or (index % 1 != 0).any() or (index < 0).any():
            raise LabelsUnreadableError("record_index must hold whole numbers ≥ 0 on every row")
        out["record_index"] = index.astype(int)
    else:
        out["record_index"] = 0
    return out.dropna(subset=["label"]).drop_duplicates(["request_id", "record_index"], keep="last")


def run_performance_check(request: LabelsRequest) -> dict[str, Any]:
    """One labels object, checked once however often its event arrives (:func:`store.claim_check`)."""
    import hashlib

    identity = f"{request.key}?versionId={request.version_id or ''}"
    claim = "labels-" + hashlib.sha256(identity.encode()).hexdigest()[:20]
    return store.once(request.model, claim, lambda: _check(request, claim),
                      {"model": request.model, "check_id": claim, "key": request.key, "status": "duplicate"})


def _check(request: LabelsRequest, check_id: str) -> dict[str, Any]:
    from chalicelib.registry import get_registry
    from chalicelib.training import artifacts

    registry = get_registry()
    version = registry.get_alias(request.model, "production")
    if version is None:
        raise NoProductionVersionError(f"model {request.model!r} has no production version")
    metadata = s3.get_json(artifacts.prefix(request.model, version) + artifacts.METADATA_FILE)
    labels = _download_labels(request, metadata.get("target"))
    joined = _join(request, version, labels)
    summary = _evaluate(request, version, metadata, joined, len(labels))
    summary["check_id"] = check_id
    _react(registry, summary)
    summary["report"] = f"{REPORT_PREFIX}/{request.model}/{summary['check_id']}/performance.json"
    s3.put_json(summary["report"], summary)
    store.put_check(request.model, summary)
    return summary


def _download_labels(request: LabelsRequest, target: str | None) -> Any:
    extra = {"VersionId": request.version_id} if request.version_id else None
    suffix = Path(request.key).suffix or ".csv"
    with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
        client("s3").download_fileobj(get_settings().bucket, request.key, handle, ExtraArgs=extra)
        handle.flush()
        return read_labels(handle.name, target)


def _join(request: LabelsRequest, version: int, labels: Any) -> list[dict[str, Any]]:
    wanted = {(r, int(i)): label for r, i, label in
              zip(labels["request_id"], labels["record_index"], labels["label"], strict=True)}
    now = (request.now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    start = now - dt.timedelta(hours=request.window_hours)
    joined = []
    for line in iter_capture_lines(request.model, start, now + dt.timedelta(hours=1), version=version):
        key = (str(line.get("request_id")), int(line.get("record_index", 0)))
        if key in wanted:
            joined.append({"prediction": line.get("prediction"), "label": wanted.pop(key),
                           "probabilities": line.get("probabilities")})
    return joined


def _evaluate(request: LabelsRequest, version: int, metadata: dict[str, Any], joined: list[dict[str, Any]],
              labelled: int) -> dict[str, Any]:
    """The primary metric live vs on the holdout, and every metric of the task on the live rows: the same
    definitions (:mod:`chalicelib.training.evaluate`) as training's, on the joined labels and captures."""
    from chalicelib.training.evaluate import compute_metrics
    from chalicelib.training.spec import DEFAULT_PRIMARY, TASK_METRICS

    spec = metadata.get("spec") or {}
    task = metadata.get("task", "classification")
    metric = (spec.get("metrics") or {}).get("primary") or DEFAULT_PRIMARY[task]
    classes = metadata.get("classes") or []
    names = list(dict.fromkeys([metric, *TASK_METRICS[task]]))
    metrics: dict[str, float | None] = dict.fromkeys(names)
    if joined:
        y_true = [_as_class(r["label"], classes) for r in joined]
        y_pred = [r["prediction"] for r in joined]
        metrics = compute_metrics(task, names, y_true, y_pred, _proba(joined, classes), classes)
    live = metrics[metric]
    holdout = (metadata.get("metrics") or {}).get(metric)
    verdict = judge_performance(metric, holdout, live, float(spec.get("performance_tolerance", 0.05)),
                                len(joined))
    now = (request.now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return {"kind": "performance", "check_id": f"{now:%Y%m%dT%H%M%S}Z-{secrets.token_hex(3)}",
            "checked_at": iso(now),
            "model": request.model, "version": version, "labels_key": request.key,
            "labels": labelled, "matched": len(joined), **verdict.to_dict(), "metrics": metrics,
            "status": verdict.status}


def _as_class(label: Any, classes: list[Any]) -> Any:
    """A label as the model's class it spells: labels read from CSV are strings or numbers.

    A whole float (a CSV column with a gap reads 1 as 1.0) also matches the class spelled ``1``; for a
    model whose classes are booleans, the contract's spellings of true/false (``yes``/``no``, ``t``/``f``,
    ``1``/``0``, any case) match ``True``/``False``, as validation read the training data.
    """
    text = str(int(label)) if isinstance(label, float) and label.is_integer() else str(label)
    for cls in classes:
        if str(cls) in (text, str(label)):
            return cls
    if classes and all(isinstance(c, bool) for c in classes):
        from chalicelib.validation.rules import FALSE_TOKENS, TRUE_TOKENS

        token = text.strip().lower()
        if token in TRUE_TOKENS or token in FALSE_TOKENS:
            return token in TRUE_TOKENS
    return label


def _proba(joined: list[dict[str, Any]], classes: list[Any]) -> Any:
    """The captured probabilities in ``classes`` order; None unless every row has one for every class
    (a stand-in value would score probabilities the model never gave)."""
    if not classes:
        return None
    keys = [str(c) for c in classes]
    rows = [r.get("probabilities") for r in joined]
    if any(not isinstance(row, dict) or any(k not in row for k in keys) for row in rows):
        return None
    import numpy as np

    try:
        return np.array([[float(row[k]) for k in keys] for row in rows])
    except (TypeError, ValueError):
        return None


def _react(registry: Any, summary: dict[str, Any]) -> None:
    from chalicelib.aws.notify import publish_alert
    from chalicelib.training.service import maybe_retrain

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


def handle_label_objects(refs: list[ObjectRef]) -> list[dict[str, Any]]:
    """Run a performance check per labels object (``labels/{model}/...``)."""
    out = []
    for ref in refs:
        parts = ref.key.split("/")
        if len(parts) < 3 or parts[0] != "labels" or not parts[-1]:
            continue
        try:
            out.append(run_performance_check(LabelsRequest(parts[1], ref.key, ref.version_id)))
        except (BadRequestError, NoProductionVersionError) as exc:
            logger.warning("labels not evaluated", extra={"key": ref.key, "code": exc.code,
                                                          "reason": exc.message})
            out.append({"key": ref.key, "status": "rejected", "code": exc.code, "message": exc.message})
            from chalicelib.aws.notify import publish_alert

            publish_alert(f"sluice: labels for {parts[1]} were not evaluated",
                          f"{ref.key}: {exc.message} ({exc.code})", {"key": ref.key, "code": exc.code})
    return out
