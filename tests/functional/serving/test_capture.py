"""Data capture: sampled, JSONL per request partitioned by date and hour, never in the answer's way."""

import datetime as dt
import random
import re
import threading
import time

from chalicelib.storage import capture as capture_mod
from chalicelib.storage.capture import CaptureEvent, Sampler, capture_lines
from tests.functional.serving.conftest import MODEL, features_only

KEY = re.compile(rf"^capture/{MODEL}/date=\d{{4}}-\d{{2}}-\d{{2}}/hour=\d{{2}}/[0-9a-f-]{{36}}\.jsonl$")


def body(rows, n=1, start=0):
    return {"records": [features_only(r) for r in rows[start:start + n]]}


def test_nothing_is_captured_at_zero_percent(world, rows):
    service = world.service(capture_percent=0)
    for _ in range(5):
        service.predict(MODEL, body(rows))
    service.capture.drain()
    assert world.captured() == []
    assert capture_mod.COUNTERS["skipped"] == 5


def test_every_request_is_captured_at_one_hundred_percent_one_line_per_record(world, rows):
    service = world.service(capture_percent=100)
    answers = [service.predict(MODEL, body(rows, 3), request_id="req-a"),
               service.predict(MODEL, body(rows, 2, start=3), request_id="req-b")]
    service.capture.drain()
    captured = world.captured()
    assert len(captured) == 2 and all(KEY.match(key) for key, _ in captured)
    lines = {line["request_id"]: [] for _, ls in captured for line in ls}
    for _, ls in captured:
        for line in ls:
            lines[line["request_id"]].append(line)
    first = lines["req-a"]
    assert [line["record_index"] for line in first] == [0, 1, 2]
    assert [line["prediction"] for line in first] == answers[0]["predictions"]
    assert [line["probabilities"] for line in first] == answers[0]["probabilities"]
    assert first[0]["input"] == features_only(rows[0])
    assert (first[0]["model"], first[0]["version"], first[0]["alias"]) == (MODEL, 1, "production")
    assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$", first[0]["time"])
    assert "shadow" not in first[0]
    assert len(lines["req-b"]) == 2
    assert capture_mod.COUNTERS["written"] == 2 and capture_mod.COUNTERS["records"] == 5


def test_the_object_is_partitioned_by_the_requests_utc_date_and_hour(world, rows):
    service = world.service(capture_percent=100)
    service._now = lambda: dt.datetime(2026, 11, 26, 7, 59, 59, 999000, tzinfo=dt.UTC)
    service.predict(MODEL, body(rows))
    service.capture.drain()
    ((key, lines),) = world.captured()
    assert key.startswith(f"capture/{MODEL}/date=2026-11-26/hour=07/")
    assert lines[0]["time"] == "2026-11-26T07:59:59.999Z"


def test_extra_fields_are_not_captured(world, rows):
    service = world.service(capture_percent=100)
    service.predict(MODEL, {"records": [{**features_only(rows[0]), "email": "x@example.com"}]})
    service.capture.drain()
    ((_, lines),) = world.captured()
    assert "email" not in lines[0]["input"]


def test_about_half_is_captured_at_fifty_percent_as_the_seeded_rng_decides(world, rows):
    service = world.service(capture_percent=50, seed=42)
    for _ in range(40):
        service.predict(MODEL, body(rows))
    service.capture.drain()
    replay = random.Random(42)
    expected = sum(replay.random() * 100 < 50 for _ in range(40))
    assert len(world.captured()) == expected
    assert 12 <= expected <= 28


def test_the_sampler_draws_the_configured_share():
    sampler = Sampler(30, random.Random(1))
    share = sum(sampler.sampled() for _ in range(5000)) / 5000
    assert 0.27 < share < 0.33
    assert not any(Sampler(0, random.Random(1)).sampled() for _ in range(100))
    assert all(Sampler(100, random.Random(1)).sampled() for _ in range(100))


def test_a_failing_put_still_answers_and_is_counted(world, rows):
    def broken_put(key, body):
        raise ConnectionError("s3 is down")

    service = world.service(capture_percent=100, put=broken_put)
    answer = service.predict(MODEL, body(rows))
    assert answer["predictions"]
    service.capture.drain()
    assert capture_mod.COUNTERS["errors"] == 1
    assert world.captured() == []


def test_a_failing_put_over_http_is_still_a_200(world, client, rows):
    import json

    from chalicelib.services.serving import set_service

    def broken_put(key, body):
        raise ConnectionError("s3 is down")

    set_service(world.service(capture_percent=100, put=broken_put))
    response = client.http.post(f"/models/{MODEL}/predict", body=json.dumps(body(rows)),
                                headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert capture_mod.COUNTERS["errors"] == 1


def test_a_slow_put_does_not_hold_the_answer_past_the_wait(world, rows):
    release = threading.Event()

    def slow_put(key, body):
        release.wait(5)

    service = world.service(capture_percent=100, put=slow_put, wait_seconds=0.05)
    service.predict(MODEL, body(rows))  # warm the model
    started = time.perf_counter()
    service.predict(MODEL, body(rows))
    assert time.perf_counter() - started < 1.0
    assert capture_mod.COUNTERS["late"] >= 1
    release.set()
    service.capture.drain()
    assert capture_mod.COUNTERS["written"] == 2


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
