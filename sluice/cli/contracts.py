"""``sluice contract show|put|infer``: a dataset's data contract, and a first draft of one from a file."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sluice.api_client import ApiClient
from sluice.cli.calls import local_error
from sluice.cli.files import document, output_path
from sluice.cli.grammar import Cli, Command
from sluice.cli.output import cell, esc
from sluice.cli.transfer import put_to_s3

# Column fields whose stored value means "no constraint" (the contract's defaults): not shown.
COLUMN_DEFAULTS: dict[str, Any] = {"unique": False, "exclusive_min": False, "exclusive_max": False,
                                   "severity": "error", "rule_severity": {}}
COLUMN_SHOWN_APART = {"name", "type", "nullable", "pii", "description"}


def contract_put(api: ApiClient, a: argparse.Namespace) -> Any:
    raw, content_type = document(Path(a.file))
    return api.request("PUT", f"/datasets/{a.dataset}/contract", raw=raw, content_type=content_type)


def contract_get(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.get(f"/datasets/{a.dataset}/contract", version=a.version)


def contract_infer(api: ApiClient, a: argparse.Namespace) -> Any:
    """Infer from a local FILE (a bounded sample goes to ``staging/``, which starts nothing) or from an
    object already in the bucket (``--key``); ``-o`` writes the contract as YAML or JSON."""
    output = output_path(a.output)
    if (a.file is None) == (a.key is None):
        raise local_error("invalid_arguments", "give a local FILE, or --key for an object already in the "
                                               "bucket (not both)")
    if a.key is not None:
        body = {"key": a.key, **({"format": a.format} if a.format else {})}
        result = api.request("POST", f"/datasets/{a.dataset}/contract/infer", body=body)
    else:
        result = _infer_from_file(api, a)
    if output is not None:
        output.write_text(contract_document(result["contract"], output, _origin(result),
                                            [w.get("message", "") for w in result.get("warnings") or []]),
                          encoding="utf-8")
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
            put_to_s3(target, handle, sample.size, label, quiet=a.json)
    else:
        put_to_s3(target, io.BytesIO(sample.data), sample.sent_bytes, label, quiet=a.json)
    result = api.request("POST", f"/datasets/{a.dataset}/contract/infer",
                         body={"key": target["key"], "format": sample.fmt})
    result["file"] = {"path": str(path), "size": sample.size, "sent_bytes": sample.sent_bytes}
    return result


def _origin(result: dict[str, Any]) -> str:
    """Where an inferred contract came from, in words."""
    local = result.get("file")
    if local:
        part = "" if local["sent_bytes"] >= local["size"] else \
            f", a sample of {local['sent_bytes']:,} of its {local['size']:,} bytes"
        return f"{local['path']}{part}"
    source = result.get("source") or {}
    return f"s3://{source.get('bucket')}/{source.get('key')}"


def contract_document(contract: dict[str, Any], path: Path, origin: str, warnings: list[str] | None = None,
                      ) -> str:
    """The contract as a file ``sluice contract put`` reads back: JSON for ``.json``, else YAML (with
    ``warnings`` as comments at the top)."""
    if path.suffix.lower() == ".json":
        return json.dumps(contract, indent=2) + "\n"
    import yaml

    head = (f"# Suggested by `sluice contract infer` from {origin}.\n"
            f"# Review it (types, ranges, allowed values, pii), then: "
            f"sluice contract put {contract.get('dataset')} {path.name}\n")
    head += "".join(f"# WARNING: {' '.join(w.split())}\n" for w in warnings or [])
    return head + yaml.dump(contract, Dumper=_contract_dumper(), sort_keys=False, allow_unicode=True,
                            width=100)


def _contract_dumper() -> type:
    import yaml

    class ContractDumper(yaml.SafeDumper):
        """Text holding a character YAML reads as a line break (NEL, LS, PS) is written double-quoted,
        where it is escaped: plain or single-quoted, YAML folds it into a space."""

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = '"' if any(c in value for c in "\x85\u2028\u2029") else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    ContractDumper.add_representer(str, text)
    return ContractDumper


# ---- views ---------------------------------------------------------------------------------------


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
        table.add_row(cell(column.get("name")), cell(column.get("type")), cell(column.get("nullable")),
                      cell(column.get("pii")), escape(column_constraints(column)))
    console.print(table)
    for key in ("rules", "failure_policy", "extra_columns", "undeclared_pii"):
        if contract.get(key) not in (None, {}, []):
            console.print(f"{key}: {cell(contract[key])}", highlight=False, markup=False)
    for warning in result.get("warnings") or []:
        console.print(f"warning ({warning.get('code')}): {warning.get('message')}", style="yellow",
                      highlight=False, markup=False)
    if result.get("written"):
        console.print(f"wrote {result['written']}; review it, then `sluice contract put "
                      f"{result.get('dataset')} {result['written']}`", highlight=False, markup=False)
    elif result.get("file") or result.get("source"):
        console.print(f"`-o {result.get('dataset')}.contract.yaml` writes it to a file for "
                      "`sluice contract put`", style="dim", highlight=False, markup=False)


# ---- wiring --------------------------------------------------------------------------------------


def _infer_args(p: argparse.ArgumentParser) -> None:
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


SHOW = Command(contract_get, "show the latest contract (or --version N)", ("dataset",), view=contract_view,
               extra=lambda p: p.add_argument("--version", type=int, help="contract version"))
PUT = Command(contract_put, "store a new contract version from a JSON or YAML file", ("dataset", "file"),
              view=contract_view)
INFER = Command(contract_infer, "suggest a contract from a local file (or an object in the bucket)",
                ("dataset",), view=contract_view, extra=_infer_args, to_json=contract_of)


def register(cli: Cli) -> None:
    contract = cli.noun("contract")
    SHOW.add(contract, "show", aliases=["get"])
    PUT.add(contract, "put")
    INFER.add(contract, "infer")
