"""A real fit's holdout metrics, trivial baseline and champion re-score equal scikit-learn's on the same
predictions; a split scikit-learn cannot stratify falls back to a random one and says so."""

from __future__ import annotations

import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.model_selection import train_test_split

from chalicelib.core.training.evaluate import score_model
from chalicelib.core.training.features import resolve_features
from chalicelib.core.training.pipeline import prepare_frame, split_rows
from chalicelib.core.training.spec import TASK_METRICS, TrainingSpec
from chalicelib.core.training.trainer import train
from chalicelib.core.validation.contract import parse_contract
from tests.unit.training.conftest import CONTRACT, rides_frame, spec_body
from tests.unit.training.oracle import sklearn_says

CONTRACT_MODEL = parse_contract(CONTRACT)
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")


def spec(**overrides) -> TrainingSpec:
    return TrainingSpec.model_validate(spec_body(**overrides))


def fit(s: TrainingSpec, frame: pd.DataFrame):
    return train(s, resolve_features(s, CONTRACT_MODEL), frame, importance=False)


def tiers(frame: pd.DataFrame) -> pd.DataFrame:
    """Four fare tiers; "vip" only on the five earliest rides, so a time split never holds it out."""
    frame = frame.copy()
    frame["tipped"] = np.select([frame["fare"] < 10, frame["fare"] < 16], ["low", "mid"], "high")
    frame.loc[:4, "tipped"] = "vip"
    return frame


def expected(classes, y, predictions, proba) -> dict:
    names = TASK_METRICS["classification"]
    return {n: sklearn_says(n, classes, list(y), list(predictions), proba) for n in names}


def test_holdout_metrics_equal_sklearn_when_a_training_class_is_absent_from_the_holdout():
    s = spec(split={"method": "time", "column": "pickup_ts", "test_size": 0.25},
             estimator={"name": "LogisticRegression", "params": {"max_iter": 500}})
    result = fit(s, tiers(rides_frame()))
    predictions = result.pipeline.predict(result.X_test)
    assert result.classes == ["high", "low", "mid", "vip"]
    assert "vip" not in set(result.y_test) | set(predictions)  # the defect's situation, really met
    proba = result.pipeline.predict_proba(result.X_test)
    assert {n: result.metrics[n] for n in TASK_METRICS["classification"]} == expected(
        result.classes, result.y_test, predictions, proba)
    averaged_in = skm.f1_score(result.y_test, predictions, average="macro", labels=result.classes)
    assert result.metrics["f1_macro"] != pytest.approx(averaged_in)


def test_the_trivial_baseline_is_the_majority_class_with_the_training_priors_scored_by_sklearn():
    s = spec(split={"method": "time", "column": "pickup_ts", "test_size": 0.25})
    frame = tiers(rides_frame())
    result = fit(s, frame)
    _, y = prepare_frame(frame, s, resolve_features(s, CONTRACT_MODEL))
    held_out = len(result.y_test)
    y_train = y.iloc[np.argsort(frame["pickup_ts"].to_numpy(), kind="stable")[:-held_out]]
    counts = Counter(y_train)
    majority = sorted(counts, key=lambda c: (-counts[c], c))[0]
    priors = np.tile([counts[c] / len(y_train) for c in result.classes], (held_out, 1))
    assert result.baseline == expected(result.classes, result.y_test, [majority] * held_out, priors)
    assert result.baseline["log_loss"] == pytest.approx(skm.log_loss(result.y_test, priors,
                                                                     labels=result.classes))


