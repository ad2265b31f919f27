"""Demo steps of serving: predictions over HTTP, a schema error, and one batch file scored from S3.

Needs ``demo.facts["model"]`` (a model with a ``production`` alias, from the training steps) and uses
the rides generator of the dataset steps. Records carry every ride column but the PII one: the
model's features are used, anything else is ignored and named in ``ignored_fields``.
Facts left: ``prediction_request_id``, ``batch_output_key``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from rich.table import Table

from sluice.demo.base import Demo

NUMBERS = {"distance_km": float, "fare_eur": float, "passengers": int}
SKIP = ("rider_email",)  # PII: never sent for scoring
SHOWN = ("ride_id", "city", "distance_km", "passengers")


def _model(demo: Demo) -> str:
    model = demo.facts.get("model")
    if not model:
        raise RuntimeError("no model in demo.facts: the training steps must run before the serving steps")
    return str(model)


def ride_records(rows: int, seed: int) -> list[dict[str, Any]]:
    """Rides as JSON records typed per the rides contract (ISO timestamps, numbers as numbers)."""
    from sluice.demo.datasets import rides_csv

    reader = csv.DictReader(io.StringIO(rides_csv(rows, seed=seed).decode()))
    return [{k: NUMBERS[k](v) if k in NUMBERS else v for k, v in row.items() if k not in SKIP}
            for row in reader]


def step_predict(demo: Demo) -> None:
    model = _model(demo)
    records = ride_records(5, seed=42)
    answer = demo.call("POST", f"/models/{model}/predict", json={"records": records})
    demo.facts["prediction_request_id"] = answer["request_id"]
    table = Table(title=f"POST /models/{model}/predict → version {answer['version']} ({answer['alias']})")
    for column in (*SHOWN, "prediction"):
        table.add_column(column, justify="right" if column != "city" else "left")
    probabilities = answer.get("probabilities")
    if probabilities:
        table.add_column("probabilities")
    for index, (record, prediction) in enumerate(zip(records, answer["predictions"], strict=True)):
        cells = [str(record[c]) for c in SHOWN] + [_fmt(prediction)]
        if probabilities:
            cells.append(", ".join(f"{k}: {v:.2f}" for k, v in probabilities[index].items()))
        table.add_row(*cells)
    demo.console.print(table)
    demo.console.print(f"request id {answer['request_id']}; fields the model does not use, ignored: "
                       f"{', '.join(answer.get('ignored_fields', [])) or 'none'}")


def step_schema_error(demo: Demo) -> None:
    import requests

    model = _model(demo)
    records = ride_records(2, seed=43)
    records[1]["distance_km"] = "far"
    response = requests.post(f"{demo.api}/models/{model}/predict", json={"records": records}, timeout=60)
    if response.status_code == 200:  # distance_km is not one of this model's features
        demo.console.print("distance_km is not a feature of this model: the bad value was ignored")
        return
    error = response.json()["error"]
    demo.console.print(f"a string where a float belongs → HTTP {response.status_code} "
                       f"[bold]{error['code']}[/]: {error['message']}")


def batch_csv(rows: int, seed: int) -> bytes:
    """Rides without the PII column; the third row's passenger count is not a number (reported)."""
    records = [{k: str(v) for k, v in r.items()} for r in ride_records(rows, seed)]
    records[2]["passengers"] = "many"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue().encode()


def step_batch(demo: Demo) -> None:
    model = _model(demo)
    key = f"batch/{model}/input/demo-rides.csv"
    delivery = demo.upload(key, batch_csv(200, seed=44), wait_for="on_batch_object")
    out_key = f"batch/{model}/output/demo-rides.csv"
    obj = demo.s3().get_object(Bucket=demo.bucket, Key=out_key)
    output = list(csv.DictReader(io.StringIO(obj["Body"].read().decode())))
    meta = obj.get("Metadata", {})
    demo.facts["batch_output_key"] = out_key
    demo.console.print(f"s3://{demo.bucket}/{key} → on_batch_object ({delivery.seconds * 1000:.0f} ms) → "
                       f"s3://{demo.bucket}/{out_key}: {meta.get('rows')} rows, {meta.get('error-rows')} "
                       f"with an error, model version {meta.get('model-version')}")
    added = [c for c in output[0] if c == "prediction" or c.startswith("probability_") or c == "_error"]
    table = Table(title="first rows of the batch output")
    for column in (*SHOWN, *added):
        table.add_column(column)
    for row in output[:5]:
        table.add_row(*[_fmt(row.get(c, "")) for c in (*SHOWN, *added)])
    demo.console.print(table)


def _fmt(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{number:.2f}" if not number.is_integer() else str(int(number))


STEPS: list[tuple[str, Callable[[Demo], None]]] = [
    ("Predictions over HTTP from the production model", step_predict),
    ("A record of the wrong type is refused, naming the record and field", step_schema_error),
    ("A batch file dropped into S3 is scored", step_batch),
]
