"""``sluice`` commands that drive the HTTP API: one small function per operation.

Each command prints a table for people, or the API's JSON with ``--json``; a failed call prints
the API's error code and message and exits non-zero.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from sluice.api_client import ApiClient, ApiError

Run = Callable[[ApiClient, argparse.Namespace], Any]
TERMINAL_RUN_STATES = {"succeeded", "failed"}


def _read_records(path: Path) -> list[dict[str, Any]]:
    """Records from a JSON (list or {"records": [...]}), JSONL or CSV file."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix == ".csv":
        return list(csv.DictReader(io.StringIO(text)))
    if path.suffix in (".jsonl", ".ndjson"):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    data = json.loads(text)
    return data["records"] if isinstance(data, dict) else data


def _document(path: Path) -> tuple[bytes, str]:
    """A contract or spec file as the API takes it (JSON, or YAML passed through)."""
    content_type = "application/x-yaml" if path.suffix in (".yaml", ".yml") else "application/json"
    return path.read_bytes(), content_type


def contract_put(api: ApiClient, a: argparse.Namespace) -> Any:
    raw, content_type = _document(Path(a.file))
    return api.request("PUT", f"/datasets/{a.dataset}/contract", raw=raw, content_type=content_type)


def contract_get(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.get(f"/datasets/{a.dataset}/contract", version=a.version)


def contract_infer(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.request("POST", f"/datasets/{a.dataset}/contract/infer", body={"key": a.key})


def upload(api: ApiClient, a: argparse.Namespace) -> Any:
    """Ask for a presigned URL, then PUT the file to S3 with a progress bar."""
    import requests
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    path = Path(a.file)
    target = api.request("POST", f"/datasets/{a.dataset}/uploads", body={"filename": path.name})
    size = path.stat().st_size
    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), console=Console(stderr=True), disable=a.json) as progress:
        task = progress.add_task(f"uploading {path.name}", total=size)

        def chunks():
            with open(path, "rb") as handle:
                while chunk := handle.read(1024 * 1024):
                    progress.update(task, advance=len(chunk))
                    yield chunk

        headers = {"Content-Length": str(size), **(target.get("headers") or {})}
        response = requests.put(target["url"], data=chunks(), headers=headers, timeout=3600)
    if response.status_code >= 300:
        raise ApiError(response.status_code, "upload_failed", response.text[:300])
    return {"uploaded": target.get("key"), "bytes": size}


def datasets_list(api: ApiClient, a: argparse.Namespace) -> Any:
    return _paged(api, "/datasets", a)


def dataset_versions(api: ApiClient, a: argparse.Namespace) -> Any:
    return _paged(api, f"/datasets/{a.dataset}/versions", a)


