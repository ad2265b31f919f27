"""A seasonal daily process (pure data, seeded): whether a day is busy depends on its temperature, and
how depends on the season — mild winter days are busy, hot summer days are not. A model trained on
winter alone sees every summer day as a warm winter day: it cannot serve summer until summer's labelled
days join its training data.

Columns: ``day`` (a date, the model sees its parts: month, weekday...), ``temperature`` (°C) and
``busy`` (yes / no, the target). Shared by the functional and end-to-end healing tests."""

from __future__ import annotations

from typing import Any

CONTRACT: dict[str, Any] = {"dataset": "weather", "columns": [
    {"name": "day", "type": "date"}, {"name": "temperature", "type": "float"},
    {"name": "busy", "type": "string"}]}
WINTER = ("2026-01-01", "2026-03-31")
SUMMER = ("2026-06-01", "2026-08-31")


def season(first: str, last: str, *, per_day: int = 4, seed: int = 0) -> Any:
    """``per_day`` records of each day from ``first`` to ``last`` (inclusive), in day order."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    days = pd.date_range(first, last, freq="D").repeat(per_day)
    summer = days.month.isin([6, 7, 8])
    temperature = np.where(summer, rng.normal(24.0, 4.0, len(days)), rng.normal(3.0, 4.0, len(days)))
    busy = np.where(summer, temperature < 24.0, temperature > 3.0)
    return pd.DataFrame({"day": days.strftime("%Y-%m-%d"), "temperature": temperature.round(2),
                         "busy": np.where(busy, "yes", "no")})
