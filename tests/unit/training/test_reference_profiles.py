"""What a version's drift reference holds: every row with a target, the date parts the pipeline derives
(as the model sees them), and a prediction for every row from a model that did not see it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from chalicelib.core.drift.profile import build_profile
from chalicelib.core.training.features import Feature, derived_features, resolve_features
from chalicelib.core.training.pipeline import build_pipeline, date_parts, with_derived
from chalicelib.core.training.spec import TrainingSpec
from chalicelib.core.training.trainer import reference_predictions, train
from chalicelib.core.validation.contract import parse_contract
from tests.unit.training.conftest import CONTRACT, rides_frame, spec_body

CONTRACT_MODEL = parse_contract(CONTRACT)


def spec(**overrides):
    return TrainingSpec.model_validate(spec_body(**overrides))


def test_a_model_trained_on_100_rows_has_a_reference_of_100_rows_and_100_predictions():
    s = spec()
    result = train(s, resolve_features(s, CONTRACT_MODEL), rides_frame(100), build_profile=build_profile,
                   importance=False)
    assert result.rows == {"total": 100, "train": 75, "holdout": 25}
    assert result.feature_profile.rows == 100 and result.feature_profile["distance_km"].count == 100 - 6
    prediction = result.prediction_profile["prediction"]
    assert prediction.count == 100 and set(prediction.frequencies) <= {"no", "yes"}
    assert result.prediction_reference == {"rows": 100, "training_rows": 75, "holdout_rows": 25,
                                           "holdout": "final model", "method": "out_of_fold", "folds": 5,
                                           "cv": "StratifiedKFold", "seed": 3}


def test_the_out_of_fold_predictions_are_scikit_learns_cross_val_predict_on_the_same_folds():
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    s = spec()
    features = resolve_features(s, CONTRACT_MODEL)
    frame = rides_frame(120)
    X, y = frame[[f.name for f in features]], frame["tipped"].astype(object)
    holdout = np.array(["yes"] * 7, dtype=object)
    fitted = build_pipeline(s, features).fit(X, y)
    values, how = reference_predictions(s, features, fitted, X, y, holdout)
    expected = cross_val_predict(build_pipeline(s, features), X, y,
                                 cv=StratifiedKFold(5, shuffle=True, random_state=s.seed))
    assert how["method"] == "out_of_fold"
    assert values.tolist() == [*expected.tolist(), *holdout.tolist()]


def test_the_reference_falls_back_to_in_sample_predictions_when_folds_cost_too_much_and_says_so():
    s = spec()
    features = resolve_features(s, CONTRACT_MODEL)
    frame = rides_frame(60)
    X, y = frame[[f.name for f in features]], frame["tipped"].astype(object)
    fitted = build_pipeline(s, features).fit(X, y)
    values, how = reference_predictions(s, features, fitted, X, y, np.array([], dtype=object),
                                        fit_seconds=30.0)
    assert how["method"] == "in_sample"
    assert how["reason"] == "one fit took 30.0 s: 5 more would pass the 120 s budget"
    assert values.tolist() == fitted.predict(X).tolist()
    _, few = reference_predictions(s, features, fitted, X.head(8), y.head(8), np.array([], dtype=object))
    assert few["method"] == "in_sample" and few["reason"] == "8 training rows are too few for 5 folds"


def test_regression_folds_are_plain_shuffled_k_folds():
    s = spec(task="regression", target="fare", metrics={"primary": "rmse"}, estimator={"name": "Ridge"},
             split={"method": "random"}, features={"all_except": ["ride_id", "tipped"]})
    result = train(s, resolve_features(s, CONTRACT_MODEL), rides_frame(80), build_profile=build_profile,
                   importance=False)
    assert result.prediction_reference["cv"] == "KFold"
    assert result.prediction_profile["prediction"].count == 80


def test_date_parts_are_profiled_as_the_model_sees_them():
    s = spec()
    features = resolve_features(s, CONTRACT_MODEL)
    frame = rides_frame(200)
    result = train(s, features, frame, build_profile=build_profile, importance=False)
    profile = result.feature_profile
    assert {d.name: d.kind for d in result.derived} == {
        "pickup_ts.year": "numeric", "pickup_ts.month": "categorical", "pickup_ts.day": "numeric",
        "pickup_ts.dayofweek": "categorical", "pickup_ts.hour": "categorical"}
    stamps = frame["pickup_ts"]
    months = stamps.dt.month.value_counts()
    assert profile["pickup_ts.month"].frequencies == {str(k): int(v) for k, v in months.items()}
    weekdays = stamps.dt.day_of_week.value_counts()
    assert profile["pickup_ts.dayofweek"].frequencies == {str(k): int(v) for k, v in weekdays.items()}
    assert profile["pickup_ts.day"].mean == pytest.approx(stamps.dt.day.mean())
    assert "pickup_ts" not in profile.features  # the raw stamp drifts by construction


def test_derived_columns_equal_the_pipelines_own_date_parts_and_missing_stamps_stay_missing():
    features = [Feature("when", "timestamp"), Feature("day", "date"), Feature("n", "float")]
    derived = derived_features(features, ["month", "dayofweek", "hour", "year"])
    assert [d.name for d in derived] == ["when.month", "when.dayofweek", "when.hour", "when.year",
                                        "day.month", "day.dayofweek", "day.year"]  # a date has no hour
    frame = pd.DataFrame({"when": ["2026-03-04T05:06:07Z", None, "not a time"],
                          "day": ["2026-12-31", "2026-01-01", None], "n": [1.0, 2.0, 3.0]})
    out = with_derived(frame, derived)
    parts = date_parts(frame[["when"]], ("month", "dayofweek", "hour", "year"))
    assert out["when.month"].tolist()[0] == parts[0, 0] == 3 and out["when.hour"].tolist()[0] == 5
    assert out["when.month"].isna().tolist() == [False, True, True]
    assert out["day.dayofweek"].tolist()[:2] == [3, 3] and out["day.year"].tolist()[:2] == [2026, 2026]


def test_a_derived_name_a_real_feature_already_has_is_not_derived_again():
    features = [Feature("t", "timestamp"), Feature("t.month", "int")]
    assert [d.name for d in derived_features(features, ["month", "year"])] == ["t.year"]
