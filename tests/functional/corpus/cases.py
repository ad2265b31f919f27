"""The corpus: real public tables from installed packages, each with the spec a user would train on it.

Nothing here is committed data: every table is built from scikit-learn's bundled datasets (``load_*``,
never the ``fetch_*`` ones, which need the network) or statsmodels' bundled datasets, in the shape a
user would upload it: coded columns carry the labels the dataset's documentation gives them, a
float column holding only whole numbers is written as integers, and a real date column is built
where the data has one (macrodata's year + quarter, co2's weekly index, the yearly series' years).
No value is invented: no noise, no artificial missing values (co2 brings its own).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

LATER_SHARE = 0.3  # the later slice served as live traffic for the drift check
DRIFT_CONFIG = {"min_sample": 30}  # the tables are small: KS and chi-square are sound from 30 values


@dataclass(frozen=True)
class Case:
    """One dataset of the corpus and how it is trained."""

    name: str  # dataset and model name
    source: str
    load: Callable[[], pd.DataFrame]
    task: str  # classification | regression
    target: str
    estimator: dict[str, Any]
    primary: str
    split: dict[str, Any] = field(default_factory=lambda: {"method": "random", "test_size": 0.25})
    guardrails: dict[str, float] = field(default_factory=dict)  # promotion.guardrails: max regression
    file_format: str = "csv"  # csv | parquet | jsonl
    exclude: tuple[str, ...] = ()  # features.all_except: ids and columns that would leak the target
    order: str | None = None  # the column that orders rows in time (else the file's order)
    seed: int = 7
    note: str = ""

    def frame(self) -> pd.DataFrame:
        return self.load()

    def spec(self) -> dict[str, Any]:
        """The training spec (PUT /models/{name}/spec)."""
        return {
            "dataset": self.name, "target": self.target, "task": self.task,
            "features": {"all_except": list(self.exclude)},
            "estimator": self.estimator, "split": self.split,
            "metrics": {"primary": self.primary},
            "promotion": {"mode": "auto", "guardrails": dict(self.guardrails)},
            "seed": self.seed,
            "drift": dict(DRIFT_CONFIG),
        }


# ---- loaders ------------------------------------------------------------------------------------


def _sklearn(loader: str, **kwargs: Any) -> Any:
    from sklearn import datasets

    return getattr(datasets, loader)(as_frame=True, **kwargs)


def _statsmodels(name: str) -> pd.DataFrame:
    # the dataset module alone: ``statsmodels.api`` would import all of statsmodels
    return importlib.import_module(f"statsmodels.datasets.{name}").load_pandas().data.copy()


def integral(frame: pd.DataFrame) -> pd.DataFrame:
    """Float columns holding only whole numbers (and no missing value) as int64, as the source wrote them."""
    out = frame.copy()
    for name in out.columns:
        col = out[name]
        if pd.api.types.is_float_dtype(col) and col.notna().all() and (col == col.round()).all():
            out[name] = col.astype("int64")
    return out


def _labelled(frame: pd.DataFrame, column: str, labels: dict[int, str]) -> pd.DataFrame:
    frame[column] = frame[column].astype("int64").map(labels)
    assert frame[column].notna().all(), column
    return frame


def _year_start(years: pd.Series) -> pd.Series:
    return pd.to_datetime(years.astype("int64").astype(str) + "-01-01").dt.date


def iris() -> pd.DataFrame:
    bunch = _sklearn("load_iris")
    frame = bunch.frame.drop(columns="target")
    frame["species"] = [str(bunch.target_names[t]) for t in bunch.target]
    return frame


def wine() -> pd.DataFrame:
    bunch = _sklearn("load_wine")
    frame = bunch.frame.drop(columns="target")
    frame["cultivar"] = [str(bunch.target_names[t]) for t in bunch.target]
    return integral(frame)


def breast_cancer() -> pd.DataFrame:
    bunch = _sklearn("load_breast_cancer")
    frame = bunch.frame.drop(columns="target")
    frame["diagnosis"] = [str(bunch.target_names[t]) for t in bunch.target]
    return frame


def diabetes() -> pd.DataFrame:
    # the original (unscaled) values: age in years, sex coded 1/2, blood serum measurements
    frame = _sklearn("load_diabetes", scaled=False).frame.rename(columns={"target": "progression"})
    return integral(frame)


def digits() -> pd.DataFrame:
    frame = _sklearn("load_digits").frame.rename(columns={"target": "digit"})
    return integral(frame)


def linnerud() -> pd.DataFrame:
    return integral(_sklearn("load_linnerud").frame)


def macrodata() -> pd.DataFrame:
    frame = _statsmodels("macrodata")
    quarter_start = (frame["year"].astype("int64").astype(str) + "-"
                     + ((frame["quarter"].astype("int64") - 1) * 3 + 1).astype(str).str.zfill(2) + "-01")
    frame.insert(0, "date", pd.to_datetime(quarter_start).dt.date)
    return frame.drop(columns=["year", "quarter"])


def co2() -> pd.DataFrame:
    data = _statsmodels("co2")  # weekly, indexed by the week's Saturday; 59 weeks have no reading
    return pd.DataFrame({"week": data.index.date, "co2": data["co2"].to_numpy()})


def elnino() -> pd.DataFrame:
    frame = _statsmodels("elnino")
    frame.insert(0, "year", _year_start(frame.pop("YEAR")))
    return frame


def sunspots() -> pd.DataFrame:
    frame = _statsmodels("sunspots")
    frame.insert(0, "year", _year_start(frame.pop("YEAR")))
    return frame


def nile() -> pd.DataFrame:
    frame = _statsmodels("nile")
    frame["year"] = _year_start(frame["year"])
    return integral(frame)


def longley() -> pd.DataFrame:
    frame = _statsmodels("longley")
    frame.insert(0, "year", _year_start(frame.pop("YEAR")))
    return integral(frame)


FAIR_OCCUPATIONS = {1: "student", 2: "farming, semi-skilled or unskilled", 3: "white-collar",
                    4: "teacher, nurse, artist, technician or skilled", 5: "managerial or business",
                    6: "professional with advanced degree"}


def fair() -> pd.DataFrame:
    frame = _statsmodels("fair")
    _labelled(frame, "rate_marriage", {1: "very poor", 2: "poor", 3: "fair", 4: "good", 5: "very good"})
    _labelled(frame, "religious", {1: "not", 2: "mildly", 3: "fairly", 4: "strongly"})
    _labelled(frame, "occupation", FAIR_OCCUPATIONS)
    _labelled(frame, "occupation_husb", FAIR_OCCUPATIONS)
    return integral(frame)  # children stays float: 5.5 codes "5 or more"


def anes96() -> pd.DataFrame:
    frame = _statsmodels("anes96")
    _labelled(frame, "PID", {0: "strong Democrat", 1: "weak Democrat", 2: "independent-Democrat",
                             3: "independent-independent", 4: "independent-Republican",
                             5: "weak Republican", 6: "strong Republican"})
    _labelled(frame, "educ", {1: "1-8 grades", 2: "some high school", 3: "high school graduate",
                              4: "some college", 5: "college degree", 6: "master's degree", 7: "PhD"})
    _labelled(frame, "vote", {0: "Clinton", 1: "Dole"})
    return integral(frame)


def modechoice() -> pd.DataFrame:
    frame = _statsmodels("modechoice")
    _labelled(frame, "mode", {1: "air", 2: "train", 3: "bus", 4: "car"})
    _labelled(frame, "choice", {0: "no", 1: "yes"})
    return integral(frame)


def grunfeld() -> pd.DataFrame:
    frame = _statsmodels("grunfeld")
    frame["year"] = _year_start(frame["year"])
    frame["firm"] = frame["firm"].astype(str)
    return frame


def randhie() -> pd.DataFrame:
    return integral(_statsmodels("randhie"))


def statecrime() -> pd.DataFrame:
    return _statsmodels("statecrime").reset_index()  # the state name: a unique text key


def star98() -> pd.DataFrame:
    return integral(_statsmodels("star98"))


def spector() -> pd.DataFrame:
    return integral(_statsmodels("spector"))


def engel() -> pd.DataFrame:
    return _statsmodels("engel")


def fertility() -> pd.DataFrame:
    # World Bank fertility rates, one row per country, one column per year: gaps everywhere (2012 and
    # 2013 hold no value at all), an indicator name with a comma in it
    return _statsmodels("fertility")


# ---- the corpus ---------------------------------------------------------------------------------

# Newton-Cholesky: lbfgs stops at its tolerance wherever the path led, so 1e-14 differences of the scaled
# inputs (the summation order of a C- or F-ordered array) move its probabilities by 1e-6 (measured on
# fair); a second-order solver lands on the regularised optimum, which a bare scikit-learn fit reaches too.
LOGISTIC = {"name": "LogisticRegression", "params": {"C": 1.0, "solver": "newton-cholesky", "max_iter": 200}}
RIDGE = {"name": "Ridge", "params": {"alpha": 1.0}}
STRATIFIED = {"method": "stratified", "test_size": 0.25}

CASES: tuple[Case, ...] = (
    Case("iris", "scikit-learn load_iris", iris, "classification", "species", LOGISTIC, "f1_macro",
         split=STRATIFIED, guardrails={"accuracy": 0.0}),
    Case("wine", "scikit-learn load_wine", wine, "classification", "cultivar",
         {"name": "RandomForestClassifier", "params": {"n_estimators": 50, "max_depth": 5}}, "accuracy",
         split=STRATIFIED, file_format="parquet"),
    Case("breast-cancer", "scikit-learn load_breast_cancer", breast_cancer, "classification", "diagnosis",
         LOGISTIC, "roc_auc", split=STRATIFIED, guardrails={"accuracy": 0.0}, file_format="jsonl"),
    Case("diabetes", "scikit-learn load_diabetes(scaled=False)", diabetes, "regression", "progression",
         RIDGE, "rmse", guardrails={"mae": 0.0}),
    Case("digits", "scikit-learn load_digits", digits, "classification", "digit",
         LOGISTIC, "f1_macro", split=STRATIFIED, guardrails={"accuracy": 0.0}),
    Case("linnerud", "scikit-learn load_linnerud", linnerud, "regression", "Weight",
         {"name": "LinearRegression", "params": {}}, "mae", exclude=("Waist", "Pulse"),
         note="20 rows: a holdout of 5"),
    Case("macrodata", "statsmodels macrodata", macrodata, "regression", "realcons", RIDGE, "rmse",
         split={"method": "time", "test_size": 0.3, "column": "date"}, order="date"),
    Case("co2", "statsmodels co2", co2, "regression", "co2",
         {"name": "RandomForestRegressor", "params": {"n_estimators": 30, "max_depth": 8}}, "rmse",
         order="week", file_format="parquet", note="59 weeks without a reading (null target)"),
    Case("elnino", "statsmodels elnino", elnino, "regression", "DEC",
         {"name": "LinearRegression", "params": {}}, "mae",
         split={"method": "time", "test_size": 0.3, "column": "year"}, order="year"),
    Case("sunspots", "statsmodels sunspots", sunspots, "regression", "SUNACTIVITY",
         {"name": "RandomForestRegressor", "params": {"n_estimators": 30, "max_depth": 6}}, "rmse",
         order="year", note="the year is the only feature"),
    Case("nile", "statsmodels nile", nile, "regression", "volume", RIDGE, "mae", order="year",
         file_format="jsonl", note="the year is the only feature"),
    Case("longley", "statsmodels longley", longley, "regression", "TOTEMP",
         {"name": "LinearRegression", "params": {}}, "rmse",
         split={"method": "time", "test_size": 0.3, "column": "year"}, order="year", note="16 rows"),
    Case("fair", "statsmodels fair", fair, "classification", "rate_marriage", LOGISTIC, "f1_macro",
         split=STRATIFIED, guardrails={"accuracy": 0.0},
         note="rare class: 'very poor' is 99 of 6366 rows"),
    Case("anes96", "statsmodels anes96", anes96, "classification", "vote", LOGISTIC, "roc_auc",
         split=STRATIFIED, guardrails={"accuracy": 0.0}, exclude=("logpopul",), file_format="jsonl"),
    Case("modechoice", "statsmodels modechoice", modechoice, "classification", "choice",
         {"name": "RandomForestClassifier", "params": {"n_estimators": 50, "max_depth": 6}}, "f1",
         split=STRATIFIED, guardrails={"accuracy": 0.0}, exclude=("individual",)),
    Case("grunfeld", "statsmodels grunfeld", grunfeld, "regression", "invest", RIDGE, "rmse",
         split={"method": "time", "test_size": 0.3, "column": "year"}, order="year",
         file_format="parquet"),
    Case("randhie", "statsmodels randhie", randhie, "regression", "mdvis", RIDGE, "mae",
         guardrails={"rmse": 0.0}),
    Case("statecrime", "statsmodels statecrime", statecrime, "regression", "violent", RIDGE, "rmse",
         exclude=("state",)),
    Case("star98", "statsmodels star98", star98, "regression", "NABOVE",
         {"name": "GradientBoostingRegressor", "params": {"n_estimators": 50, "max_depth": 3}}, "rmse",
         exclude=("NBELOW",)),
    Case("spector", "statsmodels spector", spector, "classification", "GRADE", LOGISTIC, "accuracy",
         split=STRATIFIED, note="32 rows"),
    Case("engel", "statsmodels engel", engel, "regression", "foodexp",
         {"name": "LinearRegression", "params": {}}, "rmse"),
    Case("fertility", "statsmodels fertility", fertility, "regression", "2011", RIDGE, "rmse",
         exclude=("Country Name", "Country Code", "Indicator Name", "Indicator Code", "2012", "2013"),
         note="missing values in most columns; 2012 and 2013 empty"),
)

BY_NAME = {case.name: case for case in CASES}
# Three groups, one test file each, so ``pytest -n 2 --dist loadfile`` (make test) spreads the corpus
SCIKIT_LEARN = tuple(c for c in CASES if c.source.startswith("scikit-learn"))
TIME_SERIES = tuple(c for c in CASES if c not in SCIKIT_LEARN and c.order)
CROSS_SECTIONS = tuple(c for c in CASES if c not in SCIKIT_LEARN and not c.order)

# Tables with a date column unique on every row: a user's natural primary key
DATE_KEYED = (("macrodata", "date"), ("co2", "week"), ("elnino", "year"), ("sunspots", "year"),
              ("nile", "year"), ("longley", "year"))
