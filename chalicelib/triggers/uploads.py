"""Entry point for objects created under ``raw/{dataset}/``: each object version is processed once.

Never crashes on bad input: an event that parses to nothing, a key outside ``raw/{dataset}/``, an
unreadable file or a dataset without a contract each end in a log line or a report. An unexpected
error for one object is logged (type, code and code location; never the message, which may quote a
value) and the remaining objects are still processed; the handler re-raises at the end only when the
trouble is retryable (AWS throttling, 5xx, network, another attempt holding the claim), so Lambda
retries the event and the processing claims make the retry harmless.
"""

from __future__ import annotations

import traceback
from typing import Any

from chalicelib.core.datasets.types import OutcomeDict
from chalicelib.core.events import parse_object_events
from chalicelib.core.log import logger


def handle_raw_objects(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    from chalicelib.services.uploads import process_object
    from chalicelib.storage.retry import is_retryable

    try:
        refs = [ref for ref in parse_object_events(event) if ref.key.startswith("raw/")]
    except (KeyError, TypeError, ValueError, AttributeError):
        logger.warning("ignored: not an object-created event", extra={"event_type": type(event).__name__})
        return {"processed": [], "ignored": 1}
    outcomes: list[OutcomeDict] = []
    retry: BaseException | None = None
    for ref in refs:
        try:
            outcomes.append(process_object(ref).to_dict())
        except Exception as exc:
            retryable = is_retryable(exc)
            logger.error("processing an upload failed", extra={
                "key": ref.key, "version_id": ref.version_id, "error_type": type(exc).__name__,
                "code": getattr(exc, "code", None), "retryable": retryable, "where": _where(exc)})
            outcomes.append({"key": ref.key, "error": type(exc).__name__, "retryable": retryable})
            if retryable and retry is None:
                retry = exc
            elif not retryable:
                _alert_unprocessed(ref, exc)
    if retry is not None:
        raise retry
    return {"processed": outcomes}


def _alert_unprocessed(ref: Any, exc: BaseException) -> None:
    """Nobody would otherwise hear of an upload that failed for a reason a retry cannot fix."""
    from chalicelib.storage.notify import publish_alert

    try:
        publish_alert("sluice: an upload could not be processed",
                      f"{ref.key} (version {ref.version_id}) failed with {type(exc).__name__}; the raw "
                      "object is kept unchanged: upload it again once the cause is fixed.",
                      {"key": ref.key, "version_id": ref.version_id, "error_type": type(exc).__name__},
                      kind="upload_error", severity="high",
                      next_steps=["Look up the error in the on_raw_object logs (its key and version id)",
                                  "Upload the file again once the cause is fixed"])
    except Exception:  # the alert is best effort: the failure is already logged
        logger.exception("could not send the unprocessed-upload alert")


def _where(exc: BaseException) -> list[str]:
    """The innermost code locations of an error (file:line function), without its message."""
    frames = traceback.extract_tb(exc.__traceback__)[-4:]
    return [f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} {frame.name}" for frame in frames]
