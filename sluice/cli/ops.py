"""``sluice ops list|reconcile|redrive|audit``: what the reconciler finds after a crash, and what it did.

``list`` is a dry run (nothing changes); ``reconcile`` applies the default actions (``--dry-run``:
only say what it would do; ``--action`` to apply only some);
``redrive`` re-invokes dead letters (all, or the message ids given); ``audit`` shows the actions taken.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.table import Table

from sluice.api_client import ApiClient
from sluice.cli.calls import paged
from sluice.cli.grammar import Cli, Command, paging
from sluice.cli.output import at, cell, listing


def ops_list(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.get("/ops/findings")


def ops_reconcile(api: ApiClient, a: argparse.Namespace) -> Any:
    body: dict[str, Any] = {"dry_run": bool(a.dry_run)}
    if a.action:
        body["actions"] = a.action
    return api.request("POST", "/ops/reconcile", body=body)


def ops_redrive(api: ApiClient, a: argparse.Namespace) -> Any:
    body: dict[str, Any] = {"dry_run": bool(a.dry_run)}
    if a.message_id:
        body["message_ids"] = a.message_id
    return api.request("POST", "/ops/redrive", body=body)


def ops_audit(api: ApiClient, a: argparse.Namespace) -> Any:
    return paged(api, "/ops/audit", a)


def subject_text(subject: dict[str, Any]) -> str:
    """``tips run 2026…`` · ``tips version 3`` · ``rides raw/rides/a.csv`` · ``message 1f2e…``."""
    if "run_id" in subject:
        return f"{subject['model']} run {subject['run_id']}"
    if "prefix" in subject:
        return str(subject["prefix"])
    if "check_id" in subject:
        return f"{subject['model']} check {subject['check_id']}"
    if "key" in subject:
        return f"{subject['dataset']} {subject['key']}"
    return f"message {subject.get('message_id', '?')}"


def findings_view(console: Console, result: Any) -> None:
    findings = result.get("findings") or []
    mode = "dry run: nothing changed" if result.get("dry_run") else "applied"
    console.print(f"{len(findings)} finding(s), {mode}; actions: {', '.join(result.get('actions') or [])}",
                  highlight=False, markup=False)
    if not findings:
        return
    table = Table("kind", "subject", "action", "outcome", "why", title_justify="left")
    for finding in findings:
        function = (finding.get("details") or {}).get("function")
        action = finding["action"] + (f" → {function}" if function else "")
        table.add_row(cell(finding["kind"]), cell(subject_text(finding.get("subject") or {})), cell(action),
                      cell(finding.get("outcome")), cell(finding.get("reason")))
    console.print(table)


def _reconcile_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dry-run", action="store_true", help="say what it would do; change nothing")
    p.add_argument("--action", action="append", default=None, metavar="ACTION",
                   help="apply only this action (repeatable): resolve_run, delete_orphan_artifacts, "
                        "delete_orphan_outputs, retry_upload, retry_check, redrive, acknowledge "
                        "(default: the scheduled reconciler's)")


def _redrive_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("message_id", nargs="*", help="dead letters to redrive (default: every one)")
    p.add_argument("--dry-run", action="store_true", help="say what it would do; change nothing")


LIST = Command(ops_list, "what the reconciler finds now (runs past their lease, orphan artifacts, stuck "
               "claims, dead letters); changes nothing", view=findings_view)
RECONCILE = Command(ops_reconcile, "run a reconciler pass now (--dry-run to only list)", view=findings_view,
                    extra=_reconcile_args)
REDRIVE = Command(ops_redrive, "re-invoke dead letters' functions (all, or the ids given)",
                  view=findings_view, extra=_redrive_args)
AUDIT = Command(ops_audit, "the reconciler's actions, newest first",
                view=listing(at("at"), "action", ("subject", lambda i: subject_text(i.get("subject") or {})),
                             "outcome", "actor"), extra=paging)


def register(cli: Cli) -> None:
    ops = cli.noun("ops")
    LIST.add(ops, "list")
    RECONCILE.add(ops, "reconcile")
    REDRIVE.add(ops, "redrive")
    AUDIT.add(ops, "audit")
