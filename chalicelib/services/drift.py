"""One drift check of a model's production version over a window of captured requests.

Steps: resolve ``production`` → load the version's metadata and reference profile → profile the
window's captured inputs and predictions chunk by chunk on the reference's bins (bounded memory) →
detect → write the reports (JSON, HTML, Model Monitor files) → store the summary → alert and, when the
spec allows and the cooldown has passed, start a retraining run (which goes through the same gate).
"""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.core.errors import ConflictError
from chalicelib.core.log import logger
from chalicelib.core.settings import get_settings
from chalicelib.storage import checks as store
from chalicelib.storage import layout, s3, sql_tables
from chalicelib.storage.capture_window import frames, iter_capture_lines

if TYPE_CHECKING:
    from chalicelib.core.drift.profile import ReferenceProfileDict
    from chalicelib.core.training.metadata import ModelMetadata

DEFAULT_WINDOW_HOURS = 24


class NoProductionVersionError(ConflictError):
    """The model has no ``production`` alias, so there is nothing to monitor."""

    code = "no_production_version"


@dataclass(frozen=True)
class CheckRequest:
    model: str
    trigger: str = "manual"  # manual | schedule | dataset
    actor: str = "system"
    window_hours: float = DEFAULT_WINDOW_HOURS
    config: dict[str, Any] | None = None
    now: dt.datetime | None = None
    dataset_version: dict[str, Any] | None = None  # {"dataset", "version", "curated_path"}: check new data




def run_drift_check(request: CheckRequest) -> dict[str, Any]:
    """Run one check; returns its stored summary (with report keys and any retraining run).

    A check of a new dataset version runs once per (model, dataset, version), however often the
    event arrives (:func:`store.claim_check`); it answers ``{"status": "duplicate"}`` the next times.
    """
    if not request.dataset_version:
        return _run(request, None)
    claim = f"dataset-{request.dataset_version['dataset']}-v{request.dataset_version['version']}"
    return store.once(request.model, claim, lambda: _run(request, claim),
                      {"model": request.model, "check_id": claim, "status": "duplicate"})


