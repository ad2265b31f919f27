#!/usr/bin/env python3
"""Profile ``services.uploads.process_object`` on one bench file: where does upload → version spend its time?

The S3/DynamoDB stand-in is a moto server in a separate process (``--moto server``, the default: moto's
CPU is not counted here, as on AWS) or moto in this process (``--moto inprocess``: what the functional
tests do; its S3 CPU then shows in the profile). The object is uploaded first (not profiled), then
``process_object`` runs under cProfile (``--profiler cprofile``, default) or a sampling wall-clock
profile of every thread (``--profiler sample``: which threads wait on what).

Usage::

    .venv/bin/python bench/profile_upload.py /tmp/bench-data/corrupted_1m.csv --top 40
    .venv/bin/python bench/profile_upload.py /tmp/bench-data/corrupted_1m.parquet --moto inprocess
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import pstats
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from upload_e2e import moto_world, put_raw  # noqa: E402


class Sampler:
    """Wall-clock samples of every thread's stack (cProfile sees only the calling thread; the one pass
    reads, checks and uploads on others): per thread, the innermost frame in our code and the leaf."""

    def __init__(self, interval: float = 0.005, depth: int = 3) -> None:
        self.interval = interval
        self.depth = depth
        self.ours: collections.Counter[tuple[str, str]] = collections.Counter()
        self.leaf: collections.Counter[tuple[str, str]] = collections.Counter()
        self.samples: collections.Counter[str] = collections.Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        names = {}
        me = threading.get_ident()
        while not self._stop.wait(self.interval):
            names.update({t.ident: t.name.split("_")[0].rstrip("0123456789-") for t in threading.enumerate()})
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                thread = names.get(ident, "?")
                self.samples[thread] += 1
                leaf = f"{Path(frame.f_code.co_filename).name}:{frame.f_code.co_name}"
                chain: list[str] = []
                f: Any = frame
                while f is not None and len(chain) < self.depth:
                    if "/chalicelib/" in f.f_code.co_filename:
                        chain.append(f"{Path(f.f_code.co_filename).stem}.{f.f_code.co_name}:{f.f_lineno}")
                    f = f.f_back
                ours = " < ".join(chain) or leaf
                self.ours[(thread, ours)] += 1
                self.leaf[(thread, leaf)] += 1

    def print(self, top: int) -> None:
        for thread, n in self.samples.most_common():
            print(f"\n== thread {thread}: {n * self.interval:.2f} s sampled")
            rows = sorted(((c, k[1]) for k, c in self.ours.items() if k[0] == thread), reverse=True)[:top]
            for count, where in rows:
                print(f"  {count * self.interval:7.2f} s  {where}")
            leaves = sorted(((c, k[1]) for k, c in self.leaf.items() if k[0] == thread), reverse=True)[:8]
            print("  leaves: " + ", ".join(f"{w} {c * self.interval:.2f}" for c, w in leaves))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("--moto", choices=("server", "inprocess"), default="server")
    ap.add_argument("--top", type=int, default=35)
    ap.add_argument("--sort", default="cumulative")
    ap.add_argument("--out", help="write the pstats file here")
    ap.add_argument("--profiler", choices=("cprofile", "sample", "none"), default="cprofile",
                    help="none: for an outside profiler (py-spy record -- python bench/profile_upload.py)")
    args = ap.parse_args(argv)
    path = Path(args.file)
    with moto_world(args.moto) as world:
        ref = put_raw(world, path)
        from chalicelib.services.uploads import process_object

        t, cpu = time.perf_counter(), time.process_time()
        if args.profiler == "sample":
            with Sampler() as sampler:
                outcome = process_object(ref)
        elif args.profiler == "none":
            outcome = process_object(ref)
        else:
            profiler = cProfile.Profile()
            profiler.enable()
            outcome = process_object(ref)
            profiler.disable()
        print(f"process_object: {time.perf_counter() - t:.2f} s wall, {time.process_time() - cpu:.2f} s CPU; "
              f"outcome {outcome}")
    if args.profiler == "sample":
        sampler.print(args.top)
        return 0
    if args.profiler == "none":
        return 0
    stats = pstats.Stats(profiler)
    if args.out:
        stats.dump_stats(args.out)
    stats.sort_stats(args.sort).print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
