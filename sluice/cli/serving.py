"""``sluice models predict``: score a local file's records with a model version."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from sluice.api_client import ApiClient, ApiError
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


PREDICT = Command(predict, "predict for the records of a CSV, JSON or JSONL file", ("model", "file"),
                  view=predict_view, extra=_predict_args)


def register(cli: Cli) -> None:
    PREDICT.add(cli.noun("models"), "predict")
    PREDICT.add(cli.top, "predict", hidden=True)  # sluice predict
