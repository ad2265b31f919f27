"""``sluice runs cancel`` and ``sluice ops list|reconcile|redrive|audit``: the calls they make and what
they show."""

from __future__ import annotations

from unittest.mock import create_autospec

import pytest
from rich.console import Console

from sluice.api_client import ApiClient
from sluice.cli import build_parser
from sluice.cli.ops import findings_view
from sluice.cli.training import TERMINAL_RUN_STATES

PASS = {"dry_run": True, "actions": ["redrive", "resolve_run"], "counts": {"planned": 2}, "findings": [
    {"id": "a", "kind": "run_past_lease", "subject": {"model": "tips", "run_id": "r1"},
     "action": "resolve_run", "reason": "its lease ran out 30 s ago", "details": {}, "outcome": "planned"},
    {"id": "b", "kind": "dead_letter", "subject": {"message_id": "m-1"}, "action": "redrive",
     "reason": "object event of batch/…", "details": {"function": "on_batch_object"}, "outcome": "planned"},
    {"id": "c", "kind": "orphan_artifacts",
     "subject": {"model": "tips", "version": 3, "prefix": "models/tips/3/"},
     "action": "delete_orphan_artifacts", "reason": "[not] registered", "details": {}, "outcome": "done"}]}


def run(argv: list[str]):
    args = build_parser().parse_args(argv)
    api = create_autospec(ApiClient, instance=True)
    api.get.return_value = api.request.return_value = PASS
    args.api_call(api, args)
    return api


def test_runs_cancel_posts_the_cancel_with_the_reason():
    api = run(["runs", "cancel", "tips", "r1", "--reason", "wrong data"])
    api.request.assert_called_once_with("POST", "/models/tips/runs/r1/cancel", body={"reason": "wrong data"})
    assert "cancelled" in TERMINAL_RUN_STATES  # `runs start --wait` stops on a cancelled run


@pytest.mark.parametrize(("argv", "call"), [
    (["ops", "list"], ("get", ("/ops/findings",), {})),
    (["ops", "reconcile"], ("request", ("POST", "/ops/reconcile"), {"body": {"dry_run": False}})),
    (["ops", "reconcile", "--dry-run", "--action", "retry_upload", "--action", "resolve_run"],
     ("request", ("POST", "/ops/reconcile"),
      {"body": {"dry_run": True, "actions": ["retry_upload", "resolve_run"]}})),
    (["ops", "redrive"], ("request", ("POST", "/ops/redrive"), {"body": {"dry_run": False}})),
    (["ops", "redrive", "m-1", "m-2"], ("request", ("POST", "/ops/redrive"),
                                       {"body": {"dry_run": False, "message_ids": ["m-1", "m-2"]}})),
])
def test_each_ops_command_makes_its_one_call(argv, call):
    api = run(argv)
    method, args, kwargs = call
    getattr(api, method).assert_called_once_with(*args, **kwargs)


def test_the_findings_view_names_each_subject_action_and_outcome_and_escapes_api_text():
    console = Console(record=True, width=200)
    findings_view(console, PASS)
    shown = console.export_text()
    assert "3 finding(s), dry run: nothing changed; actions: redrive, resolve_run" in shown
    assert "tips run r1" in shown and "redrive → on_batch_object" in shown and "message m-1" in shown
    assert "models/tips/3/" in shown and "[not] registered" in shown
