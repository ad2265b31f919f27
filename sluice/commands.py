"""``sluice`` commands that drive the HTTP API: one small function per operation.

Each command returns the API's answer; :func:`register` wires it to its arguments and to a *view*
that shows it to people (a table, a tree or a line). ``--json`` prints the answer as it is, for
scripts. A failed call raises :class:`ApiError` (the API's code and message), and the CLI exits 1.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sluice.api_client import ApiClient, ApiError

Run = Callable[[ApiClient, argparse.Namespace], Any]
View = Callable[[Console, Any], None]
Cell = Callable[[dict[str, Any]], Any]
Column = tuple[str, Cell] | tuple[str, Cell, dict[str, Any]]
TERMINAL_RUN_STATES = {"succeeded", "failed"}
UPLOAD_CHUNK = 1024 * 1024


# ---- local files -------------------------------------------------------------------------------


def local_error(code: str, message: str) -> ApiError:
    """A failure on this side of the API (a file, a timeout), reported like the API's own errors."""
    return ApiError(0, code, message)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise local_error("file_not_found", f"no file {str(path)!r}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise local_error("invalid_file", f"cannot read {str(path)!r}: {exc}") from exc


NUMBER = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$")


def _csv_value(text: str) -> Any:
    """A CSV cell as JSON would carry it: numbers as numbers, ``true``/``false`` as booleans, an
    empty cell as a missing value; anything else (``007``, ``2026-11-26``, ``Berlin``) stays text."""
    if text == "":
        return None
    if NUMBER.match(text):
        return float(text) if any(c in text for c in ".eE") else int(text)
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """A CSV file's rows as text, by header."""
    try:
        return [{k: v or "" for k, v in row.items()} for row in csv.DictReader(io.StringIO(_read_text(path)))]
    except csv.Error as exc:
        raise local_error("invalid_file", f"{path.name} is not valid CSV: {exc}") from exc


def typed_rows(rows: list[dict[str, str]], text_fields: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """CSV rows as JSON records; ``text_fields`` stay text (a string feature like ``01099`` or ``42``)."""
    return [{k: (v or None) if k in text_fields else _csv_value(v) for k, v in row.items()} for row in rows]


def read_records(path: Path) -> list[dict[str, Any]]:
    """Records from a JSON (a list, or ``{"records": [...]}``), JSONL or CSV file."""
    if path.suffix.lower() == ".csv":
        return typed_rows(read_csv_rows(path))
    text = _read_text(path)
    try:
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        data = json.loads(text)
    except ValueError as exc:
        kind = path.suffix.lstrip(".").upper() or "JSON"
        raise local_error("invalid_file", f"{path.name} is not valid {kind}: {exc}") from exc
    records = data.get("records") if isinstance(data, dict) else data
    if not isinstance(records, list):
        raise local_error("invalid_file",
                          f'{path.name} holds neither a list of records nor {{"records": [...]}}')
    return records


def _document(path: Path, *, yaml_as_json: bool = False) -> tuple[bytes, str]:
    """A contract or spec file as the API takes it: JSON, or YAML (sent as YAML, or as JSON when the
    route only reads JSON)."""
    text = _read_text(path)
    if path.suffix.lower() not in (".yaml", ".yml"):
        return text.encode(), "application/json"
    if not yaml_as_json:
        return text.encode(), "application/x-yaml"
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise local_error("invalid_yaml", f"{path.name} is not valid YAML: {exc}") from exc
    return json.dumps(data, default=str).encode(), "application/json"


# ---- datasets ----------------------------------------------------------------------------------


def contract_put(api: ApiClient, a: argparse.Namespace) -> Any:
    raw, content_type = _document(Path(a.file))
    return api.request("PUT", f"/datasets/{a.dataset}/contract", raw=raw, content_type=content_type)


def contract_get(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.get(f"/datasets/{a.dataset}/contract", version=a.version)


def contract_infer(api: ApiClient, a: argparse.Namespace) -> Any:
    """Infer from a local FILE (a bounded sample goes to ``staging/``, which starts nothing) or from an
    object already in the bucket (``--key``); ``-o`` writes the contract as YAML or JSON."""
    output = _output_path(a.output)
    if (a.file is None) == (a.key is None):
        raise local_error("invalid_arguments", "give a local FILE, or --key for an object already in the "
                                               "bucket (not both)")
    if a.key is not None:
        body = {"key": a.key, **({"format": a.format} if a.format else {})}
        result = api.request("POST", f"/datasets/{a.dataset}/contract/infer", body=body)
    else:
        result = _infer_from_file(api, a)
    if output is not None:
        output.write_text(contract_document(result["contract"], output, _origin(result)), encoding="utf-8")
        result["written"] = str(output)
    return result


def contract_of(result: dict[str, Any]) -> Any:
    """print the contract document alone (what `sluice contract put` reads)"""
    return result["contract"]


def _infer_from_file(api: ApiClient, a: argparse.Namespace) -> dict[str, Any]:
    from sluice.samples import SampleError, take

    path = Path(a.file)
    try:
        sample = take(path, a.format)
    except SampleError as exc:
        hint = f" (for an object already in the bucket: --key {a.file})" \
            if exc.code == "file_not_found" and a.file.startswith(("raw/", "staging/")) else ""
        raise local_error(exc.code, exc.message + hint) from exc
    target = api.request("POST", f"/datasets/{a.dataset}/samples", body={"filename": sample.name})
    label = f"sending {'' if sample.whole else 'a sample of '}{path.name}"
    if sample.data is None:
        with open(path, "rb") as handle:
            _put_to_s3(target, handle, sample.size, label, quiet=a.json)
    else:
        _put_to_s3(target, io.BytesIO(sample.data), sample.sent_bytes, label, quiet=a.json)
    result = api.request("POST", f"/datasets/{a.dataset}/contract/infer",
                         body={"key": target["key"], "format": sample.fmt})
    result["file"] = {"path": str(path), "size": sample.size, "sent_bytes": sample.sent_bytes}
    return result


def _output_path(value: str | None) -> Path | None:
    """``-o``'s path, checked before any work: its folder exists and it is not a folder."""
    if value is None:
        return None
    path = Path(value)
    if path.is_dir() or not path.parent.is_dir():
        raise local_error("invalid_output", f"cannot write {value!r}: "
                                            f"{'a folder' if path.is_dir() else 'no such folder'}")
    return path


def _origin(result: dict[str, Any]) -> str:
    """Where an inferred contract came from, in words."""
    local = result.get("file")
    if local:
        part = "" if local["sent_bytes"] >= local["size"] else \
            f", a sample of {local['sent_bytes']:,} of its {local['size']:,} bytes"
        return f"{local['path']}{part}"
    source = result.get("source") or {}
    return f"s3://{source.get('bucket')}/{source.get('key')}"


def contract_document(contract: dict[str, Any], path: Path, origin: str) -> str:
    """The contract as a file ``sluice contract put`` reads back: JSON for ``.json``, else YAML."""
    if path.suffix.lower() == ".json":
        return json.dumps(contract, indent=2) + "\n"
    import yaml

    head = (f"# Suggested by `sluice contract infer` from {origin}.\n"
            f"# Review it (types, ranges, allowed values, pii), then: "
            f"sluice contract put {contract.get('dataset')} {path.name}\n")
    return head + yaml.safe_dump(contract, sort_keys=False, allow_unicode=True, width=100)


class _ProgressReader:
    """A file that reports each block read; its length lets ``requests`` send a Content-Length
    (S3 refuses chunked transfer encoding on a presigned PUT)."""

    def __init__(self, handle: Any, size: int, advance: Callable[[int], None]) -> None:
        self._handle, self._size, self._advance = handle, size, advance

    def __len__(self) -> int:
        return self._size

    def read(self, amount: int = -1) -> bytes:
        chunk = self._handle.read(UPLOAD_CHUNK if amount is None or amount < 0 else amount)
        self._advance(len(chunk))
        return chunk


def upload(api: ApiClient, a: argparse.Namespace) -> Any:
    """Ask for a presigned URL, then PUT the file to S3 with a progress bar (none with ``--json``)."""
    path = Path(a.file)
    if not path.is_file():
        raise local_error("file_not_found", f"no file {str(path)!r}")
    size = path.stat().st_size
    target = api.request("POST", f"/datasets/{a.dataset}/uploads", body={"filename": a.name or path.name})
    with open(path, "rb") as handle:
        _put_to_s3(target, handle, size, f"uploading {path.name}", quiet=a.json)
    return {"dataset": a.dataset, "key": target["key"], "bytes": size}


def _put_to_s3(target: dict[str, Any], handle: Any, size: int, label: str, *, quiet: bool) -> None:
    """PUT ``size`` bytes of ``handle`` to a presigned URL, with a progress bar on stderr unless quiet."""
    import requests
    from rich.progress import BarColumn, DownloadColumn, Progress, TaskProgressColumn, TransferSpeedColumn

    with Progress("[progress.description]{task.description}", BarColumn(), TaskProgressColumn(),
                  DownloadColumn(), TransferSpeedColumn(), console=Console(stderr=True),
                  disable=quiet) as progress:
        task = progress.add_task(label, total=size)
        body = _ProgressReader(handle, size, lambda n: progress.advance(task, n))
        try:
            response = requests.put(target["url"], data=body, headers=target.get("headers") or {},
                                    timeout=3600)
        except requests.RequestException as exc:
            raise local_error("upload_failed", f"the upload to S3 failed: {exc}") from exc
    if response.status_code >= 300:
        raise local_error("upload_failed", f"S3 answered {response.status_code}: {_s3_error(response.text)}")


def _s3_error(text: str) -> str:
    """S3's XML error as ``Code: Message`` (the whole body if it is not S3's shape)."""
    code = re.search(r"<Code>(.*?)</Code>", text)
    message = re.search(r"<Message>(.*?)</Message>", text)
    if code:
        return f"{code.group(1)}: {message.group(1) if message else ''}".strip()
    return text.strip()[:300]


def datasets_list(api: ApiClient, a: argparse.Namespace) -> Any:
    return _paged(api, "/datasets", a)


def dataset_versions(api: ApiClient, a: argparse.Namespace) -> Any:
    return _paged(api, f"/datasets/{a.dataset}/versions", a)


def dataset_version(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.get(f"/datasets/{a.dataset}/versions/{a.version}")


# ---- training ----------------------------------------------------------------------------------


def spec_put(api: ApiClient, a: argparse.Namespace) -> Any:
    raw, content_type = _document(Path(a.file), yaml_as_json=True)
    return api.request("PUT", f"/models/{a.model}/spec", raw=raw, content_type=content_type)


def spec_get(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.get(f"/models/{a.model}/spec", version=a.version)


def train(api: ApiClient, a: argparse.Namespace) -> Any:
    started = api.request("POST", f"/models/{a.model}/train", body={"reason": a.reason} if a.reason else {})
    if not a.wait:
        return started
    run = wait_for_run(api, a.model, started["run_id"], timeout=a.timeout, quiet=a.json)
    if run.get("status") == "failed":
        error = run.get("error") or {}
        raise local_error("run_failed", f"run {run['run_id']} failed: {error.get('code', 'error')}: "
                                        f"{error.get('message', '')}")
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


def runs_list(api: ApiClient, a: argparse.Namespace) -> Any:
    return _paged(api, f"/models/{a.model}/runs", a)


# ---- registry ----------------------------------------------------------------------------------


def models_list(api: ApiClient, a: argparse.Namespace) -> Any:
    return _paged(api, "/models", a)


def versions_list(api: ApiClient, a: argparse.Namespace) -> Any:
    return _paged(api, f"/models/{a.model}/versions", a)


def version_show(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.get(f"/models/{a.model}/versions/{a.version}")


def version_update(api: ApiClient, a: argparse.Namespace) -> Any:
    tags: dict[str, str | None] = {}
    for pair in a.tag or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise local_error("invalid_tag", f"--tag takes KEY=VALUE, not {pair!r}")
        tags[key] = value
    tags.update({key: None for key in a.untag or []})
    body: dict[str, Any] = {"tags": tags} if tags else {}
    if a.description is not None:
        body["description"] = a.description
    return api.request("PATCH", f"/models/{a.model}/versions/{a.version}", body=body)


def audit(api: ApiClient, a: argparse.Namespace) -> Any:
    return _paged(api, f"/models/{a.model}/audit", a)


def health(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.get("/health")


def alias_get(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.get(f"/models/{a.model}/aliases/{a.alias}")


def alias_set(api: ApiClient, a: argparse.Namespace) -> Any:
    body: dict[str, Any] = {"version": a.version}
    if a.expected is not None:
        body["expected_version"] = a.expected
    if a.reason:
        body["reason"] = a.reason
    return api.request("PUT", f"/models/{a.model}/aliases/{a.alias}", body=body)


def alias_delete(api: ApiClient, a: argparse.Namespace) -> Any:
    body: dict[str, Any] = {}
    if a.expected is not None:
        body["expected_version"] = a.expected
    if a.reason:
        body["reason"] = a.reason
    return api.request("DELETE", f"/models/{a.model}/aliases/{a.alias}", body=body or None)


def alias_history(api: ApiClient, a: argparse.Namespace) -> Any:
    if a.at:
        return api.get(f"/models/{a.model}/aliases/{a.alias}/history", at=a.at)
    return _paged(api, f"/models/{a.model}/aliases/{a.alias}/history", a)


def promote(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.request("POST", f"/models/{a.model}/versions/{a.version}/promote", body=_reason_body(a))


def reject(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.request("POST", f"/models/{a.model}/versions/{a.version}/reject", body=_reason_body(a))


def rollback(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.request("POST", f"/models/{a.model}/rollback", body=_reason_body(a))


def _reason_body(a: argparse.Namespace) -> dict[str, Any]:
    return {"reason": a.reason} if a.reason else {}


def lineage(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.get(f"/models/{a.model}/versions/{a.version}/lineage")


# ---- serving and monitoring --------------------------------------------------------------------


TEXT_TYPES = {"string", "category", "date", "timestamp"}


def predict(api: ApiClient, a: argparse.Namespace) -> Any:
    """Score a file's records. A CSV carries no types: its numbers are sent as numbers, and if the
    model declares some of those columns as text, they are sent again as text (one retry)."""
    path = Path(a.file)
    params = {"alias": a.alias, "version": a.version}

    def send(records: list[dict[str, Any]]) -> Any:
        return api.request("POST", f"/models/{a.model}/predict", params=params, body={"records": records})

    if path.suffix.lower() != ".csv":
        records = read_records(path)
        answer = send(records)
    else:
        rows = read_csv_rows(path)
        records = typed_rows(rows)
        try:
            answer = send(records)
        except ApiError as exc:
            text_fields = frozenset(d.get("field") for d in exc.details if isinstance(d, dict)
                                    and d.get("problem") == "wrong_type" and d.get("expected") in TEXT_TYPES)
            if exc.code != "invalid_records" or not text_fields:
                raise
            records = typed_rows(rows, text_fields)
            answer = send(records)
    if isinstance(answer, dict):
        answer.setdefault("records", records)  # the view shows inputs beside predictions (not --json)
    return answer


def drift_check(api: ApiClient, a: argparse.Namespace) -> Any:
    body: dict[str, Any] = {}
    if a.window_hours is not None:
        body["window_hours"] = a.window_hours
    return api.request("POST", f"/models/{a.model}/drift/check", body=body)


def drift_history(api: ApiClient, a: argparse.Namespace) -> Any:
    return _paged(api, f"/models/{a.model}/drift", a, kind=a.kind)


def _paged(api: ApiClient, path: str, a: argparse.Namespace, **params: Any) -> Any:
    """One page (``--limit``, ``--next-token``), or every page with ``--all``."""
    page = api.get(path, limit=a.limit, next_token=a.next_token, **params)
    if not a.all:
        return page
    items = list(page.get("items", []))
    while page.get("next_token"):
        page = api.get(path, limit=a.limit, next_token=page["next_token"], **params)
        items.extend(page.get("items", []))
    return {"items": items, "next_token": None}


# ---- views for people --------------------------------------------------------------------------


def esc(value: Any) -> str:
    """API text in a rich string: square brackets shown, never read as markup."""
    return escape(str(value))


def _cell(value: Any) -> str:
    """A value as a table cell (escaped: cells are read as markup)."""
    return escape(_text(value))


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return ", ".join(str(v) for v in value) or "-"
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


def _metrics(metrics: Any, limit: int | None = None) -> str:
    if not isinstance(metrics, dict):
        return _cell(metrics)
    shown = [f"{k}={_text(v)}" for k, v in metrics.items() if not isinstance(v, dict | list)]
    return " ".join(shown[:limit])


def _when(value: Any) -> str:
    """``2026-11-26T16:33:47.123Z`` as ``2026-11-26 16:33:47`` (UTC) for a narrow column."""
    text = str(value or "")
    return text[:19].replace("T", " ") if len(text) >= 19 and text[10] == "T" else _text(value)


def at(name: str, heading: str | None = None) -> Column:
    """A timestamp column of a listing (kept on one line)."""
    return heading or name.removesuffix("_at"), lambda item: _when(item.get(name)), {"no_wrap": True}


def _file_name(key: Any) -> str:
    """The name a person uploaded, from ``raw/{dataset}/{timestamp}-{uuid}-{name}``."""
    base = str(key or "").rsplit("/", 1)[-1]
    parts = base.split("-", 2)
    return parts[2] if len(parts) == 3 and parts[0][:8].isdigit() else base


def fields(*names: str, title: Callable[[Any], str] | None = None) -> View:
    """A two-column table of the named fields (all scalar fields when none are named)."""

    def view(console: Console, result: Any) -> None:
        if not isinstance(result, dict):
            console.print(result, markup=False)
            return
        keys = names or tuple(k for k, v in result.items() if not isinstance(v, dict) or len(v) <= 4)
        table = Table("field", "value", show_header=False, title=title(result) if title else None,
                      title_justify="left")
        for key in keys:
            if key in result:
                value = result[key]
                table.add_row(_cell(key), escape(_metrics(value)) if key == "metrics" else _cell(value))
        console.print(table)

    return view


def _column(column: str | Column) -> tuple[str, Callable[[dict[str, Any]], Any], dict[str, Any]]:
    if isinstance(column, str):
        return column, lambda item: item.get(column), {}
    return column[0], column[1], column[2] if len(column) > 2 else {}  # type: ignore[misc]


def listing(*columns: str | Column) -> View:
    """A table of a page of items: each column a field name, or (heading, function of the item[,
    options of :meth:`rich.table.Table.add_column`])."""
    specs = [_column(c) for c in columns]

    def view(console: Console, result: Any) -> None:
        items = result.get("items", []) if isinstance(result, dict) else []
        if not items:
            console.print("(none)", markup=False)
            return
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        for heading, _, options in specs:
            table.add_column(heading, **options)
        for item in items:
            table.add_row(*(_cell(value(item)) for _, value, _ in specs))
        console.print(table)
        if result.get("next_token"):
            console.print(f"more: --next-token {result['next_token']}  (or --all)", style="dim",
                          highlight=False, markup=False)

    return view


# Column fields whose stored value means "no constraint" (the contract's defaults): not shown.
COLUMN_DEFAULTS: dict[str, Any] = {"unique": False, "exclusive_min": False, "exclusive_max": False,
                                   "severity": "error", "rule_severity": {}}
COLUMN_SHOWN_APART = {"name", "type", "nullable", "pii", "description"}


def _is_default(key: str, value: Any) -> bool:
    """Whether a column field holds its default; ``min: 0``, ``allowed: [false]`` or ``pattern: ""`` do not
    (compared by type too: ``0 == False`` in Python)."""
    if value is None:
        return True
    default = COLUMN_DEFAULTS.get(key)
    return key in COLUMN_DEFAULTS and type(value) is type(default) and value == default


def _constraint_text(value: Any) -> str:
    """A constraint's value as a contract file spells it: ``0``, ``false``, ``""``, ``[a, b]``."""
    if isinstance(value, str):
        return value or '""'
    if isinstance(value, list):
        return "[" + ", ".join(_constraint_text(v) for v in value) + "]"
    return json.dumps(value, default=str)


def column_constraints(column: dict[str, Any]) -> str:
    """A contract column's constraints for the contract table, every non-default value shown."""
    return ", ".join(f"{k}={_constraint_text(v)}" for k, v in column.items()
                     if k not in COLUMN_SHOWN_APART and not _is_default(k, v))


def contract_view(console: Console, result: Any) -> None:
    contract = result.get("contract") or {}
    if result.get("file") or result.get("source"):
        where = f"suggested from {_origin(result)}"
    else:
        where = f"version {result.get('version')}, {result.get('created_at')}"
    name = esc(result.get("dataset") or contract.get("dataset"))
    console.print(f"[bold]contract of {name}[/] ({esc(where)})", highlight=False)
    if contract.get("description"):
        console.print(contract["description"], style="dim", markup=False)
    table = Table("column", "type", "nullable", "pii", "constraints")
    for column in contract.get("columns", []):
        table.add_row(_cell(column.get("name")), _cell(column.get("type")), _cell(column.get("nullable")),
                      _cell(column.get("pii")), escape(column_constraints(column)))
    console.print(table)
    for key in ("rules", "failure_policy", "extra_columns", "undeclared_pii"):
        if contract.get(key) not in (None, {}, []):
            console.print(f"{key}: {_cell(contract[key])}", highlight=False, markup=False)
    if result.get("written"):
        console.print(f"wrote {result['written']}; review it, then `sluice contract put "
                      f"{result.get('dataset')} {result['written']}`", highlight=False, markup=False)
    elif result.get("file") or result.get("source"):
        console.print(f"`-o {result.get('dataset')}.contract.yaml` writes it to a file for "
                      "`sluice contract put`", style="dim", highlight=False, markup=False)


def upload_view(console: Console, result: Any) -> None:
    console.print(f"uploaded {result['bytes']:,} bytes → {result['key']}", highlight=False, soft_wrap=True,
                  markup=False)
    console.print(f"the gate validates it now; see `sluice datasets versions {result['dataset']}`",
                  style="dim", highlight=False, markup=False)


def dataset_version_view(console: Console, result: Any) -> None:
    fields("dataset", "version", "status", "code", "reason", "rows", "invalid_rows", "contract_version",
           "curated_path", "quarantine_path", "glue_table", "report_key", "created_at")(console, result)
    raw = result.get("raw") or {}
    console.print(f"raw: s3://{raw.get('bucket')}/{raw.get('key')} (sha256 {raw.get('sha256')})",
                  highlight=False, markup=False)
    rules = (result.get("report") or {}).get("rules") or []
    if rules:
        table = Table("rule", "column", "severity", "status", "failing rows", title="validation rules",
                      title_justify="left")
        for rule in rules:
            status = rule_status(rule)
            evaluated = status != "not_evaluated"
            table.add_row(_cell(rule.get("id")), _cell(rule.get("column")), _cell(rule.get("severity")),
                          RULE_STATUS_STYLE.get(status, _cell(status)),
                          _cell(rule.get("failing_rows")) if evaluated else "-")
        console.print(table)


RULE_STATUS_STYLE = {"passed": "[green]passed[/]", "failed": "[red]failed[/]",
                     "not_evaluated": "[yellow]not evaluated[/]"}


def rule_status(rule: dict[str, Any]) -> str:
    """``passed``, ``failed`` or ``not_evaluated``: the report's ``status``, or (older reports) derived
    from ``passed``, where null means the rule did not run."""
    status = rule.get("status")
    if isinstance(status, str) and status:
        return status
    passed = rule.get("passed")
    if passed is None:
        return "not_evaluated"
    return "passed" if passed else "failed"


def spec_view(console: Console, result: Any) -> None:
    console.print(f"[bold]training spec of {esc(result.get('model'))}[/] (version {result.get('version')}, "
                  f"{result.get('created_at')})", highlight=False)
    table = Table("field", "value", show_header=False)
    for key, value in (result.get("spec") or {}).items():
        table.add_row(_cell(key), _cell(value))
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
    metrics = result.get("metrics") or {}
    if metrics:
        champion = ((result.get("decision") or {}).get("evidence") or {}).get("champion") or {}
        baseline = result.get("baseline") or {}
        table = Table("metric", "this run", "champion", "baseline", title="holdout metrics",
                      title_justify="left")
        for name, value in metrics.items():
            table.add_row(_cell(name), _cell(value), _cell(champion.get(name)), _cell(baseline.get(name)))
        console.print(table)
    decision = result.get("decision") or {}
    if decision:
        verdict = "promote" if decision.get("promote") else "do not promote"
        status = (result.get("promotion") or {}).get("status")
        console.print(f"gate: {verdict}" + (f" → version is {status}" if status else ""), highlight=False,
                      markup=False)
        for reason in decision.get("reasons") or []:
            console.print(f"  • {reason}", highlight=False, markup=False)


def move_view(console: Console, result: Any) -> None:
    move = result.get("alias_move", result)
    if "model_version" in result:
        version = result["model_version"]
        console.print(f"{version['model']} version {version['version']} is {version['status']}",
                      highlight=False, markup=False)
    console.print(f"{move['model']} alias {move['alias']}: {_cell(move.get('from_version'))} → "
                  f"{_cell(move.get('to_version'))}" + (f" ({move['reason']})" if move.get("reason") else ""),
                  highlight=False, markup=False)


def alias_history_view(console: Console, result: Any) -> None:
    if "at" in result:
        console.print(f"{result['model']} alias {result['alias']} at {result['at']}: "
                      f"version {_cell(result.get('version'))}", highlight=False, markup=False)
        return
    listing("seq", at("at"), ("from", lambda m: m.get("from_version")), ("to", lambda m: m.get("to_version")),
            "actor", "reason", ("cause", lambda m: m.get("cause") if isinstance(m.get("cause"), str)
                                else "gate"))(console, result)


def version_view(console: Console, result: Any) -> None:
    fields("model", "version", "status", "aliases", "metrics", "run_id", "spec_version", "source",
           "artifact_sha256", "description", "tags", "created_at", "updated_at")(console, result)
    trained_on = result.get("dataset_versions") or []
    datasets = ", ".join(f"{d.get('dataset')} v{d.get('version')}" for d in trained_on)
    console.print(f"trained on: {datasets or '-'}", highlight=False, markup=False)


def predict_view(console: Console, result: Any) -> None:
    alias = f" ({result['alias']})" if result.get("alias") else ""
    console.print(f"{result['model']} version {result['version']}{alias}, request {result['request_id']}",
                  highlight=False, markup=False)
    records = result.get("records") or []
    shown = [k for k in (records[0] if records else {}) if k not in result.get("ignored_fields", [])][:5]
    probabilities = result.get("probabilities")
    table = Table("#", *shown, "prediction", *(["probabilities"] if probabilities else []))
    for index, prediction in enumerate(result.get("predictions") or []):
        record = records[index] if index < len(records) else {}
        row = [str(index), *(_cell(record.get(k)) for k in shown), _cell(prediction)]
        if probabilities:
            row.append(", ".join(f"{k}: {v:.2f}" for k, v in probabilities[index].items()))
        table.add_row(*row)
    console.print(table)
    if result.get("ignored_fields"):
        console.print(f"not features of this version, ignored: {', '.join(result['ignored_fields'])}",
                      style="dim", highlight=False, markup=False)


def drift_view(console: Console, result: Any) -> None:
    drifted = result.get("dataset_drift")
    colour = "red" if drifted else "green"
    status = esc(result.get("status"))
    console.print(f"{esc(result['model'])} version {result['version']}: [{colour}]{status}[/] — "
                  f"{result.get('drifted_features')} drifted feature(s), "
                  f"share {_cell(result.get('drift_share'))} "
                  f"(threshold {_cell(result.get('drift_share_threshold'))}); {result.get('rows')} rows "
                  f"{result.get('window_start')} → {result.get('window_end')}", highlight=False)
    features = result.get("features") or []
    if features:
        keys = [k for k in features[0]
                if k not in ("name", "feature") and not isinstance(features[0][k], dict | list)][:5]
        table = Table("feature", *keys)
        for feature in features:
            table.add_row(_cell(feature.get("name")), *(_cell(feature.get(k)) for k in keys))
        console.print(table)
    reports = result.get("reports") or {}
    if reports.get("html"):
        console.print(f"report: {reports['html']}", style="dim", highlight=False, markup=False)


def lineage_view(console: Console, result: Any) -> None:
    from rich.tree import Tree

    artifact = result.get("artifact") or {}
    head = esc(f"{result['model']} version {result['version']}")
    rest = esc(f"({result.get('status')}) · run {result.get('run_id')} · "
               f"spec v{result.get('spec_version')} · artifact sha256 {str(artifact.get('sha256'))[:12]}…")
    tree = Tree(f"[bold]{head}[/] {rest}")
    for dataset in result.get("datasets") or []:
        if not dataset.get("found"):
            tree.add(f"{esc(dataset.get('dataset'))} v{dataset.get('version')} [red](not found)[/]")
            continue
        branch = tree.add(esc(f"dataset {dataset['dataset']} v{dataset['version']} ({dataset.get('status')}, "
                              f"{dataset.get('rows')} rows, contract v{dataset.get('contract_version')}) "
                              f"{dataset.get('curated_path') or ''}"))
        raw = dataset.get("raw") or {}
        sha = str(raw.get("sha256"))[:12]
        branch.add(esc(f"raw s3://{raw.get('bucket')}/{raw.get('key')} (sha256 {sha}…)"))
    console.print(tree, highlight=False)


def render(console: Console, result: Any) -> None:
    """The fallback view: a listing's scalar columns, or an object's fields."""
    if isinstance(result, dict) and isinstance(result.get("items"), list):
        items = result["items"]
        columns = [k for k in (items[0] if items else {}) if not isinstance(items[0][k], dict | list)][:8]
        listing(*columns)(console, result)
    else:
        fields()(console, result)


# ---- argument wiring ---------------------------------------------------------------------------


def _paging(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", type=int, default=None, help="items per page (1-100; default 50)")
    p.add_argument("--next-token", default=None, help="the page after the one that printed this token")
    p.add_argument("--all", action="store_true", help="follow next_token to the end")


def _reason(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reason", default=None, help="why (kept in the audit trail)")


def _both(*adders: Callable[[argparse.ArgumentParser], None]) -> Callable[[argparse.ArgumentParser], None]:
    def add(p: argparse.ArgumentParser) -> None:
        for adder in adders:
            adder(p)

    return add


POSITIONAL_HELP = {
    "dataset": "dataset name (lower case, digits, '-', '_')", "model": "model name",
    "version": "version number", "file": "path of a local file",
    "run": "run id (as `sluice train` printed it)", "alias": "alias name (e.g. production, staging)",
}


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _set_help(parser: argparse.ArgumentParser, option: str, text: str) -> None:
    for action in parser._actions:  # argparse has no public accessor for an option's help
        if option in action.option_strings:
            action.help = text


def register(sub: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add every API command to the ``sluice`` parser (``add_common`` adds --api/--json)."""

    def command(parent: Any, name: str, run: Run, help_text: str, *positional: str, view: View = render,
                extra: Callable[[argparse.ArgumentParser], None] | None = None,
                to_json: Callable[[Any], Any] | None = None) -> argparse.ArgumentParser:
        parser = parent.add_parser(name, help=help_text, description=_sentence(help_text))
        for arg in positional:
            parser.add_argument(arg, type=int if arg == "version" else str, help=POSITIONAL_HELP.get(arg))
        if extra:
            extra(parser)
        add_common(parser)
        parser.set_defaults(api_call=run, view=view, to_json=to_json)  # to_json: what --json prints
        if to_json is not None and to_json.__doc__:
            _set_help(parser, "--json", to_json.__doc__)
        return parser

    def group(name: str, help_text: str) -> Any:
        parser = sub.add_parser(name, help=help_text, description=_sentence(help_text))
        return parser.add_subparsers(title="commands", dest=f"{name}_command", required=True,
                                     metavar="COMMAND")

    contract = group("contract", "data contracts: put, get, infer")
    command(contract, "put", contract_put, "store a new contract version from a JSON or YAML file",
            "dataset", "file", view=contract_view)
    command(contract, "get", contract_get, "show the latest contract (or --version N)", "dataset",
            view=contract_view,
            extra=lambda p: p.add_argument("--version", type=int, help="contract version"))
    def infer_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("file", nargs="?", default=None,
                       help="a local CSV, JSONL or Parquet file: a bounded sample (the first 16 MB of text, "
                            "cut at a line end; Parquet up to 256 MB) is sent to staging/, which starts "
                            "no validation and expires after a day")
        p.add_argument("--key", default=None,
                       help="infer from an object already in the bucket instead: raw/{dataset}/… or "
                            "staging/{dataset}/…, or a key relative to raw/{dataset}/")
        p.add_argument("--format", choices=["csv", "parquet", "jsonl"], default=None,
                       help="file format (default: from the file's or key's suffix)")
        p.add_argument("-o", "--output", default=None, metavar="PATH",
                       help="write the contract to PATH: JSON if it ends in .json, else YAML; "
                            "`sluice contract put` reads it back")

    command(contract, "infer", contract_infer, "suggest a contract from a local file (or an object in "
            "the bucket)", "dataset", view=contract_view, extra=infer_args,
            to_json=contract_of)
    command(sub, "upload", upload, "upload a file into raw/{dataset}/ through a presigned URL",
            "dataset", "file", view=upload_view,
            extra=lambda p: p.add_argument("--name", default=None, help="file name to keep in the key "
                                                                        "(default: the file's own)"))
    datasets = group("datasets", "datasets and their validated versions")
    command(datasets, "list", datasets_list, "list datasets with their latest version and status",
            view=listing("dataset", ("latest version", lambda d: d.get("latest_version")),
                         ("status", lambda d: d.get("latest_status")),
                         ("contract", lambda d: d.get("latest_contract_version")), at("updated_at")),
            extra=_paging)
    command(datasets, "versions", dataset_versions, "list a dataset's versions, newest first", "dataset",
            view=listing("version", "status", "rows", ("invalid", lambda v: v.get("invalid_rows")),
                         ("file", lambda v: _file_name((v.get("raw") or {}).get("key"))),
                         at("created_at"), ("failing", lambda v: v.get("failing_rules"))),
            extra=_paging)
    command(datasets, "show", dataset_version, "one version: outcome, validation rules, lineage",
            "dataset", "version", view=dataset_version_view)

    spec = group("spec", "training specs: put, get")
    command(spec, "put", spec_put, "store a new training spec version from a JSON or YAML file",
            "model", "file", view=spec_view)
    command(spec, "get", spec_get, "show the latest training spec (or --version N)", "model", view=spec_view,
            extra=lambda p: p.add_argument("--version", type=int, help="spec version"))

    def train_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--wait", action="store_true", help="wait for the run to end, showing progress")
        p.add_argument("--timeout", type=float, default=900.0, help="seconds to wait (default 900)")
        _reason(p)

    command(sub, "train", train, "start a training run of the model's current spec", "model",
            view=train_started_view, extra=train_args)
    runs = group("runs", "training runs")
    command(runs, "list", runs_list, "list a model's runs, newest first", "model",
            view=listing("run_id", "status", "version", at("created_at"), "reason"), extra=_paging)
    command(runs, "show", run_show, "a run's status, metrics and gate decision, or its error", "model", "run",
            view=run_view)

    command(sub, "health", health, "check that the API answers", view=fields())
    models = group("models", "the model registry: models and their audit trail")
    command(models, "list", models_list, "list registered models",
            view=listing("model", ("versions", lambda m: m.get("version_count")), at("created_at"),
                         at("updated_at")),
            extra=_paging)
    versions = group("versions", "model versions")
    command(versions, "list", versions_list, "list a model's versions, newest first", "model",
            view=listing("version", "status", "aliases",
                         ("metrics", lambda v: _metrics(v.get("metrics"), limit=2)), at("created_at")),
            extra=_paging)
    command(versions, "show", version_show, "one model version", "model", "version", view=version_view)

    def update_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--description", default=None, help="new description")
        p.add_argument("--tag", action="append", metavar="KEY=VALUE", help="set a tag (repeatable)")
        p.add_argument("--untag", action="append", metavar="KEY", help="remove a tag (repeatable)")

    command(versions, "update", version_update, "change a version's description or tags", "model", "version",
            view=version_view, extra=update_args)
    command(models, "audit", audit, "a model's audit trail: who did what, when, newest first", "model",
            view=listing(at("at"), "event", "version", "actor",
                         ("details", lambda e: _cell(e.get("details"))[:60])),
            extra=_paging)

    alias = group("alias", "aliases: get, set, delete, history")

    def expected(p: argparse.ArgumentParser) -> None:
        p.add_argument("--expected", type=int, default=None,
                       help="only if the alias points at this version now (else: conflict, exit 1)")
        _reason(p)

    command(alias, "get", alias_get, "the version an alias points at", "model", "alias",
            view=lambda console, r: console.print(f"{r['model']} alias {r['alias']}: version {r['version']}",
                                                  highlight=False, markup=False))
    command(alias, "set", alias_set, "point an alias at a version", "model", "alias", "version",
            view=move_view, extra=expected)
    command(alias, "delete", alias_delete, "remove an alias", "model", "alias", view=move_view,
            extra=expected)
    command(alias, "history", alias_history, "an alias's moves, newest first (or its version --at a time)",
            "model", "alias", view=alias_history_view,
            extra=_both(_paging, lambda p: p.add_argument("--at", default=None,
                                                          help="ISO-8601 time: the version then")))
    command(sub, "promote", promote, "approve a version and point production at it",
            "model", "version", view=move_view, extra=_reason)
    command(sub, "reject", reject, "reject a version (it can no longer be promoted)", "model", "version",
            view=fields("model", "version", "status", "updated_at"), extra=_reason)
    command(sub, "rollback", rollback, "move production back to the version it pointed at before", "model",
            view=move_view, extra=_reason)

    def predict_args(p: argparse.ArgumentParser) -> None:
        which = p.add_mutually_exclusive_group()
        which.add_argument("--alias", default=None, help="alias to score with (default: production)")
        which.add_argument("--version", type=int, default=None, help="version to score with")

    command(sub, "predict", predict, "predict for the records of a CSV, JSON or JSONL file", "model",
            "file", view=predict_view, extra=predict_args)
    drift = group("drift", "drift checks of the production version")
    command(drift, "check", drift_check, "check the captured traffic for drift now", "model", view=drift_view,
            extra=lambda p: p.add_argument("--window-hours", type=float, default=None,
                                           help="hours of traffic to check (default: the configured window)"))
    command(drift, "history", drift_history, "past drift checks, newest first", "model",
            view=listing(at("checked_at", "checked"), "version", "trigger", "status",
                         ("drifted", lambda c: c.get("drifted_features")), "rows"),
            extra=_both(_paging, lambda p: p.add_argument("--kind", choices=["drift", "performance"],
                                                          default=None, help="only checks of this kind")))
    command(sub, "lineage", lineage, "model version → dataset versions → raw objects", "model", "version",
            view=lineage_view)


def iter_commands(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every (``group command``, parser) pair under ``parser`` (for help checks)."""
    for action in parser._actions:  # argparse has no public accessor for sub-parsers
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield name, child
                for sub_name, grandchild in iter_commands(child):
                    yield f"{name} {sub_name}", grandchild
