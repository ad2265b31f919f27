"""Differential: every metric sluice reports equals the scikit-learn call its definition names.

The oracle is ``sklearn.metrics`` called here, directly, with the arguments the table in
:mod:`chalicelib.core.training.evaluate` names (and scikit-learn's defaults otherwise): a value sklearn
cannot give (it raises, or returns NaN) must be ``None`` in sluice, never another number.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from chalicelib.core.training.evaluate import compute_metrics
from chalicelib.core.training.spec import TASK_METRICS
from tests.unit.training.oracle import sklearn_says

CLASSIFICATION = list(TASK_METRICS["classification"])
REGRESSION = list(TASK_METRICS["regression"])
BOUNDED = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")


def assert_all_equal(task: str, names: list[str], classes: list, y, p, proba=None) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # sluice itself must not leak sklearn's warnings
        ours = compute_metrics(task, names, y, p, proba, classes)
    expected = {n: sklearn_says(n, classes, y, p, proba) for n in names}
    assert ours == expected


# ---- strategies -----------------------------------------------------------------------------------

WORDS = st.text(alphabet="abcdefghij", min_size=1, max_size=4)


@st.composite
def label_set(draw, size: int) -> list:
    kind = draw(st.sampled_from(["int", "str", "bool"] if size == 2 else ["int", "str"]))
    if kind == "bool":
        return [False, True]
    values = st.integers(-3, 40) if kind == "int" else WORDS
    return sorted(draw(st.lists(values, min_size=size, max_size=size, unique=True)))


@st.composite
def classification_case(draw, n_classes: int | None = None) -> tuple:
    classes = draw(label_set(n_classes or draw(st.integers(3, 6))))
    n = draw(st.integers(2, 40))
    # y_true and y_pred each use a (possibly small) subset: classes go missing from either or both
    truth_pool = draw(st.lists(st.sampled_from(classes), min_size=1, max_size=len(classes), unique=True))
    pred_pool = draw(st.lists(st.sampled_from(classes), min_size=1, max_size=len(classes), unique=True))
    y = draw(st.lists(st.sampled_from(truth_pool), min_size=n, max_size=n))
    p = draw(st.lists(st.sampled_from(pred_pool), min_size=n, max_size=n))
    weights = draw(st.lists(st.lists(st.floats(0.001, 1.0), min_size=len(classes), max_size=len(classes)),
                            min_size=n, max_size=n))
    proba = np.asarray(weights)
    proba = proba / proba.sum(axis=1, keepdims=True)
    return classes, y, p, proba


# ---- classification -------------------------------------------------------------------------------


@pytest.mark.slow  # 2.5-3 s
@BOUNDED
@given(classification_case(n_classes=2))
def test_binary_metrics_equal_sklearn_for_int_string_and_boolean_labels(case):
    classes, y, p, proba = case
    assert_all_equal("classification", CLASSIFICATION, classes, y, p, proba)


@pytest.mark.slow  # 2.5-3 s
@BOUNDED
@given(classification_case())
def test_multiclass_metrics_equal_sklearn_when_classes_are_absent_from_truth_or_predictions(case):
    classes, y, p, proba = case
    assert_all_equal("classification", CLASSIFICATION, classes, y, p, proba)


@settings(max_examples=25, deadline=None)
@given(classification_case())
def test_without_probabilities_the_probability_metrics_are_none_and_the_rest_equal_sklearn(case):
    classes, y, p, _ = case
    assert_all_equal("classification", CLASSIFICATION, classes, y, p, None)
    ours = compute_metrics("classification", ["roc_auc", "log_loss"], y, p, None, classes)
    assert ours == {"roc_auc": None, "log_loss": None}


def test_f1_macro_averages_only_the_classes_present_in_truth_or_predictions():
    # the reported defect: a training class absent from both y_true and y_pred was averaged in as 0
    classes = ["bus", "car", "ferry", "train"]
    y = ["bus", "car", "car", "train", "bus", "train", "car"]
    p = ["bus", "car", "bus", "train", "bus", "car", "car"]
    ours = compute_metrics("classification", ["f1_macro"], y, p, None, classes)["f1_macro"]
    assert ours == pytest.approx(skm.f1_score(y, p, average="macro"), abs=1e-12)


def test_a_live_label_the_model_never_saw_leaves_label_metrics_to_sklearn_and_scores_none():
    classes = ["no", "yes"]
    y, p = ["no", "maybe", "yes", "yes"], ["no", "no", "yes", "no"]
    proba = np.array([[0.8, 0.2], [0.6, 0.4], [0.3, 0.7], [0.55, 0.45]])
    ours = compute_metrics("classification", CLASSIFICATION, y, p, proba, classes)
    assert ours["accuracy"] == skm.accuracy_score(y, p)
    assert ours["f1"] is None  # three labels: sklearn's average="binary" refuses them
    assert ours["f1_macro"] == skm.f1_score(y, p, average="macro")
    assert ours["roc_auc"] is None and ours["log_loss"] is None


# ---- regression -----------------------------------------------------------------------------------

NUMBERS = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)


@st.composite
def regression_case(draw) -> tuple:
    n = draw(st.integers(2, 40))
    y = draw(st.lists(NUMBERS, min_size=n, max_size=n))
    p = draw(st.lists(NUMBERS, min_size=n, max_size=n))
    return np.asarray(y), np.asarray(p)


@BOUNDED
@given(regression_case())
def test_regression_metrics_equal_sklearn(case):
    y, p = case
    assert_all_equal("regression", REGRESSION, [], y, p)


def test_a_single_row_has_no_r2_rather_than_a_made_up_one():
    assert compute_metrics("regression", ["r2", "rmse"], [3.0], [2.5])["r2"] is None
