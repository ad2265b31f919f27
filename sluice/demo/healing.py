"""Demo steps of healing: a model trained on winter serves summer, drift is caught but nothing is retrained
until summer's labels arrive; then the labelled requests become feedback rows, the performance drop starts
a run on winter + summer, the recent holdout (summer) judges champion and challenger, and production moves.
The healed model is then as good on August as scikit-learn alone trained on the same rows.

Stands apart from the rides story (its own dataset ``weather`` and model ``busy``): see
``sluice.demo.seasons`` for the data.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from typing import Any

from rich.table import Table

from sluice.demo.base import Demo

MODEL = "busy"
FOREST = {"name": "RandomForestClassifier", "params": {"n_estimators": 60, "max_depth": 8}}
NOISE = 0.05  # labels flipped at random: no model is perfect, so "as good as bare sklearn" means something
SPEC: dict[str, Any] = {
    "dataset": "weather", "target": "busy", "task": "classification", "features": ["day", "temperature"],
    "estimator": FOREST, "split": {"method": "recent", "test_size": 0.25}, "seed": 5,
    "data": {"versions": "latest", "feedback": True},
    "retrain": {"on_drift": True, "on_performance_drop": True, "min_new_feedback_rows": 30},
    "cooldown_minutes": 0, "description": "is the day busy? from its date and temperature",
}
RUN_TIMEOUT_S = 300


def _csv(frame: Any) -> bytes:
    return frame.to_csv(index=False).encode()


def _runs(demo: Demo) -> list[dict[str, Any]]:
    return list(demo.call("GET", f"/models/{MODEL}/runs?limit=50")["items"])


def _wait_for_run(demo: Demo, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while True:
        run = demo.call("GET", f"/models/{MODEL}/runs/{run_id}")
        if run["status"] in ("succeeded", "failed"):
            return dict(run)
        if time.monotonic() > deadline:
            raise RuntimeError(f"run {run_id} still {run['status']} after {RUN_TIMEOUT_S} s")
        time.sleep(0.5)


def _predict(demo: Demo, frame: Any, version: int | None = None) -> list[tuple[str, list[Any]]]:
    """One request per day of ``frame`` (as a day's traffic would come); the request ids and answers."""
    from sluice.demo.seasons import FEATURES

    query = f"?version={version}" if version else ""
    answers = []
    for _, rows in frame.groupby("day", sort=True):
        records = rows[FEATURES].to_dict(orient="records")
        answer = demo.call("POST", f"/models/{MODEL}/predict{query}", json={"records": records})
        answers.append((answer["request_id"], answer["predictions"]))
    return answers


def _accuracy(demo: Demo, frame: Any, version: int) -> float:
    predicted = [p for _, predictions in _predict(demo, frame, version) for p in predictions]
    truth = frame.sort_values("day", kind="stable")["busy"].tolist()
    return sum(p == t for p, t in zip(predicted, truth, strict=True)) / len(truth)


def step_winter_model(demo: Demo) -> None:
    from sluice.demo.seasons import CONTRACT, WINTER, season

    winter = season(*WINTER, seed=1, noise=NOISE)
    summer = season("2026-06-01", "2026-08-31", seed=2, noise=NOISE)
    demo.facts["seasons"] = {"winter": winter, "summer": summer}
    demo.call("PUT", "/datasets/weather/contract", json=CONTRACT)
    after = len(demo.stack.pump.deliveries)  # type: ignore[union-attr]
    demo.upload("raw/weather/2026-winter.csv", _csv(winter), wait_for="on_raw_object")
    demo.stack.pump.wait_for("on_dataset_version", after=after, timeout=120)  # type: ignore[union-attr]
    demo.call("PUT", f"/models/{MODEL}/spec", json=SPEC)
    started = demo.call("POST", f"/models/{MODEL}/train", json={"reason": "demo: the winter model"})
    run = _wait_for_run(demo, started["run_id"])
    if run["status"] != "succeeded":
        raise RuntimeError(f"the winter model's run failed: {run.get('error')}")
    production = demo.call("GET", f"/models/{MODEL}/aliases/production")["version"]
    demo.facts["winter_version"] = production
    demo.console.print(f"weather: {len(winter)} winter records (January to March, {NOISE:.0%} of labels "
                       f"noisy) → model [bold]{MODEL}[/] version {production} in production: a random "
                       f"forest on the date's parts and the temperature, holdout accuracy "
                       f"{run['metrics']['accuracy']:.3f}")


def step_summer_served(demo: Demo) -> None:
    summer = demo.facts["seasons"]["summer"]
    served = summer[summer["day"] < "2026-08-01"]
    answers = _predict(demo, served)
    demo.facts["served"] = (served, answers)
    runs_before = len(_runs(demo))
    demo.console.print(f"June and July: {len(served)} records in {len(answers)} daily requests, served by "
                       f"version {demo.facts['winter_version']} and captured")
    demo.console.print("the hourly schedule fires:")
    for delivery in demo.stack.clock.fire():  # type: ignore[union-attr]
        if not delivery.ok:
            raise RuntimeError(f"the monitor schedule failed:\n{delivery.error}")
    [check] = demo.call("GET", f"/models/{MODEL}/drift?limit=1")["items"]
    drifted = [f["name"] for f in check["features"] if f["status"] == "drift"]
    retrain = check.get("retrain") or {}
    demo.facts["summer_check"] = check
    demo.console.print(f"drift check: [bold]{check['status']}[/] ({', '.join(drifted) or 'nothing'} "
                       f"drifted); retrain: [yellow]{retrain.get('status')}[/] ({retrain.get('reason')})")
    started = len(_runs(demo)) - runs_before
    demo.facts["runs_without_new_data"] = started
    demo.console.print(f"runs started with nothing new to learn from: [bold]{started}[/] — retraining on the "
                       "winter data again could not fix summer")


def step_labels_heal(demo: Demo) -> None:
    served, answers = demo.facts["served"]
    ordered = served.sort_values("day", kind="stable")
    rows, truth = [], iter(ordered["busy"].tolist())
    for request_id, predictions in answers:
        rows += [{"request_id": request_id, "record_index": i, "label": next(truth)}
                 for i in range(len(predictions))]
    body = io.StringIO()
    writer = csv.DictWriter(body, fieldnames=["request_id", "record_index", "label"])
    writer.writeheader()
    writer.writerows(rows)
    known = {run["run_id"] for run in _runs(demo)}
    key = f"labels/{MODEL}/2026-08-01-june-july.csv"
    demo.upload(key, body.getvalue().encode(), wait_for="on_label_object")
    feedback = demo.call("GET", f"/datasets/{MODEL}-feedback/versions?limit=1")["items"][0]
    demo.console.print(f"{key}: {len(rows)} labels joined to their captured requests → dataset "
                       f"[bold]{MODEL}-feedback[/] version {feedback['version']} {feedback['status']} "
                       "(the training contract's rules, the same data gate as an upload)")
    new = [run for run in _runs(demo) if run["run_id"] not in known]
    if not new:
        raise RuntimeError("the labels started no retraining run")
    run = _wait_for_run(demo, new[0]["run_id"])
    if run["status"] != "succeeded":
        raise RuntimeError(f"the healing run failed: {run.get('error')}")
    demo.facts["healing_run"] = run
    evidence, rows = run["decision"]["evidence"], run["rows"]
    demo.console.print(f"live accuracy dropped → run {run['run_id']} on winter + {rows['train_feedback']} "
                       f"feedback rows; the recent holdout ({rows['holdout']} rows, "
                       f"{rows['holdout_feedback']} of them the newest summer feedback) scores champion "
                       f"{evidence['champion']['accuracy']:.3f} vs challenger "
                       f"{evidence['challenger']['accuracy']:.3f}")
    production = demo.call("GET", f"/models/{MODEL}/aliases/production")["version"]
    demo.console.print(f"gate: {'promote' if run['decision']['promote'] else 'reject'} → production: version "
                       f"{demo.facts['winter_version']} → version [bold]{production}[/]")


def step_august(demo: Demo) -> None:
    from sluice.demo.seasons import bare_accuracy

    seasons, (served, _) = demo.facts["seasons"], demo.facts["served"]
    run = demo.facts["healing_run"]
    august = seasons["summer"][seasons["summer"]["day"] >= "2026-08-01"]
    before = _accuracy(demo, august, demo.facts["winter_version"])
    after = _accuracy(demo, august, run["version"])
    # the rows the run trained on: ingestion order (winter, then the feedback in capture order) minus the
    # newest test_size share, its recent holdout
    import pandas as pd

    rows = pd.concat([seasons["winter"], served.sort_values("day", kind="stable")], ignore_index=True)
    bare = bare_accuracy(rows.iloc[:-run["rows"]["holdout"]], august, FOREST["params"], SPEC["seed"])
    demo.facts["august"] = {"before": before, "after": after, "bare": bare}
    table = Table(title=f"August ({len(august)} records, never seen by either run)")
    for column in ("model", "accuracy"):
        table.add_column(column)
    table.add_row(f"winter model (version {demo.facts['winter_version']})", f"{before:.3f}")
    table.add_row(f"healed (version {run['version']})", f"{after:.3f}")
    table.add_row("scikit-learn alone on the same rows", f"{bare:.3f}")
    demo.console.print(table)
    known = len(_runs(demo))
    for delivery in demo.stack.clock.fire():  # type: ignore[union-attr]
        if not delivery.ok:
            raise RuntimeError(f"the monitor schedule failed:\n{delivery.error}")
    demo.facts["runs_after_healing"] = len(_runs(demo)) - known
    demo.console.print(f"the schedule fires again with nothing new: runs started "
                       f"[bold]{demo.facts['runs_after_healing']}[/]")


STEPS: list[tuple[str, Callable[[Demo], None]]] = [
    ("A seasonal model: trained on winter", step_winter_model),
    ("Summer is served: drift caught, nothing new to learn from, no run", step_summer_served),
    ("Labels arrive: feedback rows, a performance drop, a run that heals", step_labels_heal),
    ("August: the healed model against scikit-learn alone", step_august),
]
