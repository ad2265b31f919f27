"""POST /models/{model}/predict over the Chalice test client, with a fake registry and loader."""

import json

import numpy as np
import pytest

from chalicelib.services.serving import set_service
from tests.functional.serving.conftest import MODEL, bare_frame, features_only

HEADERS = {"Content-Type": "application/json"}


@pytest.fixture
def http(world, client):
    set_service(world.service())
    return client


def post(client, body, query="", model=MODEL):
    return client.http.post(f"/models/{model}/predict{query}", body=json.dumps(body), headers=HEADERS)


def test_production_answers_by_default_with_predictions_probabilities_and_a_request_id(http, world, rows):
    records = [features_only(r) for r in rows[:3]]
    response = post(http, {"records": records})
    assert response.status_code == 200, response.body
    answer = response.json_body
    assert (answer["model"], answer["version"], answer["alias"]) == (MODEL, 1, "production")
    assert len(answer["request_id"]) >= 8
    bare = world.pipelines[1]
    assert answer["predictions"] == bare.predict(bare_frame(records)).tolist()
    expected = bare.predict_proba(bare_frame(records))
    assert [sorted(p) for p in answer["probabilities"]] == [["0", "1"]] * 3
    assert np.allclose([[p["0"], p["1"]] for p in answer["probabilities"]], expected)
    assert "ignored_fields" not in answer


def test_columns_and_data_give_the_same_answer_as_records(http, rows):
    records = [features_only(r) for r in rows[:4]]
    columns = list(records[0])
    by_records = post(http, {"records": records}).json_body
    data = [[r[c] for c in columns] for r in records]
    by_columns = post(http, {"columns": columns, "data": data}).json_body
    assert by_records["predictions"] == by_columns["predictions"]
    assert by_records["probabilities"] == by_columns["probabilities"]


def test_version_and_alias_select_what_answers(http, rows):
    body = {"records": [features_only(rows[0])]}
    assert post(http, body, "?version=2").json_body["version"] == 2
    assert post(http, body, "?version=2").json_body["alias"] is None
    staging = post(http, body, "?alias=staging").json_body
    assert (staging["version"], staging["alias"]) == (2, "staging")


def test_alias_and_version_together_are_a_400(http, rows):
    response = post(http, {"records": [features_only(rows[0])]}, "?alias=staging&version=1")
    assert response.status_code == 400
    assert response.json_body["error"] == {"code": "alias_and_version",
                                           "message": "give ?alias= or ?version=, not both"}


def test_unknown_models_aliases_and_versions_are_404(http, rows):
    for query, model, code in [
        ("", "nope", "alias_not_found"), ("?alias=canary", MODEL, "alias_not_found"),
        ("?version=9", MODEL, "model_version_not_found"), ("?version=1", "nope", "model_version_not_found"),
    ]:
        response = post(http, {"records": [features_only(rows[0])]}, query, model=model)
        assert response.status_code == 404, (query, model)
        assert response.json_body["error"]["code"] == code


def test_a_version_that_is_not_a_number_is_a_400(http, rows):
    response = post(http, {"records": [features_only(rows[0])]}, "?version=latest")
    assert response.status_code == 400
    assert response.json_body["error"]["code"] == "invalid_version"


def test_a_schema_error_is_a_400_naming_record_and_field(http, rows):
    records = [features_only(r) for r in rows[:3]]
    records[2]["charges"] = "lots"
    del records[1]["signup"]
    response = post(http, {"records": records})
    assert response.status_code == 400
    error = response.json_body["error"]
    assert error["code"] == "invalid_records"
    assert [(d["record"], d["field"], d["problem"]) for d in error["details"]] == [
        (1, "signup", "missing"), (2, "charges", "wrong_type")]
    assert "lots" not in response.body if isinstance(response.body, str) else b"lots" not in response.body


def test_too_many_records_is_a_400(world, client, rows, monkeypatch):
    monkeypatch.setenv("SLUICE_MAX_PREDICT_RECORDS", "2")
    set_service(world.service(max_predict_records=2))
    response = post(client, {"records": [features_only(r) for r in rows[:3]]})
    assert response.status_code == 400
    assert response.json_body["error"]["code"] == "too_many_records"
    assert response.json_body["error"]["details"][0]["record"] == 2
    assert world.registry.calls["get_alias"] == 0  # refused before any registry read


def test_extra_fields_are_ignored_and_named_in_the_answer(http, rows):
    record = {**features_only(rows[0]), "email": "someone@example.com", "churned": 1}
    answer = post(http, {"records": [record]}).json_body
    assert answer["ignored_fields"] == ["churned", "email"]
    assert answer["predictions"] == post(http, {"records": [features_only(rows[0])]}).json_body["predictions"]


def test_a_missing_or_malformed_body_is_a_400(http):
    response = http.http.post(f"/models/{MODEL}/predict", body="{nope", headers=HEADERS)
    assert response.status_code == 400
    assert response.json_body["error"]["code"] == "invalid_json"
    assert post(http, {"rows": []}).json_body["error"]["code"] == "invalid_predict_body"


def test_a_regressor_answers_without_probabilities(world, client, rows):
    from tests.functional.serving.conftest import fit_pipeline

    world.add_version(1, fit_pipeline(rows, task="regression"), model="spend", task="regression",
                      aliases=("production",))
    set_service(world.service())
    answer = post(client, {"records": [features_only(rows[0])]}, model="spend").json_body
    assert "probabilities" not in answer
    assert answer["predictions"] == pytest.approx(world.pipelines[1].predict(bare_frame([rows[0]])).tolist())


def test_nulls_are_imputed_by_the_pipeline(http, world, rows):
    record = {**features_only(rows[0]), "charges": None, "plan": None, "signup": None}
    answer = post(http, {"records": [record]}).json_body
    import pandas as pd

    frame = bare_frame([rows[0]])
    frame.loc[0, "charges"] = np.nan
    frame["plan"] = frame["plan"].astype(object)
    frame.loc[0, "plan"] = np.nan
    frame.loc[0, "signup"] = pd.NaT
    assert answer["predictions"] == world.pipelines[1].predict(frame).tolist()
