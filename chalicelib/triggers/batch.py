"""Entry point of ``on_batch_object``: every ``batch/{model}/input/…`` object of an event is scored."""

from __future__ import annotations

from typing import Any

from chalicelib.core.events import parse_object_events
from chalicelib.core.serving.batch_files import CHUNK_ROWS
from chalicelib.services.batch import score_object
from chalicelib.storage.layout import BATCH_INPUT_KEY


def handle_batch_objects(event: Any, context: Any = None, *, service: Any = None,
                         chunk_rows: int = CHUNK_ROWS) -> dict[str, Any]:
    """Entry point of ``on_batch_object``: score every ``batch/*/input/*`` object in ``event``."""
    from chalicelib.services.serving import get_service

    refs = [ref for ref in parse_object_events(event) if BATCH_INPUT_KEY.match(ref.key)]
    if not refs:
        return {"objects": []}
    service = service or get_service()
    return {"objects": [score_object(ref, service, chunk_rows=chunk_rows).to_dict() for ref in refs]}


