"""Scoring gives exactly scikit-learn's ``predict`` and ``predict_proba``, whatever the shortcut taken."""

import numpy as np
import pytest
from sklearn.ensemble import ExtraTreesClassifier, HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from chalicelib.core.serving.scoring import output_columns, score

RNG = np.random.default_rng(0)
X = RNG.normal(size=(300, 4))
Y = np.where(X[:, 0] + RNG.normal(size=300) > 0, "yes", "no").astype(object)
Y[:30] = "maybe"
X_NEW = RNG.normal(size=(500, 4))


@pytest.mark.parametrize("estimator", [
    RandomForestClassifier(n_estimators=15, random_state=0),
    ExtraTreesClassifier(n_estimators=15, random_state=0), HistGradientBoostingClassifier(max_iter=20),
    DecisionTreeClassifier(max_depth=4),
    LogisticRegression(max_iter=500),
], ids=lambda e: type(e).__name__)
def test_classifier_scores_equal_predict_and_predict_proba(estimator):
    pipeline = make_pipeline(StandardScaler(), estimator).fit(X, Y)
    scores = score(pipeline, X_NEW)
    assert scores.predictions == pipeline.predict(X_NEW).tolist()
    assert np.allclose(scores.probability_matrix, pipeline.predict_proba(X_NEW))
    assert scores.classes == ["maybe", "no", "yes"]
    assert list(scores.probabilities()[0]) == ["maybe", "no", "yes"]
    assert output_columns(pipeline) == (["maybe", "no", "yes"], True)


def test_a_regressor_has_predictions_only():
    pipeline = make_pipeline(StandardScaler(), LinearRegression()).fit(X, X[:, 1] * 3)
    scores = score(pipeline, X_NEW)
    assert np.allclose(scores.predictions, pipeline.predict(X_NEW))
    assert scores.probabilities() is None
    assert output_columns(pipeline) == (None, False)


def test_a_classifier_without_probabilities_still_predicts():
    pipeline = make_pipeline(StandardScaler(), SVC(probability=False)).fit(X, Y)
    scores = score(pipeline, X_NEW[:5])
    assert scores.predictions == pipeline.predict(X_NEW[:5]).tolist()
    assert scores.probabilities() is None
