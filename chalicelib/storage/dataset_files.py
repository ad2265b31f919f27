"""S3 and Glue I/O of the dataset service: read raw versions, write curated, quarantine and reports.

Only this module (and :mod:`store`) talks to AWS. Every key written is derived from the dataset version
number, so a retried attempt overwrites its own partial output instead of adding to it. Nothing here
writes under ``raw/``.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.core.datasets import names
from chalicelib.core.log import logger
from chalicelib.core.settings import Settings, get_settings
from chalicelib.storage import client, layout, s3, wrangler
from chalicelib.storage.clients import boto3_session
from chalicelib.storage.parquet import iter_s3_prefix, read_s3_prefix

if TYPE_CHECKING:
    import pandas as pd
    from mypy_boto3_s3.type_defs import CopySourceTypeDef

CHUNK = 8 * 1024 * 1024
PARTITION = layout.PARTITION
# Contract column types → Athena/Glue types (used where pandas cannot tell, e.g. an all-null column).
ATHENA_TYPES = {"int": "bigint", "float": "double", "bool": "boolean", "string": "string",
                "category": "string", "date": "date", "timestamp": "timestamp"}

_known_databases: set[str] = set()
_db_lock = threading.Lock()


@dataclass(frozen=True)
class CuratedOutput:
    path: str  # s3://bucket/curated/{dataset}/dataset_version={n}/
    rows: int
    files: int
    glue_table: str | None  # "database.table" when registered
    columns: dict[str, str] = field(default_factory=dict)  # file name → curated name, where they differ


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


def quarantine_rows(chunks: Iterable[pd.DataFrame], dataset: str, version: int,
                    manifest: Mapping[str, object], settings: Settings | None = None) -> tuple[str, int]:
    """Write rejected rows (PII already handled by the engine) as Parquet under ``quarantine/``."""
    settings = settings or get_settings()
    wr = wrangler(settings)
    prefix = layout.quarantine_prefix(dataset, version)
    path = f"s3://{settings.bucket}/{prefix}rows/"
    session = boto3_session(settings)
    wr.s3.delete_objects(path, boto3_session=session)  # a retried attempt starts clean
    rows = 0
    for number, chunk in enumerate(_non_empty(chunks)):
        wr.s3.to_parquet(_parquet_safe(chunk), path=f"{path}part-{number:05d}.snappy.parquet",
                         index=False, boto3_session=session,
                         pyarrow_additional_kwargs={"flavor": None})  # the file's own column names
        rows += len(chunk)
    s3.put_json(prefix + "_manifest.json", {**manifest, "quarantined_rows": rows}, settings=settings)
    return f"s3://{settings.bucket}/{prefix}", rows


def write_curated(chunks: Iterable[pd.DataFrame], dataset: str, version: int,
                  column_types: dict[str, str], settings: Settings | None = None) -> CuratedOutput:
    """Append the valid rows, chunk by chunk, to ``curated/{dataset}/`` partition ``dataset_version={n}``.

    The first chunk replaces whatever a crashed attempt left in the partition. The Glue table and its
    partition are registered only after every chunk is written, so Athena never sees half a version.
    ``column_types`` are contract types (``int``, ``string``, ...) used where pandas cannot tell. Columns
    are stored under their curated names (:func:`layout.curated_columns`: what Athena accepts);
    :func:`read_curated` gives them back under the contract's.
    """
    settings = settings or get_settings()
    wr = wrangler(settings)
    session = boto3_session(settings)
    base = f"s3://{settings.bucket}/{layout.curated_prefix(dataset)}"
    partition = f"s3://{settings.bucket}/{layout.curated_partition(dataset, version)}"
    rows = files = 0
    athena_types: dict[str, str] | None = None
    renames: dict[str, str] = {}
    for chunk in _non_empty(chunks):
        renames = renames or layout.curated_columns(list(chunk.columns))
        frame = chunk.rename(columns=renames).assign(**{PARTITION: version})
        dtype = _dtype_for(frame, {renames.get(k, k): v for k, v in column_types.items()})
        if athena_types is None:
            athena_types, _ = wr.catalog.extract_athena_types(frame, index=False, partition_cols=[PARTITION],
                                                              dtype=dtype)
        out = wr.s3.to_parquet(frame, path=base, dataset=True, partition_cols=[PARTITION], index=False,
                               mode="append" if files else "overwrite_partitions", dtype=dtype,
                               boto3_session=session)
        files += len(out["paths"])
        rows += len(chunk)
    if not files:
        wr.s3.delete_objects(partition, boto3_session=session)
    glue_table = None
    if athena_types and settings.glue_database and _database_exists(settings.glue_database, settings):
        table = layout.glue_table_name(dataset)
        wr.catalog.create_parquet_table(database=settings.glue_database, table=table, path=base,
                                        columns_types=athena_types, partitions_types={PARTITION: "bigint"},
                                        mode="append", boto3_session=session)
        wr.catalog.add_parquet_partitions(database=settings.glue_database, table=table,
                                          partitions_values={partition: [str(version)]},
                                          boto3_session=session)
        glue_table = f"{settings.glue_database}.{table}"
    return CuratedOutput(path=partition, rows=rows, files=files, glue_table=glue_table,
                         columns={k: v for k, v in renames.items() if k != v})


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


def _non_empty(chunks: Iterable[pd.DataFrame | None]) -> Iterator[pd.DataFrame]:
    return (chunk for chunk in chunks if chunk is not None and len(chunk))


def _dtype_for(frame: pd.DataFrame, column_types: dict[str, str]) -> dict[str, str]:
    """Athena types for columns whose values cannot tell (all null, or object dtype)."""
    dtype = {}
    for column in frame.columns:
        if column == PARTITION:
            continue
        series = frame[column]
        if series.isna().all() or (series.dtype == object and column not in column_types):
            dtype[column] = ATHENA_TYPES.get(column_types.get(column, "string"), "string")
    return dtype


def _parquet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """List/dict cells (e.g. ``_reasons``) as JSON text: quarantine files stay readable everywhere."""
    import json

    def nested(value: object) -> bool:
        return isinstance(value, list | dict | tuple)

    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object and out[column].map(nested).any():
            out[column] = out[column].map(
                lambda v: json.dumps(list(v) if isinstance(v, tuple) else v, default=str) if nested(v) else v)
    return out


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
