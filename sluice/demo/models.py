"""Demo steps of the MLOps core: a training spec, a run through the ``train`` function, the gate, promotion.

Needs ``demo.facts["dataset"]`` (the demo ``rides`` dataset with a passed version, from the dataset
steps). Leaves ``model`` ("fare", with a ``production`` alias), ``model_version``, ``run_id`` for the
serving and monitoring steps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.table import Table

from sluice.demo.base import Demo

MODEL = "fare"
RUN_TIMEOUT_S = 300


def spec(dataset: str, promotion: dict[str, Any]) -> dict[str, Any]:
    """Predict a ride's fare from its distance, city, passengers (and not from the hashed e-mail)."""
    return {
        "dataset": dataset, "target": "fare_eur", "task": "regression",
        "features": {"all_except": ["ride_id"]},
        "estimator": {"name": "Ridge", "params": {"alpha": 0.1}},
        "split": {"method": "time", "column": "pickup_ts", "test_size": 0.2},
        "metrics": {"primary": "rmse", "guardrails": ["mae"]}, "seed": 7,
        "promotion": promotion, "retrain": {"on_new_data": False, "on_drift": True},
        "cooldown_minutes": 5, "description": "fare from distance, city and passengers",
    }


def wait_for_run(demo: Demo, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while True:
        run = demo.call("GET", f"/models/{MODEL}/runs/{run_id}")
        if run["status"] in ("succeeded", "failed"):
            return run
        if time.monotonic() > deadline:
            raise RuntimeError(f"run {run_id} still {run['status']} after {RUN_TIMEOUT_S} s")
        time.sleep(0.5)


def train(demo: Demo, reason: str) -> dict[str, Any]:
    started = demo.call("POST", f"/models/{MODEL}/train", json={"reason": reason})
    demo.console.print(f"POST /models/{MODEL}/train → 202, run [bold]{started['run_id']}[/] queued; "
                       "the train function picks it up")
    run = wait_for_run(demo, started["run_id"])
    if run["status"] != "succeeded":
        raise RuntimeError(f"training run failed: {run['error']}")
    demo.facts["run_id"] = run["run_id"]
    return run


def show_run(demo: Demo, run: dict[str, Any]) -> None:
    table = Table(title=f"run {run['run_id']} → {MODEL} version {run['version']} "
                        f"({run['rows']['train']} training rows, {run['rows']['holdout']} holdout rows)")
    champion = run["decision"]["evidence"].get("champion") or {}
    for column in ("metric", "challenger", "champion (same holdout)", "trivial baseline"):
        table.add_column(column, justify="right")
    for name, value in run["metrics"].items():
        table.add_row(name, _fmt(value), _fmt(champion.get(name)), _fmt(run["baseline"].get(name)))
    demo.console.print(table)
    timings = run["timings"]
    demo.console.print(f"fit {timings['fit_s']:.2f} s, evaluate {timings['evaluate_s']:.2f} s, permutation "
                       f"importance {timings['importance_s']:.2f} s, whole run {timings['total_s']:.2f} s")
    decision = run["decision"]
    verdict = "[green]promote[/]" if decision["promote"] else "[yellow]do not promote[/]"
    demo.console.print(f"gate ({decision['evidence']['mode']}): {verdict} → version is "
                       f"[bold]{run['promotion']['status']}[/]")
    for reason in decision["reasons"]:
        demo.console.print(f"  • {reason}")


def _fmt(value: Any) -> str:
    return "—" if value is None else f"{value:.4f}"


def step_spec(demo: Demo) -> None:
    dataset = demo.facts["dataset"]
    stored = demo.call("PUT", f"/models/{MODEL}/spec", json=spec(dataset, {"mode": "manual"}))
    demo.console.print(f"PUT /models/{MODEL}/spec → spec version {stored['version']}: Ridge regression of "
                       f"fare_eur on {dataset}, time split on pickup_ts, primary metric rmse, "
                       "promotion [bold]manual[/] (a human approves the first version)")
    refused = _refused(demo, spec(dataset, {"mode": "manual"}) | {"estimator": {"name": "SVC"}})
    demo.console.print(f"an estimator off the allow-list is refused: {refused}")


def _refused(demo: Demo, body: dict[str, Any]) -> str:
    import requests

    response = requests.put(f"{demo.api}/models/{MODEL}/spec", json=body, timeout=60)
    error = response.json()["error"]
    return f"{response.status_code} {error['code']}"


def step_train(demo: Demo) -> None:
    run = train(demo, "demo: first model")
    demo.facts["model"] = MODEL
    demo.facts["model_version"] = run["version"]
    show_run(demo, run)
    ranked = ", ".join(f"{i['feature']} {i['importance']:.3f}" for i in run.get("importance", [])[:5])
    demo.console.print(f"permutation importance (drop in R² when shuffled): {ranked}")


def step_promote(demo: Demo) -> None:
    version = demo.facts["model_version"]
    demo.call("POST", f"/models/{MODEL}/versions/{version}/promote",
              json={"reason": "demo: metrics reviewed, beats the trivial baseline"})
    alias = demo.call("GET", f"/models/{MODEL}/aliases/production")
    demo.console.print(f"POST /models/{MODEL}/versions/{version}/promote → production = version "
                       f"[bold]{alias['version']}[/]")


def step_auto_gate(demo: Demo) -> None:
    dataset = demo.facts["dataset"]
    stored = demo.call("PUT", f"/models/{MODEL}/spec", json=spec(
        dataset, {"mode": "auto", "min_improvement": 0.01, "guardrails": {"mae": 0.05}}))
    demo.console.print(f"spec version {stored['version']}: promotion [bold]auto[/] (rmse must improve by "
                       "≥ 0.01, mae may not get worse by more than 0.05)")
    run = train(demo, "demo: retrain under the auto gate")
    show_run(demo, run)
    alias = demo.call("GET", f"/models/{MODEL}/aliases/production")
    demo.console.print(f"production stays at version [bold]{alias['version']}[/]: challenger and champion "
                       "were scored on the same holdout rows")


STEPS: list[tuple[str, Callable[[Demo], None]]] = [
    ("A training spec: declarative, checked, versioned", step_spec),
    ("Train: the run goes through the async train function", step_train),
    ("Promote: a human approves version 1 → production", step_promote),
    ("Retrain under the auto gate: champion vs challenger on one holdout", step_auto_gate),
]
