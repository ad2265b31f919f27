"""Data capture: sampled, JSONL per request partitioned by date and hour, never in the answer's way."""

import datetime as dt
import random
import re
import threading
import time

from chalicelib.storage import capture as capture_mod
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
