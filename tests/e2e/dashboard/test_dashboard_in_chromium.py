"""The dashboard in a real browser (Debian's chromium driven by Playwright) against the local stack."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_the_dashboard_loads_renders_its_charts_and_logs_no_errors(seeded_stack):
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is required (apt-get install chromium)"
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("requestfailed", lambda r: problems.append(f"failed request {r.url}"))
        response = page.goto(seeded_stack.info.api_url + "/", wait_until="load")
        assert response is not None and response.status == 200
        assert page.title() == "sluice dashboard"
        assert page.locator("#model-e2e-fare h2").inner_text() == "Model e2e-fare"
        bars = page.locator("#model-e2e-fare svg.drift-chart rect.bar")
        assert bars.count() == 2
        boxes = [bars.nth(i).bounding_box() for i in range(bars.count())]
        assert all(box and box["height"] > 0 and box["width"] > 0 for box in boxes)
        assert boxes[1]["height"] > boxes[0]["height"]  # the drifted check shows a larger share
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        browser.close()
    assert problems == []
