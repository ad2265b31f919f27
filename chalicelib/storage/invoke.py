"""Asynchronous function invocation: Lambda ``Event`` invokes on AWS, an SQS queue locally.

moto cannot run Lambda code without Docker, so the local stack sets ``SLUICE_INVOKE_MODE=queue``
and its pump delivers each message to the same handler AWS would run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.core.errors import ConfigurationError
from chalicelib.core.settings import Settings, get_settings
from chalicelib.storage.clients import client


def invoke_async(function: str, payload: Mapping[str, object], settings: Settings | None = None) -> None:
    """Start ``function`` with ``payload`` without waiting for it."""
    settings = settings or get_settings()
    body = json.dumps(payload, default=str)
    if settings.invoke_mode == "queue":
        if not settings.invoke_queue_url:
            raise ConfigurationError("SLUICE_INVOKE_QUEUE_URL is required when SLUICE_INVOKE_MODE=queue")
        client("sqs", settings).send_message(
            QueueUrl=settings.invoke_queue_url,
            MessageBody=json.dumps({"function": function, "payload": payload}, default=str),
        )
    elif settings.invoke_mode == "lambda":
        client("lambda", settings).invoke(
            FunctionName=settings.function_name(function), InvocationType="Event",
            Payload=body.encode(),
        )
    else:
        raise ConfigurationError(f"unknown invoke mode {settings.invoke_mode!r}")


def invoke_sync(function: str, payload: Mapping[str, object], settings: Settings | None = None) -> Any:
    """Run ``function`` on AWS and wait for its answer (a RequestResponse invoke).

    The function answers ``{"result": ...}`` or ``{"error": {"code", "message", "status"}}``
    (:func:`sync_answer`); a typed error comes back as the same :class:`SluiceError`.
    """
    from chalicelib.core.errors import SluiceError

    settings = settings or get_settings()
    out = client("lambda", settings).invoke(
        FunctionName=settings.function_name(function), InvocationType="RequestResponse",
        Payload=json.dumps(payload, default=str).encode())
    answer = json.loads(out["Payload"].read() or b"null")
    if out.get("FunctionError") or not isinstance(answer, dict):
        raise SluiceError(f"the {function} function failed", code="function_failed")
    if "error" in answer:
        error = SluiceError(answer["error"]["message"], code=answer["error"]["code"],
                            details=answer["error"].get("details"))
        error.status = int(answer["error"].get("status", 500))
        raise error
    return answer["result"]


def sync_answer(run: Callable[..., object], *args: object, **kwargs: object) -> dict[str, object]:
    """What a synchronously invoked function returns: its result, or its typed error as data."""
    from chalicelib.core.errors import SluiceError

    try:
        return {"result": run(*args, **kwargs)}
    except SluiceError as exc:
        return {"error": {**exc.to_dict(), "status": exc.status}}
