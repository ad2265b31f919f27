"""What the schedule and dataset events run: a drift check per production model, failures isolated."""

from __future__ import annotations

from typing import Any

from chalicelib.core.errors import SluiceError
from chalicelib.core.log import logger
from chalicelib.core.settings import get_settings
from chalicelib.services.drift import CheckRequest, run_drift_check


def check_production_models() -> dict[str, Any]:
    """Drift-check every model with a ``production`` alias (one Query, no Scan)."""
    from chalicelib.services.registry import get_registry

    window = get_settings().monitor_window_hours
    checked, failed = [], []
    for model, _version in get_registry().models_with_alias("production"):
        try:
            summary = run_drift_check(CheckRequest(model, trigger="schedule", window_hours=window))
            checked.append({"model": model, "check_id": summary["check_id"], "status": summary["status"],
                            "run_id": summary.get("run_id")})
        except Exception as exc:  # one model's trouble must not stop the others
            failed.append({"model": model, "error": getattr(exc, "code", type(exc).__name__)})
            logger.exception("scheduled drift check failed", extra={"model": model})
    return {"checked": checked, "failed": failed}


def check_new_dataset_version(dataset: str, version: int) -> dict[str, Any]:
    """A dataset version passed: compare it with the reference of each production model trained on it."""
    from chalicelib.services.registry import get_registry
    from chalicelib.storage.datasets import get_version
    from chalicelib.storage.specs import models_training_on

    record = get_version(dataset, version)
    production = dict(get_registry().models_with_alias("production"))
    checked = []
    for head in models_training_on(dataset):
        model = head["model"]
        if model not in production:
            continue
        try:
            summary = run_drift_check(CheckRequest(model, trigger="dataset", dataset_version={
                "dataset": dataset, "version": int(version), "curated_path": record.curated_path}))
            checked.append({"model": model, "check_id": summary["check_id"], "status": summary["status"]})
        except SluiceError as exc:
            logger.warning("dataset drift check skipped", extra={"model": model, "code": exc.code})
    return {"dataset": dataset, "version": int(version), "checked": checked}
