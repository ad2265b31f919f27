"""Training specs: validated on PUT (estimator allow-list, parameters, feasibility), stored versioned."""

import json

from tests.functional.training.conftest import send
from tests.unit.training.conftest import spec_body


def test_a_valid_spec_is_stored_as_a_new_version_each_put(client, make_dataset):
    make_dataset()
    status, first = send(client, "put", "/models/tips/spec", spec_body())
    assert status == 201 and first["version"] == 1
    status, second = send(client, "put", "/models/tips/spec", spec_body(seed=9))
    assert status == 201 and second["version"] == 2
    _, latest = send(client, "get", "/models/tips/spec")
    _, old = send(client, "get", "/models/tips/spec?version=1")
    assert latest["version"] == 2 and latest["spec"]["seed"] == 9
    assert old["version"] == 1 and old["spec"]["seed"] == 3


def test_a_spec_can_be_stored_before_its_dataset_has_a_contract(client, moto_world):
    status, body = send(client, "put", "/models/early/spec", spec_body(dataset="later"))
    assert status == 201 and body["spec"]["metrics"]["primary"] == "accuracy"


def test_a_disallowed_estimator_is_refused_with_the_allowed_names(client, moto_world):
    status, body = send(client, "put", "/models/m/spec",
                        spec_body(estimator={"name": "os.system", "params": {}}))
    assert status == 400
    assert body["error"]["code"] == "estimator_not_allowed"
    assert "RandomForestClassifier" in body["error"]["message"]
    assert "HistGradientBoostingRegressor" in body["error"]["message"]


def test_an_unknown_parameter_is_refused_with_the_allowed_parameters(client, moto_world):
    status, body = send(client, "put", "/models/m/spec",
                        spec_body(estimator={"name": "LogisticRegression", "params": {"depth": 3}}))
    assert status == 400
    assert body["error"]["code"] == "invalid_estimator_params"
    assert "unknown or reserved parameter(s) depth" in body["error"]["message"]
    assert "max_iter" in body["error"]["message"] and "solver" in body["error"]["message"]


def test_a_parameter_of_the_wrong_type_or_a_reserved_one_is_refused(client, moto_world):
    status, body = send(client, "put", "/models/m/spec",
                        spec_body(estimator={"name": "LogisticRegression", "params": {"C": "big"}}))
    assert status == 400 and body["error"]["code"] == "invalid_estimator_params"
    assert "'C' parameter of LogisticRegression must be a float" in body["error"]["message"]
    status, body = send(client, "put", "/models/m/spec",
                        spec_body(estimator={"name": "RandomForestClassifier",
                                             "params": {"random_state": 1}}))
    assert status == 400 and "random_state" in body["error"]["message"]


def test_an_estimator_of_the_other_task_is_refused(client, moto_world):
    status, body = send(client, "put", "/models/m/spec", spec_body(estimator={"name": "Ridge"}))
    assert status == 400 and body["error"]["code"] == "invalid_estimator_params"
    assert "Ridge is for regression" in body["error"]["message"]


def test_metrics_of_the_other_task_are_refused_listing_the_allowed_ones(client, moto_world):
    status, body = send(client, "put", "/models/m/spec",
                        spec_body(metrics={"primary": "rmse"}, promotion={"guardrails": {"mae": 0.1}}))
    assert status == 400 and body["error"]["code"] == "invalid_input"
    assert "rmse not a classification metric" in body["error"]["message"]
    assert "mae not a classification metric" in body["error"]["message"]
    assert "roc_auc" in body["error"]["message"]


def test_a_time_split_needs_a_column(client, moto_world):
    status, body = send(client, "put", "/models/m/spec", spec_body(split={"method": "time"}))
    assert status == 400 and "needs split.column" in body["error"]["message"]


def test_an_infeasible_spec_lists_every_problem_against_the_contract(client, make_dataset):
    make_dataset()
    status, body = send(client, "put", "/models/m/spec",
                        spec_body(target="tip_amount", features=["distance_km", "surge", "tipped"]))
    assert status == 400 and body["error"]["code"] == "invalid_spec"
    problems = body["error"]["details"]["problems"]
    assert any("target 'tip_amount' is not a contract column" in p for p in problems)
    assert any("not in the contract: surge" in p for p in problems)
    status, body = send(client, "put", "/models/m/spec", spec_body(features=["distance_km", "tipped"]))
    assert status == 400 and "also listed as a feature" in body["error"]["message"]
    status, body = send(client, "put", "/models/m/spec",
                        spec_body(target="fare", task="regression", metrics={"primary": "rmse"},
                                  estimator={"name": "Ridge"}, split={"method": "stratified"}))
    assert status == 400 and "'stratified' is for classification" in body["error"]["message"]


def test_reading_a_missing_spec_is_a_404(client, moto_world):
    status, body = send(client, "get", "/models/nobody/spec")
    assert status == 404 and body["error"]["code"] == "spec_not_found"
    send(client, "put", "/models/one/spec", spec_body())
    status, body = send(client, "get", "/models/one/spec?version=7")
    assert status == 404 and "no training spec version 7" in body["error"]["message"]


def test_drift_settings_in_the_spec_are_checked_by_the_drift_config(client, moto_world):
    status, body = send(client, "put", "/models/m/spec", spec_body(drift={"alpha": 2}))
    assert status == 400 and body["error"]["code"] == "invalid_input" and "drift" in body["error"]["message"]
    status, body = send(client, "put", "/models/m/spec", spec_body(drift={"alpha": 0.01}))
    assert status == 201 and body["spec"]["drift"] == {"alpha": 0.01}


def test_model_names_follow_the_registry_rule(client, moto_world):
    status, body = send(client, "put", "/models/Bad.Name/spec", spec_body())
    assert status == 400 and body["error"]["code"] == "invalid_name"


def test_promotion_thresholds_are_stored_and_must_name_a_task_metric_and_a_bound(client, moto_world):
    thresholds = {"accuracy": {"min": 0.6}, "log_loss": {"max": 0.7}, "f1_macro": {"min": 0.2, "max": 0.99}}
    status, body = send(client, "put", "/models/m/spec", spec_body(promotion={"thresholds": thresholds}))
    assert status == 201
    assert body["spec"]["promotion"]["thresholds"]["accuracy"] == {"min": 0.6, "max": None}
    status, body = send(client, "put", "/models/m/spec",
                        spec_body(promotion={"thresholds": {"rmse": {"max": 12}}}))
    assert status == 400
    assert "promotion.thresholds: rmse not a classification metric" in body["error"]["message"]
    for bad, says in (({}, "needs min, max or both"), ({"min": 0.9, "max": 0.1}, "min must be ≤ its max"),
                      ({"above": 0.5}, "above")):
        status, body = send(client, "put", "/models/m/spec",
                            spec_body(promotion={"thresholds": {"accuracy": bad}}))
        assert status == 400 and says in json.dumps(body, ensure_ascii=False), body


def test_balanced_accuracy_and_the_unambiguous_averages_are_metrics_a_spec_may_name(client, moto_world):
    body = spec_body(metrics={"primary": "balanced_accuracy", "guardrails": ["f1_weighted"]},
                     promotion={"guardrails": {"recall_macro": 0.05, "precision_weighted": 0.05}})
    status, out = send(client, "put", "/models/m/spec", body)
    assert status == 201 and out["spec"]["metrics"]["primary"] == "balanced_accuracy"
