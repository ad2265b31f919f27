"""A seasonal daily process (pure data, seeded): whether a day is busy depends on its temperature, and
how depends on the season — mild winter days are busy, hot summer days are not. A model trained on
winter alone sees every summer day as a warm winter day: it cannot serve summer until summer's labelled
days join its training data.

Columns: ``day`` (a date, the model sees its parts: month, weekday...), ``temperature`` (°C) and
``busy`` (yes / no, the target). ``noise`` flips that share of the labels at random, so no model can be
perfect and "as good as scikit-learn alone" is a comparison of two imperfect numbers. Shared by the
demo's healing steps and the functional and end-to-end healing tests."""

from __future__ import annotations

from typing import Any

CONTRACT: dict[str, Any] = {"dataset": "weather", "columns": [
    {"name": "day", "type": "date"}, {"name": "temperature", "type": "float"},
    {"name": "busy", "type": "string"}]}
WINTER = ("2026-01-01", "2026-03-31")
SUMMER = ("2026-06-01", "2026-08-31")
FEATURES = ["day", "temperature"]
TARGET = "busy"


def season(first: str, last: str, *, per_day: int = 4, seed: int = 0, noise: float = 0.0) -> Any:
    """``per_day`` records of each day from ``first`` to ``last`` (inclusive), in day order."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    days = pd.date_range(first, last, freq="D").repeat(per_day)
    summer = days.month.isin([6, 7, 8])
    temperature = np.where(summer, rng.normal(24.0, 4.0, len(days)), rng.normal(3.0, 4.0, len(days)))
    busy = np.where(summer, temperature < 24.0, temperature > 3.0)
    busy = np.where(rng.random(len(days)) < noise, ~busy, busy)
    return pd.DataFrame({"day": days.strftime("%Y-%m-%d"), "temperature": temperature.round(2),
                         "busy": np.where(busy, "yes", "no")})


def design(frame: Any) -> Any:
    """What the training pipeline makes of a frame's features: the temperature and the date's parts (a
    forest needs no scaling), for a bare scikit-learn model to be compared with the trained one."""
    import pandas as pd

    stamps = pd.to_datetime(frame["day"], utc=True)
    return pd.DataFrame({"temperature": frame["temperature"], "year": stamps.dt.year,
                         "month": stamps.dt.month, "day": stamps.dt.day,
                         "dayofweek": stamps.dt.day_of_week, "hour": stamps.dt.hour})


def bare_accuracy(train: Any, test: Any, params: dict[str, Any], seed: int) -> float:
    """scikit-learn alone on ``train``'s rows, scored on ``test``: the same forest, parameters and seed."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import accuracy_score

    forest = RandomForestClassifier(**params, random_state=seed)
    forest.fit(design(train), train[TARGET])
    return float(accuracy_score(test[TARGET], forest.predict(design(test))))
