"""A training run's lease on its model: how long it lasts, how it is kept alive, when it is lost.

One run per model holds the model's run lock (``RUNLOCK``, :mod:`chalicelib.storage.runs`). Its lease
must end soon after the function holding it dies, yet never while it lives:

- a **queued** run holds the lock for :data:`QUEUED_LEASE_SECONDS` — the ``train`` function normally
  starts within seconds of the asynchronous invoke; one that starts later finds its lease gone and
  does nothing (its late start cannot collide with a newer run);
- a **running** run holds it for :data:`LEASE_SECONDS` and renews it every :data:`HEARTBEAT_SECONDS`
  from a background thread (:class:`Heartbeat`) and at each checkpoint. A function that crashes (out
  of memory), is killed or times out stops renewing: its model is free again within
  :data:`LEASE_SECONDS`, not 30 minutes;
- the lock holder's run id is the **fencing token**: every write of a run after it started (each
  checkpoint, registration's go-ahead, the outcome) is conditional on the lock still naming that run
  with a live lease, so a run that lost its lease cannot write over the run that took the model over.

The ``train`` function runs at most :data:`FUNCTION_TIMEOUT_SECONDS` (its deployed timeout: a test keeps
the two equal) and is not retried (``retries: 0`` in infra/functions.yaml).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

FUNCTION_TIMEOUT_SECONDS = 900
HEARTBEAT_SECONDS = 60
LEASE_SECONDS = 3 * HEARTBEAT_SECONDS  # two missed heartbeats are tolerated
QUEUED_LEASE_SECONDS = 300

# Phases a running run passes through; the last one is its point of no return: from ``registering``
# on, its version may be in the registry, so it can no longer be cancelled (only finished or resolved
# from the registry).
PHASE_LOADING = "loading"
PHASE_FITTING = "fitting"
PHASE_WRITING = "writing_artifacts"
PHASE_REGISTERING = "registering"
IN_FLIGHT = ("queued", "running")
TERMINAL = ("succeeded", "failed", "cancelled")


def lease_live(lock: Mapping[str, Any] | None, run_id: str, now: float) -> bool:
    """Whether the model's lock names ``run_id`` with a lease that has not run out at ``now``."""
    return lock is not None and lock.get("run_id") == run_id and float(lock.get("lock_until", 0)) >= now


@dataclass(frozen=True)
class LostRunOutcome:
    """What a run that lost its lease is recorded as: its version if the registry has it, else failed."""

    status: str  # "succeeded" | "failed"
    fields: dict[str, Any]


def lost_run_outcome(run: Mapping[str, Any], registered: Mapping[str, Any] | None,
                     production: int | None, reason: str) -> LostRunOutcome:
    """The outcome of ``run`` whose function ended without recording one.

    ``registered`` is the registry's record of the version the run reserved (``run["version"]``) when
    the registry holds it and names this run; then the run succeeded — its function ended after
    registration, before the outcome was written — and the record says so. Otherwise the run failed
    with ``run_lost`` and ``reason``.
    """
    if registered is None or registered.get("run_id") != run.get("run_id"):
        return LostRunOutcome("failed", {"error": {"code": "run_lost", "message": reason}})
    version = int(registered["version"])
    decision = registered.get("decision") or None
    status = str(registered.get("status", "candidate"))
    promotion: dict[str, Any] = {"promoted": production == version, "status": status}
    note = ("its function ended after registering version "
            f"{version} and before recording the outcome; recovered from the registry")
    if decision is None:
        note += ("; the promotion gate did not run, so the version stays a candidate: promote or "
                 "reject it by hand")
    fields: dict[str, Any] = {"version": version, "metrics": dict(registered.get("metrics") or {}),
                              "artifact_sha256": registered.get("artifact_sha256"), "promotion": promotion,
                              "recovered": {"reason": note}}
    if decision is not None:
        fields["decision"] = decision
    return LostRunOutcome("succeeded", fields)


class Heartbeat:
    """Renew a lease from a daemon thread every ``every`` seconds while the run works.

    ``renew()`` returns False when the lease is gone (the run was cancelled or taken over); the
    heartbeat then stops and :attr:`lost` is set, which the run's next checkpoint also finds out from
    the table. An exception from ``renew`` (the table unreachable) counts as one missed beat: the lease
    allows two.
    """

    def __init__(self, renew: Callable[[], bool], every: float = HEARTBEAT_SECONDS) -> None:
        self._renew = renew
        self._every = every
        self._stop = threading.Event()
        self.lost = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="sluice-run-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self._every + 5)

    def _beat(self) -> None:
        missed = 0
        while not self._stop.wait(self._every):
            try:
                alive = self._renew()
            except BaseException:  # a dead process or an unreachable table: the lease decides
                missed += 1
                if missed >= 2:
                    self.lost.set()
                    return
                continue
            missed = 0
            if not alive:
                self.lost.set()
                return
