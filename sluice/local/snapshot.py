"""Save the local stack's AWS state to a folder and load it back (``sluice up`` across restarts).

moto keeps every bucket, object version, item, message, topic and Glue table in memory, in the
backends of this process (its server runs here). A snapshot is those backends, pickled whole, of the
services in :data:`SERVICES`: S3 object versions keep their version ids (lineage points at them),
DynamoDB items their counters (the next upload gets the next version number), SQS messages their
bodies. Messages a handler had received but not finished when the stack stopped are made visible
again on load, as Lambda delivers an event again after a crash.

The folder holds ``aws-state.bin`` (the backends, without S3 object bodies) and ``blobs/`` (each object
body once, named by its SHA-256, written when first saved): a save writes what changed since the last
one, not every object again, and hashes and writes new bodies after moto answers again
(:meth:`StateDir.dump` only copies them while it waits). ``aws-state.bin`` is written whole then renamed
over the last one, so a stack killed while saving leaves the previous snapshot. Everything is readable by
its owner alone (raw uploads hold PII). Unpickling runs code, so a snapshot is loaded only when its HMAC
matches the key in the user's sluice home (``$SLUICE_HOME`` or ``~/.sluice``, :func:`default_key_file`):
a ``.sluice/`` folder someone else made (checked into a repository, say) is refused, not run.
"""

from __future__ import annotations

import copyreg
import datetime as dt
import fcntl
import functools
import hashlib
import hmac
import io
import itertools
import json
import os
import pickle
import secrets
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

FORMAT = 3
MAGIC = b"sluice-local-state"
STATE_FILE = "aws-state.bin"
BLOBS = "blobs"
# the services the local stack uses (S3, DynamoDB, SQS, SNS, Glue, the EventBridge rule that routes
# bucket events), and two a user may reach through `sluice env` beside them (not SSM: its backend
# holds lambdas, which do not pickle)
SERVICES = ("s3", "dynamodb", "sqs", "sns", "glue", "events", "kms", "secretsmanager")


class SnapshotError(Exception):
    """A saved state that cannot be loaded, or a folder in use: the message says why and what to do."""


def default_key_file() -> Path:
    """The key that signs this user's snapshots: outside every state folder, in the sluice home."""
    return Path(os.environ.get("SLUICE_HOME") or Path.home() / ".sluice") / "state.key"


@dataclass(frozen=True)
class Saved:
    """What a state folder holds: moto's backends and the stack's own secrets."""

    services: dict[str, dict[str, dict[str, Any]]]  # service -> account -> region -> backend
    pii_key: str
    saved_at: str


@dataclass(frozen=True)
class Snapshot:
    """A snapshot made (:meth:`StateDir.dump`, while moto waits), not yet written (:meth:`StateDir.write`,
    while it answers again): bodies new since the last save are hashed and written then."""

    services: dict[str, bytes]  # service -> its pickled backends
    bodies: dict[str, Any]  # reference in the pickles -> SHA-256 of the body, or a _NewBody
    pii_key: str
    saved_at: str
    skipped: dict[str, str]  # service -> why it could not be saved (the others are)


