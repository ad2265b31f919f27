"""The healing loop end to end on the local stack, through its HTTP API, S3 events and schedule only (the
demo's healing steps): a winter model serves summer, the schedule finds drift and starts no run; labels
uploaded for the served requests become feedback rows, the performance drop starts a run on winter +
summer, the recent holdout promotes it, and on August it is as good as scikit-learn alone on the same
rows. Nothing new, no run: before the labels and after healing."""

from __future__ import annotations

import boto3
import pytest
from rich.console import Console

from sluice.demo import healing
from sluice.demo.base import Demo

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_a_winter_model_heals_on_labelled_summer_traffic_through_the_local_stack(stack, tmp_path):
    console = Console(record=True, width=200)
    demo = Demo(stack, tmp_path, console, boto3.session.Session(region_name=stack.info.region))
    for _, step in healing.STEPS:
        step(demo)

    runs = demo.call("GET", f"/models/{healing.MODEL}/runs?limit=50")["items"]
    assert [run["status"] for run in runs] == ["succeeded", "succeeded"]  # the winter run and the healing
    assert demo.facts["runs_without_new_data"] == 0 and demo.facts["runs_after_healing"] == 0
    check = demo.facts["summer_check"]
    assert check["version"] == demo.facts["winter_version"]
    assert check["status"] == "drift"
    assert check["retrain"]["status"] == "skipped"
    assert check["retrain"]["reason"] == f"no new data since version {demo.facts['winter_version']}"

    run = demo.facts["healing_run"]
    assert run["cause"]["trigger"] == "performance_drop"
    # the recent holdout: the newest rows, all of them summer feedback
    assert run["rows"]["holdout_feedback"] == run["rows"]["holdout"]
    assert run["promotion"]["promoted"] is True, run["decision"]["reasons"]
    production = demo.call("GET", f"/models/{healing.MODEL}/aliases/production")["version"]
    assert production == run["version"] != demo.facts["winter_version"]

    august = demo.facts["august"]
    print(f"\nAugust accuracy: winter model {august['before']:.3f}, healed {august['after']:.3f}, "
          f"bare scikit-learn on the same rows {august['bare']:.3f}")
    assert august["before"] < 0.7 < 0.85 < august["after"]
    assert august["after"] == pytest.approx(august["bare"], abs=0.02)
    text = console.export_text()
    print(text)
    assert "production: version 1 → version 2" in text and "retrain: skipped" in text


def test_the_healed_model_exports_for_mlflow_through_the_cli_and_predicts_like_the_api(stack, tmp_path,
                                                                                       capsys):
    """After the healing test of this module: the CLI exports the production version, MLflow loads it."""
    import json

    import pandas as pd

    from sluice.cli import main
    from sluice.demo.seasons import FEATURES, season

    version = requests_json(stack, "GET", f"/models/{healing.MODEL}/aliases/production")["version"]
    capsys.readouterr()
    code = main(["models", "export", healing.MODEL, str(version), "--format", "mlflow", "--out",
                 str(tmp_path / "export"), "--json", "--api", stack.info.api_url])
    out = capsys.readouterr().out
    assert code == 0, out
    result = json.loads(out)
    assert result["path"] == str((tmp_path / "export").resolve()) and result["format"] == "mlflow"

    import mlflow.pyfunc

    august = season("2026-08-01", "2026-08-10", seed=9)
    answer = requests_json(stack, "POST", f"/models/{healing.MODEL}/predict?version={version}",
                           json={"records": august[FEATURES].to_dict(orient="records")})
    frame = august[FEATURES].assign(day=pd.to_datetime(august["day"]))
    model = mlflow.pyfunc.load_model(str(tmp_path / "export" / "model"))
    assert list(model.predict(frame)) == answer["predictions"]


def requests_json(stack, method, path, **kwargs):
    import requests

    response = requests.request(method, stack.info.api_url + path, timeout=60, **kwargs)
    assert response.status_code < 400, response.text
    return response.json()
