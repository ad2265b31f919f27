"""moto's server in this process, behind a gate, so that a snapshot never sees a request half done.

Like moto's ``ThreadedMotoServer`` (the same WSGI app and request handler), plus:

- a gate: requests pass side by side; :meth:`MotoServer.paused` waits for those in flight, holds new
  ones back while the state is copied, then lets them go (a snapshot taken there is consistent). An
  SQS long poll in flight is not waited for: it sleeps inside moto for up to a second (the event
  pump's polls are always there) and changes a message only when one becomes visible, which the
  copy survives (a received message is made visible again on load; a copy that meets a change is
  made again);
- :attr:`MotoServer.changed`: whether a request that may have written arrived since the last
  :meth:`MotoServer.mark_saved` (the long polls of the event pump do not count), so an idle stack
  is not saved again and again;
- a stop that takes a tenth of a second (moto's server polls its shutdown flag every half second);
- ranged GETs that read their range alone (:mod:`sluice.local.ranged_reads`), as S3 does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

POLL_SECONDS = 0.1
# requests that change nothing worth saving (the pump's long polls arrive every second)
LONG_POLL = "AmazonSQS.ReceiveMessage"
READS = frozenset({
    LONG_POLL, "AmazonSQS.GetQueueAttributes", "AmazonSQS.GetQueueUrl",
    "AmazonSQS.ListQueues", "DynamoDB_20120810.GetItem", "DynamoDB_20120810.BatchGetItem",
    "DynamoDB_20120810.Query", "DynamoDB_20120810.Scan", "DynamoDB_20120810.DescribeTable",
})


class Gate:
    """Many requests at once, or one pause alone (new requests wait while a pause waits or runs)."""

    def __init__(self) -> None:
        self._state = threading.Condition()
        self._active = 0
        self._paused = False
        self.changed = False

    @contextmanager
    def request(self, writes: bool, long_poll: bool = False) -> Iterator[None]:
        counted = 0 if long_poll else 1
        with self._state:
            self._state.wait_for(lambda: not self._paused)
            self._active += counted
            self.changed |= writes
        try:
            yield
        finally:
            with self._state:
                self._active -= counted
                self._state.notify_all()

    @contextmanager
    def paused(self, timeout: float) -> Iterator[bool]:
        """Hold new requests back; yields whether every request in flight finished within ``timeout``."""
        with self._state:
            self._paused = True
            try:
                quiet = self._state.wait_for(lambda: self._active == 0, timeout=timeout)
            except BaseException:
                self._paused = False
                self._state.notify_all()
                raise
        try:
            yield quiet
        finally:
            with self._state:
                self._paused = False
                self._state.notify_all()


def gated(app: Callable[..., Iterable[bytes]], gate: Gate) -> Callable[..., list[bytes]]:
    """The WSGI ``app`` with every request passing ``gate`` (its body read inside it)."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET")
        writes = environ.get("REQUEST_METHOD") not in ("GET", "HEAD") and target not in READS
        with gate.request(writes, long_poll=target == LONG_POLL):
            result = app(environ, start_response)
            try:
                return list(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()

    return wsgi


class MotoServer:
    """``start()`` → endpoint URL; ``paused()`` for a consistent copy; ``stop()``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5000) -> None:
        self.host = host
        self.port = port
        self.gate = Gate()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        from sluice.local.ranged_reads import served

        app = gated(served(DomainDispatcherApplication(create_backend_app)), self.gate)
        self._server = make_server(self.host, self.port, app, threaded=True,
                                   request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={
            "poll_interval": POLL_SECONDS}, daemon=True, name="sluice-moto")
        self._thread.start()
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def changed(self) -> bool:
        return self.gate.changed

    def mark_saved(self) -> None:
        """Called under :meth:`paused` once the state is copied."""
        self.gate.changed = False

    def paused(self, timeout: float = 2.0) -> Any:
        return self.gate.paused(timeout)

    def stop(self, timeout: float = 2.0) -> None:
        """Stop accepting requests; those in flight finish on their own (daemon threads)."""
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout)
        self._server = None
