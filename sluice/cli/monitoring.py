"""``sluice drift check|history``: the production version's traffic against its training data."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.table import Table

from sluice.api_client import ApiClient
from sluice.cli.calls import paged
from sluice.cli.grammar import Cli, Command, both, paging
from sluice.cli.output import at, cell, esc, listing


def drift_check(api: ApiClient, a: argparse.Namespace) -> Any:
    body: dict[str, Any] = {}
    if a.window_hours is not None:
        body["window_hours"] = a.window_hours
    return api.request("POST", f"/models/{a.model}/drift/check", body=body)


def drift_history(api: ApiClient, a: argparse.Namespace) -> Any:
    return paged(api, f"/models/{a.model}/drift", a, kind=a.kind)


def drift_view(console: Console, result: Any) -> None:
    drifted = result.get("dataset_drift")
    colour = "red" if drifted else "green"
    status = esc(result.get("status"))
    console.print(f"{esc(result['model'])} version {result['version']}: [{colour}]{status}[/] — "
                  f"{result.get('drifted_features')} drifted feature(s), "
                  f"share {cell(result.get('drift_share'))} "
                  f"(threshold {cell(result.get('drift_share_threshold'))}); {result.get('rows')} rows "
                  f"{result.get('window_start')} → {result.get('window_end')}", highlight=False)
    features = result.get("features") or []
    if features:
        keys = [k for k in features[0]
                if k not in ("name", "feature") and not isinstance(features[0][k], dict | list)][:5]
        powered = any(f.get("power") for f in features)
        table = Table("feature", *keys, *(["power (minimum detectable effect)"] if powered else []))
        for feature in features:
            table.add_row(cell(feature.get("name")), *(cell(feature.get(k)) for k in keys),
                          *([_power_cell(feature.get("power"))] if powered else []))
        console.print(table)
    for line in _sample_lines(result):
        console.print(line, highlight=False, markup=False)
    reports = result.get("reports") or {}
    if reports.get("html"):
        console.print(f"report: {reports['html']}", style="dim", highlight=False, markup=False)


def _power_cell(power: Any) -> str:
    if not power:
        return "-"
    return f"{cell(power.get('power'))} ({cell(power.get('minimum_detectable_effect'))})"


def _sample_lines(result: Any) -> list[str]:
    """The reference's size, what a short window still needs, and the retraining decision."""
    lines = []
    reference = result.get("reference") or {}
    prediction = reference.get("prediction") or {}
    if reference:
        lines.append(f"reference: {reference.get('rows')} rows; predictions "
                     f"{prediction.get('method', 'of the holdout').replace('_', '-')}")
    needed = result.get("rows_needed") or {}
    if needed.get("message"):
        lines.append(f"insufficient data: {needed['message']}")
    retrain = result.get("retrain") or {}
    if retrain:
        line = f"retraining: {retrain.get('status')}"
        line += f" (run {retrain['run_id']})" if retrain.get("run_id") else ""
        line += f": {retrain['reason']}" if retrain.get("reason") else ""
        lines.append(line + (f". {retrain['upload']}" if retrain.get("upload") else ""))
    return lines


def _window(p: argparse.ArgumentParser) -> None:
    p.add_argument("--window-hours", type=float, default=None,
                   help="hours of traffic to check (default: the configured window)")


def _kind(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kind", choices=["drift", "performance"], default=None, help="only checks of this kind")


CHECK = Command(drift_check, "check the captured traffic for drift now", ("model",), view=drift_view,
                extra=_window)
HISTORY = Command(drift_history, "past drift checks, newest first", ("model",),
                  view=listing(at("checked_at", "checked"), "version", "trigger", "status",
                               ("drifted", lambda c: c.get("drifted_features")), "rows",
                               ("retrain", lambda c: (c.get("retrain") or {}).get("status"))),
                  extra=both(paging, _kind))


def register(cli: Cli) -> None:
    drift = cli.noun("drift")
    CHECK.add(drift, "check")
    HISTORY.add(drift, "history")
