"""The corpus runs on one core in CI: BLAS/OpenMP on one thread (spinning workers only slow it down)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def one_thread() -> Any:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield
