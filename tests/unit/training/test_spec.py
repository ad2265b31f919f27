"""Estimator parameters a training run in Lambda cannot afford are refused without echoing values."""


def test_sizes_a_lambda_run_cannot_afford_are_refused_and_values_are_not_echoed():
    from chalicelib.core.training.estimators import check_estimator

    assert check_estimator("RandomForestRegressor", {"n_estimators": 10**9}) == [
        "parameter(s) past what a training run in Lambda can afford: n_estimators ≤ 5,000"]
    [problem] = check_estimator("LogisticRegression", {"penalty": "secret8@victim.com"})
    assert "penalty" in problem and "secret8@victim.com" not in problem
