"""DynamoDB calls per model-registry operation at 100 and at 10,000 (or 100,000) registered versions (moto).

    .venv/bin/python bench/registry_calls.py                        # 100 and 10,000 versions (~4 min)
    .venv/bin/python bench/registry_calls.py --sizes 100 100000     # the issue's size: see below

Target: every operation makes the same number of calls whatever the number of versions, and no
operation uses Scan. The versions beyond the first are written straight into the table with
BatchWriteItem, in the registry's own item format (a version item and its audit record each), so
the registry sees a model with N versions. Timings are moto's, not DynamoDB's: only the counts matter.

100,000 versions is too slow in moto on a small machine: seeding 10,000 versions (20,000 items) took
100 s, and moto deep-copies the whole table for every TransactWriteItems and reads the whole partition
for every Query, so each operation grows ~linearly (10,000 versions: 1-30 s per operation; 100,000
would need well over half an hour). The default therefore compares 100 with 10,000 versions.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MODEL = "churn"


def operations(registry: Any, seeded: int, model: str = MODEL) -> list[tuple[str, Callable[[], Any]]]:
    """Every public registry operation, in an order where each one is valid (N = ``seeded``)."""
    state: dict[str, Any] = {}

    def reserve() -> None:
        state["v"] = registry.reserve_version(model)

    def register() -> None:
        registry.register_model_version(
            model, state["v"], source=f"s3://bench/models/{model}/{state['v']}/", artifact_sha256="ab" * 32,
            run_id="bench", metrics={"f1": 0.9}, dataset_versions=[{"dataset": "customers", "version": 1}],
            spec_version=1)

    def at_now() -> None:
        from chalicelib.core.registry.entities import format_ts, utc_now

        registry.alias_at(model, "production", format_ts(utc_now()))

    return [
        ("reserve_version", reserve),
        ("register_model_version", register),
        ("get_model_version", lambda: registry.get_model_version(model, state["v"])),
        ("search_model_versions (page of 50)", lambda: registry.search_model_versions(model, 50)),
        ("list_models (page of 50)", lambda: registry.list_models(50)),
        ("set_status approved", lambda: registry.set_status(model, state["v"], "approved", actor="bench")),
        ("set_alias staging", lambda: registry.set_alias(model, "staging", state["v"], actor="bench")),
        ("get_alias", lambda: registry.get_alias(model, "staging")),
        ("promote (production unset)", lambda: registry.promote(model, seeded, actor="bench")),
        ("promote (production set)", lambda: registry.promote(model, state["v"], actor="bench")),
        ("alias_at", at_now),
        ("alias history (page of 50)", lambda: registry.search_alias_history(model, "production", 50)),
        ("rollback", lambda: registry.rollback(model, actor="bench")),
        ("set_model_version_tag", lambda: registry.set_tag(model, state["v"], "k", "v", actor="bench")),
        ("reject (no alias)", lambda: registry.reject(model, 1, actor="bench")),
        ("list_audit_events (page of 50)", lambda: registry.list_audit_events(model, 50)),
        ("models_with_alias", lambda: registry.models_with_alias("production")),
        ("delete_alias", lambda: registry.delete_alias(model, "staging", actor="bench")),
        ("append_audit", lambda: registry.append_audit(model, "bench", actor="bench")),
    ]


def count_calls(registry: Any, client: Any, seeded: int, model: str = MODEL
                ) -> dict[str, tuple[Counter[str], float]]:
    """Per operation: the DynamoDB API calls it made (botocore ``before-call`` hook) and its seconds."""
    calls: Counter[str] = Counter()

    def record(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    client.meta.events.register("before-call.dynamodb", record)
    out: dict[str, tuple[Counter[str], float]] = {}
    try:
        for name, run in operations(registry, seeded, model):
            calls.clear()
            started = time.perf_counter()
            run()
            out[name] = (Counter(calls), time.perf_counter() - started)
    finally:
        client.meta.events.unregister("before-call.dynamodb", record)
    return out


def seed(registry_table: Any, count: int, model: str = MODEL) -> None:
    """Make ``model`` have ``count`` registered versions: one through the API, the rest batch-written."""
    from chalicelib.core.registry.entities import AuditEvent, ModelVersion, format_ts, utc_now
    from chalicelib.services.registry import get_registry
    from chalicelib.storage.layout import model_pk
    from chalicelib.storage.registry.dynamodb import audit_item, version_item
    from chalicelib.storage.table import to_dynamo

    registry = get_registry()
    registry.reserve_version(model)
    registry.register_model_version(model, 1, source="s3://bench/1/", artifact_sha256="ab" * 32,
                                    run_id="seed", metrics={"f1": 0.5}, dataset_versions=[], spec_version=1)
    now = format_ts(utc_now())
    with registry_table.batch_writer() as batch:
        for version in range(2, count + 1):
            mv = ModelVersion(model=model, version=version, source=f"s3://bench/{version}/",
                              artifact_sha256="ab" * 32, run_id="seed", metrics={"f1": 0.5},
                              created_at=now, updated_at=now)
            batch.put_item(Item=to_dynamo(version_item(mv)))
            event = AuditEvent(model=model, event="version_registered", actor="seed", at=now,
                               id=uuid.uuid4().hex, version=version)
            batch.put_item(Item=to_dynamo(audit_item(event)))
    registry_table.update_item(Key={"pk": model_pk(model), "sk": "COUNTER#version"},
                               UpdateExpression="SET #v = :n", ExpressionAttributeNames={"#v": "value"},
                               ExpressionAttributeValues={":n": count})
    registry_table.update_item(Key={"pk": model_pk(model), "sk": "MODEL"},
                               UpdateExpression="SET version_count = :n",
                               ExpressionAttributeValues={":n": count})


def measure(count: int) -> tuple[dict[str, tuple[Counter[str], float]], float]:
    """A fresh moto world with ``count`` versions; the calls per operation and the seeding seconds."""
    from moto import mock_aws

    from chalicelib import storage as aws

    with mock_aws():
        import boto3

        from sluice.local.resources import LocalNames, create_resources

        names = LocalNames(prefix=f"sluice-bench-{uuid.uuid4().hex[:8]}")
        resources = create_resources(boto3.session.Session(region_name="us-east-1"), None, names)
        os.environ["SLUICE_TABLE"] = resources.table
        aws.reset()
        from chalicelib.services.registry import get_registry
        from chalicelib.storage.table import table

        started = time.perf_counter()
        seed(table(), count)
        seeded_s = time.perf_counter() - started
        return count_calls(get_registry(), table().meta.client, count), seeded_s


def _calls_text(calls: Counter[str]) -> str:
    return " + ".join(f"{n} {op}" for op, n in sorted(calls.items())) or "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 10_000])
    args = parser.parse_args(argv)
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}.items():
        os.environ.setdefault(key, value)
    os.environ.pop("AWS_ENDPOINT_URL", None)

    results = {}
    for size in args.sizes:
        results[size], seeded_s = measure(size)
        print(f"seeded {size:,} versions in {seeded_s:.1f} s (moto)", flush=True)
    ops = list(results[args.sizes[0]])
    width = max(len(_calls_text(c)) for r in results.values() for c, _ in r.values()) + 12
    print(f"{'operation':36}" + "".join(f"{f'{s:,} versions: calls (moto s)':{width}}" for s in args.sizes))
    scans, differ = [], []
    for op in ops:
        row = [results[s][op] for s in args.sizes]
        print(f"{op:36}" + "".join(f"{f'{sum(c.values())} = {_calls_text(c)} ({t:.2f})':{width}}"
                                   for c, t in row))
        if any("Scan" in c for c, _ in row):
            scans.append(op)
        if len({tuple(sorted(c.items())) for c, _ in row}) > 1:
            differ.append(op)
    print(f"\nScan used by: {', '.join(scans) or 'no operation'}")
    print(f"call counts that change with the number of versions: {', '.join(differ) or 'none'}")
    return 1 if scans or differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
