"""X-Ray traces of every invocation (aws-lambda-powertools ``Tracer``).

Lambda's active tracing (``xray: true`` in .chalice/config.json) records each invocation as a segment,
but nothing inside it. Here each invocation gets one subsegment named after its function
(``## sluice-prod-on_raw_object``; for the API, the route is an annotation), annotated with
``ColdStart`` and ``Service``, and every AWS call made under it appears as a child subsegment (the X-Ray
SDK patches botocore): a slow upload shows which S3 read or DynamoDB write it waited on, a failed one
carries its exception.

Deliberately not recorded: handler responses and request bodies (powertools' ``capture_response``), which
may hold dataset values, captured inputs or PII; only names, timings and exception types leave the function.

Only on Lambda: outside it (tests, the local stack, the CLI) powertools would disable the tracer anyway,
and this module then imports nothing of the X-Ray SDK, so no process but a Lambda pays for it.
``POWERTOOLS_TRACE_DISABLED=true`` turns it off on Lambda too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chalicelib.core.log import SERVICE

_state: dict[str, Any] = {"tracer": None, "cold": True}


def tracing_enabled() -> bool:
    """On Lambda (the runtime sets ``LAMBDA_TASK_ROOT``) unless switched off, as powertools decides."""
    switch = os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower()
    disabled = switch in ("1", "true", "yes", "on")
    return bool(os.environ.get("LAMBDA_TASK_ROOT")) and not disabled


class Trace:
    """What the handler tells the trace once it has answered (nothing off Lambda)."""

    def __init__(self, subsegment: Any = None) -> None:
        self._subsegment = subsegment

    def status(self, status_code: int | None) -> None:
        """An API answer's status: 5xx marks the subsegment a fault, 4xx an error (the error middleware
        turns exceptions into responses, so the exception itself never reaches the trace)."""
        if self._subsegment is None or status_code is None:
            return
        self._subsegment.put_http_meta("status", status_code)
        if status_code >= 500:
            self._subsegment.add_fault_flag()
        elif status_code >= 400:
            self._subsegment.add_error_flag()


@contextmanager
def invocation(event: Any = None) -> Iterator[Trace]:
    """Trace the code inside as this invocation's subsegment (a no-op off Lambda)."""
    if not tracing_enabled():
        yield Trace()
        return
    tracer = _tracer()
    name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "handler")
    # the X-Ray SDK's subsegment context records an exception raised inside it, then re-raises it
    with tracer.provider.in_subsegment(f"## {name}") as subsegment:
        subsegment.put_annotation(key="ColdStart", value=_state["cold"])
        subsegment.put_annotation(key="Service", value=SERVICE)
        _state["cold"] = False
        route = _route(event)
        if route:
            subsegment.put_annotation(key="Route", value=route)
        yield Trace(subsegment)


def prepare() -> None:
    """Create the tracer at the function's init (app.py), on Lambda only: the X-Ray SDK's import and
    botocore's patching are then part of init (and of the API function's SnapStart snapshot), not of
    the first request."""
    if tracing_enabled():
        _tracer()


def _tracer() -> Any:
    if _state["tracer"] is None:
        from aws_lambda_powertools import Tracer

        # botocore only: every AWS call (boto3 and awswrangler go through it); nothing else is patched
        _state["tracer"] = Tracer(service=SERVICE, patch_modules=("botocore",))
    return _state["tracer"]


def _route(event: Any) -> str | None:
    """``POST /models/{model}/predict`` for an API request (the route, never the path: no names or ids)."""
    context = getattr(event, "context", None)
    if isinstance(context, dict) and getattr(event, "method", None):
        path = context.get("resourcePath")
        return f"{event.method} {path}" if path else None
    return None
