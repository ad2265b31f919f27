"""Pure rendering: every text escaped, chart marks as many as the data, labels inside their chart."""

import datetime as dt
import math
import re

import pytest

from chalicelib.core.dashboard import DashboardData, ModelView, lineage_graph, render
from chalicelib.core.monitoring.html import bin_labels, render_drift_report
from chalicelib.core.reports import lineage
from chalicelib.core.reports.runs import comparison
from chalicelib.core.reports.svg import CHAR, Point, Series, TimeChart, bar_chart, time_chart

EVIL = '<script>alert("x")</script>'
T0 = dt.datetime(2026, 3, 5, 12, tzinfo=dt.UTC)


def test_a_bar_chart_escapes_its_labels_and_draws_one_bar_per_category_and_series():
    series = [Series("ref", [0.1, 0.5, 0.4], "#111"), Series("cur", [0.2, 0.2, 0.6], "#222")]
    svg = bar_chart(["a", EVIL, "c"], series, y_title=EVIL, x_axis_title="bins")
    assert "<script" not in svg and "&lt;script&gt;" in svg
    assert svg.count('class="bar"') == 6
    assert [float(v) for v in re.findall(r'data-value="([^"]+)"', svg)] == [0.1, 0.2, 0.5, 0.2, 0.4, 0.6]


def test_rotated_bin_labels_end_inside_the_chart_however_long_and_many():
    labels = [f"{i * 1234.5678:.4g} to {(i + 1) * 1234.5678:.4g}" for i in range(19)] + ["≥ 23456.8"]
    svg = bar_chart(labels, [Series("ref", [1 / 20] * 20, "#111")], y_title="share", x_axis_title="bins")
    width, height = (float(v) for v in re.search(r'viewBox="0 0 (\S+) (\S+)"', svg).groups())
    rotated = re.findall(r'<text class="x-label" x="([\d.]+)" y="([\d.]+)" text-anchor="start" '
                         r'transform="rotate\(40[^"]*\)"[^>]*>([^<]*)</text>', svg)
    assert len(rotated) == 20
    for x, y, text in rotated:
        length = len(text) * CHAR
        assert float(x) + length * math.cos(math.radians(40)) <= width
        assert float(y) + length * math.sin(math.radians(40)) <= height


def test_numeric_bins_read_below_between_and_above_their_edges():
    assert bin_labels([1.5, 3.0, 12.25]) == ["< 1.5", "1.5 to 3", "3 to 12.25", "≥ 12.25"]
    assert bin_labels([]) == ["all"]


def test_a_time_chart_draws_one_point_per_instant_at_its_place_on_the_axis():
    moments = [T0, T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=4)]
    svg = time_chart(TimeChart([Point(m, float(i), "#000", f"{EVIL} {i}") for i, m in enumerate(moments)],
                               y_title="share"))
    xs = [float(x) for x in re.findall(r'<circle class="point"[^>]* cx="([\d.]+)"', svg)]
    assert len(xs) == 3 and (xs[1] - xs[0]) * 3 == pytest.approx(xs[2] - xs[1], rel=1e-3)
    ticks = re.findall(r'class="x-tick" data-t="([^"]+)"', svg)
    assert ticks and all(dt.datetime.fromisoformat(t.replace("Z", "+00:00")) for t in ticks)
    assert "<script" not in svg


def drift_summary(check_id: str, at: dt.datetime, effect: float, status: str) -> dict:
    return {"kind": "drift", "check_id": check_id, "checked_at": at.isoformat().replace("+00:00", "Z"),
            "model": EVIL, "version": 1, "status": status,
            "features": [{"name": EVIL, "status": status, "method": "ks", "statistic": 0.3, "p_value": 0.01,
                          "effect": effect, "effect_threshold": 0.1, "effect_name": "wasserstein_normed",
                          "effect_scale": "std", "psi": 0.4, "psi_level": "drift", "reason": f"why {EVIL}"}]}


def test_the_drift_report_charts_each_feature_over_the_checks_and_escapes_every_name():
    history = [drift_summary(f"c{i}", T0 - dt.timedelta(hours=i), 0.05, "stable") for i in (1, 2, 3)]
    page = render_drift_report(drift_summary("now", T0, 0.5, "drift"), None, None, history)
    assert "<script" not in page
    trend = page.split('class="chart trend')[1].split("</svg>")[0]
    assert trend.count('class="point"') == 4
    assert "why &lt;script&gt;" in page and "<th>why</th>" in page


def test_runs_compared_mark_the_rows_that_differ():
    runs = [{"run_id": "r1", "status": "succeeded", "spec_version": 1, "metrics": {"accuracy": 0.9}},
            {"run_id": "r2", "status": "succeeded", "spec_version": 2, "metrics": {"accuracy": 0.9}}]
    specs = {1: {"estimator": {"name": "A", "params": {"C": 1}}, "target": "y"},
             2: {"estimator": {"name": "A", "params": {"C": 2}}, "target": "y"}}
    table = comparison(runs, specs, model="m")
    assert '<tr class="differs" data-row="estimator.params.C">' in table
    assert '<tr data-row="estimator.name">' in table and '<tr data-row="metric.accuracy">' in table


def test_the_lineage_graph_links_raw_object_dataset_version_run_model_version_and_alias():
    version = {"version": 2, "status": "approved", "run_id": "run-2", "metrics": {},
               "dataset_versions": [{"dataset": "rides", "version": 5}], "aliases": ["production"]}
    raw = {"bucket": "b", "key": "raw/rides/2026-x.csv", "version_id": "v"}
    view = ModelView(EVIL, [version], {"production": 2}, [], [], inputs={("rides", 5): {"raw": raw}})
    graph = lineage_graph(view)
    assert [list(graph.nodes[k].values()) for k in lineage.COLUMNS] == [
        ["2026-x.csv"], ["rides v5"], ["run-2"], ["v2 approved"], ["production"]]
    svg = lineage.render(graph)
    assert svg.count('class="edge"') == 4
    page = render(DashboardData([], [view]))
    assert "<script" not in page
