"""Data capture: a sample of the requests, with what the model answered, as JSONL under ``capture/``.

Layout: ``capture/{model}/date=YYYY-MM-DD/hour=HH/{uuid}.jsonl`` (UTC, the request's time), one object
per request, one line per record::

    {"request_id": "…", "record_index": 0, "time": "2026-11-26T16:33:47.123Z",
     "model": "churn", "version": 3, "alias": "production",
     "input": {"tenure": 12.0, "plan": "pro", "signup": "2026-01-31"},
     "prediction": 1, "probabilities": {"0": 0.2, "1": 0.8},
     "shadow": {"version": 4, "prediction": 0, "probabilities": {"0": 0.6, "1": 0.4}}}

``input`` holds the version's features only (extra request fields are neither used nor stored: they may
hold PII); ``probabilities`` only for classifiers; ``shadow`` only when a ``shadow`` alias scored the
request (``{"version", "error"}`` when it failed). Labels join on ``request_id`` + ``record_index``.

**Never delays or fails the answer.** Lambda freezes a container once the handler returns, so work left
in a background thread only resumes with the next invocation (or never). The honest choice made here:
the answer is computed first; the capture (shadow scoring included) runs on a small thread pool and the
request waits for it at most ``wait_seconds`` (0.5 s by default). A write that takes longer is counted as
``late`` and finishes in the background if the container lives on; a failure is logged, counted
(:data:`COUNTERS`, and a ``CaptureErrors`` CloudWatch metric in EMF) and swallowed.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures import wait as wait_all
from dataclasses import dataclass
from typing import Any, NotRequired, Required, TypedDict

from chalicelib.core.labels import Label
from chalicelib.core.log import logger
from chalicelib.storage.layout import capture_key

METRICS_NAMESPACE = "sluice"

# Process-wide counts: sampled, skipped, written, records, errors, late, dropped, shadow_errors,
# settings_errors (a model's serving settings could not be read: the stack's defaults applied).
COUNTERS: Counter[str] = Counter()
_counter_lock = threading.Lock()


def count(name: str, n: int = 1) -> None:
    with _counter_lock:
        COUNTERS[name] += n


class ShadowResult(TypedDict, total=False):
    """What the ``shadow`` alias's version answered for a whole request, or why it could not."""

    version: Required[int]
    predictions: list[Label]  # one per record
    probabilities: list[dict[str, float]] | None
    error: str  # the error's code (or class name) when it failed


class ShadowLine(TypedDict, total=False):
    """What the ``shadow`` alias's version answered for one record (or why it could not)."""

    version: int | None
    prediction: object
    probabilities: dict[str, float]
    error: object


class CaptureLine(TypedDict):
    """One JSONL line of a capture object (the module docstring shows one)."""

    request_id: str
    record_index: int
    time: str
    model: str
    version: int
    alias: str | None
    input: dict[str, object]
    prediction: object
    probabilities: NotRequired[dict[str, float]]
    shadow: NotRequired[ShadowLine]


@dataclass(frozen=True)
class CaptureEvent:
    """One scored request, as captured."""

    model: str
    version: int
    alias: str | None
    request_id: str
    time: dt.datetime  # UTC
    inputs: Sequence[dict[str, Any]]
    predictions: Sequence[Any]
    probabilities: Sequence[dict[str, float]] | None = None
    shadow: ShadowResult | None = None

    @property
    def key(self) -> str:
        return capture_key(self.model, self.time)

    def to_jsonl(self) -> bytes:
        return "".join(json.dumps(line, default=_jsonable, allow_nan=False) + "\n"
                       for line in capture_lines(self)).encode()


def capture_lines(event: CaptureEvent) -> list[CaptureLine]:
    """The JSONL lines of ``event`` (pure)."""
    stamp = iso_utc(event.time)
    lines = []
    for index, (row, prediction) in enumerate(zip(event.inputs, event.predictions, strict=True)):
        line: CaptureLine = {
            "request_id": event.request_id, "record_index": index, "time": stamp, "model": event.model,
            "version": event.version, "alias": event.alias,
            "input": {k: _clean(v) for k, v in row.items()}, "prediction": _clean(prediction)}
        if event.probabilities is not None:
            line["probabilities"] = event.probabilities[index]
        if event.shadow is not None:
            line["shadow"] = _shadow_line(event.shadow, index)
        lines.append(line)
    return lines


