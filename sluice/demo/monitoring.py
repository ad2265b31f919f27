"""Demo steps of monitoring and auto-MLOps: the world changes, drift is caught, retraining redeploys.

Needs ``demo.facts["model"]`` with a ``production`` alias whose spec retrains on drift (the training
steps set that up). The story: prices rise and trips get longer. New training data with the new
prices arrives (validated, its drift reported); live traffic drifts; the hourly schedule's drift check
catches it, alerts, and starts a retraining run on the latest passing data; the gate compares the
challenger with the champion on the same (new-world) holdout and moves ``production``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import time
from collections.abc import Callable
from typing import Any

from rich.table import Table

from sluice.demo.base import Demo

CITIES = ["Berlin", "Hamburg", "Munich", "Cologne"]
HEADER = "ride_id,pickup_ts,city,distance_km,passengers,fare_eur,rider_email"


def new_world_csv(rows: int, *, seed: int) -> bytes:
    """Rides after the change: longer trips, mostly in Munich, and a new price list."""
    rnd = random.Random(seed)
    start = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    lines = [HEADER]
    for i in range(rows):
        km = round(rnd.uniform(12, 80), 2)
        city = rnd.choices(CITIES, weights=[1, 1, 6, 1])[0]
        when = (start + dt.timedelta(minutes=5 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        fare = round(6.0 + km * 2.8 + rnd.gauss(0, 1.5), 2)
        email = f"rider{rnd.randint(1, 9999):04d}@example.com"
        lines.append(",".join([f"R{rnd.getrandbits(32):08x}", when, city, str(km), str(rnd.randint(1, 4)),
                               str(fare), email]))
    return ("\n".join(lines) + "\n").encode()


def _records(rows: int, seed: int) -> list[dict[str, Any]]:
    import csv
    import io

    out = []
    for row in csv.DictReader(io.StringIO(new_world_csv(rows, seed=seed).decode())):
        out.append({"ride_id": row["ride_id"], "pickup_ts": row["pickup_ts"], "city": row["city"],
                    "distance_km": float(row["distance_km"]), "passengers": int(row["passengers"]),
                    "rider_email": row["rider_email"]})
    return out


def _subscribe_alerts(demo: Demo) -> str:
    """An SQS queue on the alerts topic, so the demo can show what on-call would receive."""
    endpoint = demo.stack.info.aws_endpoint  # type: ignore[union-attr]
    sqs = demo.session.client("sqs", endpoint_url=endpoint)
    url = sqs.create_queue(QueueName="demo-alerts")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    demo.session.client("sns", endpoint_url=endpoint).subscribe(
        TopicArn=demo.stack.info.topic_arn, Protocol="sqs", Endpoint=arn)  # type: ignore[union-attr]
    return url


def _alerts(demo: Demo) -> list[dict[str, Any]]:
    sqs = demo.session.client("sqs", endpoint_url=demo.stack.info.aws_endpoint)  # type: ignore[union-attr]
    got = sqs.receive_message(QueueUrl=demo.facts["alerts_queue"], MaxNumberOfMessages=10,
                              WaitTimeSeconds=1).get("Messages", [])
    return [json.loads(m["Body"]) for m in got]


def _show_alerts(demo: Demo) -> None:
    for alert in _alerts(demo):
        event = json.loads(alert["Message"])  # an AWS Chatbot custom notification
        demo.console.print(f"[red]alert[/] {alert['Subject']}: {event['content']['description']}")


def step_new_data(demo: Demo) -> None:
    demo.facts["alerts_queue"] = _subscribe_alerts(demo)
    dataset, model = demo.facts["dataset"], demo.facts["model"]
    pump = demo.stack.pump  # type: ignore[union-attr]
    after = len(pump.deliveries)
    key = f"raw/{dataset}/2026-11-20-new-prices.csv"
    demo.upload(key, new_world_csv(600, seed=11), wait_for="on_raw_object")
    pump.wait_for("on_dataset_version", after=after, timeout=300)
    [version] = [v for v in demo.call("GET", f"/datasets/{dataset}/versions?limit=20")["items"]
                 if v["raw"]["key"] == key]
    demo.console.print(f"{key} → dataset version {version['version']} [bold]{version['status']}[/]: "
                       "prices are up and trips are longer")
    [check] = demo.call("GET", f"/models/{model}/drift?limit=1")["items"]
    drifted = [f["name"] for f in check["features"] if f["status"] == "drift"]
    demo.console.print("on_dataset_version compared it with production's reference: "
                       f"[bold]{check['status']}[/] ({', '.join(drifted) or 'nothing'} drifted) — reported; "
                       "retraining on new data is the spec's on_new_data, which is off")
    _show_alerts(demo)


def step_drifted_traffic(demo: Demo) -> None:
    model = demo.facts["model"]
    served = 0
    for seed in range(3):
        records = _records(150, seed=100 + seed)
        answer = demo.call("POST", f"/models/{model}/predict", json={"records": records})
        served += len(answer["predictions"])
    demo.console.print(f"{served} live predictions of long trips served by version {answer['version']} "
                       "and captured under capture/")
    demo.console.print("the hourly schedule fires (the local clock, now):")
    for delivery in demo.stack.clock.fire():  # type: ignore[union-attr]  # monitor and the reconciler
        if not delivery.ok:
            raise RuntimeError(f"the {delivery.function} schedule failed:\n{delivery.error}")
    [check] = demo.call("GET", f"/models/{model}/drift?limit=1")["items"]
    demo.facts["drift_check"] = check
    table = Table(title=f"drift check {check['check_id']} on version {check['version']}: {check['status']}")
    for column in ("feature", "status", "test statistic", "p-value", "effect size", "PSI"):
        table.add_column(column)
    for f in check["features"]:
        table.add_row(f["name"], f["status"], _named(f.get("statistic_name"), f.get("statistic")),
                      _fmt(f.get("p_value")), _named(f.get("effect_name"), f.get("effect")),
                      _fmt(f.get("psi")))
    demo.console.print(table)
    _show_alerts(demo)
    _download(demo, check["reports"]["html"], "drift-report.html")
    if not check.get("run_id"):
        raise RuntimeError("the drift check started no retraining run")
    demo.console.print(f"retraining run [bold]{check['run_id']}[/] started by the drift check")


def step_retrain_and_redeploy(demo: Demo) -> None:
    from sluice.demo.models import show_run, wait_for_run

    model = demo.facts["model"]
    before = demo.call("GET", f"/models/{model}/aliases/production")["version"]
    run = wait_for_run(demo, demo.facts["drift_check"]["run_id"])
    if run["status"] != "succeeded":
        raise RuntimeError(f"retraining failed: {run.get('error')}")
    show_run(demo, run)
    after = demo.call("GET", f"/models/{model}/aliases/production")["version"]
    demo.console.print(f"production: version {before} → version [bold]{after}[/]")
    ttl = float(os.environ.get("SLUICE_ALIAS_TTL_SECONDS", "30"))
    time.sleep(ttl + 0.2)  # serving caches the alias for the TTL: a move shows within it
    answer = demo.call("POST", f"/models/{model}/predict", json={"records": _records(1, seed=999)})
    demo.console.print(f"after the alias cache's TTL ({ttl:g} s locally) a new request is answered by "
                       f"version {answer['version']}: fare {answer['predictions'][0]:.2f} EUR")
    since = demo.facts["drift_check"]["checked_at"]
    events = sorted((e for e in demo.call("GET", f"/models/{model}/audit?limit=50")["items"]
                     if e.get("at", "") >= since), key=lambda e: e.get("at", ""))
    demo.console.print("the audit log links them: drift check → run → version → gate → alias move")
    for event in events:
        details = event.get("details") or {}
        link = {k: details[k] for k in ("check_id", "run_id", "from_version", "to_version") if k in details}
        demo.console.print(f"  {event.get('at')}  {event.get('event'):<20} v{event.get('version') or '-'} "
                           f"by {event.get('actor')}  {link or ''}")


def _download(demo: Demo, key: str, name: str) -> None:
    body = demo.s3().get_object(Bucket=demo.bucket, Key=key)["Body"].read()
    (demo.out / name).write_bytes(body)
    demo.console.print(f"report: {demo.out / name}")


def _fmt(value: Any) -> str:
    return "" if value is None else f"{value:.3g}"


STEPS: list[tuple[str, Callable[[Demo], None]]] = [
    ("New data arrives: validated, and its drift reported", step_new_data),
    ("Live traffic drifts: the schedule's check alerts and starts retraining", step_drifted_traffic),
    ("Retrain → gate → redeploy, with the audit trail", step_retrain_and_redeploy),
]


def _named(name: str | None, value: Any) -> str:
    """A number with what it is (``ks_statistic 0.98``): a KS statistic and an effect size look alike."""
    return f"{name} {_fmt(value)}" if name and value is not None else _fmt(value)
