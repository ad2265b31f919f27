"""Serving benchmark: sluice's prediction paths against bare scikit-learn on the same fitted model.

    .venv/bin/python bench/serve.py [--rows 50000] [--requests 300] [--estimator LogisticRegression]

Setup (not timed): a moto server in this process, the template's resources, a model trained with
training's own pipeline (``build_pipeline``), written with ``write_artifacts`` and registered in the
DynamoDB registry with the ``production`` alias.

1. **Single record** — the Lambda entry point itself, ``app.app(api_gateway_event, context)`` (what
   Lambda calls; API Gateway's own latency excluded), warm, capture 0% and 100%, against bare
   ``pipeline.predict`` on a ready one-row DataFrame. Target: ≤ 2x at p50; p99 reported.
2. **Batch** — ``handle_batch_objects`` on a CSV in (moto) S3: download, chunked parse, schema coercion,
   scoring with probabilities, CSV written and uploaded. Against bare scikit-learn as a user would write it:
   ``read_csv`` + ``predict`` + ``predict_proba`` + ``to_csv`` on local files, and (upper bound) ``predict``
   alone on an in-memory frame. Target: ≥ 0.8x the rows/s of the like-for-like bare script.
Variants are timed round-robin (interleaved), so each sees the same load on a shared machine.

3. **Cold** — a fresh interpreter with the API function's environment (``SLUICE_PRELOAD=serving``):
   ``import app`` (the init: imports and warm-up of the predict path, what SnapStart snapshots), then the
   first prediction through ``app.app`` (registry reads, S3 read, SHA-256 check, ``joblib.load``),
   against the same moto server. bench/cold_start.py compares it with the lazy path.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODEL = "bench-churn"
FEATURES = [{"name": "tenure", "type": "int"}, {"name": "charges", "type": "float"},
            {"name": "plan", "type": "category"}, {"name": "autopay", "type": "bool"},
            {"name": "signup", "type": "date"}]
NAMES = [f["name"] for f in FEATURES]
ENV_KEYS = ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "SLUICE_BUCKET", "SLUICE_TABLE", "SLUICE_STAGE")


def make_rows(n: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    plans = ("basic", "pro", "team", "enterprise")
    rows = []
    for _ in range(n):
        tenure, charges, plan = rng.randint(0, 72), round(rng.uniform(10, 120), 2), rng.choice(plans)
        signup = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 700))
        score = charges / 120 - tenure / 72 + (0.3 if plan == "basic" else 0) + rng.gauss(0, 0.2)
        rows.append({"tenure": tenure, "charges": charges, "plan": plan, "autopay": rng.random() < 0.5,
                     "signup": signup.isoformat(), "churned": int(score > 0.2)})
    return rows


def typed(frame: Any) -> Any:
    import pandas as pd

    frame = frame.copy()
    frame["signup"] = pd.to_datetime(frame["signup"])
    return frame


def start_world() -> tuple[Any, dict[str, str]]:
    """A moto server and the template's resources; the environment the handlers (and the child) need."""
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    from chalicelib import storage as aws
    from sluice.local.resources import LocalNames, create_resources

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    env = {"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}
    os.environ.update(env)
    names = LocalNames(prefix=f"sluice-bench-{uuid.uuid4().hex[:6]}")
    resources = create_resources(boto3.session.Session(region_name="us-east-1"), endpoint, names)
    env.update({"SLUICE_BUCKET": resources.bucket, "SLUICE_TABLE": resources.table, "SLUICE_STAGE": "bench",
                "SLUICE_CAPTURE_PERCENT": "0"})
    os.environ.update(env)
    aws.reset()
    return server, env


def train_and_register(rows: list[dict[str, Any]], estimator: str, params: dict[str, Any]) -> Any:
    import pandas as pd

    from chalicelib.core.training.features import Feature
    from chalicelib.core.training.pipeline import build_pipeline
    from chalicelib.core.training.spec import TrainingSpec
    from chalicelib.services.registry import get_registry
    from chalicelib.storage.artifacts import write_artifacts

    spec = TrainingSpec.model_validate({"dataset": "customers", "target": "churned", "features": NAMES,
                                        "task": "classification",
                                        "estimator": {"name": estimator, "params": params}})
    features = [Feature(f["name"], f["type"]) for f in FEATURES]
    frame = typed(pd.DataFrame(rows))
    pipeline = build_pipeline(spec, features).fit(frame[NAMES], frame["churned"])
    registry = get_registry()
    version = registry.reserve_version(MODEL)
    info = write_artifacts(MODEL, version, pipeline, {
        "task": "classification", "target": "churned", "features": [f.to_dict() for f in features],
        "classes": [0, 1]}, {})
    registry.register_model_version(MODEL, version, source=info.source, artifact_sha256=info.sha256,
                                    run_id="bench", metrics={}, dataset_versions=[], spec_version=1)
    registry.set_alias(MODEL, "production", version, actor="bench")
    return pipeline


def api_event(record: dict[str, Any]) -> dict[str, Any]:
    """The API Gateway (REST, proxy) event Lambda hands the function for one predict request."""
    path = f"/models/{MODEL}/predict"
    return {"resource": "/models/{model}/predict", "path": path, "httpMethod": "POST",
            "headers": {"Content-Type": "application/json"}, "multiValueHeaders": {},
            "queryStringParameters": None, "multiValueQueryStringParameters": None,
            "pathParameters": {"model": MODEL}, "stageVariables": None,
            "requestContext": {"resourcePath": "/models/{model}/predict", "httpMethod": "POST",
                               "requestId": str(uuid.uuid4()), "path": path, "stage": "bench"},
            "body": json.dumps({"records": [record]}), "isBase64Encoded": False}


def interleaved(variants: dict[str, Any], n: int, warmup: int = 20) -> dict[str, list[float]]:
    """Time every variant ``n`` times, round-robin, so each sees the same machine load (it is shared)."""
    for fn in variants.values():
        for _ in range(warmup):
            fn()
    out: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(n):
        for name, fn in variants.items():
            started = time.perf_counter()
            fn()
            out[name].append(time.perf_counter() - started)
    return out


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def bench_single(pipeline: Any, records: list[dict[str, Any]], n: int) -> dict[str, list[float]]:
    import pandas as pd

    import app
    from chalicelib.core.settings import get_settings
    from chalicelib.services.serving import PredictionService, default_loader, default_registry, set_service

    one = typed(pd.DataFrame([records[0]]))[NAMES]
    record = {k: records[0][k] for k in NAMES}
    event = api_event(record)
    services = {percent: PredictionService(registry_factory=default_registry, loader=default_loader,
                                           settings=get_settings().with_overrides(capture_percent=percent))
                for percent in (0, 100)}

    def through_handler(percent: int) -> Any:
        def call() -> None:
            set_service(services[percent])
            response = app.app(event, None)
            assert response["statusCode"] == 200, response
        return call

    results = interleaved({
        "bare predict": lambda: pipeline.predict(one),
        "bare predict + predict_proba": lambda: (pipeline.predict(one), pipeline.predict_proba(one)),
        "handler, capture 0%": through_handler(0),
        "service.predict, capture 0%": lambda: services[0].predict(MODEL, {"records": [record]}),
        "handler, capture 100%": through_handler(100),
    }, n)
    services[100].capture.drain()
    set_service(None)
    return results


def bench_batch(pipeline: Any, rows: list[dict[str, Any]], repeat: int = 3) -> dict[str, float]:
    import pandas as pd

    from chalicelib.core.events import ObjectRef, eventbridge_object_created
    from chalicelib.core.serving.batch_files import score_file
    from chalicelib.core.serving.schema import features_from_metadata
    from chalicelib.storage import client
    from chalicelib.triggers.batch import handle_batch_objects

    frame = pd.DataFrame(rows)[NAMES]
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    body = buffer.getvalue().encode()
    features = features_from_metadata({"features": FEATURES})
    s3 = client("s3")
    bucket = os.environ["SLUICE_BUCKET"]
    attempts = iter(range(1_000_000))

    def through_handler() -> None:
        key = f"batch/{MODEL}/input/bench-{next(attempts)}.csv"
        put = s3.put_object(Bucket=bucket, Key=key, Body=body)
        ref = ObjectRef(bucket, key, put.get("VersionId"), put["ETag"].strip('"'))
        event = eventbridge_object_created(ref)
        started = time.perf_counter()
        result = handle_batch_objects(event)
        seconds.append(time.perf_counter() - started)  # the upload above is not timed
        assert result["objects"][0]["status"] == "written", result

    seconds: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        source, result = Path(tmp) / "in.csv", Path(tmp) / "out.csv"
        source.write_bytes(body)
        in_memory = typed(frame)

        def bare_script() -> None:
            data = pd.read_csv(source, parse_dates=["signup"])
            X = data[NAMES]
            data["prediction"] = pipeline.predict(X)
            proba = pipeline.predict_proba(X)
            for j, cls in enumerate(pipeline.classes_):
                data[f"probability_{cls}"] = proba[:, j]
            data.to_csv(result, index=False)

        timings = interleaved({
            "bare predict (in memory)": lambda: pipeline.predict(in_memory),
            "bare read_csv + predict + proba + to_csv": bare_script,
            "sluice score_file (local files, no S3)": lambda: score_file(source, result, "csv", pipeline,
                                                                         features),
            "sluice batch handler (S3 in, S3 out)": through_handler,
        }, repeat, warmup=1)
    timings["sluice batch handler (S3 in, S3 out)"] = seconds[1:]  # without the warm-up's
    return {name: min(samples) for name, samples in timings.items()}


COLD = """
import json, sys, time
started = time.perf_counter()
import app
imported = time.perf_counter()
event = json.loads(sys.argv[1])
response = app.app(event, None)
done = time.perf_counter()
assert response["statusCode"] == 200, response
print(json.dumps({"import": imported - started, "first": done - imported, "total": done - started}))
"""


def bench_cold(records: list[dict[str, Any]], env: dict[str, str], runs: int) -> list[dict[str, float]]:
    child_env = {"PATH": os.environ.get("PATH", ""), **{k: v for k, v in env.items() if k in ENV_KEYS},
                 "SLUICE_CAPTURE_PERCENT": "0", "SLUICE_PRELOAD": "serving"}
    out = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", COLD, json.dumps(api_event(records[0]))], cwd=ROOT,
                              env=child_env, capture_output=True, text=True, check=True)
        out.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=50_000, help="batch rows")
    parser.add_argument("--requests", type=int, default=300, help="single-record requests per variant")
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--estimator", default="LogisticRegression")
    parser.add_argument("--params", default="{}", help="estimator hyper-parameters as JSON")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    console = Console(width=150)
    server, env = start_world()
    try:
        train_rows = make_rows(2000)
        pipeline = train_and_register(train_rows, args.estimator, json.loads(args.params))
        records = [{k: r[k] for k in NAMES} for r in make_rows(50, seed=1)]
        single = bench_single(pipeline, records, args.requests)
        batch = bench_batch(pipeline, make_rows(args.rows, seed=2))
        cold = bench_cold(records, env, args.cold_runs)
    finally:
        server.stop()

    table = Table(title=f"sluice serving vs bare scikit-learn ({args.estimator}, {sys.platform}, "
                        f"{os.cpu_count()} CPUs)")
    for column in ("measure", "p50", "p99", "vs bare", "target"):
        table.add_column(column, justify="left" if column in ("measure", "target") else "right")
    bare50 = pct(single["bare predict"], 50)
    for name, samples in single.items():
        p50, p99 = pct(samples, 50) * 1000, pct(samples, 99) * 1000
        ratio = pct(samples, 50) / bare50
        target = "≤ 2.0x at p50" if name == "handler, capture 0%" else ""
        table.add_row(f"single record: {name}", f"{p50:.2f} ms", f"{p99:.2f} ms", f"{ratio:.2f}x", target)
    like = args.rows / batch["bare read_csv + predict + proba + to_csv"]
    for name, seconds in batch.items():
        rate = args.rows / seconds
        target = "≥ 0.8x (vs read+predict+write)" if name.startswith("sluice batch") else ""
        table.add_row(f"batch {args.rows:,} rows: {name}", f"{rate:,.0f} rows/s", f"{seconds:.2f} s",
                      f"{rate / like:.2f}x", target)
    totals = [c["total"] for c in cold]
    imports, firsts = (statistics.median(c[k] for c in cold) for k in ("import", "first"))
    table.add_row(f"cold: init, import app + preload (median of {len(cold)})", f"{imports:.2f} s", "", "", "")
    table.add_row("cold: first prediction after init", f"{firsts:.2f} s", "", "", "≤ 0.3 s")
    table.add_row("cold: import + first prediction", f"{statistics.median(totals):.2f} s",
                  f"max {max(totals):.2f} s", "", "")
    console.print(table)
    console.print("cold: the API function's init preloads the predict path (SnapStart snapshots it); "
                  "bench/cold_start.py sets it against the lazy path")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
