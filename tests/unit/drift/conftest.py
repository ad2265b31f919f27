"""Small, seeded tables for the drift tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261126)


@pytest.fixture
def table(rng: np.random.Generator):
    """Build a seeded table: ``table(n, shift=0.0, cash=0.2)`` with a numeric and a categorical column."""

    def make(n: int, *, shift: float = 0.0, cash: float = 0.2, seed: int | None = None) -> pd.DataFrame:
        gen = rng if seed is None else np.random.default_rng(seed)
        pay = gen.choice(["card", "cash", "wallet"], size=n, p=[0.8 - cash, cash, 0.2])
        return pd.DataFrame({"fare": gen.normal(20.0 + shift * 5.0, 5.0, size=n), "payment": pay})

    return make


FEATURES = {"fare": "numeric", "payment": "categorical"}
