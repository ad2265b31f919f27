"""S3 and Glue I/O of the dataset service: read raw versions, write curated, quarantine and reports.

Only this module (and :mod:`store`) talks to AWS. Every key written is derived from the dataset version
number, so a retried attempt overwrites its own partial output instead of adding to it. Nothing here
writes under ``raw/``.
"""

from __future__ import annotations

import collections
import hashlib
import io
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.core.datasets import names
from chalicelib.core.log import logger
from chalicelib.core.settings import Settings, get_settings
from chalicelib.storage import client, layout, s3, wrangler
from chalicelib.storage.clients import boto3_session
from chalicelib.storage.parquet import iter_s3_prefix, read_s3_prefix

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

    import pandas as pd
    from mypy_boto3_s3.type_defs import CopySourceTypeDef, ObjectIdentifierTypeDef

CHUNK = 8 * 1024 * 1024
PARTITION = layout.PARTITION
# Contract column types → Athena/Glue types (used where pandas cannot tell, e.g. an all-null column).
ATHENA_TYPES = {"int": "bigint", "float": "double", "bool": "boolean", "string": "string",
                "category": "string", "date": "date", "timestamp": "timestamp"}

_known_databases: set[str] = set()
_db_lock = threading.Lock()


def identify(bucket: str, key: str, version_id: str | None, settings: Settings | None = None
             ) -> s3.StoredObject:
    """Identity (version id, ETag, size) of the object version; NotFoundError if it is gone."""
    return s3.head(key, version_id=version_id, bucket=bucket, settings=settings)


def sha256_of(obj: s3.StoredObject, settings: Settings | None = None) -> str:
    return s3.sha256_of(obj.key, version_id=obj.version_id, bucket=obj.bucket, settings=settings)


def download(obj: s3.StoredObject, path: str, settings: Settings | None = None) -> str:
    """Stream exactly this object version (version id and ETag) to ``path``; returns its SHA-256."""
    kwargs: dict[str, Any] = {"Bucket": obj.bucket, "Key": obj.key, "IfMatch": f'"{obj.etag}"'}
    if obj.version_id:
        kwargs["VersionId"] = obj.version_id
    body = client("s3", settings).get_object(**kwargs)["Body"]
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        for chunk in iter(lambda: body.read(CHUNK), b""):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def download_head(obj: s3.StoredObject, path: str, max_bytes: int, settings: Settings | None = None) -> int:
    """The first ``max_bytes`` of a text object version, cut after its last complete line; bytes kept."""
    kwargs: dict[str, Any] = {"Bucket": obj.bucket, "Key": obj.key, "IfMatch": f'"{obj.etag}"',
                              "Range": f"bytes=0-{max_bytes - 1}"}
    if obj.version_id:
        kwargs["VersionId"] = obj.version_id
    body = client("s3", settings).get_object(**kwargs)["Body"].read()
    if obj.size > max_bytes and b"\n" in body:
        body = body[:body.rindex(b"\n") + 1]
    with open(path, "wb") as out:
        out.write(body)
    return len(body)


def put_report(dataset: str, version: int, report: Mapping[str, object],
               settings: Settings | None = None) -> str:
    key = layout.report_key(dataset, version)
    s3.put_json(key, report, settings=settings)
    return key


def get_report(key: str, settings: Settings | None = None) -> dict[str, Any] | None:
    from chalicelib.core.errors import NotFoundError

    try:
        report: dict[str, Any] = s3.get_json(key, settings=settings)
    except NotFoundError:
        return None
    return report


def quarantine_object(obj: s3.StoredObject, dataset: str, version: int, manifest: Mapping[str, object],
                      settings: Settings | None = None) -> str:
    """Copy the exact raw object version into ``quarantine/`` (server side) with a reason manifest."""
    settings = settings or get_settings()
    prefix = layout.quarantine_prefix(dataset, version)
    source: CopySourceTypeDef = {"Bucket": obj.bucket, "Key": obj.key}
    if obj.version_id:
        source["VersionId"] = obj.version_id
    # Managed copy: a single CopyObject up to 5 GB, a multipart copy beyond.
    client("s3", settings).copy(
        source, settings.bucket, prefix + "object" + names.suffix_of(obj.key),
        ExtraArgs={"MetadataDirective": "REPLACE",
                   "Metadata": {"sluice-code": str(manifest.get("code", "")),
                                "sluice-source-version-id": obj.version_id or ""}})
    s3.put_json(prefix + "_manifest.json", manifest, settings=settings)
    return f"s3://{settings.bucket}/{prefix}"


