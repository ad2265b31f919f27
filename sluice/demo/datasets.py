"""Demo steps of the DataOps gate: a contract, a clean and a corrupted upload, their two outcomes.

Facts left for later steps: ``dataset`` ("rides"), ``dataset_version`` (the clean upload's passed
version), ``failed_version``, ``clean_key``, ``contract_version``.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Callable
from typing import Any

from rich.table import Table

from sluice.demo.base import Demo

DATASET = "rides"
CITIES = ["Berlin", "Hamburg", "Munich", "Cologne"]

CONTRACT: dict[str, Any] = {
    "dataset": DATASET,
    "description": "Completed taxi rides, one row per ride",
    "format": {"type": "csv", "delimiter": ",", "encoding": "utf-8", "header": True},
    "columns": [
        {"name": "ride_id", "type": "string", "unique": True, "pattern": "R[0-9a-f]{8}"},
        {"name": "pickup_ts", "type": "timestamp", "min": "2025-01-01T00:00:00Z"},
        {"name": "city", "type": "category", "allowed": CITIES},
        {"name": "distance_km", "type": "float", "min": 0, "max": 200, "exclusive_min": True},
        {"name": "passengers", "type": "int", "min": 1, "max": 6},
        {"name": "fare_eur", "type": "float", "min": 0, "max": 500},
        {"name": "rider_email", "type": "string", "pii": "hash"},
    ],
    "rules": {"row_count": {"min": 100}, "primary_key": {"columns": ["ride_id"]}},
    "extra_columns": "warn",
    "undeclared_pii": "warn",
    "failure_policy": {"action": "quarantine_rows", "max_invalid_fraction": 0.02},
}


def rides_csv(rows: int, *, seed: int, corrupt: bool = False) -> bytes:
    """Generated rides; ``corrupt`` breaks ~8% of the rows in five different ways."""
    rnd = random.Random(seed)
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    lines = ["ride_id,pickup_ts,city,distance_km,passengers,fare_eur,rider_email"]
    for i in range(rows):
        ride = f"R{rnd.getrandbits(32):08x}"
        when = (start + dt.timedelta(minutes=7 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        km = round(rnd.uniform(0.8, 35), 2)
        cells = [ride, when, rnd.choice(CITIES), str(km), str(rnd.randint(1, 4)),
                 str(round(3.9 + km * 2.1, 2)), f"rider{rnd.randint(1, 9999):04d}@example.com"]
        if corrupt and i % 12 == 5:
            broken = (i // 12) % 5
            if broken == 0:
                cells[5] = str(-abs(float(cells[5])))  # negative fare
            elif broken == 1:
                cells[4] = "two"  # not an int
            elif broken == 2:
                cells[2] = "Atlantis"  # not an allowed city
            elif broken == 3:
                cells[0] = "R" + "0" * 8  # duplicate ride id (several rows)
            else:
                cells[6] = ""  # missing e-mail
        lines.append(",".join(cells))
    return ("\n".join(lines) + "\n").encode()


def _versions(demo: Demo) -> list[dict[str, Any]]:
    return demo.call("GET", f"/datasets/{DATASET}/versions?limit=100")["items"]


def _upload(demo: Demo, name: str, body: bytes) -> dict[str, Any]:
    """Upload through a presigned URL (as a user would) and return the dataset version it made."""
    import requests

    grant = demo.call("POST", f"/datasets/{DATASET}/uploads", json={"filename": name})
    after = len(demo.stack.pump.deliveries)  # type: ignore[union-attr]
    response = requests.put(grant["url"], data=body, headers=grant.get("headers") or {}, timeout=60)
    response.raise_for_status()
    delivery = demo.stack.pump.wait_for("on_raw_object", grant["key"], after=after, timeout=120)  # type: ignore[union-attr]
    if not delivery.ok:
        raise RuntimeError(f"on_raw_object failed on {grant['key']}:\n{delivery.error}")
    [version] = [v for v in _versions(demo) if v["raw"]["key"] == grant["key"]]
    demo.console.print(f"{name}: {len(body):,} bytes → s3://{demo.bucket}/{grant['key']} → "
                       f"version {version['version']} [bold]{version['status']}[/] "
                       f"in {delivery.seconds * 1000:.0f} ms")
    return version


def step_contract(demo: Demo) -> None:
    stored = demo.call("PUT", f"/datasets/{DATASET}/contract", json=CONTRACT)
    demo.facts["dataset"] = DATASET
    demo.facts["contract_version"] = stored["version"]
    pii = [c["name"] for c in CONTRACT["columns"] if c.get("pii")]
    demo.console.print(f"contract v{stored['version']} for [bold]{DATASET}[/]: {len(CONTRACT['columns'])} "
                       f"columns, PII hashed: {', '.join(pii)}; failure policy quarantine_rows (≤ 2 %)")


def step_uploads(demo: Demo) -> None:
    clean = _upload(demo, "rides-clean.csv", rides_csv(300, seed=1))
    corrupted = _upload(demo, "rides-corrupted.csv", rides_csv(300, seed=2, corrupt=True))
    demo.facts["dataset_version"] = clean["version"]
    demo.facts["failed_version"] = corrupted["version"]
    demo.facts["clean_key"] = clean["raw"]["key"]


def step_outcomes(demo: Demo) -> None:
    table = Table(title=f"dataset {DATASET}: validation outcomes")
    for column in ("version", "file", "status", "rows", "invalid", "failing rules", "curated / quarantine"):
        table.add_column(column)
    folder = demo.out / "validation"
    folder.mkdir(parents=True, exist_ok=True)
    for key in ("dataset_version", "failed_version"):
        detail = demo.call("GET", f"/datasets/{DATASET}/versions/{demo.facts[key]}")
        style = "green" if detail["status"] == "passed" else "red"
        filename = detail["raw"]["key"].rsplit("/", 1)[-1].split("-", 2)[-1]  # {timestamp}-{uuid}-{name}
        table.add_row(str(detail["version"]), filename,
                      f"[{style}]{detail['status']}[/]" + (f"\n{detail['code']}" if detail["code"] else ""),
                      str(detail["rows"]), str(detail["invalid_rows"]),
                      ", ".join(detail["failing_rules"]) or "-",
                      detail["curated_path"] or detail["quarantine_path"] or "-")
        path = folder / f"{DATASET}-v{detail['version']}.json"
        path.write_text(json.dumps(detail["report"], indent=2, sort_keys=True, default=str))
    demo.console.print(table)
    demo.console.print(f"reports written to {folder}")


def step_duplicate_delivery(demo: Demo) -> None:
    """S3 delivers at least once: the same event again must not make a second version."""
    from chalicelib.core.events import ObjectRef, eventbridge_object_created

    detail = demo.call("GET", f"/datasets/{DATASET}/versions/{demo.facts['dataset_version']}")
    raw = detail["raw"]
    ref = ObjectRef(raw["bucket"], raw["key"], raw["version_id"], raw["etag"], raw["size"])
    before = len(_versions(demo))
    after = len(demo.stack.pump.deliveries)  # type: ignore[union-attr]
    sqs = demo.session.client("sqs", endpoint_url=demo.stack.info.aws_endpoint)  # type: ignore[union-attr]
    started = time.perf_counter()
    sqs.send_message(QueueUrl=demo.stack.info.events_queue_url,  # type: ignore[union-attr]
                     MessageBody=json.dumps(eventbridge_object_created(ref)))
    delivery = demo.stack.pump.wait_for("on_raw_object", raw["key"], after=after, timeout=60)  # type: ignore[union-attr]
    count = len(_versions(demo))
    if not delivery.ok or count != before:
        raise RuntimeError(f"duplicate delivery changed the versions: {before} → {count}")
    demo.console.print(f"the event for version {detail['version']} delivered again "
                       f"({(time.perf_counter() - started) * 1000:.0f} ms): still {count} versions, "
                       "nothing written twice")


STEPS: list[tuple[str, Callable[[Demo], None]]] = [
    ("A data contract for rides (PII e-mail hashed)", step_contract),
    ("A clean and a corrupted upload through presigned URLs", step_uploads),
    ("Their two outcomes, with the reports", step_outcomes),
    ("Duplicate delivery is harmless", step_duplicate_delivery),
]
