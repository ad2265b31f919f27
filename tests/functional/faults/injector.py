"""Fault injection at chosen storage calls, without mock.patch: a spec'd stand-in for a storage module
or object that passes every call through to the real one, except the call a :class:`FaultPlan` names.

- ``fail``: that call raises a transient AWS error (``InternalServerError``, as botocore raises it);
  the handler's own error handling runs, later calls go through.
- ``hook``: ``hook()`` runs just before that call, which then goes through (another actor's move at
  that moment: a cancel, a takeover);
- ``kill``: the process dies at that call: :class:`Killed` (a ``BaseException``, so no
  ``except Exception`` catches it) is raised there and at every later call through any stand-in of
  the same plan — ``finally`` blocks of a dead process write nothing either.

The stand-in has the target's spec: an attribute the real module or object lacks is an
``AttributeError``, as with ``create_autospec``. Install stand-ins with ``monkeypatch.setattr`` on the
module that holds the reference (``chalicelib.services.training.runs``...).

:func:`aws_writes` consults a plan one level lower, before every AWS *write* any client makes (a botocore
hook on every session created meanwhile, awswrangler's included), named by :func:`write_label`
(``s3.PutObject curated``, ``dynamodb.UpdateItem OBJECT# status=:done``...): a plan with no faults
records the writes a handler makes, in order (``FaultPlan.log``), so a test can fault each in turn.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError


class Killed(BaseException):
    """The process died here (out of memory, timeout, kill -9): nothing after it runs."""


@dataclass(frozen=True)
class Fault:
    call: str  # "runs.finish_run", "registry.register_model_version", "s3.put_bytes"...
    kind: str = "kill"  # "kill" | "fail" | "hook"
    nth: int = 1  # the nth call of ``call`` fails (1 = the first)
    hook: Callable[[], None] | None = None

    def __str__(self) -> str:
        return f"{self.kind} at {self.call}" + (f" (call {self.nth})" if self.nth != 1 else "")


def transient_error(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "InternalServerError", "Message": "injected fault"}}, operation)


@dataclass
class FaultPlan:
    """The faults of one invocation, and what happened: ``fired`` lists each fault that went off."""

    faults: tuple[Fault, ...]
    calls: dict[str, int] = field(default_factory=dict)
    fired: list[Fault] = field(default_factory=list)
    log: list[tuple[str, int]] = field(default_factory=list)  # every call consulted: (call, its count)
    dead: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def before(self, call: str) -> None:
        with self._lock:
            if self.dead:
                raise Killed(f"{call}: the process is dead")
            self.calls[call] = count = self.calls.get(call, 0) + 1
            self.log.append((call, count))
            fault = next((f for f in self.faults if f.call == call and f.nth == count), None)
            if fault is None:
                return
            self.fired.append(fault)
            if fault.kind == "kill":
                self.dead = True
                raise Killed(f"killed at {call}")
        if fault.kind == "hook" and fault.hook is not None:
            fault.hook()
            return
        raise transient_error(call)


class Faulty:
    """``target`` (a module or object) with ``plan`` consulted before each call of its callables."""

    def __init__(self, name: str, target: Any, plan: FaultPlan) -> None:
        self._name = name
        self._target = target
        self._plan = plan

    def __getattr__(self, attribute: str) -> Any:
        real = getattr(self._target, attribute)  # the spec: only what the target has
        if not callable(real) or isinstance(real, type):
            return real

        def call(*args: Any, **kwargs: Any) -> Any:
            self._plan.before(f"{self._name}.{attribute}")
            return real(*args, **kwargs)

        return call


def install(monkeypatch: Any, plan: FaultPlan, wraps: dict[str, tuple[Any, str]]) -> None:
    """``wraps``: stand-in name → (module holding the reference, attribute). Each reference is
    replaced by a :class:`Faulty` of what it held (a module, or what a factory function returns)."""
    for name, (holder, attribute) in wraps.items():
        real = getattr(holder, attribute)
        if callable(real) and not hasattr(real, "__file__") and attribute.startswith("get_"):
            factory: Callable[..., Any] = real
            monkeypatch.setattr(holder, attribute,
                                lambda *a, _f=factory, _n=name, **k: Faulty(_n, _f(*a, **k), plan))
        else:
            monkeypatch.setattr(holder, attribute, Faulty(name, real, plan))


# AWS operations that change something (S3, DynamoDB, Glue, SNS, SQS, Lambda), faulted by aws_writes
WRITES = frozenset({
    "PutObject", "CopyObject", "DeleteObject", "DeleteObjects", "CreateMultipartUpload", "UploadPart",
    "CompleteMultipartUpload", "PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem",
    "CreateTable", "UpdateTable", "DeleteTable", "CreatePartition", "BatchCreatePartition", "UpdatePartition",
    "BatchUpdatePartition", "Publish", "SendMessage", "Invoke",
})


def write_label(service: str, operation: str, params: dict[str, Any]) -> str:
    """A write at the granularity of the layout: the S3 area of its key, the DynamoDB item kind (and
    the first attribute an update sets), else the service and operation."""
    label = f"{service}.{operation}"
    if service == "s3":
        keys = [params.get("Key")] + [o.get("Key") for o in (params.get("Delete") or {}).get("Objects", [])]
        key = next((k for k in keys if k), "")
        parts = str(key).split("/")
        return f"{label} {'/'.join(parts[:2]) if parts[0] == 'reports' else parts[0]}"
    if service == "dynamodb" and operation != "TransactWriteItems":
        sk: Any = (params.get("Key") or params.get("Item") or {}).get("sk", "")
        sk = str(sk.get("S", "") if isinstance(sk, dict) else sk)  # a low-level client's typed value
        kind = sk.split("#")[0] + ("#" if "#" in sk else "")
        first = str(params.get("UpdateExpression", "")).removeprefix("SET ").split(",")[0].split(" ADD ")[0]
        for name, value in (params.get("ExpressionAttributeNames") or {}).items():
            first = first.replace(name, value)
        return " ".join(f"{label} {kind} {first}".split())
    return label


@contextmanager
def aws_writes(plan: FaultPlan) -> Iterator[FaultPlan]:
    """``plan`` consulted before every AWS write made meanwhile (by chalicelib's clients, which are
    created anew, and by any session created meanwhile): ``kill`` and ``fail`` as for the stand-ins."""
    from botocore.handlers import BUILTIN_HANDLERS

    from chalicelib import storage

    def before(model: Any, params: dict[str, Any], **_: Any) -> None:
        if model.name in WRITES:  # the call's own parameters, before they are built into a request
            plan.before(write_label(model.service_model.service_name, model.name, params))

    hook = ("provide-client-params.*.*", before)
    BUILTIN_HANDLERS.append(hook)
    storage.reset()
    try:
        yield plan
    finally:
        BUILTIN_HANDLERS.remove(hook)
        storage.reset()
