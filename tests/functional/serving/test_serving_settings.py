"""Per-model serving settings: the capture percentage and the shadow alias of one model, set through the
API (audited), stored in the registry, read by serving through its TTL cache and applied."""

from __future__ import annotations

import json

import pytest

from chalicelib.core.registry.entities import ServingSettings
from chalicelib.services.serving import PredictionService, default_registry
from chalicelib.storage import capture as capture_mod
from tests.functional.serving.conftest import MODEL, bare_frame, features_only

HEADERS = {"Content-Type": "application/json"}


def put(client, model, body):
    return client.http.put(f"/models/{model}/serving", body=json.dumps(body), headers=HEADERS)


@pytest.fixture
def registered(moto_world, world):
    """MODEL's versions 1 (production) and 2 in the real registry, their artifacts where world put them."""
    from chalicelib.services.registry import get_registry

    registry = get_registry()
    for _ in (1, 2):
        version = registry.reserve_version(MODEL)
        sha256 = world.registry.versions[(MODEL, version)].artifact_sha256
        registry.register_model_version(MODEL, version, source=f"s3://{moto_world.bucket}/models/{MODEL}/{version}/",
                                        artifact_sha256=sha256, run_id="r", metrics={}, dataset_versions=[],
                                        spec_version=1)
    registry.set_alias(MODEL, "production", 1, actor="test")
    registry.set_alias(MODEL, "challenger", 2, actor="test")
    return registry


def test_settings_are_put_and_read_back_with_the_stacks_defaults_beside_them(client, registered):
    before = client.http.get(f"/models/{MODEL}/serving").json_body
    assert (before["capture_percent"], before["shadow_alias"], before["revision"]) == (None, "shadow", 0)
    assert before["effective_capture_percent"] == before["stack_capture_percent"]

    answer = put(client, MODEL, {"capture_percent": 20, "shadow_alias": "challenger"})
    assert answer.status_code == 200, answer.body
    assert (answer.json_body["capture_percent"], answer.json_body["shadow_alias"]) == (20.0, "challenger")
    assert answer.json_body["effective_capture_percent"] == 20.0
    put(client, MODEL, {"capture_percent": 5})  # a field left out keeps its value
    after = client.http.get(f"/models/{MODEL}/serving").json_body
    assert (after["capture_percent"], after["shadow_alias"], after["revision"]) == (5.0, "challenger", 2)
    cleared = put(client, MODEL, {"capture_percent": None, "shadow_alias": None}).json_body
    assert (cleared["capture_percent"], cleared["shadow_alias"]) == (None, None)
    assert cleared["effective_capture_percent"] == cleared["stack_capture_percent"]


def test_every_change_is_audited_with_who_and_from_to_and_an_unchanged_put_writes_nothing(client, registered):
    put(client, MODEL, {"capture_percent": 20, "shadow_alias": "challenger"})
    put(client, MODEL, {"capture_percent": 20})
    events = [e for e in registered.list_audit_events(MODEL).items if e.event == "serving_settings_changed"]
    [event] = events
    assert event.actor == "anonymous"  # the chalice test client has no IAM identity
    assert event.details == {"from": {"capture_percent": None, "shadow_alias": "shadow"},
                             "to": {"capture_percent": 20.0, "shadow_alias": "challenger"}}


@pytest.mark.parametrize(("body", "code"), [
    ({"capture_percent": 101}, "invalid_input"), ({"capture_percent": -1}, "invalid_input"),
    ({"capture_percent": True}, "invalid_input"), ({"capture_percent": "20"}, "invalid_input"),
    ({"shadow_alias": "Not An Alias"}, "invalid_input"), ({"surprise": 1}, "invalid_input"),
    ({}, "empty_update"),
])
def test_bad_settings_are_refused_with_a_400_and_change_nothing(client, registered, body, code):
    answer = put(client, MODEL, body)
    assert answer.status_code == 400 and answer.json_body["error"]["code"] == code
    assert registered.get_serving_settings(MODEL) == ServingSettings(MODEL)


def test_a_model_without_versions_has_no_serving_settings(client, moto_world):
    assert client.http.get("/models/ghost/serving").status_code == 404
    assert put(client, "ghost", {"capture_percent": 1}).status_code == 404


