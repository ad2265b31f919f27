"""The dashboard through the route on moto: every section from the stored state, nothing external."""

import datetime as dt
import re

import pytest

from tests.functional.dashboard import world as seeded

EXTERNAL = ("<script", "<link", "src=", "@import", "url(", "http://", "https://")


@pytest.fixture
def world(moto_world):
    return seeded.build(dt.datetime(2026, 3, 5, 12, 0, tzinfo=dt.UTC))


def section(page: str, anchor: str) -> str:
    return page.split(f'id="{anchor}"', 1)[1].split("</section>", 1)[0]


def test_an_empty_system_shows_how_to_start(client):
    response = client.http.get("/")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Nothing yet" in response.body.decode()


def test_the_dataset_history_shows_each_version_with_its_status_over_time_and_links_its_report(client, world):
    page = client.http.get("/").body.decode()
    dataset = section(page, "dataset-rides")
    assert dataset.count('class="point"') == 3  # one per version, at its time
    rows = re.findall(r"<tr><td>v(\d)</td><td><span class=\"badge status-(\w+)", dataset)
    assert rows == [("3", "failed"), ("2", "passed"), ("1", "passed")]
    assert 'href="datasets/rides/versions/3/report.html"' in dataset
    assert "march.csv" in dataset and "dataset.missing_columns" in dataset
    assert client.http.get("/datasets/rides/versions/3/report.html").status_code == 200
    assert [e for e in world.emails if e in page] == []


def test_each_model_shows_metrics_across_versions_the_gates_reasons_runs_and_checks_in_time(client, world):
    from chalicelib.services.registry import get_registry

    page = client.http.get("/").body.decode()
    assert "default-src 'none'" in client.http.get("/").headers["Content-Security-Policy"]
    model = section(page, "model-fare")
    versions = get_registry().search_model_versions("fare").items
    for version in versions:  # every decision's reasons, verbatim
        for reason in version.decision["reasons"]:
            assert reason.replace("'", "&#x27;").replace(">", "&gt;").replace("<", "&lt;") in model
    accuracy = model.split('data-metric="accuracy"', 1)[1].split("</figure>", 1)[0]
    assert accuracy.count('class="point"') == len(versions)
    drift = model.split('class="chart drift-chart"', 1)[1].split("</svg>", 1)[0]
    assert drift.count('class="point"') == len(world.drift_checks)
    ticks = re.findall(r'class="x-tick" data-t="([^"]+)"', drift)
    assert ticks and all(dt.datetime.fromisoformat(t.replace("Z", "+00:00")) for t in ticks)
    performance = model.split('class="chart performance-chart"', 1)[1].split("</svg>", 1)[0]
    assert performance.count('class="point"') == 3 and "holdout 0.85" in performance
    for run_id in world.run_ids:
        assert run_id in model
    lineage = model.split('class="chart lineage"', 1)[1].split("</svg>", 1)[0]
    kinds = re.findall(r'class="node" data-kind="(\w+)"', lineage)
    assert {"raw", "dataset", "run", "model", "alias"} <= set(kinds)
    assert 'data-kind="alias" data-id="production"' in lineage
    for external in EXTERNAL[:5]:
        assert external not in page
    hrefs = [part.split('"', 1)[0] for part in page.split('href="')[1:]]
    assert all(h.startswith(("#", "?", "datasets/")) or "reports/drift/fare/" in h for h in hrefs), hrefs


def test_chosen_runs_are_compared_side_by_side_with_their_differences_marked(client, world):
    first, second = world.run_ids
    page = client.http.get(f"/?model=fare&runs={first},{second}").body.decode()
    table = page.split('<table class="compare" data-model="fare">', 1)[1].split("</table>", 1)[0]
    assert table.index(first) < table.index(second)
    assert re.search(r'<tr class="differs" data-row="estimator.params.C"><th>estimator.params.C</th>'
                     r"<td>1</td><td>0.001</td></tr>", table)
    assert '<tr data-row="target">' in table  # the same in both: not marked
    assert "decision and reasons" in table


def test_a_malformed_comparison_is_a_400(client, moto_world):
    response = client.http.get("/?model=fare&runs=a,b;c")
    assert response.status_code == 400


def test_the_public_page_does_not_name_who_moved_an_alias(client):
    from chalicelib.services.registry import get_registry
    from tests.functional.monitoring.conftest import register_model

    model = register_model("dash-who")
    alice = "arn:aws:iam::123456789012:user/alice"
    get_registry().set_alias(model.name, "production", model.version, actor=alice, reason="secret reason")
    page = client.http.get("/").body.decode()
    assert "alice" not in page and "123456789012" not in page and "secret reason" not in page
