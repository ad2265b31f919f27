"""Deliver what moto queued to the handlers AWS would invoke.

Two queues: bucket events (EventBridge envelopes routed by :mod:`chalicelib.triggers.table`) and
asynchronous invocations (``{"function", "payload"}`` from :mod:`chalicelib.storage.invoke`). Like
Lambda's asynchronous invokes, a failed delivery is retried (up to :data:`MAX_ATTEMPTS`).

Handlers run on daemon threads: stopping waits for a running handler only as long as the caller
allows (``stop(grace)``), then leaves it, as a Lambda container is frozen mid-call. Its message stays
received but not deleted, so a stack restored from a snapshot delivers it again.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.triggers.table import functions_for_key

MAX_ATTEMPTS = 3
TRAINING_JOB_SOURCE = "aws.sagemaker"
TRAINING_JOB_FUNCTION = "on_training_job"  # app.py's handler of SageMaker's job state changes
POLL_JOIN_SECONDS = 0.2  # how long a stop waits for a poll to come back (its messages stay received)
Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LambdaContext:
    """The part of Lambda's context object that handlers and powertools read."""

    function_name: str
    timeout_seconds: int = 900
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 3008
    invoked_function_arn: str = ""
    _started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self._started)) * 1000))


@dataclass(frozen=True)
class Delivery:
    function: str
    what: str  # the object key, or "invoke"
    ok: bool
    seconds: float
    error: str = ""


class Pump:
    """Polls the queues and calls handlers on a small thread pool."""

    def __init__(self, sqs: Any, handlers: Mapping[str, Handler], *, events_queue_url: str,
                 invoke_queue_url: str, workers: int = 4,
                 on_delivery: Callable[[Delivery], None] | None = None) -> None:
        self._sqs = sqs
        self._handlers = handlers
        self._queues = {events_queue_url: self._route_object_event,
                        invoke_queue_url: self._route_invocation}
        self._work: queue.Queue[tuple[str, dict[str, Any], Callable[..., Any]] | None] = queue.Queue()
        self._workers = workers
        self._busy = 0  # handlers running now (guarded by _delivered)
        self._stop = threading.Event()
        self._closed = threading.Event()  # stop() returned: what a left handler does is not reported
        self._threads: list[threading.Thread] = []
        self._on_delivery = on_delivery
        self.deliveries: list[Delivery] = []
        self._delivered = threading.Condition()

    def start(self) -> None:
        for url, route in self._queues.items():
            thread = threading.Thread(target=self._poll, args=(url, route), daemon=True,
                                      name=f"sluice-pump-{url.rsplit('/', 1)[-1]}")
            thread.start()
            self._threads.append(thread)
        for number in range(self._workers):
            threading.Thread(target=self._work_loop, daemon=True, name=f"sluice-handler-{number}").start()

    def stop(self, grace: float = 2.0) -> bool:
        """Stop polling; wait up to ``grace`` seconds for the handlers running. True when none was left
        running (a left handler's message is neither deleted nor retried here)."""
        deadline = time.monotonic() + grace
        self._stop.set()
        for thread in self._threads:  # not the whole long poll (1 s): what it brings back is not run
            thread.join(timeout=min(POLL_JOIN_SECONDS, max(0.0, deadline - time.monotonic())))
        while True:  # what was received but not started is left too: its message stays received
            try:
                self._work.get_nowait()
            except queue.Empty:
                break
        with self._delivered:
            idle = self._delivered.wait_for(lambda: self._busy == 0,
                                            timeout=max(0.0, deadline - time.monotonic()))
        self._closed.set()
        for _ in range(self._workers):
            self._work.put(None)
        return idle

    def _work_loop(self) -> None:
        while (task := self._work.get()) is not None:
            with self._delivered:
                if self._stop.is_set():
                    continue
                self._busy += 1
            try:
                self._deliver(*task)
            except Exception:  # the server went away under a handler left running at stop
                if not self._closed.is_set():
                    raise
            finally:
                with self._delivered:
                    self._busy -= 1
                    self._delivered.notify_all()

    def _poll(self, queue_url: str, route: Callable[[dict[str, Any]], list[tuple[str, str, dict]]]) -> None:
        while not self._stop.is_set():
            try:
                messages = self._sqs.receive_message(
                    QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                    VisibilityTimeout=900, AttributeNames=["ApproximateReceiveCount"],
                ).get("Messages", [])
            except Exception:  # the server is shutting down, or a passing fault
                if self._stop.wait(0.5):
                    return
                continue
            for message in messages:
                self._work.put((queue_url, message, route))

    def _deliver(self, queue_url: str, message: dict[str, Any],
                 route: Callable[[dict[str, Any]], list[tuple[str, str, dict]]]) -> None:
        attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        failed = False
        try:
            deliveries = route(json.loads(message["Body"]))
        except (ValueError, KeyError, TypeError, AttributeError):  # not an event we know: drop it, once
            self._record(Delivery("(unknown)", message["Body"][:80], False, 0.0, "malformed message"))
            self._sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            return
        for function, what, event in deliveries:
            failed |= not self._call(function, what, event)
        if failed and attempt < MAX_ATTEMPTS:
            self._sqs.change_message_visibility(QueueUrl=queue_url,
                                                ReceiptHandle=message["ReceiptHandle"],
                                                VisibilityTimeout=attempt)
            return
        self._sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _call(self, function: str, what: str, event: dict[str, Any]) -> bool:
        handler = self._handlers.get(function)
        started = time.perf_counter()
        error = ""
        if handler is None:
            error = f"no handler named {function!r}"
        else:
            try:
                handler(event, LambdaContext(function_name=function))
            except Exception:
                error = traceback.format_exc(limit=8)
        self._record(Delivery(function, what, not error, time.perf_counter() - started, error))
        return not error

    def _record(self, delivery: Delivery) -> None:
        if self._closed.is_set():
            return
        with self._delivered:
            self.deliveries.append(delivery)
            self._delivered.notify_all()
        if self._on_delivery:
            self._on_delivery(delivery)

    def wait_for(self, function: str, what: str | None = None, *, after: int = 0,
                 timeout: float = 30.0) -> Delivery:
        """The first delivery to ``function`` (for ``what``) at index ``after`` or later."""

        def found() -> Delivery | None:
            return next((d for d in self.deliveries[after:] if d.function == function
                         and (what is None or d.what == what)), None)

        with self._delivered:
            if not self._delivered.wait_for(lambda: found() is not None, timeout=timeout):
                raise TimeoutError(f"no delivery to {function} ({what or 'any'}) in {timeout:g} s")
            return found()  # type: ignore[return-value]

    @staticmethod
    def _route_object_event(body: dict[str, Any]) -> list[tuple[str, str, dict]]:
        if body.get("source") == TRAINING_JOB_SOURCE:  # a training job's state change (same queue)
            return [(TRAINING_JOB_FUNCTION, str(body.get("detail", {}).get("TrainingJobName", "")), body)]
        key = body.get("detail", {}).get("object", {}).get("key", "")
        return [(function, key, body) for function in functions_for_key(key)]

    @staticmethod
    def _route_invocation(body: dict[str, Any]) -> list[tuple[str, str, dict]]:
        return [(body["function"], "invoke", body.get("payload", {}))]


