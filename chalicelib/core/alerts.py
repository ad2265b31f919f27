"""Alerts as AWS Chatbot (Amazon Q Developer in chat applications) custom notifications, so a topic
subscribed to a Slack or Teams channel shows them as written, with no relay in between.

The shape is the documented custom-notification event (docs.aws.amazon.com/chatbot/latest/adminguide/
custom-notifs.html): ``version`` "1.0", ``source`` "custom", ``content`` (``textType`` "client-markdown",
``title``, ``description``, ``nextSteps``, ``keywords``) and ``metadata`` (``threadId``, ``summary``,
``eventType``, ``relatedResources``, ``additionalContext``: strings only). :class:`ChatbotNotification`
holds that schema; every alert is validated against it before it is published. The SNS message also
carries attributes (``kind``, ``severity``, ``dataset`` or ``model``) that subscriptions can filter on.

Pure: no AWS here (:mod:`chalicelib.storage.notify` publishes).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

KINDS = ("validation", "upload_ignored", "upload_error", "drift", "performance", "labels")
SEVERITIES = ("low", "medium", "high")
MAX_CONTEXT_CHARS = 500  # one additionalContext value: enough for ids, keys and short lists


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChatbotContent(_Strict):
    textType: Literal["client-markdown"] = "client-markdown"
    title: str
    description: str
    nextSteps: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)


class ChatbotMetadata(_Strict):
    threadId: str | None = None
    summary: str | None = None
    eventType: str | None = None
    relatedResources: list[str] = Field(default_factory=list)
    additionalContext: dict[str, str] = Field(default_factory=dict)


class ChatbotNotification(_Strict):
    """The custom-notification event, as documented (and nothing else: Chatbot drops unknown shapes)."""

    version: Literal["1.0"] = "1.0"
    source: Literal["custom"] = "custom"
    id: str | None = None
    content: ChatbotContent
    metadata: ChatbotMetadata | None = None


class Alert(_Strict):
    """What a sluice alert says, before it is shaped for Chatbot."""

    kind: Literal["validation", "upload_ignored", "upload_error", "drift", "performance", "labels"]
    severity: Literal["low", "medium", "high"]
    subject: str
    message: str
    details: dict[str, object] = Field(default_factory=dict)
    next_steps: list[str] = Field(default_factory=list)
    resources: list[str] = Field(default_factory=list)  # s3://… URIs of the reports it is about


def subject_of(subject: str) -> str:
    """An SNS subject: at most 100 printable characters."""
    return " ".join(subject.split())[:100]


def notification(alert: Alert) -> ChatbotNotification:
    """``alert`` as a Chatbot custom notification (thread per kind and dataset or model)."""
    about = str(alert.details.get("model") or alert.details.get("dataset") or "sluice")
    return ChatbotNotification(
        id=str(alert.details.get("check_id") or uuid.uuid4()),
        content=ChatbotContent(title=subject_of(alert.subject), description=alert.message,
                               nextSteps=list(alert.next_steps), keywords=["sluice", alert.kind, about]),
        metadata=ChatbotMetadata(threadId=f"sluice-{alert.kind}-{about}", summary=subject_of(alert.subject),
                                 eventType=alert.kind, relatedResources=list(alert.resources),
                                 additionalContext=context(alert.details)))


def context(details: Mapping[str, object]) -> dict[str, str]:
    """``details`` as Chatbot's string map: strings as they are, other values as JSON; None left out."""
    out: dict[str, str] = {}
    for key, value in details.items():
        if value is None:
            continue
        text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
        out[str(key)] = text[:MAX_CONTEXT_CHARS]
    return out


def attributes(alert: Alert) -> dict[str, str]:
    """SNS message attributes a subscription filter policy can match (``kind``, ``severity``, …)."""
    out: dict[str, str] = {"kind": alert.kind, "severity": alert.severity}
    for key in ("dataset", "model"):
        if alert.details.get(key) is not None:
            out[key] = str(alert.details[key])
    return out


def message_body(alert: Alert) -> str:
    """The SNS message: the notification's JSON (validated against the schema on the way)."""
    return notification(alert).model_dump_json(exclude_none=True)
