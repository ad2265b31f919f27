#!/usr/bin/env python3
"""Benchmark: sluice's validation engine against pandera and Great Expectations, side by side.

Data: ``/work/shared/bench/make_data.py`` (``--out $BENCH_DATA``, default ``/tmp/bench-data``);
contract: the 18 rules R01-R18 of ``/work/shared/bench/contract.py`` expressed as the sluice
contract ``bench/contracts/rides.yaml``; peers: ``/work/shared/bench/peers_validate.py`` run with the
interpreter of their own virtual environment (``--peers-python``, default
``/tmp/peers/validate/bin/python``; create it with ``python3.11 -m venv`` + ``pip install -r
peers-validate.requirements.txt``, never inside the repository).

Every measurement runs in its own process (so peak RSS is that configuration's ``ru_maxrss``):

- sluice ``validate``: ``validate_file`` on the file (streaming, chunked; reading, checking and
  book-keeping overlap on threads). "excl. read" is the engine's own ``validate_s``: the wall time
  not spent waiting for the reader; since work overlaps, the table also shows "total - read only"
  (what validating adds to just reading the file) and the verdict uses the larger of the two;
  "incl. read" is the wall time of the whole call;
- sluice ``read``: the same reader (``reader.parts``: column by column for Parquet) over the same
  columns with no validation: the read-only time that "total <= 1.5x read" compares against;
- pandera / gx: ``peers_validate.py`` (pandas read + setup + validate).

Usage::

    .venv/bin/python bench/validate.py                       # 1M corrupted Parquet, 3 repeats
    .venv/bin/python bench/validate.py --stream              # + streaming RSS: 1M vs 5M CSV
    .venv/bin/python bench/validate.py --files corrupted_100k.parquet --repeat 1 --skip-gx

The machine is shared (2 cores, several engineers): the load average is printed with the results and
the medians of ``--repeat`` runs are shown; CPU seconds are printed too (less sensitive to contention).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SLUICE_BENCH_SHARED", "/work/shared/bench"))
CONTRACT = ROOT / "bench" / "contracts" / "rides.yaml"
PII_KEY = b"benchmark-only-key-not-a-secret!"
RULE_MAP = {  # truth rule id -> sluice rule id
    "R01_row_count_1k_2m": "dataset.row_count",
    "R02_ride_id_unique": "ride_id.unique",
    "R03_rider_email_not_null": "rider_email.not_null",
    "R04_rider_email_regex": "rider_email.pattern",
    "R05_passenger_count_int64": "passenger_count.type",
    "R06_passenger_count_1_6": "passenger_count.range",
    "R07_trip_distance_0_500": "trip_distance_km.range",
    "R08_fare_amount_not_null": "fare_amount.not_null",
    "R09_fare_amount_0_1000": "fare_amount.range",
    "R10_tip_amount_float64": "tip_amount.type",
    "R11_tip_amount_ge_0": "tip_amount.range",
    "R12_driver_rating_1_5": "driver_rating.range",
    "R13_payment_type_in_set": "payment_type.allowed",
    "R14_city_in_set": "city.allowed",
    "R15_pickup_zone_not_null": "pickup_zone.not_null",
    "R16_pickup_zone_in_set": "pickup_zone.allowed",
    "R17_pickup_ts_2024": "pickup_ts.range",
    "R18_is_airport_bool": "is_airport.type",
}


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ------------------------------------------------------------------------------ worker (one measurement)


def worker(mode: str, data: str, chunk_rows: int) -> dict[str, Any]:
    """One measurement in this process: ``validate`` or ``read`` (sluice's reader alone)."""
    t0 = time.perf_counter()
    # imports are timed apart, as peers_validate.py does; pandas too: pyarrow imports it on the first
    # pa.array()/pa.scalar() from Python objects, and sluice's output side needs it anyway
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow.compute
    import pyarrow.csv
    import pyarrow.parquet  # noqa: F401

    from chalicelib.core.validation.contract import parse_contract
    from chalicelib.core.validation.engine import dictionary_columns, typed_columns, validate_file
    from chalicelib.core.validation.readers import open_reader

    contract = parse_contract(CONTRACT.read_text())
    rec: dict[str, Any] = {"tool": "sluice", "mode": mode, "data": os.path.basename(data),
                           "chunk_rows": chunk_rows, "t_import_s": time.perf_counter() - t0}
    rss0 = peak_rss_mib()
    c0, t0 = time.process_time(), time.perf_counter()
    if mode == "read":
        reader = open_reader(data, contract.format, file_format=None, chunk_rows=chunk_rows,
                             declared=contract.column_names, dictionary_columns=dictionary_columns(contract),
                             parquet_dictionary_columns=typed_columns(contract))
        segments = {p.segment: p.segment_rows for p in reader.parts(contract.column_names)}
        rows = sum(segments.values())
        rec.update(rows=rows, t_total_s=time.perf_counter() - t0)
    else:
        result = validate_file(data, contract, pii_key=PII_KEY, chunk_rows=chunk_rows)
        timings = result.report["timings"]
        rec.update(rows=result.rows, t_total_s=time.perf_counter() - t0, t_excl_read_s=timings["validate_s"],
                   t_read_wait_s=timings["read_s"], verdict=result.verdict, decision=result.decision,
                   invalid_rows=result.invalid_rows,
                   rules={r["id"]: {"passed": r["passed"], "count": r["failing_rows"]}
                          for r in result.report["rules"]})
    rec.update(cpu_s=time.process_time() - c0, rss_after_import_mib=rss0, peak_rss_mib=peak_rss_mib())
    return rec


# ------------------------------------------------------------------------------ driver


def run_json(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(cmd[:4])} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(lines[-1])


def sluice(mode: str, data: Path, chunk_rows: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return run_json([sys.executable, __file__, "--worker", mode, "--data", str(data),
                     "--chunk-rows", str(chunk_rows)], env)


def peer(python: str, tool: str, data: Path) -> dict[str, Any]:
    return run_json([python, str(SHARED / "peers_validate.py"), "--tool", tool, "--data", str(data)])


def median_run(fn, repeat: int) -> dict[str, Any]:
    """The run with the median total time of ``repeat`` runs (plus the spread of the totals)."""
    runs = [fn() for _ in range(repeat)]
    key = "t_incl_read_s" if "t_incl_read_s" in runs[0] else "t_total_s"
    runs.sort(key=lambda r: r[key])
    chosen = dict(runs[len(runs) // 2])
    chosen["_totals"] = [round(r[key], 2) for r in runs]
    chosen["_peak_rss_max"] = max(r["peak_rss_mib"] for r in runs)
    return chosen


def fmt_s(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}"


def count_cell(entry: dict[str, Any] | None, truth: int) -> str:
    if entry is None:
        return "-"
    count, status = entry.get("count"), entry.get("status")
    if status == "error":
        return "[red]error[/red]"
    if count is None:
        return f"[yellow]{status} (no count)[/yellow]"
    return f"[green]{count}[/green]" if count == truth else f"[red]{count}[/red]"


def bench_file(console: Console, args: argparse.Namespace, name: str) -> dict[str, Any]:
    data = Path(args.data) / name
    truth_path = Path(args.data) / (name.rsplit(".", 1)[0] + "_truth.json")
    truth = json.loads(truth_path.read_text())["rules"] if truth_path.exists() else {}
    load_before = os.getloadavg()
    console.print(f"[bold]{name}[/bold]: sluice ...", end=" ")
    s_val = median_run(lambda: sluice("validate", data, args.chunk_rows), args.repeat)
    s_read = median_run(lambda: sluice("read", data, args.chunk_rows), args.repeat)
    peers: dict[str, dict[str, Any]] = {}
    for tool, repeat in (("pandera", args.repeat), ("gx", 1 if not args.skip_gx else 0)):
        if repeat and Path(args.peers_python).exists():
            console.print(f"{tool} ...", end=" ")
            peers[tool] = median_run(lambda tool=tool: peer(args.peers_python, tool, data), repeat)
    console.print("done")
    load_after = os.getloadavg()

    table = Table(title=f"{name} — {s_val['rows']:,} rows (medians of {args.repeat}; gx: 1 run)")
    table.add_column("metric")
    table.add_column("sluice", justify="right")
    for tool in peers:
        table.add_column(f"{tool} {peers[tool].get('tool_version', '')}", justify="right")
    pr = [peers[t] for t in peers]
    table.add_row("validation excl. read (s)", fmt_s(s_val["t_excl_read_s"]),
                  *[fmt_s(p["t_excl_read_s"]) for p in pr])
    added = s_val["t_total_s"] - s_read["t_total_s"]
    table.add_row("  sluice: total - read only (s)", fmt_s(added), *["-" for _ in pr])
    table.add_row("total incl. read (s)", fmt_s(s_val["t_total_s"]), *[fmt_s(p["t_incl_read_s"]) for p in pr])
    table.add_row("read only (s)", fmt_s(s_read["t_total_s"]) + " (sluice reader)",
                  *[fmt_s(p["t_read_s"]) + " (pandas)" for p in pr])
    table.add_row("totals of the runs (s)", str(s_val["_totals"]), *[str(p["_totals"]) for p in pr])
    table.add_row("CPU seconds (all threads)", fmt_s(s_val["cpu_s"]), *["-" for _ in pr])
    table.add_row("peak RSS (MiB)", f"{s_val['peak_rss_mib']:.0f}", *[f"{p['peak_rss_mib']:.0f}" for p in pr])
    table.add_row("peak RSS, read only (MiB)", f"{s_read['peak_rss_mib']:.0f}", *["-" for _ in pr])
    console.print(table)

    rules = Table(title=f"{name} — failing rows per rule (green = equals the truth file)")
    for col in ("rule", "sluice rule id", "truth", "sluice", *peers):
        rules.add_column(col, justify="left" if col in ("rule", "sluice rule id") else "right")
    exact = True
    for rid, sid in RULE_MAP.items():
        t = truth.get(rid)
        s_entry = s_val["rules"].get(sid)
        s_count = {"count": s_entry["count"]} if s_entry else None
        if t is not None and (s_entry is None or s_entry["count"] != t):
            exact = False
        rules.add_row(rid, sid, str(t), count_cell(s_count, t),
                      *[count_cell(peers[tool]["rules"].get(rid), t) for tool in peers])
    console.print(rules)

    verdicts = []
    if "pandera" in peers:
        pa_ = peers["pandera"]
        excl = max(s_val["t_excl_read_s"], added)  # the stricter of the two readings
        verdicts.append(("validation excl. read <= 1/3 of pandera's",
                         excl <= pa_["t_excl_read_s"] / 3,
                         f"{excl:.2f} s (max of both sluice readings) vs {pa_['t_excl_read_s'] / 3:.2f} s"))
        verdicts.append(("peak RSS <= pandera's", s_val["peak_rss_mib"] <= pa_["peak_rss_mib"],
                         f"{s_val['peak_rss_mib']:.0f} vs {pa_['peak_rss_mib']:.0f} MiB"))
    verdicts.append(("total <= 1.5x read-only (sluice reader)",
                     s_val["t_total_s"] <= 1.5 * s_read["t_total_s"],
                     f"{s_val['t_total_s']:.2f} s vs {1.5 * s_read['t_total_s']:.2f} s"))
    if "pandera" in peers:
        verdicts.append(("total <= 1.5x read-only (pandas read)",
                         s_val["t_total_s"] <= 1.5 * peers["pandera"]["t_read_s"],
                         f"{s_val['t_total_s']:.2f} s vs {1.5 * peers['pandera']['t_read_s']:.2f} s"))
    if truth:
        verdicts.append(("exact truth table (R01-R18)", exact, ""))
    for label, ok, detail in verdicts:
        console.print(f"  {'[green]PASS[/green]' if ok else '[red]MISS[/red]'} {label}  {detail}")
    console.print(f"  load average before {load_before[0]:.1f}, after {load_after[0]:.1f} "
                  f"on {os.cpu_count()} CPUs (shared machine: wall times include contention)")
    return {"sluice": s_val, "sluice_read": s_read, **peers}


def bench_stream(console: Console, args: argparse.Namespace) -> None:
    small, big = Path(args.data) / "corrupted_1m.csv", Path(args.data) / args.stream_file
    if not big.exists():
        console.print(f"[yellow]{big} missing: run make_data.py --sizes 5m[/yellow]")
        return
    one = median_run(lambda: sluice("validate", small, args.chunk_rows), 1)
    five = median_run(lambda: sluice("validate", big, args.chunk_rows), 1)
    table = Table(title=f"streaming CSV (chunk_rows={args.chunk_rows})")
    for col in ("file", "rows", "total (s)", "excl. read (s)", "peak RSS (MiB)", "invalid rows"):
        table.add_column(col, justify="right")
    for rec in (one, five):
        table.add_row(rec["data"], f"{rec['rows']:,}", fmt_s(rec["t_total_s"]), fmt_s(rec["t_excl_read_s"]),
                      f"{rec['peak_rss_mib']:.0f}", f"{rec['invalid_rows']:,}")
    console.print(table)
    ratio = five["peak_rss_mib"] / one["peak_rss_mib"]
    ok = ratio <= 1.2
    mark = "[green]PASS[/green]" if ok else "[red]MISS[/red]"
    console.print(f"  {mark} 5M-row peak RSS <= 1.2x the 1M-row run: {ratio:.2f}x")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("BENCH_DATA", "/tmp/bench-data"))
    ap.add_argument("--files", default="corrupted_1m.parquet")
    ap.add_argument("--peers-python", default="/tmp/peers/validate/bin/python")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--chunk-rows", type=int, default=262_144)
    ap.add_argument("--skip-gx", action="store_true")
    ap.add_argument("--stream", action="store_true", help="also: peak RSS of 1M vs 5M-row CSV")
    ap.add_argument("--stream-file", default="corrupted_5m.csv")
    ap.add_argument("--json-out", help="write every measurement here")
    ap.add_argument("--worker", choices=["validate", "read"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.data, args.chunk_rows), default=str))
        return 0
    console = Console(width=140)
    console.print(f"sluice validation benchmark — {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, "
                  f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    results = {name: bench_file(console, args, name) for name in args.files.split(",")}
    if args.stream:
        bench_stream(console, args)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