def quarantine_manifest(dataset: str, version: int, manifest: Mapping[str, object],
                        settings: Settings | None = None) -> str:
    """Only the reason manifest, pointing at the raw version (which may hold PII in clear)."""
    settings = settings or get_settings()
    prefix = layout.quarantine_prefix(dataset, version)
    s3.put_json(prefix + "_manifest.json", {**manifest, "copied": False,
                                            "why_not_copied": "the contract declares PII columns"},
                settings=settings)
    return f"s3://{settings.bucket}/{prefix}"


def quarantine_manifest_of_rows(dataset: str, version: int, manifest: Mapping[str, object],
                                settings: Settings | None = None, *, folder: str | None = None) -> str:
    """The reason manifest of rejected rows already written (PII handled) under ``{folder}rows/``, put in
    ``folder`` (the attempt's own, under the version's quarantine prefix; the prefix itself by default):
    the path returned, which the version records, holds this attempt's rows and nothing else."""
    settings = settings or get_settings()
    prefix = layout.quarantine_prefix(dataset, version)
    if folder is not None:
        if not folder.startswith(prefix) or not folder.endswith("/"):
            raise ValueError(f"{folder!r} is not a folder of {prefix!r}")
        prefix = folder
    s3.put_json(prefix + "_manifest.json", dict(manifest), settings=settings)
    return f"s3://{settings.bucket}/{prefix}"


def read_curated(path: str, columns: list[str], *, only: bool = True) -> pd.DataFrame:
    """The curated rows under ``path`` (one dataset version) with ``columns`` named as the contract names
    them; ``only=False`` reads every stored column (fastparquet in the ML layer)."""
    return _renamed_back(read_s3_prefix(path, columns=_stored(columns) if only else None), columns)


def iter_curated(path: str, columns: list[str]) -> Iterator[pd.DataFrame]:
    """:func:`read_curated` one stored object at a time (memory stays bounded)."""
    for chunk in iter_s3_prefix(path, columns=_stored(columns)):
        yield _renamed_back(chunk, columns)


def _stored(columns: list[str]) -> list[str]:
    return [layout.curated_column(c) for c in columns]


