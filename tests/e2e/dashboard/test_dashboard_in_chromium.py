"""The three report pages in a real browser (Debian's chromium driven by Playwright) on the local stack:
the dashboard, a validation report and a drift report. Screenshots go to test-artifacts/; the assertions
read what each chart shows (its points, its axis ticks, where its labels fall)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TICK_LABEL = re.compile(r"^(?:[A-Z][a-z]{2} \d{2}(?: \d{2}:\d{2})?|\d{2}:\d{2}|[A-Z][a-z]{2} \d{4})$")
# every text of every chart whose box reaches outside its svg (a clipped label), as "chart: text"
CLIPPED = """() => [...document.querySelectorAll('svg.chart')].flatMap(svg => {
  const box = svg.getBoundingClientRect();
  return [...svg.querySelectorAll('text')].filter(t => {
    const r = t.getBoundingClientRect();
    return r.width > 0 && (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1
                           || r.bottom > box.bottom + 1);
  }).map(t => svg.getAttribute('aria-label') + ': ' + t.textContent);
})"""


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is required (apt-get install chromium)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


def open_page(browser, url: str, problems: list[str]):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("console", lambda m: problems.append(f"{m.text} {m.location.get('url')}")
            if m.type == "error" and not str(m.location.get("url")).endswith("/favicon.ico") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("requestfailed", lambda r: problems.append(f"failed request {r.url}"))
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == 200
    return page


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def instants(chart) -> list[dt.datetime]:
    return [dt.datetime.fromisoformat(t.replace("Z", "+00:00"))
            for t in chart.locator("circle.point").evaluate_all("ps => ps.map(p => p.dataset.t)")]


def centres(chart) -> list[float]:
    return chart.locator("circle.point").evaluate_all(
        "ps => ps.map(p => { const r = p.getBoundingClientRect(); return r.left + r.width / 2; })")


def assert_real_time_axis(chart, expected_points: int) -> None:
    """As many points as checks, ticks labelled with dates/times, points placed by their instants."""
    assert chart.locator("circle.point").count() == expected_points
    labels = chart.locator("g.x-tick text").evaluate_all("ts => ts.map(t => t.firstChild.textContent)")
    assert labels and all(TICK_LABEL.match(label) for label in labels), labels
    ticks = chart.locator("g.x-tick").evaluate_all("gs => gs.map(g => g.dataset.t)")
    assert all(dt.datetime.fromisoformat(t.replace("Z", "+00:00")) for t in ticks)
    moments = instants(chart)
    xs = [x for _, x in sorted(zip(moments, centres(chart), strict=True))]
    moments.sort()
    span = (moments[-1] - moments[0]).total_seconds()
    if span > 0:  # each point where its instant falls between the first and the last (a linear time axis)
        for moment, x in zip(moments, xs, strict=True):
            expected = xs[0] + (moment - moments[0]).total_seconds() / span * (xs[-1] - xs[0])
            assert x == pytest.approx(expected, abs=1.5)


def test_the_dashboard_shows_history_metrics_runs_checks_and_lineage(world_stack, browser):
    stack, world = world_stack
    api = stack.info.api_url
    problems: list[str] = []
    page = open_page(browser, api + "/", problems)
    assert page.title() == "sluice dashboard"
    dataset = page.locator("#dataset-rides")
    assert_real_time_axis(dataset.locator("svg.validation-chart"), 3)
    model = page.locator("#model-fare")
    assert model.locator("h2").inner_text() == "Model fare"
    drift_checks = requests.get(f"{api}/models/fare/drift", params={"kind": "drift"},
                                timeout=30).json()["items"]
    assert_real_time_axis(model.locator("svg.drift-chart"), len(drift_checks))
    assert_real_time_axis(model.locator("svg.performance-chart"), len(world.performance_checks))
    versions = requests.get(f"{api}/models/fare/versions", timeout=30).json()["items"]
    assert model.locator('figure[data-metric="accuracy"] circle.point').count() == len(versions)
    reasons = model.locator("table.model-versions ul.reasons li")
    assert reasons.count() == sum(len(v["decision"]["reasons"]) for v in versions)
    lineage = model.locator("svg.lineage")
    for kind in ("raw", "dataset", "run", "model", "alias"):
        assert lineage.locator(f'g.node[data-kind="{kind}"]').count() >= 1, kind
    assert lineage.locator("path.edge").count() >= 4
    assert page.evaluate(CLIPPED) == []
    shoot(page, "dashboard.png")

    page.locator("a.compare-link").first.click()
    page.wait_for_load_state("load")
    compared = page.locator("table.compare th.run")
    assert compared.count() == 2
    assert page.locator('table.compare tr.differs[data-row="estimator.params.C"]').count() == 1
    shoot(page, "dashboard-compare.png")
    page.close()
    assert problems == []


def test_the_validation_report_shows_rules_masked_values_profile_and_lineage(world_stack, browser):
    stack, world = world_stack
    problems: list[str] = []
    page = open_page(browser, stack.info.api_url + "/", problems)
    page.locator("#dataset-rides a.report-link").nth(1).click()  # version 2: three negative fares
    page.wait_for_load_state("load")
    assert page.title() == "Validation report: rides v2"
    fare = page.locator("table.rules tr", has=page.locator("code", has_text="fare.range"))
    assert "failed" in fare.inner_text() and "row 4: -10.0" in fare.inner_text()
    assert "3 (1.00%)" in fare.inner_text()
    profile = page.locator("#profile")
    assert profile.locator("svg.histogram").count() >= 3
    email_row = profile.locator("tr", has=page.locator("b", has_text="rider_email"))
    assert "only counts are shown" in email_row.inner_text()
    text = page.content()
    assert [e for e in world.emails if e in text] == []
    assert "raw/rides/february.csv" in page.locator("#lineage").inner_text()
    assert page.evaluate(CLIPPED) == []
    shoot(page, "validation-report.png")
    page.close()
    assert problems == []


def test_the_drift_report_labels_its_axes_and_bins_and_charts_each_feature_over_time(world_stack, browser):
    stack, _ = world_stack
    problems: list[str] = []
    page = open_page(browser, stack.info.api_url + "/", problems)
    row = page.locator("#model-fare table.checks tr", has_text="drift").first
    href = row.locator("a").get_attribute("href")
    page.close()
    page = open_page(browser, href, problems)
    assert page.title().startswith("Drift report: fare v")
    distance = page.locator("#feature-distance_km")
    bars = distance.locator("svg.distribution")
    titles = bars.locator("text.axis-title").all_text_contents()
    assert titles == ["share of values", "distance_km: value bin"]
    assert bars.locator("g.y-tick text").all_text_contents()[-1].endswith("%")
    labels = bars.locator("text.x-label").all_text_contents()
    assert labels[0].startswith("< ") and labels[-1].startswith("≥ ") and " to " in labels[1]
    box = bars.bounding_box()
    assert box is not None and box["width"] > 1000  # the full width of the page's content
    for name in ("test statistic", "p-value", "effect size (threshold)", "PSI"):
        assert name in distance.inner_text()
    assert "Why " in distance.locator("p.why").inner_text()
    trend = distance.locator("svg.trend")
    assert trend.locator("circle.point").count() >= 1
    assert page.evaluate(CLIPPED) == []
    shoot(page, "drift-report.png")
    page.close()
    assert problems == []
