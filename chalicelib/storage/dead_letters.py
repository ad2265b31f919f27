"""The failed-events queue (``FailedEventsQueue`` in infra/resources.yaml): events and asynchronous
invocations that failed for good land there (Lambda's dead-letter queue, EventBridge targets' too).

Its URL comes from ``SLUICE_DEAD_LETTER_QUEUE_URL`` (set for the functions that read it); without
it there is no queue to read. Reading a message hides it for ``visibility`` seconds; :func:`unhide`
shows it again at once (a dry run must leave the queue as it found it).
"""

from __future__ import annotations

import os

from chalicelib.core.ops.reconcile import DeadLetter
from chalicelib.storage.clients import client

ENV_DEAD_LETTER_QUEUE_URL = "SLUICE_DEAD_LETTER_QUEUE_URL"  # settings.py should name it with the others
MAX_MESSAGES = 100  # per scan: a queue that holds more is drained over several passes


def queue_url() -> str | None:
    return os.environ.get(ENV_DEAD_LETTER_QUEUE_URL) or None


def receive(url: str, *, limit: int = MAX_MESSAGES, visibility: int = 60) -> list[DeadLetter]:
    """Up to ``limit`` messages, each hidden for ``visibility`` seconds."""
    sqs = client("sqs")
    found: dict[str, DeadLetter] = {}
    while len(found) < limit:
        out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(10, limit - len(found)),
                                  VisibilityTimeout=visibility, WaitTimeSeconds=0,
                                  AttributeNames=["ApproximateReceiveCount"], MessageAttributeNames=["All"])
        messages = out.get("Messages", [])
        if not messages:
            break
        for message in messages:
            attributes = {k: str(v.get("StringValue", "")) for k, v in
                          (message.get("MessageAttributes") or {}).items()}
            received = int((message.get("Attributes") or {}).get("ApproximateReceiveCount", 1))
            found[message["MessageId"]] = DeadLetter(message["MessageId"], message.get("Body", ""),
                                                     attributes, message["ReceiptHandle"], received)
    return list(found.values())


def unhide(url: str, handles: list[str]) -> None:
    """Make received messages visible again now."""
    sqs = client("sqs")
    for start in range(0, len(handles), 10):
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
            for i, h in enumerate(handles[start:start + 10])])


def delete(url: str, handle: str) -> None:
    client("sqs").delete_message(QueueUrl=url, ReceiptHandle=handle)
