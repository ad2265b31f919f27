"""Asynchronous function invocation: Lambda ``Event`` invokes on AWS, an SQS queue locally.

moto cannot run Lambda code without Docker, so the local stack sets ``SLUICE_INVOKE_MODE=queue``
and its pump delivers each message to the same handler AWS would run.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.aws.clients import client
from chalicelib.errors import ConfigurationError
from chalicelib.settings import Settings, get_settings


def invoke_async(function: str, payload: dict[str, Any], settings: Settings | None = None) -> None:
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