def test_the_champion_is_rescored_on_the_holdout_as_sklearn_scores_its_own_predictions():
    s = spec(split={"method": "time", "column": "pickup_ts", "test_size": 0.25})
    frame = tiers(rides_frame())
    challenger = fit(s, frame)
    names = list(TASK_METRICS["classification"])
    # a champion that never saw "vip": its probabilities get a zero column for it
    older = frame[frame["tipped"] != "vip"]
    champion = fit(spec(split=s.split.model_dump(),
                        estimator={"name": "DecisionTreeClassifier", "params": {"max_depth": 3}}), older)
    got = score_model(champion.pipeline, challenger.X_test, challenger.y_test, "classification", names,
                      challenger.classes)
    own = champion.pipeline.predict_proba(challenger.X_test)
    padded = np.column_stack([own, np.zeros(len(own))])  # champion classes high, low, mid (+ vip: 0)
    predictions = champion.pipeline.predict(challenger.X_test)
    assert got == expected(challenger.classes, challenger.y_test, predictions, padded)


def test_a_champion_with_a_class_the_challenger_lacks_has_no_probability_metrics():
    frame = tiers(rides_frame())
    champion = fit(spec(split={"method": "random"}), frame)  # knows vip
    plain = frame[frame["tipped"] != "vip"]
    challenger = fit(spec(split={"method": "random"}), plain)
    got = score_model(champion.pipeline, challenger.X_test, challenger.y_test, "classification",
                      ["accuracy", "log_loss", "roc_auc"], challenger.classes)
    predictions = champion.pipeline.predict(challenger.X_test)
    assert got == {"accuracy": skm.accuracy_score(challenger.y_test, predictions), "log_loss": None,
                   "roc_auc": None}


def test_regression_holdout_metrics_equal_sklearn():
    s = spec(task="regression", target="fare", metrics={"primary": "rmse"}, estimator={"name": "Ridge"},
             features={"all_except": ["ride_id", "tipped"]}, split={"method": "random"})
    result = fit(s, rides_frame())
    predictions = result.pipeline.predict(result.X_test)
    assert result.metrics == {n: sklearn_says(n, [], result.y_test, predictions, None)
                              for n in TASK_METRICS["regression"]}


# ---- stratification that cannot be done -----------------------------------------------------------


def lone_class_frame(in_holdout: bool) -> pd.DataFrame:
    """The rides with one "maybe" row, placed where the fallback (random, seed 3) split puts it."""
    frame = rides_frame()
    _, holdout = train_test_split(np.arange(len(frame)), test_size=0.25, random_state=3)
    row = holdout[0] if in_holdout else next(i for i in range(len(frame)) if i not in set(holdout))
    frame.loc[row, "tipped"] = "maybe"
    return frame


@pytest.mark.parametrize("in_holdout", [False, True])
def test_a_stratified_split_on_a_one_row_class_falls_back_to_random_with_a_warning(in_holdout):
    s = spec()  # split: stratified, test_size 0.25, seed 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit(s, lone_class_frame(in_holdout))
    codes = [w["code"] for w in result.warnings]
    assert codes[0] == "stratified_split_fallback"
    assert "1 of the 3 classes has a single row" in result.warnings[0]["reason"]
    expected_holdout = train_test_split(np.arange(300), test_size=0.25, random_state=3)[1]
    assert result.rows["holdout"] == len(expected_holdout)
    if in_holdout:  # the model never saw it: still a run, with the probability metrics None
        assert codes[1:] == ["holdout_classes_unseen"] and result.metrics["log_loss"] is None
        assert result.evaluation["confusion_matrix"]["labels"] == ["no", "yes", "maybe"]
    else:
        assert codes == ["stratified_split_fallback"] and "maybe" in result.classes


def test_a_holdout_smaller_than_the_number_of_classes_also_falls_back_with_sklearns_reason():
    y = pd.Series(["a", "b", "c"] * 4)
    s = spec(split={"method": "stratified", "test_size": 0.1})  # 2 holdout rows for 3 classes
    notes: list = []
    train_rows, test_rows = split_rows(None, y, s, notes)
    assert [n["code"] for n in notes] == ["stratified_split_fallback"]
    assert "should be greater or equal to the number of classes = 3" in notes[0]["reason"]
    expected = train_test_split(np.arange(12), test_size=0.1, random_state=3)
    assert train_rows.tolist() == expected[0].tolist() and test_rows.tolist() == expected[1].tolist()