class StateDir:
    """The folder of one local stack's saved state (``.sluice/`` in the current folder by default)."""

    def __init__(self, path: Path, key_file: Path | None = None) -> None:
        self.path = Path(path)
        self.file = self.path / STATE_FILE
        self.key_file = key_file or default_key_file()
        self._blobs = _Blobs(self.path / BLOBS)
        self._lock: IO[str] | None = None

    def exists(self) -> bool:
        return self.file.is_file()

    def acquire(self) -> None:
        """Hold the folder for this stack: a second stack on it would overwrite the first's saves."""
        self._make()
        handle = open(self.path / "lock", "w")  # noqa: SIM115 (held until release())
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise SnapshotError(f"another `sluice up` uses {self.path}: stop it, or give this one "
                                f"--state-dir") from None
        self._lock = handle
        for partial in (*self.path.glob(".*.partial"), *self.path.glob(f"{BLOBS}/.*.partial")):
            partial.unlink(missing_ok=True)  # a write a kill -9 cut short; the file it was for is whole

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def dump(self, services: dict[str, dict[str, dict[str, Any]]], pii_key: str) -> Snapshot:
        """Pickle ``services`` (while no request runs). Object bodies are copied, not hashed or written
        (that waits for :meth:`write`). Each service is pickled on its own: one that cannot be (a model
        moto changed) is left out, not all."""
        pickled: dict[str, bytes] = {}
        skipped: dict[str, str] = {}
        bodies: dict[str, Any] = {}
        for service, accounts in services.items():
            buffer = io.BytesIO()
            pickler = _Pickler(buffer, self._blobs)
            try:
                pickler.dump(accounts)
            except (pickle.PicklingError, TypeError, AttributeError) as error:
                skipped[service] = f"{type(error).__name__}: {error}"
                continue
            pickled[service] = buffer.getvalue()
            bodies |= pickler.bodies
        return Snapshot(pickled, bodies, pii_key, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                        skipped)

    def write(self, snapshot: Snapshot) -> None:
        """Make ``snapshot`` the saved state; the previous one stays until this one is whole."""
        self._make()
        named = {ref: self._blobs.save(body) for ref, body in snapshot.bodies.items()}
        body = pickle.dumps({"services": snapshot.services, "bodies": named, "pii_key": snapshot.pii_key,
                             "saved_at": snapshot.saved_at})
        header = json.dumps({"format": FORMAT, "moto": _moto_version(), "hmac": hmac.new(
            self._key(), body, hashlib.sha256).hexdigest()}).encode()
        _write_whole(self.file, MAGIC + b"\n" + header + b"\n" + body)
        self._blobs.keep_only(frozenset(named.values()))

    def load(self) -> Saved | None:
        """The saved state, or None when there is none; :class:`SnapshotError` when it cannot be used."""
        if not self.exists():
            return None
        with open(self.file, "rb") as handle:
            magic, header_line = handle.readline().rstrip(b"\n"), handle.readline()
            body = handle.read()
        if magic != MAGIC:
            raise SnapshotError(f"{self.file} is not a sluice state file")
        header = json.loads(header_line)
        if header.get("format") != FORMAT or header.get("moto") != _moto_version():
            raise SnapshotError(f"{self.file} was saved by moto {header.get('moto')} (format "
                                f"{header.get('format')}); this is moto {_moto_version()}: start with "
                                f"--fresh (or move {self.path} away) to begin an empty local state")
        if not self.key_file.is_file() or not hmac.compare_digest(
                header.get("hmac", ""), hmac.new(self._key(), body, hashlib.sha256).hexdigest()):
            raise SnapshotError(f"{self.file} was not saved by this user's sluice (its signature does not "
                                f"match {self.key_file}): it is not loaded, since loading runs code; "
                                f"start with --fresh or move {self.path} away")
        try:
            saved = pickle.loads(body)
            services = {service: _Unpickler(io.BytesIO(inner), self._blobs, saved["bodies"]).load()
                        for service, inner in saved["services"].items()}
        except SnapshotError:
            raise
        except Exception as error:  # signed by us, yet unreadable: a moto or Python it does not fit
            raise SnapshotError(f"{self.file} cannot be read ({type(error).__name__}: {error}): start with "
                                f"--fresh (or move {self.path} away) to begin an empty local state") from None
        return Saved(services=services, pii_key=saved["pii_key"], saved_at=saved["saved_at"])

    def _make(self) -> None:
        if not self.path.is_dir():
            self.path.mkdir(parents=True, mode=0o700)
            (self.path / ".gitignore").write_text("# sluice up's local AWS state: raw uploads, PII\n*\n")

    def _key(self) -> bytes:
        if not self.key_file.is_file():
            self.key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:
                with open(os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
                    out.write(secrets.token_hex(32))
            except FileExistsError:  # another stack made it first
                pass
        return self.key_file.read_text().strip().encode()


def capture() -> dict[str, dict[str, dict[str, Any]]]:
    """moto's backends of :data:`SERVICES` (call it while no request runs: :meth:`MotoServer.paused`)."""
    from moto.backends import get_backend

    out: dict[str, dict[str, dict[str, Any]]] = {}
    for service in SERVICES:
        backends: Any = get_backend(service)  # type: ignore[call-overload]
        accounts = {account: dict(regions) for account, regions in backends.items() if len(regions)}
        if accounts:
            out[service] = accounts
    return out


def install(services: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Put saved backends in moto's place (after a reset, before the server answers), and make the
    messages a stopped handler held visible again."""
    from moto.backends import get_backend

    for service, accounts in services.items():
        backends: Any = get_backend(service)  # type: ignore[call-overload]
        for account, regions in accounts.items():
            for region, backend in regions.items():
                dict.__setitem__(backends[account], region, backend)
    for regions in services.get("sqs", {}).values():
        for backend in regions.values():
            for queue in backend.queues.values():
                for message in queue._messages:
                    if message.approximate_receive_count and not message.visible:
                        message.change_visibility(0)


@dataclass(frozen=True)
class _NewBody:
    """A body not saved before, copied while moto waited; hashed and written after."""

    key: weakref.ref[Any]
    size: int
    value: bytes


class _Blobs:
    """S3 object bodies, one file per content (its SHA-256), each written once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._named: dict[int, tuple[weakref.ref[Any], int, str]] = {}  # id(key) -> (key, size, name)
        self._new = itertools.count()

    def reference(self, key: Any) -> tuple[str, str | _NewBody]:
        """How a pickle refers to ``key``'s body, and the body: its file's name when saved before (the
        same object, the same size), else a copy to :meth:`save`."""
        known = self._named.get(id(key))
        if known is not None and known[0]() is key and known[1] == key.contentsize:
            return known[2], known[2]
        try:
            value = key.value
        except ValueError:  # a key moto disposed of (its buffer closed), still referenced: as moto pickles it
            value = b""
        return f"new-{next(self._new)}", _NewBody(weakref.ref(key), key.contentsize, value)

    def save(self, body: str | _NewBody) -> str:
        """The name of the file holding ``body``, written if no file holds it yet."""
        if isinstance(body, str):
            return body
        name = hashlib.sha256(body.value).hexdigest()
        if not (self.folder / name).is_file():
            self.folder.mkdir(exist_ok=True, mode=0o700)
            _write_whole(self.folder / name, body.value)
        key = body.key()
        if key is not None:
            self._named[id(key)] = (body.key, body.size, name)
        return name

    def read(self, name: str) -> bytes:
        path = self.folder / name
        value = path.read_bytes() if path.is_file() else None
        if value is None or hashlib.sha256(value).hexdigest() != name:
            raise SnapshotError(f"{path} is missing or damaged: start with --fresh (or move "
                                f"{self.folder.parent} away) to begin an empty local state")
        return value

    def keep_only(self, names: frozenset[str]) -> None:
        if self.folder.is_dir():
            for path in self.folder.iterdir():
                if path.name not in names:
                    path.unlink(missing_ok=True)
        self._named = {k: v for k, v in self._named.items() if v[2] in names and v[0]() is not None}


def _made_anew(made: Any, _: Any) -> tuple[Any, tuple[()]]:
    return made, ()


class _BlobName(str):
    """A reference to a blob inside the pickle (a persistent id)."""


class _Pickler(pickle.Pickler):
    """moto's models, with: S3 object bodies as blobs; locks and conditions as new, free ones; KMS keys'
    private keys (cryptography objects, not picklable) as their PKCS#8 bytes."""

    dispatch_table = {**copyreg.dispatch_table, **{
        kind: functools.partial(_made_anew, made) for kind, made in (
            (type(threading.Lock()), threading.Lock), (type(threading.RLock()), threading.RLock),
            (threading.Condition, threading.Condition), (threading.Event, threading.Event),
            (threading.Semaphore, threading.Semaphore))}}

    def __init__(self, file: IO[bytes], blobs: _Blobs) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.blobs = blobs
        self.bodies: dict[str, str | _NewBody] = {}

    def persistent_id(self, obj: Any) -> Any:
        return ("blob", str(obj)) if type(obj) is _BlobName else None

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, _versioned_store_type()):  # a dict whose items() shows the latest version alone
            return _versioned_store, (type(obj), list(dict.items(obj)))
        if isinstance(obj, _fake_key_type()):
            reference, self.bodies[reference] = self.blobs.reference(obj)
            state = {k: v for k, v in obj.__dict__.items() if k not in ("_value_buffer", "lock")}
            return _object_with_body, (type(obj), state, _BlobName(reference))
        if isinstance(obj, _private_key_types()):
            from cryptography.hazmat.primitives import serialization

            return _private_key, (obj.private_bytes(serialization.Encoding.DER,
                                                    serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()),)
        return NotImplemented


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: IO[bytes], blobs: _Blobs, bodies: dict[str, str]) -> None:
        super().__init__(file)
        self.blobs = blobs
        self.bodies = bodies  # reference in the pickle -> the file of the body

    def persistent_load(self, pid: Any) -> Any:
        kind, reference = pid
        if kind != "blob":
            raise pickle.UnpicklingError(f"unknown persistent id {kind!r}")
        return self.blobs.read(self.bodies[reference])


