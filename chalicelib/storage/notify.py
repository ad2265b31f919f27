"""Alerts to the SNS topic: short, actionable, never carrying PII."""

from __future__ import annotations

import json
from collections.abc import Mapping

from chalicelib.core.log import logger
from chalicelib.core.settings import Settings, get_settings
from chalicelib.storage.clients import client


def publish_alert(subject: str, message: str, details: Mapping[str, object] | None = None,
                  settings: Settings | None = None) -> str | None:
    """Publish to the alerts topic; returns the message id (None when no topic is configured)."""
    settings = settings or get_settings()
    if not settings.topic_arn:
        logger.warning("no alerts topic configured; alert not sent", extra={"subject": subject})
        return None
    body = json.dumps({"message": message, **(details or {})}, default=str)
    out = client("sns", settings).publish(TopicArn=settings.topic_arn, Subject=subject[:100],
                                          Message=body)
    return out["MessageId"]
