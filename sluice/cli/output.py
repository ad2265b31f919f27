"""Everything the CLI prints: tables and fields for people, the API's JSON for scripts, errors.

Views are functions ``(console, result) -> None``; the group modules build theirs from the pieces
here (:func:`fields`, :func:`listing`, :func:`cell`). API text is always escaped: square brackets in
a model's description or an error message are shown, never read as rich markup.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

View = Callable[[Console, Any], None]
Cell = Callable[[dict[str, Any]], Any]
Column = tuple[str, Cell] | tuple[str, Cell, dict[str, Any]]

console = Console()


# ---- for scripts and on failure --------------------------------------------------------------------


def print_json(result: Any, to_json: Callable[[Any], Any] | None = None) -> None:
    """``--json``: the API's answer (or what the command's ``to_json`` picks from it), indented."""
    print(json.dumps((to_json or for_scripts)(result), indent=2, default=str))


def for_scripts(result: object) -> object:
    """The API's answer as it came (views may keep local context in it under ``records``)."""
    if isinstance(result, dict) and "predictions" in result:
        return {k: v for k, v in result.items() if k != "records"}
    return result


def print_error(code: str, message: str) -> None:
    """A failure as ``error CODE: message`` on stdout (where scripts and people both look)."""
    console.print(f"[red]error[/] {escape(code)}: {escape(message)}", highlight=False, soft_wrap=True)


# ---- cells ---------------------------------------------------------------------------------------


def esc(value: Any) -> str:
    """API text in a rich string: square brackets shown, never read as markup."""
    return escape(str(value))


def cell(value: Any) -> str:
    """A value as a table cell (escaped: cells are read as markup)."""
    return escape(text(value))


def text(value: Any) -> str:
    """A value in words: ``-`` for none, 4 significant digits, lists joined, objects as JSON."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return ", ".join(str(v) for v in value) or "-"
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


def metrics_text(metrics: Any, limit: int | None = None) -> str:
    """``rmse=2.1 r2=0.93``: a metrics object's scalar values (the first ``limit`` of them)."""
    if not isinstance(metrics, dict):
        return cell(metrics)
    shown = [f"{k}={text(v)}" for k, v in metrics.items() if not isinstance(v, dict | list)]
    return " ".join(shown[:limit])


def when(value: Any) -> str:
    """``2026-11-26T16:33:47.123Z`` as ``2026-11-26 16:33:47`` (UTC) for a narrow column."""
    written = str(value or "")
    return written[:19].replace("T", " ") if len(written) >= 19 and written[10] == "T" else text(value)


def at(name: str, heading: str | None = None) -> Column:
    """A timestamp column of a listing (kept on one line)."""
    return heading or name.removesuffix("_at"), lambda item: when(item.get(name)), {"no_wrap": True}


# ---- views ---------------------------------------------------------------------------------------


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
                table.add_row(cell(key), escape(metrics_text(value)) if key == "metrics" else cell(value))
        console.print(table)

    return view


def _column(column: str | Column) -> tuple[str, Cell, dict[str, Any]]:
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
            table.add_row(*(cell(value(item)) for _, value, _ in specs))
        console.print(table)
        if result.get("next_token"):
            console.print(f"more: --next-token {result['next_token']}  (or --all)", style="dim",
                          highlight=False, markup=False)

    return view


def render(console: Console, result: Any) -> None:
    """The fallback view: a listing's scalar columns, or an object's fields."""
    if isinstance(result, dict) and isinstance(result.get("items"), list):
        items = result["items"]
        columns = [k for k in (items[0] if items else {}) if not isinstance(items[0][k], dict | list)][:8]
        listing(*columns)(console, result)
    else:
        fields()(console, result)
