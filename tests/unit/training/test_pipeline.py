"""The pure core: features from the contract, preprocessing by column type, splits, fit + evaluate."""

import numpy as np
import pandas as pd
import pytest

from chalicelib.core.training.features import feasibility_problems, resolve_features
from chalicelib.core.training.pipeline import date_parts, split_rows, to_strings
from chalicelib.core.training.spec import TrainingSpec
from chalicelib.core.training.trainer import train
from chalicelib.core.validation.contract import parse_contract
from tests.unit.training.conftest import CONTRACT, rides_frame, spec_body

CONTRACT_MODEL = parse_contract(CONTRACT)


def spec(**overrides):
    return TrainingSpec.model_validate(spec_body(**overrides))


def test_all_except_leaves_out_the_target_pii_and_the_excluded_columns():
    names = [f.name for f in resolve_features(spec(), CONTRACT_MODEL)]
    assert names == ["distance_km", "zone", "night", "pickup_ts"]


@pytest.mark.parametrize("action", ["hash", "mask", "drop"])
def test_a_column_declared_pii_cannot_be_listed_as_a_feature_whatever_its_pii_action(action):
    contract = parse_contract({**CONTRACT, "columns": [*CONTRACT["columns"][:-1],
                                                       {"name": "card", "type": "string", "pii": action},
                                                       CONTRACT["columns"][-1]]})
    [problem] = feasibility_problems(spec(features=["distance_km", "card", "rider_email"]), contract)
    assert problem.startswith(f"feature column(s) declared PII in the contract: card (pii: {action}), "
                              "rider_email (pii: hash); PII columns cannot be features")
    assert feasibility_problems(spec(features=["distance_km", "zone"]), contract) == []


def test_regression_needs_a_numeric_target():
    problems = feasibility_problems(spec(task="regression", target="zone", metrics={"primary": "rmse"},
                                         estimator={"name": "Ridge"}, split={"method": "random"}),
                                    CONTRACT_MODEL)
    assert problems == ["regression needs a numeric target; 'zone' is category"]


@pytest.mark.slow
def test_same_spec_data_and_seed_give_identical_results():
    frame = rides_frame()
    features = resolve_features(spec(), CONTRACT_MODEL)
    one = train(spec(estimator={"name": "RandomForestClassifier", "params": {"n_estimators": 20}}),
                features, frame)
    two = train(spec(estimator={"name": "RandomForestClassifier", "params": {"n_estimators": 20}}),
                features, frame)
    assert one.metrics == two.metrics and one.importance == two.importance
    other = train(spec(seed=4, estimator={"name": "RandomForestClassifier", "params": {"n_estimators": 20}}),
                  features, frame)
    assert other.metrics != one.metrics


def test_a_time_split_holds_out_the_latest_rows():
    frame = rides_frame(100).sample(frac=1.0, random_state=1).reset_index(drop=True)
    s = spec(features={"all_except": ["ride_id", "fare"]}, split={"method": "time", "column": "pickup_ts",
                                                                   "test_size": 0.2})
    train_rows, test_rows = split_rows(frame, frame["tipped"], s)
    assert len(test_rows) == 20
    assert frame.loc[test_rows, "pickup_ts"].min() > frame.loc[train_rows, "pickup_ts"].max()


@pytest.mark.slow
def test_regression_reports_residuals_and_beats_the_mean():
    s = spec(task="regression", target="fare", metrics={"primary": "rmse", "guardrails": ["mae"]},
             estimator={"name": "HistGradientBoostingRegressor", "params": {"max_iter": 50}},
             features={"all_except": ["ride_id", "tipped"]}, split={"method": "random"})
    result = train(s, resolve_features(s, CONTRACT_MODEL), rides_frame())
    assert result.metrics["rmse"] < result.baseline["rmse"]
    assert set(result.metrics) == {"rmse", "mae", "r2", "mape"}
    assert result.evaluation["residuals"]["count"] == result.rows["holdout"] == 60


def test_dates_become_their_parts_and_missing_categories_stay_missing():
    stamps = pd.DataFrame({"t": ["2026-03-04T05:06:07Z", None]})
    parts = date_parts(stamps, ("year", "month", "day", "dayofweek", "hour"))
    assert parts[0].tolist() == [2026, 3, 4, 2, 5] and np.isnan(parts[1]).all()
    strings = to_strings(pd.DataFrame({"c": ["a", None, np.nan], "n": pd.array([1, 2, None], dtype="Int64")}))
    assert strings[0].tolist() == ["a", "1"]
    assert np.isnan(strings[1][0]) and np.isnan(strings[2][1])


def test_category_cardinality_is_capped():
    frame = rides_frame()
    frame["zone"] = [f"z{i}" for i in range(len(frame))]
    s = spec(preprocessing={"max_categories": 5})
    result = train(s, resolve_features(s, CONTRACT_MODEL), frame, importance=False)
    encoder = result.pipeline.named_steps["preprocess"].named_transformers_["categorical"]["onehot"]
    assert sum(len(c) for c in encoder.categories_) == len(frame) - len(result.X_test)
    assert result.pipeline.named_steps["preprocess"].transform(result.X_test).shape[1] <= 5 + 1 + 1 + 5
