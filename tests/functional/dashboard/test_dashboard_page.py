import datetime as dt

from chalicelib.services.drift import CheckRequest, run_drift_check
from tests.functional.monitoring.conftest import capture, make_frame, register_model

EXTERNAL = ("<script", "<link", "src=", "@import", "url(", "http://", "https://")


def test_an_empty_system_shows_how_to_start(client):
    response = client.http.get("/")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Nothing yet" in response.body.decode()


def test_the_page_shows_models_aliases_checks_and_a_drift_chart_without_external_resources(client):
    model = register_model("dash-fare")
    now = dt.datetime.now(dt.UTC)
    capture(model, make_frame(400, seed=3, shift=7.0), now - dt.timedelta(hours=1))
    run_drift_check(CheckRequest(model.name, now=now))
    response = client.http.get("/")
    page = response.body.decode()
    assert "Model dash-fare" in page and "production → v1" in page
    assert page.count('class="bar"') == 1 and "drift-chart" in page
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    # the only links are presigned report links on the bucket's own endpoint
    for external in EXTERNAL[:5]:
        assert external not in page
    hrefs = [part.split('"', 1)[0] for part in page.split('href="')[1:]]
    assert hrefs and all("reports/drift/dash-fare/" in href for href in hrefs)


def test_the_public_page_does_not_name_who_moved_an_alias(client):
    from chalicelib.services.registry import get_registry

    model = register_model("dash-who")
    alice = "arn:aws:iam::123456789012:user/alice"
    get_registry().set_alias(model.name, "production", model.version, actor=alice, reason="secret reason")
    page = client.http.get("/").body.decode()
    assert "alice" not in page and "123456789012" not in page and "secret reason" not in page
