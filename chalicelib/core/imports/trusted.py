"""The types a skops file may name to be imported: an explicit list, checked before anything is built.

skops refuses a type it does not trust, but it trusts by default every scikit-learn estimator and many
numpy functions. sluice trusts less and says exactly what: the types a pipeline of sluice's own
(:func:`chalicelib.core.training.pipeline.build_pipeline` with any allow-listed estimator,
:mod:`chalicelib.core.training.estimators`) is made of — their fitted internals (trees, losses, binners,
neighbour indexes) included — the common scikit-learn transformers a pipeline built elsewhere uses,
the preprocessing functions of sluice's pipelines (as sluice names them and as an export names them,
``sluice_transforms``), and a few numpy functions for ``FunctionTransformer``. A file that names any
other type is refused with the type's name; nothing in it is constructed.

tests/unit/imports checks that every name here exists and that every allow-listed estimator's sluice
pipeline names only these types (a new estimator on the allow-list fails that test until it is here).
"""

from __future__ import annotations

from collections.abc import Iterable

BUILTINS = ("builtins.dict", "builtins.list", "builtins.tuple", "builtins.str", "builtins.int",
            "builtins.float", "builtins.bool", "builtins.slice", "builtins.NoneType")
NUMPY = ("numpy.ndarray", "numpy.dtype", "numpy.float64", "numpy.float32", "numpy.int64", "numpy.int32",
         "numpy.uint64", "numpy.uint32", "numpy.uint8", "numpy.bool_", "numpy.str_", "numpy.object_",
         "numpy.random.mtrand.RandomState", "numpy.random._generator.Generator")
# numpy functions a FunctionTransformer may call (element-wise, no side effects)
NUMPY_FUNCTIONS = ("numpy.log1p", "numpy.expm1", "numpy.log", "numpy.exp", "numpy.sqrt", "numpy.square",
                   "numpy.absolute")
# sluice's preprocessing functions: in the pipelines it trains, and as its exports name them
SLUICE_FUNCTIONS = tuple(f"{module}.{name}" for module in ("chalicelib.core.training.pipeline",
                                                           "sluice_transforms")
                         for name in ("to_float", "to_strings", "date_parts"))
ESTIMATORS = (  # the allow-list of chalicelib.core.training.estimators, by the module that defines them
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.ensemble._forest.RandomForestClassifier", "sklearn.ensemble._forest.ExtraTreesClassifier",
    "sklearn.ensemble._gb.GradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.tree._classes.DecisionTreeClassifier", "sklearn.neighbors._classification.KNeighborsClassifier",
    "sklearn.linear_model._base.LinearRegression", "sklearn.linear_model._ridge.Ridge",
    "sklearn.linear_model._coordinate_descent.Lasso", "sklearn.linear_model._coordinate_descent.ElasticNet",
    "sklearn.ensemble._forest.RandomForestRegressor", "sklearn.ensemble._forest.ExtraTreesRegressor",
    "sklearn.ensemble._gb.GradientBoostingRegressor",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor",
    "sklearn.tree._classes.DecisionTreeRegressor", "sklearn.neighbors._regression.KNeighborsRegressor",
)
FITTED_INTERNALS = (  # what those estimators hold once fitted (trees, losses, binners, indexes)
    "sklearn.tree._classes.ExtraTreeClassifier", "sklearn.tree._classes.ExtraTreeRegressor",
    "sklearn.tree._tree.Tree", "sklearn.dummy.DummyClassifier", "sklearn.dummy.DummyRegressor",
    "sklearn.preprocessing._label.LabelEncoder",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.neighbors._kd_tree.KDTree", "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.metrics._dist_metrics.EuclideanDistance64", "sklearn.metrics._dist_metrics.ManhattanDistance64",
    "sklearn.metrics._dist_metrics.MinkowskiDistance64", "sklearn.metrics._dist_metrics.ChebyshevDistance64",
    *(f"sklearn._loss.loss.{name}" for name in (
        "HalfBinomialLoss", "HalfMultinomialLoss", "HalfSquaredError", "AbsoluteError", "PinballLoss",
        "HuberLoss", "HalfPoissonLoss", "HalfGammaLoss", "ExponentialLoss")),
    *(f"sklearn._loss._loss.Cy{name}" for name in (
        "HalfBinomialLoss", "HalfMultinomialLoss", "HalfSquaredError", "AbsoluteError", "PinballLoss",
        "HuberLoss", "HalfPoissonLoss", "HalfGammaLoss", "ExponentialLoss")),
    *(f"sklearn._loss.link.{name}" for name in ("IdentityLink", "LogitLink", "LogLink", "MultinomialLogit",
                                                "Interval")),
)
TRANSFORMERS = (  # the composition and preprocessing steps of scikit-learn pipelines
    "sklearn.pipeline.Pipeline", "sklearn.pipeline.FeatureUnion",
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.compose._column_transformer.make_column_selector",
    "sklearn.impute._base.SimpleImputer", "sklearn.impute._base.MissingIndicator",
    "sklearn.impute._knn.KNNImputer",
    *(f"sklearn.preprocessing._data.{name}" for name in (
        "StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler", "Normalizer", "Binarizer",
        "PowerTransformer", "QuantileTransformer")),
    "sklearn.preprocessing._encoders.OneHotEncoder", "sklearn.preprocessing._encoders.OrdinalEncoder",
    "sklearn.preprocessing._function_transformer.FunctionTransformer",
    "sklearn.preprocessing._discretization.KBinsDiscretizer",
    "sklearn.preprocessing._polynomial.PolynomialFeatures",
    "sklearn.preprocessing._polynomial.SplineTransformer",
    "sklearn.preprocessing._target_encoder.TargetEncoder",
    "sklearn.feature_selection._variance_threshold.VarianceThreshold",
    "sklearn.decomposition._pca.PCA", "sklearn.decomposition._truncated_svd.TruncatedSVD",
)
TRUSTED_TYPES: frozenset[str] = frozenset((*BUILTINS, *NUMPY, *NUMPY_FUNCTIONS, *SLUICE_FUNCTIONS,
                                           *ESTIMATORS, *FITTED_INTERNALS, *TRANSFORMERS))


def untrusted(types: Iterable[str]) -> list[str]:
    """The names among ``types`` that sluice does not trust, sorted (empty: every one is trusted)."""
    return sorted({t for t in types if t not in TRUSTED_TYPES})