class Clock:
    """Fires the scheduled handlers every ``interval`` seconds, as EventBridge schedules would."""

    def __init__(self, handlers: Mapping[str, Handler], interval: float, *, region: str,
                 on_delivery: Callable[[Delivery], None] | None = None) -> None:
        self._handlers = handlers
        self._interval = interval
        self._region = region
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="sluice-clock")
        self._on_delivery = on_delivery

    def start(self) -> None:
        self._thread.start()

    def stop(self, grace: float = 2.0) -> bool:
        """Stop firing; wait up to ``grace`` seconds for a run in progress. True when none was left."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=grace)
        return not self._thread.is_alive()

    def fire(self) -> list[Delivery]:
        """Run every scheduled handler once, now."""
        out = []
        for name, handler in self._handlers.items():
            started = time.perf_counter()
            error = ""
            try:
                handler(scheduled_event(name, self._region), LambdaContext(function_name=name))
            except Exception:
                error = traceback.format_exc(limit=8)
            delivery = Delivery(name, "schedule", not error, time.perf_counter() - started, error)
            out.append(delivery)
            if self._on_delivery:
                self._on_delivery(delivery)
        return out

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.fire()


def scheduled_event(rule: str, region: str) -> dict[str, Any]:
    """The event EventBridge sends for a schedule rule."""
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "123456789012",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "region": region,
        "resources": [f"arn:aws:events:{region}:123456789012:rule/{rule}"], "detail": {},
    }