def dataset_version(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.get(f"/datasets/{a.dataset}/versions/{a.version}")


def spec_put(api: ApiClient, a: argparse.Namespace) -> Any:
    raw, content_type = _document(Path(a.file))
    return api.request("PUT", f"/models/{a.model}/spec", raw=raw, content_type=content_type)


def spec_get(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.get(f"/models/{a.model}/spec", version=a.version)


def train(api: ApiClient, a: argparse.Namespace) -> Any:
    started = api.request("POST", f"/models/{a.model}/train", body={"reason": a.reason} if a.reason else {})
    if not a.wait:
        return started
    run_id = started.get("run_id") or started.get("id")
    console = Console(stderr=True)
    deadline = time.monotonic() + a.timeout
    with console.status(f"run {run_id}: queued", spinner="dots") as status:
        while True:
            run = api.get(f"/models/{a.model}/runs/{run_id}")
            status.update(f"run {run_id}: {run.get('status')}")
            if run.get("status") in TERMINAL_RUN_STATES:
                break
            if time.monotonic() > deadline:
                raise ApiError(0, "timeout", f"run {run_id} still {run.get('status')} after {a.timeout:g} s")
            time.sleep(1)
    if run.get("status") == "failed":
        raise ApiError(0, "run_failed", json.dumps(run.get("error") or run, default=str))
    return run


def run_show(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.get(f"/models/{a.model}/runs/{a.run}")


def models_list(api: ApiClient, a: argparse.Namespace) -> Any:
    return _paged(api, "/models", a)


def versions_list(api: ApiClient, a: argparse.Namespace) -> Any:
    return _paged(api, f"/models/{a.model}/versions", a)


def version_show(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.get(f"/models/{a.model}/versions/{a.version}")


def alias_set(api: ApiClient, a: argparse.Namespace) -> Any:
    body: dict[str, Any] = {"version": a.version}
    if a.expected is not None:
        body["expected_version"] = a.expected
    if a.reason:
        body["reason"] = a.reason
    return api.request("PUT", f"/models/{a.model}/aliases/{a.alias}", body=body)


def alias_delete(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.request("DELETE", f"/models/{a.model}/aliases/{a.alias}")


def alias_history(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.get(f"/models/{a.model}/aliases/{a.alias}/history", at=a.at)


def _decision(verb: str) -> Run:
    def run(api: ApiClient, a: argparse.Namespace) -> Any:
        return api.request("POST", f"/models/{a.model}/versions/{a.version}/{verb}",
                           body={"reason": a.reason} if a.reason else {})

    return run


def rollback(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.request("POST", f"/models/{a.model}/rollback", body={"reason": a.reason} if a.reason else {})


def predict(api: ApiClient, a: argparse.Namespace) -> Any:
    params = {"alias": a.alias, "version": a.version}
    return api.request("POST", f"/models/{a.model}/predict", params=params,
                       body={"records": _read_records(Path(a.file))})


def drift_check(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.request("POST", f"/models/{a.model}/drift/check", body={})


def drift_history(api: ApiClient, a: argparse.Namespace) -> Any:
    return _paged(api, f"/models/{a.model}/drift", a)


def lineage(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.get(f"/models/{a.model}/versions/{a.version}/lineage")


def _paged(api: ApiClient, path: str, a: argparse.Namespace) -> Any:
    """One page (``--limit``, ``--next-token``), or every page with ``--all``."""
    page = api.get(path, limit=a.limit, next_token=a.next_token)
    if not a.all:
        return page
    items = list(page.get("items", []))
    while page.get("next_token"):
        page = api.get(path, limit=a.limit, next_token=page["next_token"])
        items.extend(page.get("items", []))
    return {"items": items, "next_token": None}


# ---- argument wiring -------------------------------------------------------------------------

def _paging(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--next-token", default=None)
    p.add_argument("--all", action="store_true", help="follow next_token to the end")


def _reason(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reason", default=None)


def register(sub: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add every API command to the ``sluice`` parser (``add_common`` adds --api/--json)."""

    def command(parent: Any, name: str, run: Run, help_text: str, *positional: str,
                extra: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.ArgumentParser:
        parser = parent.add_parser(name, help=help_text)
        for arg in positional:
            parser.add_argument(arg, type=int if arg in ("version",) else str)
        if extra:
            extra(parser)
        add_common(parser)
        parser.set_defaults(api_call=run)
        return parser

    def group(name: str, help_text: str) -> Any:
        return sub.add_parser(name, help=help_text).add_subparsers(dest=f"{name}_command", required=True)

    contract = group("contract", "data contracts: put, get, infer")
    command(contract, "put", contract_put, "store a new contract version (JSON or YAML file)",
            "dataset", "file")
    command(contract, "get", contract_get, "show the contract", "dataset",
            extra=lambda p: p.add_argument("--version", type=int))
    command(contract, "infer", contract_infer, "suggest a contract from an object in raw/", "dataset", "key")
    command(sub, "upload", upload, "upload a file into raw/{dataset}/ (presigned URL)", "dataset", "file")
    datasets = group("datasets", "datasets and their validated versions")
    command(datasets, "list", datasets_list, "list datasets", extra=_paging)
    command(datasets, "versions", dataset_versions, "list a dataset's versions", "dataset", extra=_paging)
    command(datasets, "show", dataset_version, "one version: report and lineage", "dataset", "version")
    spec = group("spec", "training specs: put, get")
    command(spec, "put", spec_put, "store a new training spec version (JSON or YAML file)", "model", "file")
    command(spec, "get", spec_get, "show the training spec", "model",
            extra=lambda p: p.add_argument("--version", type=int))

    def train_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--wait", action="store_true", help="wait for the run to finish")
        p.add_argument("--timeout", type=float, default=900.0)
        _reason(p)

    command(sub, "train", train, "start a training run", "model", extra=train_args)
    runs = group("runs", "training runs")
    command(runs, "show", run_show, "a run's status, metrics or error", "model", "run")
    models = group("models", "the model registry")
    command(models, "list", models_list, "list models", extra=_paging)
    versions = group("versions", "model versions")
    command(versions, "list", versions_list, "list a model's versions", "model", extra=_paging)
    command(versions, "show", version_show, "one model version", "model", "version")
    alias = group("alias", "aliases: set, delete, history")

    def alias_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--expected", type=int, default=None, help="only move if it points here now")
        _reason(p)

    command(alias, "set", alias_set, "point an alias at a version", "model", "alias", "version",
            extra=alias_args)
    command(alias, "delete", alias_delete, "remove an alias", "model", "alias")
    command(alias, "history", alias_history, "an alias's moves (or its version --at a time)", "model",
            "alias", extra=lambda p: p.add_argument("--at", default=None, help="ISO-8601 time"))
    command(sub, "promote", _decision("promote"), "approve a version and make it production",
            "model", "version", extra=_reason)
    command(sub, "reject", _decision("reject"), "reject a version", "model", "version", extra=_reason)
    command(sub, "rollback", rollback, "move production back to the previous version", "model",
            extra=_reason)

    def predict_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--alias", default=None)
        p.add_argument("--version", type=int, default=None)

    command(sub, "predict", predict, "predict for the records of a JSON, JSONL or CSV file", "model",
            "file", extra=predict_args)
    drift = group("drift", "drift checks")
    command(drift, "check", drift_check, "run a drift check now", "model")
    command(drift, "history", drift_history, "past drift checks", "model", extra=_paging)
    command(sub, "lineage", lineage, "model version → dataset versions → raw objects", "model", "version")


# ---- output ----------------------------------------------------------------------------------

def render(console: Console, result: Any) -> None:
    """A table for a listing, a two-column table for one object, plain text otherwise."""
    if isinstance(result, dict) and isinstance(result.get("items"), list):
        items = result["items"]
        if not items:
            console.print("(none)")
            return
        columns = [k for k in items[0] if not isinstance(items[0][k], dict | list)][:8]
        table = Table(*columns)
        for item in items:
            table.add_row(*(_cell(item.get(c)) for c in columns))
        console.print(table)
        if result.get("next_token"):
            console.print(f"more: --next-token {result['next_token']}", style="dim")
    elif isinstance(result, dict):
        table = Table("field", "value", show_header=False)
        for key, value in result.items():
            table.add_row(key, _cell(value))
        console.print(table)
    else:
        console.print(result)


def _cell(value: Any) -> str:
    if isinstance(value, dict | list):
        text = json.dumps(value, default=str)
        return text if len(text) <= 120 else text[:117] + "..."
    return "" if value is None else str(value)
