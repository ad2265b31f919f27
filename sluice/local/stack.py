"""``sluice up``: moto server + the template's resources + the Chalice API + event pump + clock.

With a state folder (``state_dir``) the AWS state survives a restart: it is loaded before the server
answers, saved every ``snapshot_interval`` seconds when something changed, and saved at stop
(:mod:`sluice.local.snapshot`). Stopping takes at most ``stop_grace`` seconds for running handlers
plus the final save; a handler still running then is left (its event is delivered again on the next
start from the saved state).
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import sys
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from chalicelib import storage as aws
from chalicelib.triggers.table import ASYNC_FUNCTIONS, OBJECT_TRIGGERS, SCHEDULES
from sluice.local.atomic import make_dynamodb_atomic
from sluice.local.moto_server import MotoServer
from sluice.local.pump import TRAINING_JOB_FUNCTION, Clock, Delivery, Pump
from sluice.local.resources import LocalNames, create_resources
from sluice.local.snapshot import StateDir, capture, install

REGION = "us-east-1"
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                     "AWS_SESSION_TOKEN": "testing"}


@dataclass(frozen=True)
class StackInfo:
    """Where the running stack answers; what ``sluice env`` exports."""

    api_url: str
    aws_endpoint: str
    region: str
    bucket: str
    table: str
    topic_arn: str
    glue_database: str
    events_queue_url: str
    invoke_queue_url: str
    pii_key: str
    state_dir: str = ""  # where the AWS state is saved ("" = not saved)
    restored_from: str = ""  # when the state it started from was saved ("" = started empty)

    def environment(self) -> dict[str, str]:
        """Variables for boto3, the AWS CLI and the sluice CLI to reach this stack."""
        return {
            "AWS_ENDPOINT_URL": self.aws_endpoint, "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region, **DUMMY_CREDENTIALS,
            "SLUICE_API": self.api_url, "SLUICE_BUCKET": self.bucket,
        }

    def handler_environment(self) -> dict[str, str]:
        """Variables the Lambda handlers see, as the deployed functions would."""
        return {
            **self.environment(), "SLUICE_STAGE": "local", "SLUICE_TABLE": self.table,
            "SLUICE_TOPIC_ARN": self.topic_arn, "SLUICE_GLUE_DATABASE": self.glue_database,
            "SLUICE_INVOKE_MODE": "queue", "SLUICE_INVOKE_QUEUE_URL": self.invoke_queue_url,
            "SLUICE_PII_KEY": self.pii_key,
            # alias moves show up within 2 s locally (30 s by default on AWS)
            "SLUICE_ALIAS_TTL_SECONDS": "2",
            # compute: sagemaker runs the job's program in a subprocess (chalicelib/storage/
            # local_training_jobs.py); its jobs are named after the stack (the bucket's name locally)
            "SLUICE_TRAINING_JOB_RUNNER": "subprocess",
            "SLUICE_TRAINING_ROLE_ARN": f"arn:aws:iam::123456789012:role/{self.bucket}-training-job",
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2))
        path.chmod(0o600)  # holds the local PII key

    @classmethod
    def load(cls, path: Path) -> StackInfo:
        return cls(**json.loads(path.read_text()))


def find_app(project_dir: str | Path | None = None) -> Path:
    """The Chalice app to run: ``project_dir/app.py`` when given, else the one installed with sluice.

    app.py is a top-level module of the distribution (pyproject's ``py-modules``), installed beside
    ``chalicelib``; an editable install maps both to the checkout. Either way it is found from
    ``chalicelib``'s location, never from the current folder (whose own ``app.py`` may be another app).
    """
    if project_dir is not None:
        path = Path(project_dir).resolve() / "app.py"
    else:
        import chalicelib

        path = Path(chalicelib.__file__).resolve().parents[1] / "app.py"
    if not path.is_file():
        raise FileNotFoundError(f"no sluice app at {path}: reinstall sluice (pip install -e .), or pass "
                                f"--project-dir with a sluice checkout")
    return path


def import_app(path: Path) -> Any:
    """The module ``app`` from ``path`` (the one already imported if it is that file)."""
    loaded = sys.modules.get("app")
    if loaded is not None and Path(getattr(loaded, "__file__", "") or "").resolve() == path:
        return loaded
    spec = importlib.util.spec_from_file_location("app", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["app"] = module  # as `import app` would: handlers and tests find the same module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules["app"]
        raise
    return module


class LocalStack:
    """The whole system in one process. Use as a context manager, or ``start()``/``stop()``."""

    def __init__(self, project_dir: str | Path | None = None, *, host: str = "127.0.0.1",
                 api_port: int = 8000, aws_port: int = 5000, schedule_interval: float = 3600.0,
                 on_delivery: Callable[[Delivery], None] | None = None,
                 names: LocalNames | None = None, state_dir: str | Path | None = None,
                 snapshot_interval: float = 5.0, fresh: bool = False, stop_grace: float = 1.5,
                 key_file: Path | None = None) -> None:
        self.app_file = find_app(project_dir)
        self.host = host
        self.api_port = api_port
        self.aws_port = aws_port
        self.schedule_interval = schedule_interval
        self.on_delivery = on_delivery
        self.names = names or LocalNames()
        self.info: StackInfo | None = None
        self.pump: Pump | None = None
        self.clock: Clock | None = None
        self.state = StateDir(Path(state_dir).resolve(), key_file) if state_dir is not None else None
        self.snapshot_interval = snapshot_interval
        self.fresh = fresh
        self.stop_grace = stop_grace
        self._moto: MotoServer | None = None
        self._api: Any = None
        self._api_thread: threading.Thread | None = None
        self._saved_env: dict[str, str | None] = {}
        self._saver: threading.Thread | None = None
        self.left_running = False  # a handler was still running when stop() gave up waiting
        self._stopping = threading.Event()
        self._saving = threading.Lock()
        self._skipped: set[str] = set()

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> StackInfo:
        import logging

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per moto request
        # chalice local cannot check IAM authorization; say so once in the docs, not per request
        warnings.filterwarnings("ignore", message="IAMAuthorizer is not a supported in local mode")

        if self.state is not None:
            self.state.acquire()  # fails early: another stack saves into this folder
        make_dynamodb_atomic()
        self._moto = MotoServer(self.host, self.aws_port)
        endpoint = self._moto.start()
        # moto keeps its state per process: start every stack from an empty world, then the saved one
        # (loaded after the reset: moto's reset closes the body of every S3 object made before it)
        import requests

        requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
        try:
            saved = self.state.load() if self.state is not None and not self.fresh else None
        except BaseException:
            self.stop()
            raise
        if saved is not None:
            install(saved.services)
        self._set_env({**DUMMY_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint, "AWS_REGION": REGION,
                       "AWS_DEFAULT_REGION": REGION})
        import boto3

        session = boto3.session.Session(region_name=REGION)
        resources = create_resources(session, endpoint, self.names)  # what the saved state lacks
        app_module = self._import_app()
        self._api = self._start_api(app_module.app)
        self.info = StackInfo(
            api_url=f"http://{self.host}:{self._api.server.server_address[1]}",
            aws_endpoint=endpoint, region=REGION, bucket=resources.bucket, table=resources.table,
            topic_arn=resources.topic_arn, glue_database=resources.glue_database,
            events_queue_url=resources.events_queue_url,
            invoke_queue_url=resources.invoke_queue_url,
            # the saved key: pseudonyms of PII stay joinable with what was hashed before the restart
            pii_key=saved.pii_key if saved is not None else secrets.token_hex(32),
            state_dir=str(self.state.path) if self.state is not None else "",
            restored_from=saved.saved_at if saved is not None else "",
        )
        self._set_env(self.info.handler_environment())
        aws.reset()
        handlers = app_module.app.handler_map
        wanted = {t.function for t in OBJECT_TRIGGERS} | set(ASYNC_FUNCTIONS) | {TRAINING_JOB_FUNCTION}
        self.pump = Pump(session.client("sqs", endpoint_url=endpoint),
                         {name: handlers[name] for name in wanted if name in handlers},
                         events_queue_url=resources.events_queue_url,
                         invoke_queue_url=resources.invoke_queue_url,
                         on_delivery=self.on_delivery)
        self.pump.start()
        self.clock = Clock({s.function: handlers[s.function] for s in SCHEDULES if s.function in handlers},
                           self.schedule_interval, region=REGION, on_delivery=self.on_delivery)
        self.clock.start()
        if self.state is not None:
            self.save()  # the state folder holds this stack (and its PII key) from the start
            if self.snapshot_interval > 0:
                self._saver = threading.Thread(target=self._save_periodically, daemon=True,
                                               name="sluice-snapshots")
                self._saver.start()
        return self.info

    def save(self, timeout: float = 2.0, if_changed: bool = False) -> bool:
        """Snapshot the AWS state into the state folder now; False when there is no folder (or, with
        ``if_changed``, nothing that could change it was asked of moto since the last save)."""
        with self._saving:
            moto, state, info = self._moto, self.state, self.info
            if state is None or moto is None or info is None or (if_changed and not moto.changed):
                return False
            with moto.paused(timeout):  # no request half done while the backends are copied
                for attempt in range(3):
                    try:
                        snapshot = state.dump(capture(), info.pii_key)
                        break
                    except RuntimeError:  # a request left running at stop changed a dict under the copy
                        if attempt == 2:
                            raise
                        time.sleep(0.05)
                moto.mark_saved()
            state.write(snapshot)
        for service, why in snapshot.skipped.items():
            if service not in self._skipped:  # say it once, not at every save
                self._skipped.add(service)
                print(f"sluice: the local state of {service} cannot be saved and is left out ({why})",
                      file=sys.stderr)
        return True

    def _save_periodically(self) -> None:
        while not self._stopping.wait(self.snapshot_interval):
            if self._moto is not None:
                try:
                    self.save(if_changed=True)
                except Exception as error:  # a failed save must not stop the stack: say it, try again
                    print(f"sluice: saving the local state failed: {error!r}", file=sys.stderr)

    def stop(self) -> None:
        """Stop within ``stop_grace`` seconds plus the final save (handlers still running are left)."""
        deadline = time.monotonic() + self.stop_grace
        self._stopping.set()
        if self._api is not None:  # no new requests: the API first, then the handlers' own work
            self._api.shutdown()
            self._api.server.server_close()
        for part in (self.clock, self.pump):
            if part is not None and not part.stop(grace=max(0.0, deadline - time.monotonic())):
                self.left_running = True
        from chalicelib.storage import local_training_jobs

        local_training_jobs.stop_all()  # compute: sagemaker runs in subprocesses: none outlives the stack
        if self._api_thread is not None:
            self._api_thread.join(timeout=1)
        if self._moto is not None:
            self._moto.stop()
            try:  # after a periodic save in progress, if anything changed since (its lock orders them)
                self.save(timeout=0.5, if_changed=True)
            finally:
                self._moto = None
        if self.state is not None:
            self.state.release()
        self._restore_env()
        aws.reset()

    def _import_app(self) -> Any:
        return import_app(self.app_file)

    def _start_api(self, chalice_app: Any) -> Any:
        from chalice.config import Config
        from chalice.local import (
            ChaliceRequestHandler,
            CustomLocalChalice,
            LocalChalice,
            LocalDevServer,
            ThreadedHTTPServer,
        )

        class Server(ThreadedHTTPServer):
            request_queue_size = 128  # socketserver's 5 resets bursts of parallel clients
            daemon_threads = True

        class QuietHandler(ChaliceRequestHandler):
            # answer at once on a kept-alive connection: with Nagle's algorithm each response waited
            # for the client's delayed ACK (~40 ms a request, measured)
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # the handlers log what matters
                pass

            def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
                if code != 501:
                    super().send_error(code, message, explain)
                    return
                # an HTTP method no route has (TRACE, QUERY, ...): API Gateway refuses it with a 4xx
                body = b'{"error": {"code": "method_not_allowed", "message": "method not allowed"}}'
                self.send_response(405)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        # the local stage reads nothing from .chalice/ (the stack sets the handlers' environment itself)
        config = Config.create(chalice_stage="local", app_name=chalice_app.app_name,
                               project_dir=str(self.app_file.parent))
        if not isinstance(chalice_app, LocalChalice):  # as chalice.local does: per-thread requests
            CustomLocalChalice.__bases__ = (LocalChalice, chalice_app.__class__)
            chalice_app.__class__ = CustomLocalChalice
        server = LocalDevServer(chalice_app, config, self.host, self.api_port,
                                handler_cls=QuietHandler, server_cls=Server)
        self._api_thread = threading.Thread(target=server.server.serve_forever, kwargs={
            "poll_interval": 0.1}, daemon=True, name="sluice-api")
        self._api_thread.start()
        return server

    def _set_env(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def _restore_env(self) -> None:
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()