def _renamed_back(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return frame.rename(columns={layout.curated_column(c): c for c in columns})


def _database_exists(database: str, settings: Settings) -> bool:
    """Whether the configured Glue database exists (checked once per container)."""
    with _db_lock:
        if database in _known_databases:
            return True
    glue = client("glue", settings)
    try:
        glue.get_database(Name=database)
    except glue.exceptions.EntityNotFoundException:
        logger.warning("Glue database missing; curated data is written but not registered",
                       extra={"glue_database": database})
        return False
    with _db_lock:
        _known_databases.add(database)
    return True


# ---- the one pass: the raw object read in place, outputs written part by part ----------------------

READ_BLOCK = 8 * 1024 * 1024  # one ranged GET; CSV/JSONL read front to back, Parquet column chunks
CACHED_BLOCKS = 4  # Parquet reads the footer first, then row groups front to back
# blocks fetched ahead of a front-to-back reader, each on its own thread: the GETs' wait overlaps parsing
# (measured against a moto server, 1M-row CSV: the reader waited ~1.3 s of its pass on GETs without)
READ_AHEAD = 2


class RawObject:
    """One raw object version read in place with ranged GETs (no ``/tmp`` copy), and its SHA-256.

    :meth:`open` gives a new seekable binary file of the object (an opener for the engine's
    :class:`~chalicelib.core.validation.sources.Source`): CSV/JSONL read it front to back, Parquet seeks.
    Every GET names the version id and the ETag, so every byte read is this version's. The SHA-256
    is taken from the bytes as the first file reads them in order; :meth:`sha256` reads only what
    that file did not (nothing for a CSV read to its end; for Parquet, whatever the footer skipped).
    """

    def __init__(self, obj: s3.StoredObject, settings: Settings | None = None) -> None:
        self.obj = obj
        self.settings = settings
        self._digest = hashlib.sha256()
        self._hashed = 0  # bytes [0, _hashed) are in the digest
        self._early: dict[int, bytes] = {}  # blocks read ahead that arrived before the bytes before them
        self._lock = threading.Lock()
        self.gets = 0  # ranged GETs made (the benchmark reports them)
        self.failed: BaseException | None = None

    def raise_failed(self) -> None:
        """Re-raise the first error a GET met (S3 trouble, not bad input: the caller retries)."""
        if self.failed is not None:
            raise self.failed

    def open(self) -> S3ObjectFile:
        return S3ObjectFile(self)

    def fetch(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the object version (one GET)."""
        kwargs: dict[str, Any] = {"Bucket": self.obj.bucket, "Key": self.obj.key,
                                  "IfMatch": f'"{self.obj.etag}"', "Range": f"bytes={start}-{end - 1}"}
        if self.obj.version_id:
            kwargs["VersionId"] = self.obj.version_id
        try:
            data: bytes = client("s3", self.settings).get_object(**kwargs)["Body"].read()
        except Exception as exc:  # the engine would take it for unreadable input: the caller re-raises it
            self.failed = self.failed or exc
            raise
        with self._lock:
            self.gets += 1
            self._hash_in_order(start, data)
        return data

    def _hash_in_order(self, start: int, data: bytes) -> None:
        """Add ``data`` to the digest if it continues what is hashed; keep a block read ahead (at most
        ``READ_AHEAD + 1``) until the bytes before it arrive."""
        if start > self._hashed:
            if len(self._early) <= READ_AHEAD:
                self._early[start] = data
            return
        while start <= self._hashed < start + len(data):
            self._digest.update(memoryview(data)[self._hashed - start:])
            self._hashed = start + len(data)
            following = self._early.pop(self._hashed, None)
            if following is None:
                break
            start, data = self._hashed, following
        self._early = {at: block for at, block in self._early.items() if at > self._hashed}

    def sha256(self) -> str:
        """The object's SHA-256, reading (in blocks) whatever was not hashed on the way."""
        while self._hashed < self.obj.size:
            self.fetch(self._hashed, min(self.obj.size, self._hashed + READ_BLOCK))
        return self._digest.hexdigest()


class S3ObjectFile(io.RawIOBase):
    """A read-only, seekable file over a :class:`RawObject`: ``READ_BLOCK`` blocks, the last
    ``CACHED_BLOCKS`` kept (memory stays bounded whatever the object's size)."""

    def __init__(self, raw: RawObject) -> None:
        super().__init__()
        self.raw = raw
        self.size = raw.obj.size
        self.pos = 0
        self._blocks: collections.OrderedDict[int, bytes] = collections.OrderedDict()
        self._ahead: dict[int, Future[bytes]] = {}  # blocks being fetched ahead of the reader
        self._last = -1  # the block read last (read-ahead only follows a front-to-back reader)
        self._plan: list[int] = []  # the blocks the reader said it will read next (will_need), in order
        self._pool: ThreadPoolExecutor | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def will_need(self, ranges: list[tuple[int, int]]) -> None:
        """The reader will read these byte ranges ``[start, end)`` next (Parquet: the column chunks of
        the next row group): read ahead through their blocks and no others, until told again. Without
        it, a reader taking one column chunk per row group (the key pre-pass) had the two blocks after
        each chunk fetched for nothing (5M-row file: 1.7x its bytes read)."""
        wanted = sorted({n for start, end in ranges if end > start
                         for n in range(start // READ_BLOCK, (min(end, self.size) - 1) // READ_BLOCK + 1)})
        for unplanned in [n for n in self._ahead if n not in wanted]:
            self._ahead.pop(unplanned).cancel()
        self._plan = wanted
        self._fetch_ahead(wanted[:READ_AHEAD])

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self.pos < self.size:
            number, within = divmod(self.pos, READ_BLOCK)
            block = self._block(number)
            take = min(len(view) - done, len(block) - within)
            view[done:done + take] = block[within:within + take]
            done += take
            self.pos += take
        return done

    def read(self, size: int = -1) -> bytes:
        size = self.size - self.pos if size is None or size < 0 else min(size, self.size - self.pos)
        buffer = bytearray(max(0, size))
        got = self.readinto(buffer)
        return bytes(buffer[:got])

    def readall(self) -> bytes:
        return self.read(-1)

    def _block(self, number: int) -> bytes:
        found = self._blocks.get(number)
        if found is None:
            ahead = self._ahead.pop(number, None)
            found = ahead.result() if ahead is not None else self._fetch(number)
            self._blocks[number] = found
            while len(self._blocks) > CACHED_BLOCKS:
                self._blocks.popitem(last=False)
        else:
            self._blocks.move_to_end(number)
        if self._plan:
            self._fetch_ahead([n for n in self._plan if n > number][:READ_AHEAD])
        elif number == self._last + 1:
            self._read_ahead(number)
        self._last = number
        return found

    def _fetch(self, number: int) -> bytes:
        start = number * READ_BLOCK
        return self.raw.fetch(start, min(self.size, start + READ_BLOCK))

    def _read_ahead(self, number: int) -> None:
        """Start the GETs of the next ``READ_AHEAD`` blocks; forget those the reader jumped past."""
        for behind in [n for n in self._ahead if n <= number]:
            self._ahead.pop(behind).cancel()
        self._fetch_ahead(range(number + 1, number + 1 + READ_AHEAD))

    def _fetch_ahead(self, numbers: Iterable[int]) -> None:
        for following in numbers:
            if following * READ_BLOCK >= self.size or following in self._blocks or following in self._ahead:
                continue
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(READ_AHEAD, thread_name_prefix="sluice-get")
            self._ahead[following] = self._pool.submit(self._fetch, following)

    def close(self) -> None:
        for ahead in self._ahead.values():
            ahead.cancel()
        self._ahead = {}
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        self._blocks.clear()
        super().close()


class S3Parts:
    """One output stream of the engine (:class:`~chalicelib.core.validation.outputs.Sink`) written as
    Parquet objects ``{prefix}part-{k:05d}.snappy.parquet``, one per input chunk, while the file is read.

    Serialising and uploading run on ``UPLOAD_THREADS`` threads (at most ``UPLOADS_IN_FLIGHT`` parts held
    in memory), so the engine keeps reading while parts go out. ``fence`` is called before each upload
    and may raise (a claim lost to another attempt: nothing more is written). ``rename``: stored column
    names (curated: what Athena accepts). ``abort`` deletes every part written; nothing here makes
    anything visible as a version (the caller's version record does, after ``close``).
    """

    UPLOAD_THREADS = 2
    UPLOADS_IN_FLIGHT = 3

    def __init__(self, prefix: str, *, settings: Settings | None = None,
                 rename: Callable[[list[str]], dict[str, str]] | None = None,
                 fence: Callable[[], None] | None = None, distinct: Collection[str] = ()) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.settings = settings or get_settings()
        self.bucket = self.settings.bucket
        self.prefix = prefix
        self.rename = rename
        self.fence = fence
        # columns whose values are (nearly) all distinct (unique keys, HMACs of PII): written without a
        # Parquet dictionary, which Arrow would build and then drop (measured: 45% of the write's CPU)
        self.distinct = frozenset(distinct)
        self.rows: dict[int, int] = {}
        self.schema: Any = None  # the first part's pyarrow schema (stored names)
        self.renames: dict[str, str] = {}
        self._pool = ThreadPoolExecutor(self.UPLOAD_THREADS, thread_name_prefix="sluice-put")
        self._slots = threading.BoundedSemaphore(self.UPLOADS_IN_FLIGHT)
        self._pending: list[Any] = []

    @property
    def path(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def key(self, part: int) -> str:
        return f"{self.prefix}part-{part:05d}.snappy.parquet"

    def clear(self) -> None:
        """Delete whatever is under the prefix (a crashed attempt's parts): the stream starts clean."""
        delete_prefix(self.bucket, self.prefix, self.settings)

    def write(self, part: int, table: Any) -> None:
        if not table.num_rows:
            return
        if self.fence is not None:
            self.fence()
        table = self._stored(table)
        self._raise_failed()
        self._slots.acquire()
        self.rows[part] = table.num_rows
        # in a box the upload empties: the executor would keep the table alive until the PUT is done
        future = self._pool.submit(self._upload, self.key(part), [table])
        future.add_done_callback(lambda _: self._slots.release())
        self._pending.append(future)

    def replace(self, part: int, table: Any) -> None:
        self._drain()
        if table.num_rows:
            self.write(part, table)
            self._drain()
        elif self.rows.pop(part, None) is not None:
            client("s3", self.settings).delete_object(Bucket=self.bucket, Key=self.key(part))

    def close(self) -> None:
        try:
            self._drain()
        finally:
            self._pool.shutdown(wait=True)

    def abort(self) -> None:
        for future in self._pending:
            future.cancel()
        self._pool.shutdown(wait=True)
        self._pending = []
        self.rows = {}
        self.clear()

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def _stored(self, table: Any) -> Any:
        if self.rename is not None:
            self.renames = self.renames or self.rename(list(table.column_names))
            table = table.rename_columns([self.renames.get(n, n) for n in table.column_names])
        if self.schema is None:
            self.schema = table.schema
        return table

    def _upload(self, key: str, box: list[Any]) -> None:
        """Serialise the part, let go of its table and of Arrow's copy of the bytes, then PUT: only the
        object's bytes are held while the request is on its way."""
        body = self._serialised(box.pop())
        client("s3", self.settings).put_object(Bucket=self.bucket, Key=key, Body=body)

    def _serialised(self, table: Any) -> bytes:
        import pyarrow as pa
        import pyarrow.parquet as pq

        sink = pa.BufferOutputStream()
        stored = {self.renames.get(name, name) for name in self.distinct}
        dictionary: bool | list[str] = [n for n in table.column_names if n not in stored] if stored else True
        pq.write_table(table, sink, compression="snappy", coerce_timestamps="us", use_dictionary=dictionary)
        body: bytes = sink.getvalue().to_pybytes()
        return body

    def _raise_failed(self) -> None:
        for future in [f for f in self._pending if f.done()]:
            self._pending.remove(future)
            future.result()  # re-raises an upload's error

    def _drain(self) -> None:
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()


def delete_prefix(bucket: str, prefix: str, settings: Settings | None = None) -> int:
    """Delete every current object under ``prefix`` (never under ``raw/``); the count deleted."""
    if not prefix or prefix.startswith(layout.RAW + "/"):
        raise ValueError(f"refusing to delete under {prefix!r}")
    s3_client = client("s3", settings)
    deleted = 0
    for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys: list[ObjectIdentifierTypeDef] = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            s3_client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            deleted += len(keys)
    return deleted


ARROW_ATHENA = {"int8": "tinyint", "int16": "smallint", "int32": "int", "int64": "bigint", "float": "float",
                "double": "double", "bool": "boolean", "date32[day]": "date", "string": "string"}


def athena_types(schema: Any, column_types: Mapping[str, str]) -> dict[str, str]:
    """Glue/Athena types of the stored columns: the contract's where it declares the column (an all-null
    column keeps its declared type), else what Arrow stored."""
    out = {}
    for field_ in schema:
        declared = column_types.get(field_.name)
        arrow = str(field_.type)
        out[field_.name] = ATHENA_TYPES[declared] if declared in ATHENA_TYPES else \
            "timestamp" if arrow.startswith("timestamp") else ARROW_ATHENA.get(arrow, "string")
    return out


def register_curated(dataset: str, version: int, location: str, types: dict[str, str],
                     settings: Settings | None = None) -> str | None:
    """The Glue table of ``dataset`` (columns ``types``) and its partition ``dataset_version={version}``
    at ``location``; "database.table", or None when no Glue database is configured or it is missing."""
    settings = settings or get_settings()
    if not types or not settings.glue_database or not _database_exists(settings.glue_database, settings):
        return None
    wr = wrangler(settings)
    session = boto3_session(settings)
    table = layout.glue_table_name(dataset)
    base = f"s3://{settings.bucket}/{layout.curated_prefix(dataset)}"
    wr.catalog.create_parquet_table(database=settings.glue_database, table=table, path=base,
                                    columns_types=types, partitions_types={PARTITION: "bigint"},
                                    mode="append", boto3_session=session)
    wr.catalog.add_parquet_partitions(database=settings.glue_database, table=table,
                                      partitions_values={location: [str(version)]}, boto3_session=session)
    return f"{settings.glue_database}.{table}"
