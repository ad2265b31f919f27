"""bench/sizing.py's fit: the line every function's limits come from never passes below a measured point."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

SIZING = Path(__file__).resolve().parents[3] / "bench" / "sizing.py"


@pytest.fixture(scope="module")
def fit_line():
    spec = importlib.util.spec_from_file_location("sizing_under_test", SIZING)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    saved = list(sys.path)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = saved  # the script puts the repository and bench/ on the path for its own runs
    return module.fit_line


def test_a_straight_line_is_found_as_it_is(fit_line):
    fixed, slope, how = fit_line([(100_000, 120.0 + 0.002 * 100_000), (300_000, 120.0 + 0.002 * 300_000),
                                  (1_000_000, 120.0 + 0.002 * 1_000_000)])
    assert (round(fixed, 6), round(slope, 9), how) == (120.0, 0.002, "least squares")


def test_a_cost_that_levels_off_is_not_under_counted_where_it_was_measured(fit_line):
    points = [(100_000, 191.9), (300_000, 312.8), (1_000_000, 426.6), (5_000_000, 434.5)]  # make sizing's
    fixed, slope, how = fit_line(points)
    assert how == "least squares, raised to the highest point"
    assert all(fixed + slope * x >= y - 1e-9 for x, y in points)
    assert any(abs(fixed + slope * x - y) < 1e-9 for x, y in points)  # it touches one: no more than needed


@given(st.lists(st.tuples(st.integers(1_000, 10_000_000), st.floats(0, 10_000)), min_size=2, max_size=6,
                unique_by=lambda p: p[0]))
def test_the_line_lies_on_or_above_every_point_whatever_the_measurements(fit_line, points):
    fixed, slope, how = fit_line([(float(x), y) for x, y in points])
    assert slope >= 0 and fixed >= 0
    assert all(fixed + slope * x >= y * (1 - 1e-9) - 1e-6 for x, y in points), how
