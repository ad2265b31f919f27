#!/usr/bin/env python3
"""Cold start of the API function: init (``import app`` + the serving preload) apart from the first
prediction after init, each in a fresh interpreter, with and without the preload.

    .venv/bin/python bench/cold_start.py [--runs 5] [--estimator LogisticRegression]

Setup (not timed): a moto server in this process with the template's resources, a model trained with
training's own pipeline and registered with the ``production`` alias (bench/serve.py's world). Then, per
run and per mode, a fresh ``python`` with the API function's environment:

- **preload** (what is deployed: ``SLUICE_PRELOAD=serving`` is set on the API function only, see
  infra/functions.yaml): ``import app`` imports what the predict path needs, warms it on an in-memory
  model and creates the AWS clients. On AWS this is the init phase that SnapStart snapshots when a
  version is published: a restored environment starts with it done.
- **lazy** (every other function, and the API before SnapStart): ``import app`` stays light and the
  first prediction pays the imports.

"first prediction" is ``app.app(event, None)`` on one record: three registry reads (alias, version,
settings), the artifact read from S3, its SHA-256 check, ``joblib.load`` and scoring, against the local
moto server (each call is a local HTTP round trip; on AWS, DynamoDB and S3 reads add their own latency).
"modules imported by the first prediction" lists what the predict path still imports after init
(``sys.modules`` before and after). Target (issue 15): first prediction after init <= 0.3 s.
The machine may be shared (2 cores): medians of ``--runs`` are shown with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import serve  # noqa: E402  (bench/serve.py: the moto world, the model, the API event)

TARGET_FIRST_S = 0.3

PROBE = """
import json, sys, time
started = time.perf_counter()
import app
imported = time.perf_counter()
before = set(sys.modules)
event = json.loads(sys.argv[1])
response = app.app(event, None)
first = time.perf_counter()
assert response["statusCode"] == 200, response
event["requestContext"]["requestId"] = "second"
app.app(event, None)
second = time.perf_counter()
from chalicelib.services import serving
print(json.dumps({"init": imported - started, "first": first - imported, "second": second - first,
                  "preload": serving.PRELOADED, "new_modules": sorted(set(sys.modules) - before)}))
"""


def probe(event: dict[str, Any], env: dict[str, str], preload: bool) -> dict[str, Any]:
    child_env = {"PATH": os.environ.get("PATH", ""), "SLUICE_CAPTURE_PERCENT": "0",
                 **{k: v for k, v in env.items() if k in serve.ENV_KEYS}}
    if preload:
        child_env["SLUICE_PRELOAD"] = "serving"
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(event)], cwd=ROOT, env=child_env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def top_packages(modules: list[str]) -> str:
    counts: dict[str, int] = {}
    for name in modules:
        top = name.split(".")[0]
        counts[top] = counts.get(top, 0) + 1
    return ", ".join(f"{k} ({v})" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])[:8]) or "none"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--estimator", default="LogisticRegression")
    parser.add_argument("--params", default="{}", help="estimator hyper-parameters as JSON")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    server, env = serve.start_world()
    try:
        serve.train_and_register(serve.make_rows(2000), args.estimator, json.loads(args.params))
        record = {k: v for k, v in serve.make_rows(1, seed=1)[0].items() if k in serve.NAMES}
        event = serve.api_event(record)
        load = os.getloadavg()[0]
        results: dict[str, list[dict[str, Any]]] = {"preload": [], "lazy": []}
        for _ in range(args.runs):  # interleaved: both modes see the same machine load
            for mode in results:
                results[mode].append(probe(event, env, preload=mode == "preload"))
    finally:
        server.stop()

    table = Table(title=f"API cold start ({args.estimator}, {os.cpu_count()} CPUs, load {load:.1f} -> "
                        f"{os.getloadavg()[0]:.1f}; medians of {args.runs} fresh interpreters)")
    for column in ("mode", "init (import app)", "first prediction", "second prediction", "target"):
        table.add_column(column, justify="left" if column in ("mode", "target") else "right")
    for mode, runs in results.items():
        init, first, second = (statistics.median(r[k] for r in runs) for k in ("init", "first", "second"))
        target = f"first <= {TARGET_FIRST_S} s: {'met' if first <= TARGET_FIRST_S else 'NOT met'}" \
            if mode == "preload" else ""
        table.add_row(mode, f"{init:.3f} s", f"{first:.3f} s", f"{second * 1000:.1f} ms", target)
    console = Console(width=150)
    console.print(table)
    for mode, runs in results.items():
        console.print(f"{mode}: modules imported by the first prediction: "
                      f"{len(runs[0]['new_modules'])} — {top_packages(runs[0]['new_modules'])}")
        if len(runs[0]["new_modules"]) < 20:
            console.print("  " + ", ".join(runs[0]["new_modules"]))
    preload = results["preload"][0]["preload"]
    if preload:
        console.print("preload steps (first run): " + ", ".join(f"{k} {v:.3f} s" for k, v in preload.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
