"""Entry point for objects created under ``raw/{dataset}/``."""

from __future__ import annotations

from typing import Any

from chalicelib.events import parse_object_events
from chalicelib.log import logger


def handle_raw_objects(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    refs = [ref for ref in parse_object_events(event) if ref.key.startswith("raw/")]
    for ref in refs:
        logger.info("raw object received", extra={"bucket": ref.bucket, "key": ref.key,
                                                   "version_id": ref.version_id})
    return {"received": [ref.key for ref in refs]}
