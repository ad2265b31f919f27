"""The local stack with the dashboard world (tests/functional/dashboard/world.py) made on it."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def world_stack(stack):
    from chalicelib import storage as aws
    from tests.functional.dashboard import world

    aws.reset()
    return stack, world.build()
