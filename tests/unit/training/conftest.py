"""Pure data of the training tests: the rides contract, a seeded rides frame, a spec body; one thread."""

from __future__ import annotations

from typing import Any

import pytest

ROWS = 300
CONTRACT = {
    "dataset": "rides",
    "columns": [
        {"name": "ride_id", "type": "string"},
        {"name": "distance_km", "type": "float", "nullable": True},
        {"name": "zone", "type": "category", "nullable": True},
        {"name": "night", "type": "bool"},
        {"name": "pickup_ts", "type": "timestamp"},
        {"name": "rider_email", "type": "string", "pii": "hash"},
        {"name": "fare", "type": "float"},
        {"name": "tipped", "type": "string"},
    ],
}


def rides_frame(rows: int = ROWS, seed: int = 7) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    distance = rng.gamma(2.0, 3.0, rows)
    zone = rng.choice(["north", "south", "east", "west"], rows)
    night = rng.random(rows) < 0.3
    fare = 3 + 1.8 * distance + np.where(zone == "north", 4.0, 0.0) + 2 * night + rng.normal(0, 1.5, rows)
    tipped = np.where(fare + rng.normal(0, 2, rows) > 14, "yes", "no")
    frame = pd.DataFrame({
        "ride_id": [f"R{i:06d}" for i in range(rows)],
        "distance_km": distance, "zone": zone, "night": night,
        "pickup_ts": pd.date_range("2026-01-01", periods=rows, freq="37min", tz="UTC"),
        "rider_email": [f"h{i:08x}" for i in range(rows)], "fare": fare.round(2), "tipped": tipped,
    })
    frame.loc[::17, "distance_km"] = np.nan
    frame.loc[::23, "zone"] = None
    return frame


@pytest.fixture(autouse=True)
def one_thread() -> Any:
    """OpenMP/BLAS on one thread: on a shared 2-core machine spinning worker threads only slow tests."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def spec_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "dataset": "rides", "target": "tipped", "task": "classification",
        "features": {"all_except": ["ride_id", "fare"]},
        "estimator": {"name": "LogisticRegression", "params": {"C": 1.0, "max_iter": 200}},
        "split": {"method": "stratified", "test_size": 0.25},
        "metrics": {"primary": "accuracy", "guardrails": ["f1"]}, "seed": 3,
    }
    body.update(overrides)
    return body
