"""``sluice models predict``: score a local file's records with a model version; ``sluice models serving``:
a model's serving settings (capture percentage, shadow alias)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from sluice.api_client import ApiClient, ApiError
from sluice.cli.calls import local_error
from sluice.cli.files import read_csv_rows, read_records, typed_rows
from sluice.cli.grammar import Cli, Command
from sluice.cli.output import cell

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
        row = [str(index), *(cell(record.get(k)) for k in shown), cell(prediction)]
        if probabilities:
            row.append(", ".join(f"{k}: {v:.2f}" for k, v in probabilities[index].items()))
        table.add_row(*row)
    console.print(table)
    if result.get("ignored_fields"):
        console.print(f"not features of this version, ignored: {', '.join(result['ignored_fields'])}",
                      style="dim", highlight=False, markup=False)


def _predict_args(p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group()
    which.add_argument("--alias", default=None, help="alias to score with (default: production)")
    which.add_argument("--version", type=int, default=None, help="version to score with")


def serving(api: ApiClient, a: argparse.Namespace) -> Any:
    """Show the settings, or change the ones given (``PUT`` takes the fields it is given)."""
    body: dict[str, Any] = {}
    if a.capture_percent is not None:
        if not 0 <= a.capture_percent <= 100:
            raise local_error("invalid_capture_percent", "--capture-percent takes a number from 0 to 100")
        body["capture_percent"] = a.capture_percent
    if a.stack_capture:
        body["capture_percent"] = None
    if a.shadow_alias is not None:
        body["shadow_alias"] = a.shadow_alias
    if a.no_shadow:
        body["shadow_alias"] = None
    if not body:
        return api.get(f"/models/{a.model}/serving")
    return api.request("PUT", f"/models/{a.model}/serving", body=body)


def serving_view(console: Console, result: Any) -> None:
    percent = result.get("capture_percent")
    source = "the stack's default" if percent is None else "this model's"
    shadow = result.get("shadow_alias")
    console.print(f"{result['model']}: captures {result.get('effective_capture_percent'):g}% of requests "
                  f"({source}); shadow alias: {shadow or 'none'}", highlight=False, markup=False)
    if result.get("updated_at"):
        console.print(f"set by {result.get('updated_by')} at {result['updated_at']} "
                      f"(revision {result.get('revision')})", style="dim", highlight=False, markup=False)


def _serving_args(p: argparse.ArgumentParser) -> None:
    capture = p.add_mutually_exclusive_group()
    capture.add_argument("--capture-percent", type=float, default=None, metavar="PERCENT",
                         help="capture this share of the model's requests (0-100)")
    capture.add_argument("--stack-capture", action="store_true",
                         help="capture the stack's share (SLUICE_CAPTURE_PERCENT) again")
    shadow = p.add_mutually_exclusive_group()
    shadow.add_argument("--shadow-alias", default=None, metavar="ALIAS",
                        help="the alias whose version scores captured requests beside the answer")
    shadow.add_argument("--no-shadow", action="store_true", help="no shadow scoring")


SERVING = Command(serving, "a model's serving settings: capture percentage and shadow alias (show or set)",
                  ("model",), view=serving_view, extra=_serving_args)
PREDICT = Command(predict, "predict for the records of a CSV, JSON or JSONL file", ("model", "file"),
                  view=predict_view, extra=_predict_args)


def register(cli: Cli) -> None:
    PREDICT.add(cli.noun("models"), "predict")
    SERVING.add(cli.noun("models"), "serving")
    PREDICT.add(cli.top, "predict", hidden=True)  # sluice predict
