"""Alerts to the SNS topic: short, actionable, never carrying PII, shaped as AWS Chatbot custom
notifications (:mod:`chalicelib.core.alerts`) with filterable message attributes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from chalicelib.core.alerts import Alert, attributes, message_body, subject_of
from chalicelib.core.log import logger
from chalicelib.core.settings import Settings, get_settings
from chalicelib.storage.clients import client


def publish_alert(subject: str, message: str, details: Mapping[str, object] | None = None,
                  settings: Settings | None = None, *, kind: str, severity: str,
                  next_steps: Sequence[str] = (), reports: Sequence[str | None] = ()) -> str | None:
    """Publish to the alerts topic; returns the message id (None when no topic is configured).
    ``reports``: keys in the bucket the alert is about (listed as ``s3://`` resources)."""
    settings = settings or get_settings()
    if not settings.topic_arn:
        logger.warning("no alerts topic configured; alert not sent", extra={"subject": subject})
        return None
    resources = [key if key.startswith("s3://") else f"s3://{settings.bucket}/{key}"
                 for key in reports if key]
    alert = Alert(kind=kind, severity=severity, subject=subject, message=message,  # type: ignore[arg-type]
                  details=dict(details or {}), next_steps=list(next_steps), resources=resources)
    out = client("sns", settings).publish(
        TopicArn=settings.topic_arn, Subject=subject_of(subject), Message=message_body(alert),
        MessageAttributes={name: {"DataType": "String", "StringValue": value}
                           for name, value in attributes(alert).items()})
    return out["MessageId"]
