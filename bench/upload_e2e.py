#!/usr/bin/env python3
"""Benchmark: upload → dataset version through ``services.uploads`` vs the engine alone, side by side.

For each bench file (``/work/shared/bench/make_data.py`` data, contract ``bench/contracts/rides.yaml``):

- **engine**: ``validate_file`` on the local file (the verdict, in process: what ``bench/validate.py``
  measures);
- **engine + outputs**: ``validate_stream`` on the local file, in the upload path's chunks, with sinks that
  build and serialise every curated / quarantine part to Parquet in memory (the one pass's CPU work
  without S3);
- **end to end**: the object put into S3 (not timed), then ``process_object`` timed: claim, ranged
  GETs of the raw object, the one pass writing Parquet parts to S3, Glue, report, version record. That
  is "upload finished → version recorded" minus the event delivery, in a warm process (a warm-up upload
  of the file's first 1,000 rows first: what every invocation of a warm function pays);
- **first call**: the same as the first call of a fresh process (what a cold function's first
  invocation pays: imports such as awswrangler's, clients, connections). S3, DynamoDB, Glue, SQS and SNS are
  a **moto server in a separate process** (the server ``sluice up`` runs, with its atomic DynamoDB),
  reached over HTTP as the function reaches AWS: moto's own CPU and the objects it stores are not in the
  measured process. ``--inprocess`` adds the old figure (``mock_aws`` in the measured process).

Each measurement runs in its own process. Peak RSS: ``ru_maxrss`` of that process (end to end: the
validating process alone; the moto server holds the objects).

Usage::

    .venv/bin/python bench/upload_e2e.py                                  # 100k and 1M CSV + Parquet
    .venv/bin/python bench/upload_e2e.py --data /tmp/bench-5m --files corrupted_5m.csv,corrupted_5m.parquet \
        --max-rows 10000000                                               # make_data --sizes 5m first

The machine is shared (2 cores, several engineers): the load average is printed; wall times include
contention, CPU seconds less so.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CONTRACT = ROOT / "bench" / "contracts" / "rides.yaml"
PII_KEY = b"benchmark-only-key-not-a-secret!"
ROW_COUNT_MAX = "BENCH_ROW_COUNT_MAX"
DEFAULT_FILES = "corrupted_100k.csv,corrupted_100k.parquet,corrupted_1m.csv,corrupted_1m.parquet"


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def contract_for(path: Path) -> Any:
    from chalicelib.core.validation.contract import parse_contract

    data = __import__("yaml").safe_load(CONTRACT.read_text())
    data["format"] = {**data.get("format", {}), "type": "parquet" if path.suffix == ".parquet" else "csv"}
    if os.environ.get(ROW_COUNT_MAX):  # --max-rows: the 5M file passes the contract's 2M-row ceiling
        data["rules"]["row_count"]["max"] = int(os.environ[ROW_COUNT_MAX])
    return parse_contract(data)


def engine(path: Path) -> dict[str, Any]:
    from chalicelib.core.validation.engine import validate_file

    contract = contract_for(path)
    t, cpu = time.perf_counter(), time.process_time()
    result = validate_file(str(path), contract, pii_key=PII_KEY)
    return {"s": time.perf_counter() - t, "cpu_s": time.process_time() - cpu, "rows": result.rows,
            "invalid_rows": result.invalid_rows, "decision": result.decision, "peak_rss_mib": rss_mib()}


class ParquetBytes:
    """A sink serialising each part to Parquet in memory and dropping it (the CPU of the outputs)."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, part: int, table: Any) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="snappy")
        self.bytes += sink.tell()

    replace = write

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


def engine_outputs(path: Path) -> dict[str, Any]:
    from chalicelib.core.validation.engine import validate_stream
    from chalicelib.services.uploads import CHUNK_ROWS

    contract = contract_for(path)
    curated, quarantine = ParquetBytes(), ParquetBytes()
    t, cpu = time.perf_counter(), time.process_time()
    result = validate_stream(str(path), contract, pii_key=PII_KEY, curated=curated, quarantine=quarantine,
                             chunk_rows=CHUNK_ROWS)  # the upload path's chunks
    return {"s": time.perf_counter() - t, "cpu_s": time.process_time() - cpu, "rows": result.rows,
            "curated_mib": curated.bytes / 2**20, "peak_rss_mib": rss_mib()}


@dataclass
class World:
    """The AWS stand-in of one end-to-end run: moto in this process, or a moto server in another."""

    mode: str
    bucket: str
    endpoint: str | None = None


