"""``sluice spec show|put`` and ``sluice runs start|list|show|cancel``: what to train, and its runs."""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from sluice.api_client import ApiClient
from sluice.cli.calls import local_error, paged, reason_body
from sluice.cli.files import document
from sluice.cli.grammar import Cli, Command, paging, reason
from sluice.cli.output import at, cell, esc, fields, listing

TERMINAL_RUN_STATES = {"succeeded", "failed", "cancelled"}


def spec_put(api: ApiClient, a: argparse.Namespace) -> Any:
    raw, content_type = document(Path(a.file), yaml_as_json=True)
    return api.request("PUT", f"/models/{a.model}/spec", raw=raw, content_type=content_type)


def spec_get(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.get(f"/models/{a.model}/spec", version=a.version)


def train(api: ApiClient, a: argparse.Namespace) -> Any:
    started = api.request("POST", f"/models/{a.model}/train", body={"reason": a.reason} if a.reason else {})
    if not a.wait:
        return started
    run = wait_for_run(api, a.model, started["run_id"], timeout=a.timeout, quiet=a.json)
    if run.get("status") in ("failed", "cancelled"):
        error = run.get("error") or {}
        raise local_error(f"run_{run['status']}", f"run {run['run_id']} {run['status']}: "
                                                  f"{error.get('code', 'error')}: {error.get('message', '')}")
    return run


def wait_for_run(api: ApiClient, model: str, run_id: str, *, timeout: float, quiet: bool,
                 poll: float = 0.5) -> dict[str, Any]:
    """Poll the run until it ends; a spinner on a terminal and one line per state change (stderr)."""
    console = Console(stderr=True, quiet=quiet)
    started = time.monotonic()
    seen = None
    with console.status(f"run {run_id}: queued", spinner="dots") as status, _goes_on(model, run_id):
        while True:
            run = api.get(f"/models/{model}/runs/{run_id}")
            state = run.get("status")
            elapsed = time.monotonic() - started
            if state != seen:
                console.print(f"run {run_id}: {state} ({elapsed:.1f} s)", highlight=False, markup=False)
                seen = state
            status.update(f"run {run_id}: {state} · {elapsed:.0f} s")
            if state in TERMINAL_RUN_STATES:
                return run
            if elapsed > timeout:
                raise local_error("timeout", f"run {run_id} still {state} after {timeout:g} s; "
                                             f"follow it with `sluice runs show {model} {run_id}`")
            time.sleep(poll)


@contextlib.contextmanager
def _goes_on(model: str, run_id: str) -> Iterator[None]:
    """Ctrl-C stops the waiting, not the run: say so, and how to follow it."""
    try:
        yield
    except KeyboardInterrupt:
        raise local_error("interrupted", f"stopped waiting; run {run_id} goes on: "
                                         f"`sluice runs show {model} {run_id}`") from None


def run_show(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.get(f"/models/{a.model}/runs/{a.run}")


def run_cancel(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.request("POST", f"/models/{a.model}/runs/{a.run}/cancel", body=reason_body(a))


def runs_list(api: ApiClient, a: argparse.Namespace) -> Any:
    return paged(api, f"/models/{a.model}/runs", a)


# ---- views ---------------------------------------------------------------------------------------


def spec_view(console: Console, result: Any) -> None:
    console.print(f"[bold]training spec of {esc(result.get('model'))}[/] (version {result.get('version')}, "
                  f"{result.get('created_at')})", highlight=False)
    table = Table("field", "value", show_header=False)
    for key, value in (result.get("spec") or {}).items():
        table.add_row(cell(key), cell(value))
    console.print(table)


def train_started_view(console: Console, result: Any) -> None:
    if result.get("status") in TERMINAL_RUN_STATES:
        run_view(console, result)
        return
    console.print(f"run {result['run_id']} {result['status']}; follow it with "
                  f"`sluice runs show {result['model']} {result['run_id']}`", highlight=False, markup=False)


def run_view(console: Console, result: Any) -> None:
    fields("model", "run_id", "status", "version", "reason", "actor", "spec_version", "created_at",
           "finished_at")(console, result)
    if result.get("error"):
        error = result["error"]
        console.print(f"[red]error[/] {esc(error.get('code'))}: {esc(error.get('message'))}", highlight=False)
    for warning in result.get("warnings") or []:
        console.print(f"warning {warning.get('code')}: {warning.get('message') or warning.get('reason')}",
                      highlight=False, markup=False)
    _data_view(console, result)
    metrics = result.get("metrics") or {}
    if metrics:
        champion = ((result.get("decision") or {}).get("evidence") or {}).get("champion") or {}
        baseline = result.get("baseline") or {}
        table = Table("metric", "this run", "champion", "baseline", title="holdout metrics",
                      title_justify="left")
        for name, value in metrics.items():
            table.add_row(cell(name), cell(value), cell(champion.get(name)), cell(baseline.get(name)))
        console.print(table)
    _decision_view(console, result)


def _data_view(console: Console, result: Any) -> None:
    """What the run read: its window, the dataset and feedback versions, the rows each gave, and how many
    feedback rows the holdout held."""
    data = result.get("data") or {}
    if not data:
        return
    rows = data.get("rows") or {}
    versions = ", ".join(map(str, data.get("dataset_versions") or [])) or "-"
    line = f"data: window {data.get('window')}; dataset version(s) {versions} ({rows.get('dataset', 0)} rows)"
    if data.get("feedback_versions"):
        line += (f"; feedback version(s) {', '.join(map(str, data['feedback_versions']))} "
                 f"({rows.get('feedback', 0)} rows, {rows.get('feedback_replaced', 0)} older labels "
                 "replaced)")
    split = result.get("rows") or {}
    if "holdout_feedback" in split:
        line += (f"; the holdout holds {split['holdout_feedback']} of the {split.get('holdout')} rows "
                 "from feedback")
    console.print(line, highlight=False, markup=False)


def _decision_view(console: Console, result: Any) -> None:
    decision = result.get("decision") or {}
    if decision:
        verdict = "promote" if decision.get("promote") else "do not promote"
        status = (result.get("promotion") or {}).get("status")
        console.print(f"gate: {verdict}" + (f" → version is {status}" if status else ""), highlight=False,
                      markup=False)
        for because in decision.get("reasons") or []:
            console.print(f"  • {because}", highlight=False, markup=False)


# ---- wiring --------------------------------------------------------------------------------------


def _start_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--wait", action="store_true", help="wait for the run to end, showing progress")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds to wait (default 900)")
    reason(p)


SPEC_SHOW = Command(spec_get, "show the latest training spec (or --version N)", ("model",), view=spec_view,
                    extra=lambda p: p.add_argument("--version", type=int, help="spec version"))
SPEC_PUT = Command(spec_put, "store a new training spec version from a JSON or YAML file", ("model", "file"),
                   view=spec_view)
START = Command(train, "start a training run of the model's current spec", ("model",),
                view=train_started_view, extra=_start_args)
LIST = Command(runs_list, "list a model's runs, newest first", ("model",),
               view=listing("run_id", "status", "version", at("created_at"), "reason"), extra=paging)
SHOW = Command(run_show, "a run's status, metrics and gate decision, or its error", ("model", "run"),
               view=run_view)
CANCEL = Command(run_cancel, "cancel a queued or running run: the model is free at once, the run stops "
                 "before registering", ("model", "run"), view=run_view, extra=reason)


def register(cli: Cli) -> None:
    spec = cli.noun("spec")
    SPEC_SHOW.add(spec, "show", aliases=["get"])
    SPEC_PUT.add(spec, "put")
    runs = cli.noun("runs")
    START.add(runs, "start")
    LIST.add(runs, "list")
    SHOW.add(runs, "show")
    CANCEL.add(runs, "cancel")
    START.add(cli.top, "train", hidden=True)  # sluice train