def _object_with_body(kind: type, state: dict[str, Any], value: bytes) -> Any:
    key = kind.__new__(kind)
    key.__setstate__({**state, "value": value})  # moto's FakeKey: a new buffer, a new lock
    return key


def _versioned_store(kind: type, versions: list[tuple[str, list[Any]]]) -> Any:
    store = kind()
    for key, listed in versions:
        dict.__setitem__(store, key, listed)
    return store


@functools.cache
def _versioned_store_type() -> type:
    from moto.s3.utils import _VersionedKeyStore

    return _VersionedKeyStore


@functools.cache
def _fake_key_type() -> type:
    from moto.s3.models import FakeKey

    return FakeKey


@functools.cache
def _private_key_types() -> tuple[type, ...]:
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa, x448, x25519

    return (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey,
            ed448.Ed448PrivateKey, x25519.X25519PrivateKey, x448.X448PrivateKey)


def _private_key(der: bytes) -> Any:
    from cryptography.hazmat.primitives import serialization

    return serialization.load_der_private_key(der, password=None)


def _write_whole(path: Path, data: bytes) -> None:
    """Write ``data`` beside ``path`` and rename it over: readers see the old file or the new, whole.
    No fsync: a save guards against the process ending (kill -9, a crash), which the page cache
    survives; an fsync of a few hundred MB would take seconds out of every stop."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
    with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
        handle.write(data)
    os.replace(partial, path)


def _moto_version() -> str:
    import moto

    return str(moto.__version__)
