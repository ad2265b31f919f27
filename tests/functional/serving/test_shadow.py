"""Shadow: the ``shadow`` alias's version scores the sampled requests; only the champion answers."""

import json

from chalicelib.services.serving import set_service
from chalicelib.storage import capture as capture_mod
from tests.functional.serving.conftest import MODEL, bare_frame, features_only


def test_shadow_outputs_are_captured_beside_the_champions_but_not_returned(world, client, rows):
    world.registry.set_alias(MODEL, "shadow", 2)
    set_service(world.service(capture_percent=100))
    records = [features_only(r) for r in rows[:20]]
    response = client.http.post(f"/models/{MODEL}/predict", body=json.dumps({"records": records}),
                                headers={"Content-Type": "application/json"})
    answer = response.json_body
    assert response.status_code == 200
    assert answer["version"] == 1 and "shadow" not in json.dumps(answer)
    champion, challenger = world.pipelines[1], world.pipelines[2]
    assert answer["predictions"] == champion.predict(bare_frame(records)).tolist()
    from chalicelib.services.serving import get_service

    get_service().capture.drain()
    ((_, lines),) = world.captured()
    assert [line["shadow"]["version"] for line in lines] == [2] * 20
    shadow_predictions = challenger.predict(bare_frame(records)).tolist()
    assert [line["shadow"]["prediction"] for line in lines] == shadow_predictions
    assert [line["prediction"] for line in lines] == answer["predictions"]
    shadow_p = [line["shadow"]["probabilities"]["1"] for line in lines]
    assert shadow_p != [p["1"] for p in answer["probabilities"]]  # two different models really scored


def test_unsampled_requests_are_not_shadow_scored(world, rows):
    world.registry.set_alias(MODEL, "shadow", 2)
    service = world.service(capture_percent=0)
    service.predict(MODEL, {"records": [features_only(rows[0])]})
    assert world.loader.calls[(MODEL, 2)] == 0
    assert world.registry.calls["get_alias"] == 1  # production only


def test_a_failing_shadow_never_affects_the_answer(world, rows):
    world.registry.set_alias(MODEL, "shadow", 2)
    world.loader.fail.add((MODEL, 2))
    service = world.service(capture_percent=100)
    answer = service.predict(MODEL, {"records": [features_only(rows[0])]})
    assert answer["version"] == 1 and answer["predictions"]
    service.capture.drain()
    ((_, lines),) = world.captured()
    assert lines[0]["shadow"] == {"version": 2, "error": "artifact_tampered"}
    assert lines[0]["prediction"] == answer["predictions"][0]
    assert capture_mod.COUNTERS["shadow_errors"] == 1


def test_a_shadow_alias_on_the_champion_itself_scores_nothing_twice(world, rows):
    world.registry.set_alias(MODEL, "shadow", 1)
    service = world.service(capture_percent=100)
    service.predict(MODEL, {"records": [features_only(rows[0])]})
    service.capture.drain()
    ((_, lines),) = world.captured()
    assert "shadow" not in lines[0]


def test_the_shadow_checks_the_records_against_its_own_features(world, rows):
    from tests.functional.serving.conftest import FEATURES

    world.registry.set_alias(MODEL, "shadow", 2)
    world.loader.metadata[(MODEL, 2)]["features"] = [*FEATURES, {"name": "region", "type": "category"}]
    service = world.service(capture_percent=100)
    without = service.predict(MODEL, {"records": [features_only(rows[0])]})
    with_region = service.predict(MODEL, {"records": [{**features_only(rows[0]), "region": "eu"}]})
    assert with_region["ignored_fields"] == ["region"]  # the champion does not use it
    service.capture.drain()
    shadows = {lines[0]["request_id"]: lines[0]["shadow"] for _, lines in world.captured()}
    assert shadows[without["request_id"]] == {"version": 2, "error": "invalid_records"}
    assert shadows[with_region["request_id"]]["prediction"] == world.pipelines[2].predict(
        bare_frame([rows[0]])).tolist()[0]
