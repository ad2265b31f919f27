#!/usr/bin/env python3
"""Lambda sizes from measurements: time and peak memory per row of validation, training and drift on the
bench data, fitted per row, turned into each function's memory, timeout and ephemeral storage and the
largest dataset it can take at that setting, written to ``infra/sizing.json`` (the template's source:
scripts/render_template.py reads it; docs/sizing.md explains it).

    make sizing                                  # 25k, 50k, 100k rows (a few minutes on 2 cores)
    .venv/bin/python bench/sizing.py --full      # 100k, 300k, 1M rows (validation also 5M)
    .venv/bin/python bench/sizing.py --dry-run   # measure and print, write nothing

Every measurement runs in its own process. Its memory is the process's peak resident set (``VmHWM``)
during the work, counted from the resident set after the imports (the function's fixed cost): the peak
is reset just before the work (``/proc/self/clear_refs``), so the data preparation of the benchmark itself
does not count. Workloads:

- **validation**: the upload path's one pass, ``validate_stream`` with curated and quarantine sinks that
  hold each part until it is handed on (as ``S3Parts`` holds its parts in flight), on
  ``corrupted_{size}.csv`` with the 18-rule contract ``bench/contracts/rides.yaml``;
- **training**: ``execute_run`` (bench/train.py's run: HistGradientBoostingRegressor, 15 columns) against
  moto in-process; once more at the largest size on 5 columns, to split the per-row cost into a part
  per column and a part per row;
- **drift**: ``profile_chunks`` of the reference (``clean_``) and current (``drifted_``) tables and
  ``detect_drift`` (bench/drift.py's sluice worker, 16 columns).

Data: ``../shared/bench/make_data.py`` writes the files when missing (``--data``, default
``/tmp/bench-data-sizing``). The figures come from this machine (shared, 2 cores): the headroom below
leaves room for the difference from a Lambda vCPU and for the machine's load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
SHARED = Path(os.environ.get("SLUICE_BENCH_SHARED", "/work/shared/bench"))
DATA = Path(os.environ.get("BENCH_DATA_SIZING", "/tmp/bench-data-sizing"))
OUT = ROOT / "infra" / "sizing.json"
SIZES, FULL_SIZES = ("25k", "50k", "100k"), ("100k", "300k", "1m")
# validation alone, with --full: its memory is flat past a few chunks, so only a size well past them
# resolves the per-row part (the engine's books: ~1 byte per row + 8 per key rule, twice in the pre-pass)
FULL_VALIDATION_EXTRA = ("5m",)
PII_KEY = b"benchmark-only-key-not-a-secret!"

MEMORY_HEADROOM = 0.8   # plan for 80% of the memory: the allocator and Lambda's runtime need the rest
TIME_HEADROOM = 0.5     # plan for half the timeout: a Lambda vCPU is not this machine's core, S3 I/O varies
FULL_VCPU_MB = 1769     # Lambda gives one full vCPU at 1,769 MB, proportionally less below


@dataclass(frozen=True)
class Policy:
    """A function's settings: its memory and timeout are chosen here (with the reason); what it can take at
    them is measured. ``workload``: the measured work that bounds it (None: no dataset-sized work)."""

    workload: str | None
    memory_mb: int
    timeout_s: int
    ephemeral_storage_mb: int
    why: str


# 3,008 MB is the most memory a new AWS account may configure until its quota is raised.
FUNCTIONS: dict[str, Policy] = {
    "api_handler": Policy(None, 1769, 30, 512, "predictions: one full vCPU; API Gateway gives up after 29 s; "
                          "SnapStart allows at most 512 MB of /tmp"),
    "contract_inference": Policy(None, 1024, 300, 512, "reads a sample of the file (sluice.samples)"),
    "on_raw_object": Policy("validation", 3008, 900, 512, "validation of an upload: the raw object is read "
                            "in place (ranged GETs), nothing staged in /tmp"),
    "process_feedback": Policy("validation", 3008, 900, 512, "the upload path on one feedback object"),
    "train": Policy("training", 3008, 900, 512, "every row of the window in one DataFrame: memory bounds it"),
    "on_dataset_version": Policy("drift", 1024, 300, 512, "drift check of a new version, then starts runs"),
    "monitor": Policy("drift", 2048, 900, 512, "scheduled drift and performance checks"),
    "on_label_object": Policy("drift", 2048, 900, 512, "live performance and feedback rows"),
    "on_batch_object": Policy(None, 3008, 900, 10240, "batch scoring: input and output files in /tmp, "
                              "scored chunk by chunk"),
    "reconcile": Policy(None, 1024, 900, 512, "the reconciler: registry and queue reads, small deletes"),
    "on_training_job": Policy(None, 512, 60, 512, "a SageMaker training job's end: a few table reads and "
                                                  "writes"),
}


# ---------------------------------------------------------------------------------------------- worker


def _status_mb(field: str) -> float:
    match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    return int(match.group(1)) / 1024.0 if match else 0.0


def _reset_peak() -> float:
    """Forget the peak resident set so far (Linux: ``clear_refs`` 5); the resident set now, in MB."""
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")
    return _status_mb("VmRSS")


def _measure(work: Any) -> dict[str, float]:
    fixed = _reset_peak()
    started = time.perf_counter()
    rows = work()
    return {"rows": rows, "seconds": time.perf_counter() - started, "fixed_mb": fixed,
            "peak_mb": _status_mb("VmHWM")}


def work_validation(data: Path, size: str) -> dict[str, Any]:
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow.csv
    import pyarrow.parquet  # noqa: F401
    import yaml

    from chalicelib.core.validation.contract import parse_contract
    from chalicelib.core.validation.engine import validate_stream
    from chalicelib.services.uploads import CHUNK_ROWS  # the upload path's chunks, not the engine's default

    document = yaml.safe_load((ROOT / "bench" / "contracts" / "rides.yaml").read_text())
    # the bench contract caps files at 2M rows: a larger file would be rejected and its curated stream
    # stopped there, which measures less than an upload that passes
    document["rules"]["row_count"]["max"] = max(document["rules"]["row_count"].get("max") or 0, 10**9)
    contract = parse_contract(document)
    path = data / f"corrupted_{size}.csv"
    out = _measure(lambda: validate_stream(str(path), contract, pii_key=PII_KEY, curated=_PartsInFlight(),
                                           quarantine=_PartsInFlight(), chunk_rows=CHUNK_ROWS).rows)
    out.update(csv_bytes=path.stat().st_size, parquet_bytes=path.with_suffix(".parquet").stat().st_size)
    return out


class _PartsInFlight:
    """A sink that keeps the last few parts it was handed, as the upload path's ``S3Parts`` keeps the
    parts it is still uploading (``UPLOADS_IN_FLIGHT``), and drops the rest."""

    def __init__(self, in_flight: int = 3) -> None:
        self.in_flight = in_flight
        self.parts: list[Any] = []

    def write(self, part: int, table: Any) -> None:
        self.parts = [*self.parts, table][-self.in_flight:]

    def replace(self, part: int, table: Any) -> None:
        self.write(part, table)

    def close(self) -> None:
        self.parts = []

    def abort(self) -> None:
        self.parts = []


NARROW = ["trip_distance_km", "passenger_count", "payment_type", "is_airport"]  # one of each type


def work_training(data: Path, size: str, narrow: bool) -> dict[str, Any]:
    import io

    import pyarrow.parquet as pq
    import train as bench_train  # bench/train.py: its spec, contract and moto world

    from chalicelib.core.datasets.types import DatasetVersion
    from chalicelib.core.training.spec import TrainingSpec
    from chalicelib.core.validation.contract import parse_contract
    from chalicelib.services import training as service
    from chalicelib.storage import client
    from chalicelib.storage import datasets as store

    features = NARROW if narrow else bench_train.FEATURES
    columns = [*features, bench_train.TARGET]
    table = pq.read_table(data / f"clean_{size}.parquet", columns=columns)
    rows = table.num_rows
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="snappy")
    del table
    contract = bench_train.contract_body()
    contract["columns"] = [c for c in contract["columns"] if c["name"] in columns]
    spec = {**bench_train.spec_body(), "features": features}
    bench_train.bare_sklearn  # noqa: B018  (the module's imports are what the train function imports)
    import fastparquet  # noqa: F401
    import sklearn.ensemble
    import sklearn.inspection
    import sklearn.metrics  # noqa: F401
    from threadpoolctl import threadpool_limits

    with bench_train.MotoWorld() as world, threadpool_limits(limits=1):
        stored = store.put_contract(parse_contract(contract))
        version = store.next_version("rides")
        prefix = f"curated/rides/dataset_version={version}/"
        client("s3").put_object(Bucket=world.resources.bucket, Key=f"{prefix}part-00000.snappy.parquet",
                                Body=buffer.getvalue())
        del buffer
        store.put_version(DatasetVersion(
            dataset="rides", version=version, status="passed", raw={"key": "raw/rides/bench.parquet"},
            report_key="", created_at="2026-11-26T00:00:00.000Z",
            curated_path=f"s3://{world.resources.bucket}/{prefix}", contract_version=stored.version,
            rows=rows, verdict="pass"))
        service.put_spec("fare", TrainingSpec.model_validate(spec), actor="bench")
        run_id = service.start_run("fare", "bench", "sizing")

        def run() -> int:
            record = service.execute_run("fare", run_id)
            if record["status"] != "succeeded":
                raise SystemExit(f"the run failed: {record.get('error')}")
            return rows

        out = _measure(run)
    out["columns"] = len(columns)
    return out


def work_drift(data: Path, size: str) -> dict[str, Any]:
    import pyarrow.parquet as pq
    import scipy.stats  # noqa: F401

    sys.path.insert(0, str(SHARED))
    import contract as shared  # the shared bench's drift spec

    from chalicelib.core.drift.config import DriftConfig
    from chalicelib.core.drift.detectors import detect_drift
    from chalicelib.core.drift.profile import profile_chunks

    columns = shared.DRIFT_NUM_COLS + shared.DRIFT_CAT_COLS
    types = {**dict.fromkeys(shared.DRIFT_NUM_COLS, "numeric"),
             **dict.fromkeys(shared.DRIFT_CAT_COLS, "categorical")}

    def batches(name: str) -> Any:
        yield from pq.ParquetFile(data / f"{name}_{size}.parquet").iter_batches(batch_size=100_000,
                                                                                   columns=columns)

    def run() -> int:
        reference = profile_chunks(batches("clean"), types, seed=0)
        current = profile_chunks(batches("drifted"), types, reference=reference, seed=1)
        detect_drift(reference, current, DriftConfig())
        return int(current.rows)

    out = _measure(run)
    out["columns"] = len(columns)
    return out


def worker(args: argparse.Namespace) -> int:
    data = Path(args.data)
    if args.worker == "validation":
        out = work_validation(data, args.size)
    elif args.worker == "training":
        out = work_training(data, args.size, narrow=args.narrow)
    else:
        out = work_drift(data, args.size)
    print(json.dumps(out))
    return 0


# ---------------------------------------------------------------------------------------------- fit


def fit_line(points: list[tuple[float, float]]) -> tuple[float, float, str]:
    """``y = fixed + per_row * x``: the least-squares slope, with the fixed part raised so that the line
    lies on or above every measured point (a cost that levels off — the upload path's memory, flat past a
    few chunks — is never under-counted at the sizes measured), and how it was found.

    When the sizes do not resolve a growth (the slope is not positive, or the line starts below 0: at
    small sizes, fixed costs and the machine's load swamp it), the highest ``y / x`` of any run is used
    with no fixed part: an upper bound of the per-row cost, so the limit derived from it errs low."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else 0.0
    if slope > 0 and mean_y - slope * mean_x >= 0:
        fixed = max(y - slope * x for x, y in points)
        raised = fixed > mean_y - slope * mean_x + 1e-9 * max(1.0, abs(fixed))
        return fixed, slope, "least squares" + (", raised to the highest point" if raised else "")
    return 0.0, max(max(0.0, y) / x for x, y in points), \
        "upper bound: the highest cost per row of any run (no growth resolved at these sizes)"


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-row costs of one workload (full width) from its runs at every size."""
    full = [r for r in runs if not r.get("narrow")]
    fixed_s, s_per_row, time_fit = fit_line([(r["rows"], r["seconds"]) for r in full])
    run_mb, mb_per_row, memory_fit = fit_line([(r["rows"], r["peak_mb"] - r["fixed_mb"]) for r in full])
    fixed_mb = max(r["fixed_mb"] for r in full) + run_mb
    out: dict[str, Any] = {
        "points": [{k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()} for r in runs],
        "fixed_s": round(fixed_s, 4), "seconds_per_million_rows": round(s_per_row * 1e6, 3),
        "time_fit": time_fit, "fixed_mb": round(fixed_mb, 1), "kb_per_row": round(mb_per_row * 1024, 4),
        "memory_fit": memory_fit}
    if "csv_bytes" in full[-1]:
        out["csv_bytes_per_row"] = round(full[-1]["csv_bytes"] / full[-1]["rows"], 1)
        out["parquet_bytes_per_row"] = round(full[-1]["parquet_bytes"] / full[-1]["rows"], 1)
    if "columns" in full[-1]:
        out["columns"] = full[-1]["columns"]
    narrow = [r for r in runs if r.get("narrow")]
    if narrow:
        out["column_share"] = round(column_share(full, narrow[-1]), 3)
    return out


def column_share(full: list[dict[str, Any]], narrow: dict[str, Any]) -> float:
    """The part of the per-row memory that grows with the columns, from a full and a narrow run at the
    same rows: per-row cost = base + per_column * columns."""
    wide = next(r for r in full if r["rows"] == narrow["rows"])
    wide_mb, narrow_mb = wide["peak_mb"] - wide["fixed_mb"], narrow["peak_mb"] - narrow["fixed_mb"]
    if wide_mb <= 0 or wide["columns"] == narrow["columns"]:
        return 1.0
    per_column = max(0.0, (wide_mb - narrow_mb) / (wide["columns"] - narrow["columns"]))
    return min(1.0, per_column * wide["columns"] / wide_mb)


def capacity(policy: Policy, cost: dict[str, Any] | None) -> dict[str, Any]:
    """The largest dataset (rows) ``policy``'s settings take, and which resource bounds it."""
    if cost is None:
        return {"max_rows": None, "limited_by": None}
    bounds: dict[str, float] = {}
    kb_per_row = cost["kb_per_row"]
    if kb_per_row > 0:
        bounds["memory"] = (policy.memory_mb * MEMORY_HEADROOM - cost["fixed_mb"]) * 1024 / kb_per_row
    seconds_per_row = cost["seconds_per_million_rows"] / 1e6 * max(1.0, FULL_VCPU_MB / policy.memory_mb)
    if seconds_per_row > 0:
        bounds["time"] = (policy.timeout_s * TIME_HEADROOM - cost["fixed_s"]) / seconds_per_row
    limited_by = min(bounds, key=lambda k: bounds[k])
    return {"max_rows": max(0, int(bounds[limited_by] // 1000 * 1000)), "limited_by": limited_by,
            "bounds": {k: int(v) for k, v in bounds.items()}}


def function_entry(policy: Policy, workloads: dict[str, Any]) -> dict[str, Any]:
    cost = workloads.get(policy.workload) if policy.workload else None
    entry: dict[str, Any] = {"memory_mb": policy.memory_mb, "timeout_s": policy.timeout_s,
                             "ephemeral_storage_mb": policy.ephemeral_storage_mb, "workload": policy.workload,
                             **capacity(policy, cost), "why": policy.why}
    if policy.workload == "validation" and cost and entry["max_rows"]:
        # the largest upload, in the bytes known before reading: the measured row limit at the bench
        # data's bytes per row (text formats as CSV; Parquet packs ~2.7x more rows per byte)
        # never above the upload path's ceiling (what it would apply anyway), so the template says the limit
        from chalicelib.services.uploads import MAX_UPLOAD_BYTES

        measured = {"csv": int(entry["max_rows"] * cost["csv_bytes_per_row"]),
                    "parquet": int(entry["max_rows"] * cost["parquet_bytes_per_row"])}
        entry["max_upload_bytes"] = {kind: min(MAX_UPLOAD_BYTES, size) for kind, size in measured.items()}
        if entry["max_upload_bytes"] != measured:
            entry["max_upload_bytes_measured"] = measured  # what the memory would take: the ceiling binds
        entry["environment"] = {"SLUICE_MAX_UPLOAD_BYTES": entry["max_upload_bytes"]["csv"],
                                "SLUICE_MAX_UPLOAD_BYTES_PARQUET": entry["max_upload_bytes"]["parquet"],
                                # rows, whatever their width (scaled by the contract's key rules at run time)
                                "SLUICE_MAX_UPLOAD_ROWS": entry["max_rows"],
                                "SLUICE_MAX_UPLOAD_ROWS_KEY_RULES": bench_key_rules()}
    return entry


def bench_key_rules() -> int:
    """The unique/primary-key rules of the contract validation is measured with (its books per row)."""
    from chalicelib.core.validation.contract import parse_contract
    from chalicelib.core.validation.engine import key_rule_count

    return key_rule_count(parse_contract((ROOT / "bench" / "contracts" / "rides.yaml").read_text()))


def sizing_document(workloads: dict[str, Any], sizes: list[str]) -> dict[str, Any]:
    functions = {name: function_entry(policy, workloads) for name, policy in FUNCTIONS.items()}
    training = workloads["training"]
    train = functions["train"]
    return {
        "about": "Written by bench/sizing.py (make sizing): do not edit by hand. docs/sizing.md explains it.",
        "measured": {"date": dt.date.today().isoformat(), "sizes": sizes, "python": platform.python_version(),
                     "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared)",
                     "headroom": {"memory": MEMORY_HEADROOM, "time": TIME_HEADROOM}},
        "workloads": workloads,
        "functions": functions,
        # every function's environment: training's limit is checked where runs start and where they run
        "environment": {"SLUICE_TRAIN_MAX_ROWS": train["max_rows"],
                        "SLUICE_TRAIN_MEASURED_COLUMNS": training["columns"],
                        "SLUICE_TRAIN_COLUMN_SHARE": training.get("column_share", 1.0),
                        "SLUICE_TRAIN_LIMITED_BY": train["limited_by"]},
    }


# ---------------------------------------------------------------------------------------------- driver


def ensure_data(data: Path, sizes: list[str]) -> None:
    missing = [s for s in sizes if not all((data / f"{kind}_{s}.{ext}").exists()
                                           for kind in ("clean", "corrupted", "drifted")
                                           for ext in ("csv", "parquet"))]
    if missing:
        print(f"writing bench data {missing} into {data} (make_data.py)", flush=True)
        subprocess.run([sys.executable, str(SHARED / "make_data.py"), "--out", str(data),
                        "--sizes", ",".join(missing)], check=True)


def run_worker(args: argparse.Namespace, workload: str, size: str, narrow: bool = False) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", workload, "--size", size,
               "--data", str(args.data)] + (["--narrow"] if narrow else [])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{workload} {size} failed:\n{done.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    out.update(size=size, load=round(os.getloadavg()[0], 2), **({"narrow": True} if narrow else {}))
    print(f"  {workload:<10} {size:>5}{' narrow' if narrow else '':7} {out['rows']:>9,} rows "
          f"{out['seconds']:7.2f} s  peak {out['peak_mb']:7.1f} MB (fixed {out['fixed_mb']:.1f})  "
          f"load {out['load']}", flush=True)
    return out


def measure_all(args: argparse.Namespace, sizes: list[str], validation_extra: tuple[str, ...] = (),
                ) -> dict[str, list[dict[str, Any]]]:
    ensure_data(args.data, sizes + list(validation_extra))
    also = f" (validation also {', '.join(validation_extra)})" if validation_extra else ""
    print(f"measuring {', '.join(sizes)} rows{also}, each run in its own process "
          f"(load {os.getloadavg()[0]:.1f})")
    runs: dict[str, list[dict[str, Any]]] = {}
    for workload in ("validation", "training", "drift"):
        extra = validation_extra if workload == "validation" else ()
        runs[workload] = [run_worker(args, workload, size) for size in sizes + list(extra)]
    runs["training"].append(run_worker(args, "training", sizes[-1], narrow=True))
    return runs


def print_table(document: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=160)
    costs = Table(title=f"per-row costs ({document['measured']['machine']}, sizes "
                        f"{', '.join(document['measured']['sizes'])})")
    for column in ("workload", "fixed MB", "KB / row", "fixed s", "s / 1M rows", "columns"):
        costs.add_column(column, justify="right")
    for name, cost in document["workloads"].items():
        costs.add_row(name, f"{cost['fixed_mb']:.0f}", f"{cost['kb_per_row']:.3f}", f"{cost['fixed_s']:.2f}",
                      f"{cost['seconds_per_million_rows']:.2f}", str(cost.get("columns", "")))
    console.print(costs)
    table = Table(title="function settings and the largest dataset each takes")
    for column in ("function", "memory MB", "timeout s", "/tmp MB", "workload", "max rows", "limited by"):
        table.add_column(column, justify="left" if column in ("function", "workload") else "right")
    for name, entry in document["functions"].items():
        rows = f"{entry['max_rows']:,}" if entry["max_rows"] is not None else "-"
        table.add_row(name, str(entry["memory_mb"]), str(entry["timeout_s"]),
                      str(entry["ephemeral_storage_mb"]), entry["workload"] or "-", rows,
                      entry["limited_by"] or "-")
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true",
                        help=f"sizes {', '.join(FULL_SIZES)}, validation also "
                             f"{', '.join(FULL_VALIDATION_EXTRA)} (what make sizing runs: the upload path's "
                             "memory is flat only past a few chunks)")
    parser.add_argument("--quick", action="store_true", help=f"sizes {', '.join(SIZES)} (a smoke run)")
    parser.add_argument("--sizes", nargs="+", help="row counts as make_data.py names them (25k, 1m)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--dry-run", action="store_true", help="measure and print; write nothing")
    parser.add_argument("--refit", action="store_true",
                        help="no measurement: recompute the settings from the points in --out (after a "
                             "change of FUNCTIONS or of the headroom)")
    parser.add_argument("--worker", choices=["validation", "training", "drift"], help=argparse.SUPPRESS)
    parser.add_argument("--size", help=argparse.SUPPRESS)
    parser.add_argument("--narrow", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    if args.refit:
        previous = json.loads(args.out.read_text())
        runs = {name: cost["points"] for name, cost in previous["workloads"].items()}
        sizes = previous["measured"]["sizes"]
    else:
        sizes = list(args.sizes or (FULL_SIZES if args.full else SIZES))
        if len(sizes) < 2:
            raise SystemExit("give at least two sizes: the per-row cost is a slope")
        runs = measure_all(args, sizes, FULL_VALIDATION_EXTRA if args.full and not args.sizes else ())
        sizes = sizes + [f"{size} (validation)" for size in (FULL_VALIDATION_EXTRA if args.full and not
                                                              args.sizes else ())]
    workloads = {name: summarise(points) for name, points in runs.items()}
    document = sizing_document(workloads, sizes)
    if args.refit:
        document["measured"] = {**previous["measured"], "headroom": document["measured"]["headroom"]}
    print_table(document)
    if not args.dry_run:
        args.out.write_text(json.dumps(document, indent=1) + "\n")
        print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
