"""Data capture's pure parts: the sampler's share, JSON-safe lines, and the bounded pending writes."""

import datetime as dt
import random
import threading

from chalicelib.storage import capture as capture_mod
from chalicelib.storage.capture import CaptureEvent, Sampler, capture_lines


def test_the_sampler_draws_the_configured_share():
    sampler = Sampler(30, random.Random(1))
    share = sum(sampler.sampled() for _ in range(5000)) / 5000
    assert 0.27 < share < 0.33
    assert not any(Sampler(0, random.Random(1)).sampled() for _ in range(100))
    assert all(Sampler(100, random.Random(1)).sampled() for _ in range(100))


def test_capture_lines_are_pure_and_json_safe():
    event = CaptureEvent(model="m", version=3, alias=None, request_id="r",
                         time=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
                         inputs=[{"d": dt.date(2026, 1, 1), "t": dt.datetime(2026, 1, 1, 12),
                                  "x": float("nan")}],
                         predictions=[1.5])
    (line,) = capture_lines(event)
    assert line["input"] == {"d": "2026-01-01", "t": "2026-01-01T12:00:00.000Z", "x": None}
    assert "probabilities" not in line and "shadow" not in line
    assert event.to_jsonl().endswith(b"\n")


def test_writes_past_the_pending_limit_are_dropped_and_counted():
    from chalicelib.storage.capture import CaptureWriter

    release = threading.Event()
    writer = CaptureWriter(lambda key, body: release.wait(5), wait_seconds=0.01, max_pending=1)
    event = CaptureEvent(model="m", version=1, alias=None, request_id="r",
                         time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), inputs=[{}], predictions=[0])
    capture_mod.COUNTERS.clear()
    assert writer.submit(lambda: event) is None  # late: still writing
    assert writer.submit(lambda: event) is None  # dropped: one is pending already
    assert (capture_mod.COUNTERS["late"], capture_mod.COUNTERS["dropped"]) == (1, 1)
    release.set()
    writer.drain()
    assert capture_mod.COUNTERS["written"] == 1
    writer.close()