@contextlib.contextmanager
def moto_world(mode: str = "server") -> Iterator[World]:
    """A fresh sluice world (bucket, table, queue, topic, Glue database, the bench contract's dataset).

    ``server``: a moto server in a **separate process** (what ``sluice up`` serves, the same WSGI app and
    atomic DynamoDB), reached through ``AWS_ENDPOINT_URL``: its CPU and the stored bytes are not this
    process's, as on AWS. ``inprocess``: ``mock_aws`` here (what the functional tests use).
    """
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"})
    os.environ.pop("AWS_ENDPOINT_URL", None)
    server: subprocess.Popen[str] | None = None
    mock: Any = None
    endpoint = None
    if mode == "server":
        server = subprocess.Popen([sys.executable, __file__, "--serve-moto"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert server.stdout is not None
        endpoint = server.stdout.readline().strip()
        if not endpoint.startswith("http"):
            raise RuntimeError(f"the moto server did not start: {endpoint!r}")
        os.environ["AWS_ENDPOINT_URL"] = endpoint
    else:
        from moto import mock_aws

        from sluice.local.atomic import make_dynamodb_atomic

        make_dynamodb_atomic()
        mock = mock_aws()
        mock.start()
    try:
        import boto3

        from chalicelib import storage as aws
        from sluice.local.resources import LocalNames, create_resources

        names = LocalNames(prefix=f"sluice-bench-{uuid.uuid4().hex[:8]}")
        session = boto3.session.Session(region_name="us-east-1")
        res = create_resources(session, endpoint, names)  # type: ignore[arg-type]
        os.environ.update({"SLUICE_BUCKET": res.bucket, "SLUICE_TABLE": res.table, "SLUICE_STAGE": "bench",
                           "SLUICE_INVOKE_MODE": "queue", "SLUICE_INVOKE_QUEUE_URL": res.invoke_queue_url,
                           "SLUICE_GLUE_DATABASE": res.glue_database, "SLUICE_TOPIC_ARN": res.topic_arn,
                           "SLUICE_PII_KEY": PII_KEY.hex()})
        aws.reset()
        glue = boto3.client("glue", region_name="us-east-1", endpoint_url=endpoint)
        with contextlib.suppress(glue.exceptions.AlreadyExistsException):
            glue.create_database(DatabaseInput={"Name": res.glue_database})
        yield World(mode, res.bucket, endpoint)
    finally:
        if mock is not None:
            mock.stop()
        if server is not None:
            assert server.stdin is not None
            server.stdin.close()
            server.wait(10)


def serve_moto() -> int:
    """The ``server`` world's other process: moto's server (as ``sluice up`` runs it) until stdin closes."""
    import logging

    from sluice.local.atomic import make_dynamodb_atomic
    from sluice.local.moto_server import MotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    make_dynamodb_atomic()
    server = MotoServer("127.0.0.1", 0)
    print(server.start(), flush=True)
    sys.stdin.read()
    server.stop()
    return 0


def put_raw(world: World, path: Path) -> Any:
    """The bench contract stored and ``path`` uploaded under ``raw/rides/``: the event's ObjectRef."""
    import boto3

    from chalicelib.core.events import ObjectRef
    from chalicelib.storage import datasets as store

    store.put_contract(contract_for(path))
    key = f"raw/rides/{path.name}"
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=world.endpoint)
    with open(path, "rb") as fh:
        out = s3.put_object(Bucket=world.bucket, Key=key, Body=fh)
    return ObjectRef(world.bucket, key, out.get("VersionId"), out["ETag"].strip('"'), path.stat().st_size)


def head_of(path: Path, rows: int = 1_000) -> Path:
    """The first ``rows`` rows of ``path`` as a file of the same format (a warm-up upload)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"warm-{os.getpid()}-{path.name}"
    if path.suffix == ".parquet":
        batch = next(pq.ParquetFile(path).iter_batches(batch_size=rows))
        pq.write_table(pa.Table.from_batches([batch]), out)
    else:
        with open(path, "rb") as src, open(out, "wb") as dst:
            for _, line in zip(range(rows + 1), src, strict=False):
                dst.write(line)
    return out


def end_to_end(path: Path, mode: str = "server") -> dict[str, Any]:
    """``process_object`` of ``path`` after a warm-up upload of its first 1,000 rows in the same process:
    what every invocation of a warm function pays."""
    return _end_to_end(path, mode, warm=True)


def first_call(path: Path) -> dict[str, Any]:
    """``process_object`` of ``path`` as the first call of a fresh process: what a cold function's first
    invocation pays on top (imports such as awswrangler's ~0.8 s, clients, connections)."""
    return _end_to_end(path, "server", warm=False)


def _end_to_end(path: Path, mode: str, warm: bool) -> dict[str, Any]:
    from chalicelib.storage import dataset_files

    with moto_world(mode) as world:
        if warm:
            from chalicelib.services.uploads import process_object

            small = head_of(path)
            try:
                assert process_object(put_raw(world, small)).version is not None
            finally:
                small.unlink()
        ref = put_raw(world, path)
        from chalicelib.services.uploads import process_object
        from chalicelib.storage import datasets as store

        gets: list[int] = []
        original = dataset_files.RawObject.fetch

        def counted(self: Any, start: int, end: int) -> bytes:
            data = original(self, start, end)
            gets.append(len(data))
            return data

        dataset_files.RawObject.fetch = counted  # type: ignore[method-assign]
        before = rss_mib()
        t, cpu = time.perf_counter(), time.process_time()
        outcome = process_object(ref)
        elapsed, cpu_s = time.perf_counter() - t, time.process_time() - cpu
        record = store.get_version("rides", outcome.version or 0)
        dataset_files.RawObject.fetch = original  # type: ignore[method-assign]
        return {"s": elapsed, "cpu_s": cpu_s, "rows": record.rows, "status": record.status,
                "curated_rows": record.to_dict().get("curated_rows"), "timings": record.timings,
                "gets": len(gets), "bytes_read": sum(gets), "size": path.stat().st_size,
                "peak_rss_mib": rss_mib(), "rss_after_upload_mib": before, "moto": mode}


def end_to_end_inprocess(path: Path) -> dict[str, Any]:
    return end_to_end(path, "inprocess")


WORKERS = {"engine": engine, "engine_outputs": engine_outputs, "e2e": end_to_end, "e2e_first": first_call,
           "e2e_inprocess": end_to_end_inprocess}


def run(kind: str, path: Path) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--worker", kind, "--file", str(path)], check=True,
                         capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("BENCH_DATA", "/tmp/bench-data"))
    ap.add_argument("--files", default=DEFAULT_FILES)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--inprocess", action="store_true",
                    help="also time end to end with moto in the validating process (the old figure)")
    ap.add_argument("--max-rows", type=int, help="the contract's row_count max (default 2,000,000: a 5M-row "
                    "file is then rejected and its curated stream stopped at 2M rows)")
    ap.add_argument("--json-out")
    ap.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    ap.add_argument("--serve-moto", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve_moto:
        return serve_moto()
    if args.max_rows:
        os.environ[ROW_COUNT_MAX] = str(args.max_rows)
    if args.worker:
        print(json.dumps(WORKERS[args.worker](Path(args.file)), default=str))
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console(width=200)
    console.print(f"upload → version benchmark — {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, "
                  f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    table = Table(title=f"engine vs end to end (moto server in its own process; best of {args.repeat})")
    columns = ["file", "rows", "MB", "engine (s)", "engine+outputs (s)", "end to end (s)", "e2e / engine",
               "e2e CPU (s)", "first call (s)", "GETs", "read once", "RSS engine (MiB)", "RSS e2e (MiB)"]
    if args.inprocess:
        columns[6:6] = ["e2e, moto in process (s)", "ratio"]
    for col in columns:
        table.add_column(col, justify="right")
    kinds = ["engine", "engine_outputs", "e2e", "e2e_first"] + (["e2e_inprocess"] if args.inprocess else [])
    results = {}
    for name in args.files.split(","):
        path = Path(args.data) / name
        if not path.exists():
            console.print(f"[yellow]{path} missing: run /work/shared/bench/make_data.py[/yellow]")
            continue
        rec = {kind: min((run(kind, path) for _ in range(args.repeat)), key=lambda r: r["s"])
               for kind in kinds}
        rec["load_after"] = os.getloadavg()[0]  # type: ignore[assignment]
        results[name] = rec
        e, o, x = rec["engine"], rec["engine_outputs"], rec["e2e"]
        row = [name, f"{e['rows']:,}", f"{path.stat().st_size / 1e6:.0f}", f"{e['s']:.2f}",
               f"{o['s']:.2f}", f"{x['s']:.2f}", f"{x['s'] / e['s']:.1f}x", f"{x['cpu_s']:.2f}",
               f"{rec['e2e_first']['s']:.2f}", str(x["gets"]),
               "yes" if x["bytes_read"] == x["size"] else f"{x['bytes_read'] / x['size']:.2f}x",
               f"{e['peak_rss_mib']:.0f}", f"{x['peak_rss_mib']:.0f}"]
        if args.inprocess:
            i = rec["e2e_inprocess"]
            row[6:6] = [f"{i['s']:.2f}", f"{i['s'] / e['s']:.1f}x"]
        table.add_row(*row)
    console.print(table)
    console.print(f"load average now {' '.join(f'{x:.1f}' for x in os.getloadavg())} (shared machine: wall "
                  "times include contention). RSS e2e: peak of the validating process (moto's server, "
                  "holding the objects, is another process).")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