def _run(request: CheckRequest, check_id: str | None) -> dict[str, Any]:
    from chalicelib.core.drift.config import DriftConfig
    from chalicelib.core.drift.detectors import detect_drift
    from chalicelib.services.registry import get_registry
    from chalicelib.storage import artifacts

    registry = get_registry()
    version = registry.get_alias(request.model, "production")
    if version is None:
        raise NoProductionVersionError(f"model {request.model!r} has no production version to monitor")
    metadata = artifacts.load_metadata(request.model, version)
    reference = _reference(artifacts.load_reference_profile(request.model, version))
    config = DriftConfig.model_validate({**_spec_drift_config(metadata), **(request.config or {})})
    now = (request.now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    start = now - dt.timedelta(hours=request.window_hours)
    derived = _derived(metadata)
    if request.dataset_version:
        current = _dataset_profile(request.dataset_version["curated_path"], reference, derived)
    else:
        current = _current_profile(request.model, version, reference, derived, start, now)
    result = detect_drift(reference, current, config) if current is not None else None
    summary = _summary(request, version, metadata, reference, current, result, config, start, now)
    if check_id:
        summary["check_id"] = check_id
    _retrain(summary)  # first, so the reports say what was decided
    summary["reports"] = _write_reports(summary, reference, current, metadata)
    _react(registry, summary)
    s3.put_json(summary["reports"]["json"], summary)  # last: it names the retraining run, if any
    store.put_check(request.model, summary)
    sql_tables.put_check(summary)  # the sluice_checks / sluice_check_features rows (best effort)
    return summary


def _reference(stored: ReferenceProfileDict) -> Any:
    """Features and prediction profiles as one profile (the detectors judge ``prediction`` apart)."""
    from chalicelib.core.drift.profile import Profile

    features = Profile.from_dict(stored["features"])
    if stored.get("prediction"):
        prediction = Profile.from_dict(stored["prediction"])
        features.features.update(prediction.features)
    return features


def _spec_drift_config(metadata: ModelMetadata) -> dict[str, Any]:
    spec = metadata.get("spec") or {}
    return dict(spec.get("drift") or {})


def _derived(metadata: ModelMetadata) -> list[Any]:
    """The date parts the version's pipeline derives (``pickup_ts.month``...), profiled in its reference."""
    from chalicelib.core.training.features import DerivedFeature

    return [DerivedFeature(name, d["source"], d["part"], d["kind"])
            for name, d in (metadata.get("derived_features") or {}).items()]


def _inputs(reference: Any, derived: list[Any]) -> tuple[list[str], Any]:
    """The input columns to read (raw features, and the sources of derived ones) and a function adding
    the derived columns to a chunk of them, as the pipeline computes them."""
    from chalicelib.core.training.pipeline import with_derived

    names = {d.name for d in derived}
    columns = [n for n in reference.features if n != "prediction" and n not in names]
    columns += [s for s in dict.fromkeys(d.source for d in derived) if s not in columns]
    return columns, lambda chunk: with_derived(chunk, derived)


def _current_profile(model: str, version: int, reference: Any, derived: list[Any], start: dt.datetime,
                     end: dt.datetime) -> Any | None:
    from chalicelib.core.drift.profile import profile_chunks

    columns, derive = _inputs(reference, derived)
    chunks = map(derive, frames(iter_capture_lines(model, start, end, version=version), columns))
    first = next(chunks, None)
    if first is None:  # nothing captured in the window
        return None
    return profile_chunks(itertools.chain([first], chunks), reference.feature_types, reference=reference)


def _dataset_profile(curated_path: str, reference: Any, derived: list[Any]) -> Any | None:
    """Profile of a curated dataset version's features (a new training set against the reference)."""
    from chalicelib.core.drift.profile import profile_chunks
    from chalicelib.storage.dataset_files import iter_curated

    columns, derive = _inputs(reference, derived)
    features = [n for n in reference.features if n != "prediction"]
    types = {n: reference.feature_types[n] for n in features}
    chunks = map(derive, iter_curated(curated_path, columns))  # fastparquet in the ML layer
    first = next(chunks, None)
    if first is None:
        return None
    return profile_chunks(itertools.chain([first], chunks), types, reference=_only(reference, features))


def _only(profile: Any, names: list[str]) -> Any:
    from chalicelib.core.drift.profile import Profile

    return Profile(features={n: profile.features[n] for n in names}, rows=profile.rows, bins=profile.bins,
                   max_sample=profile.max_sample, max_categories=profile.max_categories)


def _summary(request: CheckRequest, version: int, metadata: ModelMetadata, reference: Any,
             current: Any | None, result: Any | None, config: Any, start: dt.datetime,
             end: dt.datetime) -> dict[str, Any]:
    check_id = f"{end:%Y%m%dT%H%M%S}Z-{secrets.token_hex(3)}"
    body = result.to_dict() if result is not None else {}
    features = [{"name": f.feature, **f.to_dict()} for f in result.features] if result is not None else []
    prediction = ({"name": result.prediction.feature, **result.prediction.to_dict()}
                  if result is not None and result.prediction is not None else None)
    return {
        "kind": "drift", "check_id": check_id, "checked_at": _iso(end), "model": request.model,
        "version": version, "trigger": request.trigger, "actor": request.actor,
        "window_start": _iso(start), "window_end": _iso(end), "window_hours": request.window_hours,
        "rows": int(current.rows) if current is not None else 0, "reference_rows": int(reference.rows),
        "status": body.get("status", "insufficient_data"),
        "dataset_drift": bool(body.get("dataset_drift", False)),
        "prediction_drift": bool(body.get("prediction_drift", False)),
        "drift_share": body.get("drift_share", 0.0), "drift_share_threshold": config.drift_share,
        "drifted_features": body.get("n_drifted", 0), "minor_features": body.get("n_minor", 0),
        "features": features + ([prediction] if prediction else []),
        "config": config.model_dump(), "task": metadata.get("task"),
        **_sample_statement(features + ([prediction] if prediction else []), current),
        "reference": {"rows": int(reference.rows), **(metadata.get("reference") or {}),
                      "prediction": metadata.get("prediction_reference")},
        "source": ({"dataset": request.dataset_version["dataset"],
                    "dataset_version": request.dataset_version["version"]}
                   if request.dataset_version else {"capture": f"capture/{request.model}/"}),
    }


def _sample_statement(features: list[dict[str, Any]], current: Any | None) -> dict[str, Any]:
    """``rows_needed`` (when a feature lacked values: how many each side needs, and whether the reference
    itself is too small) and ``power`` (per judged feature: the test's power at the effect threshold and
    the smallest effect it detects 80 % of the time, at the check's alpha and sample sizes)."""
    out: dict[str, Any] = {"power": {f["name"]: f["power"] for f in features if f.get("power")}}
    short = [f for f in features if f.get("status") == "insufficient_data" and f.get("min_sample")]
    if not features and current is None:
        return out
    if short:
        need = max(int(f["min_sample"]) for f in short)
        small = sorted(f["name"] for f in short if int(f.get("n_reference") or 0) < int(f["min_sample"]))
        have = int(current.rows) if current is not None else 0
        out["rows_needed"] = {
            "per_feature": need, "window_rows": have,
            "features": [f["name"] for f in short], "reference_too_small": small,
            "message": (f"{len(short)} feature(s) lack values for a verdict: {need} non-missing values are "
                        f"needed on each side, the window holds {have} row(s)"
                        + (f"; the reference of {', '.join(small)} is smaller than that: train on more rows"
                           if small else "")),
        }
    return out


def _write_reports(summary: dict[str, Any], reference: Any, current: Any | None,
                   metadata: ModelMetadata) -> dict[str, str]:
    from chalicelib.core.monitoring import modelmonitor
    from chalicelib.core.monitoring.html import render_drift_report

    base = layout.drift_report_prefix(summary["model"], summary["check_id"])
    contract_types = {f["name"]: f.get("type") for f in metadata.get("features", []) if isinstance(f, dict)}
    keys = {"json": base + "report.json", "html": base + "report.html",
            "statistics": base + "statistics.json", "constraints": base + "constraints.json",
            "violations": base + "constraint_violations.json"}
    history, _ = store.list_checks(summary["model"], limit=30, kind="drift")  # each feature over time
    s3.put_bytes(keys["html"], render_drift_report(summary, reference, current, history=history).encode(),
                 content_type="text/html; charset=utf-8")
    if current is not None:
        s3.put_json(keys["statistics"], modelmonitor.statistics(current, contract_types))
    else:
        keys.pop("statistics")
    s3.put_json(keys["constraints"], modelmonitor.constraints(reference, contract_types))
    s3.put_json(keys["violations"], modelmonitor.violations(reference, current, summary["features"]))
    return keys


def _retrain(summary: dict[str, Any]) -> None:
    """On drift in live traffic, start retraining when the spec asks for it and there is new data to learn
    from (cooldown and single flight hold); ``summary["retrain"]`` records the decision either way. New
    training data that drifted is only reported: whether it retrains is the spec's on_new_data."""
    from chalicelib.services.training import retrain

    summary["run_id"] = None
    if summary["status"] != "drift" or summary["trigger"] == "dataset":
        return
    cause = {"drift_check": summary["check_id"], "version": summary["version"]}
    summary["retrain"] = retrain(summary["model"], "drift", cause)
    summary["run_id"] = summary["retrain"].get("run_id")


def _react(registry: Any, summary: dict[str, Any]) -> None:
    """Alert on drift (naming the retraining run, or why none started and what to upload where) and
    audit it."""
    from chalicelib.core import metrics
    from chalicelib.services.training import retrain_sentence
    from chalicelib.storage.notify import publish_alert

    metrics.count("DriftChecks", model=summary["model"])
    if summary["status"] != "drift":
        return
    drifted = [f["name"] for f in summary["features"] if f.get("status") == "drift"]
    metrics.count("DriftDetected")
    metrics.count("DriftedFeatures", float(len(drifted)))
    what = "new training data" if summary["trigger"] == "dataset" else "live traffic"
    publish_alert(
        f"sluice: drift on {summary['model']} v{summary['version']} ({what})",
        f"{len(drifted)} feature(s) drifted ({', '.join(drifted[:8])}); "
        f"{retrain_sentence(summary.get('retrain'))}. "
        f"Report: s3://{get_settings().bucket}/{summary['reports']['html']}",
        {"model": summary["model"], "version": summary["version"], "check_id": summary["check_id"],
         "report": summary["reports"]["html"], "run_id": summary["run_id"],
         "retrain": (summary.get("retrain") or {}).get("status")},
        kind="drift", severity="medium",
        next_steps=[f"Open the drift report: sluice drift history {summary['model']}",
                    *([f"Follow retraining run {summary['run_id']}: sluice runs show {summary['model']} "
                       f"{summary['run_id']}"] if summary["run_id"] else [])],
        reports=[summary["reports"]["html"]],
    )
    registry.append_audit(summary["model"], "drift_detected", actor=summary["actor"],
                          version=summary["version"],
                          details={"check_id": summary["check_id"], "drifted": drifted,
                                   "run_id": summary["run_id"],
                                   "retrain": (summary.get("retrain") or {}).get("status")})
    logger.info("drift detected", extra={"model": summary["model"], "check_id": summary["check_id"],
                                         "run_id": summary["run_id"]})


def _iso(when: dt.datetime) -> str:
    from chalicelib.core.clock import iso

    return iso(when)
