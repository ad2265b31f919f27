"""``sluice datasets list|versions|show|upload``: files into raw/ and the versions the gate made of them."""

from __future__ import annotations

import argparse
import tempfile
import webbrowser
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from sluice.api_client import ApiClient
from sluice.cli.calls import local_error, paged
from sluice.cli.grammar import Cli, Command, paging
from sluice.cli.output import at, cell, fields, listing
from sluice.cli.transfer import put_to_s3

RULE_STATUS_STYLE = {"passed": "[green]passed[/]", "failed": "[red]failed[/]",
                     "not_evaluated": "[yellow]not evaluated[/]"}


def upload(api: ApiClient, a: argparse.Namespace) -> Any:
    """Ask for a presigned URL, then PUT the file to S3 with a progress bar (none with ``--json``)."""
    path = Path(a.file)
    if not path.is_file():
        raise local_error("file_not_found", f"no file {str(path)!r}")
    size = path.stat().st_size
    target = api.request("POST", f"/datasets/{a.dataset}/uploads", body={"filename": a.name or path.name})
    with open(path, "rb") as handle:
        put_to_s3(target, handle, size, f"uploading {path.name}", quiet=a.json)
    return {"dataset": a.dataset, "key": target["key"], "bytes": size}


def datasets_list(api: ApiClient, a: argparse.Namespace) -> Any:
    return paged(api, "/datasets", a)


def dataset_versions(api: ApiClient, a: argparse.Namespace) -> Any:
    return paged(api, f"/datasets/{a.dataset}/versions", a)


def dataset_version(api: ApiClient, a: argparse.Namespace) -> Any:
    """The version; with ``--html``/``--open`` also its validation report as an HTML file."""
    result = api.get(f"/datasets/{a.dataset}/versions/{a.version}")
    if getattr(a, "html", None) or getattr(a, "open", False):
        result["report_html_file"] = str(write_report(api, result, a.html, open_it=a.open))
    return result


def write_report(api: ApiClient, result: dict[str, Any], target: str | None, *, open_it: bool) -> Path:
    """Render the version's validation report (as the API's ``report_html`` page does, from the same stored
    JSON report and contract) to ``target`` (default: ``{dataset}-v{version}-report.html`` in a temporary
    folder when opening, else here) and open it in the browser when asked."""
    from chalicelib.core.reports.validation_html import ValidationView, render_validation_report

    contract = None
    if result.get("contract_version"):
        contract = api.get(f"/datasets/{result['dataset']}/contract",
                           version=result["contract_version"]).get("contract")
    page = render_validation_report(ValidationView(result, result.get("report"), contract))
    name = f"{result['dataset']}-v{result['version']}-report.html"
    path = Path(target) if target else (Path(tempfile.mkdtemp(prefix="sluice-")) / name if open_it
                                        else Path(name))
    path.write_text(page, encoding="utf-8")
    if open_it:
        webbrowser.open(path.resolve().as_uri())
    return path


def report_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--html", metavar="FILE", default=None,
                   help="also write the validation report as a self-contained HTML page to FILE")
    p.add_argument("--open", action="store_true", help="open the HTML validation report in the browser")


# ---- views ---------------------------------------------------------------------------------------


def file_name(key: Any) -> str:
    """The name a person uploaded, from ``raw/{dataset}/{timestamp}-{uuid}-{name}``."""
    base = str(key or "").rsplit("/", 1)[-1]
    parts = base.split("-", 2)
    return parts[2] if len(parts) == 3 and parts[0][:8].isdigit() else base


def upload_view(console: Console, result: Any) -> None:
    console.print(f"uploaded {result['bytes']:,} bytes → {result['key']}", highlight=False, soft_wrap=True,
                  markup=False)
    console.print(f"the gate validates it now; see `sluice datasets versions {result['dataset']}`",
                  style="dim", highlight=False, markup=False)


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


def dataset_version_view(console: Console, result: Any) -> None:
    fields("dataset", "version", "status", "code", "reason", "rows", "invalid_rows", "contract_version",
           "curated_path", "quarantine_path", "glue_table", "report_key", "created_at",
           "report_html_file")(console, result)
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
            table.add_row(cell(rule.get("id")), cell(rule.get("column")), cell(rule.get("severity")),
                          RULE_STATUS_STYLE.get(status, cell(status)),
                          cell(rule.get("failing_rows")) if evaluated else "-")
        console.print(table)


# ---- wiring --------------------------------------------------------------------------------------

LIST = Command(datasets_list, "list datasets with their latest version and status",
               view=listing("dataset", ("latest version", lambda d: d.get("latest_version")),
                            ("status", lambda d: d.get("latest_status")),
                            ("contract", lambda d: d.get("latest_contract_version")), at("updated_at")),
               extra=paging)
VERSIONS = Command(dataset_versions, "list a dataset's versions, newest first", ("dataset",),
                   view=listing("version", "status", "rows", ("invalid", lambda v: v.get("invalid_rows")),
                                ("file", lambda v: file_name((v.get("raw") or {}).get("key"))),
                                at("created_at"), ("failing", lambda v: v.get("failing_rules"))),
                   extra=paging)
SHOW = Command(dataset_version, "one version: outcome, validation rules, lineage (--html/--open: its HTML "
               "validation report)", ("dataset", "version"), view=dataset_version_view, extra=report_options)
UPLOAD = Command(upload, "upload a file into raw/{dataset}/ through a presigned URL", ("dataset", "file"),
                 view=upload_view,
                 extra=lambda p: p.add_argument("--name", default=None, help="file name to keep in the key "
                                                                             "(default: the file's own)"))


def register(cli: Cli) -> None:
    datasets = cli.noun("datasets")
    LIST.add(datasets, "list")
    VERSIONS.add(datasets, "versions")
    SHOW.add(datasets, "show")
    UPLOAD.add(datasets, "upload")
    UPLOAD.add(cli.top, "upload", hidden=True)  # sluice upload
