"""Pure naming rules: dataset names, raw keys, upload keys, output keys, timestamps.

Every S3 key the dataset service writes is spelled here, so the layout of DESIGN.md lives in one place:
``raw/{dataset}/…`` (users; read only), ``staging/{dataset}/…`` (samples for contract inference:
nothing is triggered by them and the bucket expires them after a day),
``curated/{dataset}/dataset_version={n}/``, ``quarantine/{dataset}/{n:010d}/…``,
``reports/validation/{dataset}/{n}.json``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid

from chalicelib.datasets.errors import (
    DatasetNameInvalidError,
    DatasetVersionInvalidError,
    ObjectKeyInvalidError,
    UploadFilenameInvalidError,
)

DATASET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
# A single path segment: letters, digits, dot, dash, underscore; no leading dot (no "..", no ".hidden").
FILENAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$")
# The bucket's top-level prefixes (DESIGN.md): a key starting with one of them is a full key, any
# other key given to contract inference is relative to raw/{dataset}/ (then staging/{dataset}/).
LAYOUT_PREFIXES = ("raw", "staging", "curated", "quarantine", "reports", "models", "capture", "labels",
                   "batch")
INFER_PREFIXES = ("raw", "staging")  # where contract inference may read
FORMATS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
           ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


def check_dataset_name(name: str | None) -> str:
    """``name`` if it is a valid dataset name, else :class:`DatasetNameInvalidError`."""
    if not isinstance(name, str) or not DATASET_NAME.match(name):
        raise DatasetNameInvalidError(
            "dataset names are 1-63 characters: lowercase letters, digits, '_' or '-', "
            "starting with a letter or digit")
    return name


def check_version(value: str | int | None) -> int:
    """A dataset version from a path or query string as a positive int."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        number = 0
    if number < 1 or str(value).strip() != str(number):
        raise DatasetVersionInvalidError("versions are positive integers")
    return number


def dataset_of_key(key: str, prefix: str = "raw") -> str | None:
    """The dataset of an object key ``{prefix}/{dataset}/{…}``; None when the key is not one."""
    parts = key.split("/")
    if len(parts) < 3 or parts[0] != prefix or not parts[-1]:
        return None
    if not DATASET_NAME.match(parts[1]) or any(p in ("", ".", "..") for p in parts[2:]):
        return None
    return parts[1]


def check_raw_key(dataset: str, key: str | None) -> str:
    """``key`` if it names an object under ``raw/{dataset}/``, else :class:`ObjectKeyInvalidError`."""
    if not isinstance(key, str) or dataset_of_key(key) != dataset:
        raise ObjectKeyInvalidError(f"key must name an object under raw/{dataset}/")
    return key


def inference_keys(dataset: str, key: str | None) -> list[str]:
    """The full keys contract inference tries for ``key``, in order.

    A key that starts with a prefix of the bucket's layout is a full key and must lie under
    ``raw/{dataset}/`` or ``staging/{dataset}/``; any other key is relative to ``raw/{dataset}/``, then
    to ``staging/{dataset}/`` (so ``rides.csv`` names ``raw/rides/rides.csv``). Path tricks are refused.
    """
    if not isinstance(key, str) or not key:
        raise ObjectKeyInvalidError(f"key must name an object under raw/{dataset}/")
    first = key.split("/", 1)[0]
    if first in LAYOUT_PREFIXES:
        candidates = [key]
    else:
        candidates = [f"{prefix}/{dataset}/{key}" for prefix in INFER_PREFIXES]
    valid = [c for c in candidates if any(dataset_of_key(c, p) == dataset for p in INFER_PREFIXES)]
    if len(valid) != len(candidates):
        where = "staging" if first == "staging" else "raw"
        raise ObjectKeyInvalidError(f"key must name an object under {where}/{dataset}/")
    return valid


def check_filename(filename: str | None) -> str:
    if not isinstance(filename, str) or not FILENAME.match(filename):
        raise UploadFilenameInvalidError(
            "filename must be one path segment of 1-200 characters: letters, digits, '.', '_', '-' "
            "(no leading dot)")
    return filename


def upload_key(dataset: str, filename: str, *, now: dt.datetime | None = None,
               token: str | None = None) -> str:
    """``raw/{dataset}/{timestamp}-{uuid}-{filename}``: unique, sortable by time."""
    when = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"raw/{check_dataset_name(dataset)}/{when}-{token or uuid.uuid4().hex}-{check_filename(filename)}"


def staging_key(dataset: str, filename: str, *, now: dt.datetime | None = None,
                token: str | None = None) -> str:
    """``staging/{dataset}/{timestamp}-{uuid}-{filename}``: a sample for contract inference."""
    return "staging/" + upload_key(dataset, filename, now=now, token=token).removeprefix("raw/")


def file_format_of(key: str) -> str | None:
    """The file format a key's extension suggests (``csv``, ``parquet``, ``jsonl``) or None."""
    name = key.rsplit("/", 1)[-1].lower()
    for suffix, fmt in FORMATS.items():
        if name.endswith(suffix):
            return fmt
    return None


def suffix_of(key: str) -> str:
    """The key's last extension (``.csv``) if it is a short, safe one; used for temp file names."""
    name = key.rsplit("/", 1)[-1]
    suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    return suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,10}", suffix) else ""


def object_hash(identity: str) -> str:
    """SHA-256 of an object version's identity string (bucket, key, version id, ETag)."""
    return hashlib.sha256(identity.encode()).hexdigest()


def curated_prefix(dataset: str) -> str:
    return f"curated/{dataset}/"


def curated_partition(dataset: str, version: int) -> str:
    return f"curated/{dataset}/dataset_version={version}/"


def quarantine_prefix(dataset: str, version: int) -> str:
    return f"quarantine/{dataset}/{version:010d}/"


def report_key(dataset: str, version: int) -> str:
    return f"reports/validation/{dataset}/{version}.json"


def glue_table_name(dataset: str) -> str:
    """Glue/Athena table names allow lowercase letters, digits and '_'."""
    return dataset.replace("-", "_")


def now_iso(at: dt.datetime | None = None) -> str:
    """ISO-8601 UTC with milliseconds and ``Z``: ``2026-11-26T16:33:47.123Z``."""
    from chalicelib.clock import iso

    return iso(at)
