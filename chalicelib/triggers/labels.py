"""Entry point of ``on_label_object``: per labels object ``labels/{model}/…``, a performance check and
the feedback rows its labels make (:mod:`~chalicelib.services.performance`,
:mod:`~chalicelib.services.feedback`)."""

from __future__ import annotations

from typing import Any

from chalicelib.core.errors import BadRequestError
from chalicelib.core.events import ObjectRef
from chalicelib.core.log import logger
from chalicelib.services.drift import NoProductionVersionError
from chalicelib.services.performance import LabelsRequest, run_performance_check
from chalicelib.storage.layout import model_of_labels_key
from chalicelib.storage.notify import publish_alert


def handle_label_objects(refs: list[ObjectRef]) -> list[dict[str, Any]]:
    """Check each labels object (and collect its feedback rows); a file that cannot be evaluated is
    announced."""
    out = []
    for ref in refs:
        model = model_of_labels_key(ref.key)
        if model is None:
            continue
        try:
            out.append(run_performance_check(LabelsRequest(model, ref.key, ref.version_id)))
        except (BadRequestError, NoProductionVersionError) as exc:
            logger.warning("labels not evaluated", extra={"key": ref.key, "code": exc.code,
                                                          "reason": exc.message})
            out.append({"key": ref.key, "status": "rejected", "code": exc.code, "message": exc.message})
            publish_alert(f"sluice: labels for {model} were not evaluated",
                          f"{ref.key}: {exc.message} ({exc.code})", {"key": ref.key, "code": exc.code,
                                                                      "model": model},
                          kind="labels", severity="medium")
    return out
