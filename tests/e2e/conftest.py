"""One local stack for the end-to-end tests of this folder: moto server, API, pump, clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluice.local import LocalStack

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def aws_credentials():
    """Overrides the suite's fixture: here the running stack sets the endpoint and credentials."""
    yield


@pytest.fixture(scope="module")
def stack():
    with LocalStack(ROOT, api_port=0, aws_port=0, schedule_interval=3600) as running:
        yield running


@pytest.fixture(scope="module")
def seeded_stack(stack):
    """The stack with a production model whose captured traffic has drifted, checked twice."""
    import datetime as dt

    from chalicelib import storage as aws
    from chalicelib.services.drift import CheckRequest, run_drift_check
    from tests.functional.monitoring.conftest import capture, make_frame, register_model

    aws.reset()
    model = register_model("e2e-fare")
    now = dt.datetime.now(dt.UTC)
    capture(model, make_frame(600, seed=41), now - dt.timedelta(hours=3))
    run_drift_check(CheckRequest(model.name, now=now - dt.timedelta(hours=2), window_hours=2))
    capture(model, make_frame(600, seed=6, shift=8.0), now - dt.timedelta(minutes=30))
    run_drift_check(CheckRequest(model.name, now=now, window_hours=1))
    return stack
