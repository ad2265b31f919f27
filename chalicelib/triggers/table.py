"""Which Lambda function handles which trigger: the one table app.py, infra/ and the local stack share.

``OBJECT_TRIGGERS`` routes object-created events by key pattern (EventBridge wildcard syntax) to a
function; ``SCHEDULES`` names the scheduled functions and their default rate.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass


@dataclass(frozen=True)
class ObjectTrigger:
    function: str  # the @app.lambda_function name
    pattern: str  # EventBridge "wildcard" pattern on the object key

    def matches(self, key: str) -> bool:
        return fnmatch.fnmatchcase(key, self.pattern)


@dataclass(frozen=True)
class Schedule:
    function: str
    expression: str  # EventBridge rate()/cron() expression


OBJECT_TRIGGERS: tuple[ObjectTrigger, ...] = (
    ObjectTrigger("on_raw_object", "raw/*"),
    ObjectTrigger("on_label_object", "labels/*"),
    # Only inputs: batch outputs are written under batch/{model}/output/ and must not loop.
    ObjectTrigger("on_batch_object", "batch/*/input/*"),
)

SCHEDULES: tuple[Schedule, ...] = (
    Schedule("monitor", "rate(1 hour)"),
    Schedule("reconcile", "rate(15 minutes)"),
)

# Functions invoked asynchronously by other functions (Lambda async invoke on AWS):
# ``train`` runs one training run; ``on_dataset_version`` reacts to a newly passed dataset version
# (retraining on new data, drift checks against the new reference).
ASYNC_FUNCTIONS: tuple[str, ...] = ("train", "on_dataset_version")


def schedule_expression(function: str) -> str:
    """The rate/cron expression of a scheduled function (app.py's ``@app.schedule`` reads it here)."""
    return next(s.expression for s in SCHEDULES if s.function == function)


def functions_for_key(key: str) -> list[str]:
    """The functions an object-created event for ``key`` is delivered to."""
    return [t.function for t in OBJECT_TRIGGERS if t.matches(key)]