def service_on_the_registry(world, *, stack_percent: float, ttl: float = 30.0) -> PredictionService:
    """A prediction service on the real registry (moto) with the world's artifacts and clock."""
    from chalicelib.core.settings import get_settings

    return PredictionService(
        registry_factory=default_registry, loader=world.loader, clock=world.clock,
        settings=get_settings().with_overrides(capture_percent=stack_percent, alias_ttl_seconds=ttl),
        sampler=capture_mod.Sampler(stack_percent), capture=capture_mod.CaptureWriter(wait_seconds=5.0))


def predict_and_drain(service, rows, n=1):
    answer = service.predict(MODEL, {"records": [features_only(r) for r in rows[:n]]})
    service.capture.drain()
    return answer


def lines_of(world, answer) -> list[dict]:
    return [line for _, lines in world.captured() for line in lines
            if line["request_id"] == answer["request_id"]]


def test_a_models_capture_percentage_overrides_the_stacks_both_ways(client, registered, world, rows):
    service = service_on_the_registry(world, stack_percent=100)
    put(client, MODEL, {"capture_percent": 0})
    predict_and_drain(service, rows)
    assert world.captured() == []  # the stack captures everything, this model nothing

    quiet = service_on_the_registry(world, stack_percent=0)
    put(client, MODEL, {"capture_percent": 100})
    predict_and_drain(quiet, rows, 3)
    [(_, lines)] = world.captured()
    assert len(lines) == 3


def test_the_models_shadow_alias_scores_captured_requests_and_null_turns_shadowing_off(client, registered,
                                                                                      world, rows):
    registered.set_alias(MODEL, "shadow", 1, actor="test")  # the default alias, on the champion: idle
    put(client, MODEL, {"capture_percent": 100, "shadow_alias": "challenger"})
    answer = predict_and_drain(service_on_the_registry(world, stack_percent=0), rows, 2)
    lines = lines_of(world, answer)
    assert [line["shadow"]["version"] for line in lines] == [2, 2]
    expected = world.pipelines[2].predict(bare_frame([features_only(r) for r in rows[:2]])).tolist()
    assert [line["shadow"]["prediction"] for line in lines] == expected

    registered.set_alias(MODEL, "shadow", 2, actor="test")  # even the default alias on a challenger...
    put(client, MODEL, {"shadow_alias": None})  # ...scores nothing once the model has no shadow alias
    answer = predict_and_drain(service_on_the_registry(world, stack_percent=0), rows, 2)
    lines = lines_of(world, answer)
    assert len(lines) == 2 and all("shadow" not in line for line in lines)


def test_serving_sees_new_settings_once_the_ttl_has_passed_and_reads_them_once_per_ttl(world, rows):
    world.registry.serving[MODEL] = ServingSettings(MODEL, capture_percent=0)
    service = world.service(capture_percent=100, alias_ttl_seconds=30)
    predict_and_drain(service, rows)
    world.registry.serving[MODEL] = ServingSettings(MODEL, capture_percent=100)
    world.clock.advance(29)
    predict_and_drain(service, rows)
    assert world.captured() == []  # still the cached 0 %
    world.clock.advance(2)
    predict_and_drain(service, rows)
    assert len(world.captured()) == 1
    assert world.registry.calls["get_serving_settings"] == 2


def test_a_failing_settings_read_still_answers_with_the_stacks_defaults(world, rows):
    def broken(model):
        raise RuntimeError("throttled")

    world.registry.get_serving_settings = broken
    service = world.service(capture_percent=100)
    answer = service.predict(MODEL, {"records": [features_only(rows[0])]})
    service.capture.drain()
    assert answer["predictions"] and len(world.captured()) == 1
    assert capture_mod.COUNTERS["settings_errors"] == 1


def test_the_openapi_description_has_the_settings_routes_and_their_body(client):
    spec = client.http.get("/openapi.json").json_body
    routes = spec["paths"]["/models/{model}/serving"]
    assert set(routes) == {"get", "put"}
    body = routes["put"]["requestBody"]
    assert body["required"] is True
    schema = body["content"]["application/json"]["schema"]
    assert set(schema["properties"]) == {"capture_percent", "shadow_alias"}
    assert schema["additionalProperties"] is False