def _shadow_line(shadow: ShadowResult, index: int) -> ShadowLine:
    if "error" in shadow:
        return {"version": shadow.get("version"), "error": shadow["error"]}
    line: ShadowLine = {"version": shadow["version"], "prediction": _clean(shadow["predictions"][index])}
    probabilities = shadow.get("probabilities")
    if probabilities is not None:
        line["probabilities"] = probabilities[index]
    return line


def iso_utc(when: dt.datetime) -> str:
    """``2026-11-26T16:33:47.123Z``: the house timestamp format."""
    from chalicelib.core.clock import iso

    return iso(when)


def _clean(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.datetime):
        return iso_utc(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _jsonable(value: object) -> object:
    if hasattr(value, "item"):
        return value.item()
    return _clean(value) if isinstance(value, dt.date) else str(value)


class Sampler:
    """Decides which requests are captured: ``percent`` of them (the stack's default; a model's own
    percentage when :meth:`sampled` is given one), drawn from ``rng``."""

    def __init__(self, percent: float, rng: random.Random | None = None) -> None:
        self.percent = _bounded(percent)
        self._rng = rng or random.Random()
        self._lock = threading.Lock()

    def sampled(self, percent: float | None = None) -> bool:
        """Whether to capture this request: with probability ``percent`` (None: the default) / 100."""
        share = self.percent if percent is None else _bounded(percent)
        if share <= 0:
            return False
        if share >= 100:
            return True
        with self._lock:
            return self._rng.random() * 100.0 < share


def _bounded(percent: float) -> float:
    return max(0.0, min(100.0, float(percent)))


def s3_put(key: str, body: bytes) -> None:
    """Write one capture object to the sluice bucket."""
    from chalicelib.storage import s3

    s3.put_bytes(key, body, content_type="application/x-ndjson")


class CaptureWriter:
    """Builds and writes capture objects off the request path, waiting at most ``wait_seconds``."""

    def __init__(self, put: Callable[[str, bytes], None] = s3_put, *, wait_seconds: float = 0.5,
                 max_pending: int = 64, workers: int = 2) -> None:
        self._put = put
        self.wait_seconds = wait_seconds
        self.max_pending = max_pending
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sluice-capture")
        self._pending: set[Future[str]] = set()
        self._lock = threading.Lock()

    def submit(self, build: Callable[[], CaptureEvent]) -> str | None:
        """Run ``build`` and write its event; the key written, or None (late, dropped or failed)."""
        with self._lock:
            if len(self._pending) >= self.max_pending:
                count("dropped")
                logger.warning("capture dropped: too many pending writes")
                return None
            try:
                future = self._pool.submit(self._build_and_write, build)
            except RuntimeError:  # closed: this service was replaced
                count("dropped")
                return None
            self._pending.add(future)
        future.add_done_callback(self._forget)
        try:
            return future.result(timeout=self.wait_seconds)
        except FutureTimeout:
            count("late")
            return None
        except Exception:  # already logged and counted in _build_and_write
            return None

    def _build_and_write(self, build: Callable[[], CaptureEvent]) -> str:
        try:
            event = build()
            body = event.to_jsonl()
            key = event.key
            self._put(key, body)
        except Exception as exc:
            count("errors")
            logger.warning("capture failed", extra={"error": type(exc).__name__})
            _emit_error_metric()
            raise
        count("written")
        count("records", len(event.predictions))
        return key

    def _forget(self, future: Future[str]) -> None:
        with self._lock:
            self._pending.discard(future)

    def close(self) -> None:
        """Stop taking work; writes already started finish in the background."""
        self._pool.shutdown(wait=False)

    def drain(self, timeout: float = 10.0) -> None:
        """Wait for every pending write (tests, benchmarks, and the end of a batch)."""
        with self._lock:
            pending = list(self._pending)
        wait_all(pending, timeout=timeout)


def _emit_error_metric() -> None:
    try:
        from aws_lambda_powertools.metrics import MetricUnit, single_metric

        with single_metric(name="CaptureErrors", unit=MetricUnit.Count, value=1,
                           namespace=METRICS_NAMESPACE):
            pass
    except Exception:  # metrics are best-effort too
        logger.debug("could not emit the CaptureErrors metric")
