"""Pure naming rules: dataset names, file names, versions, file formats, timestamps.

The S3 keys built from them are spelled in :mod:`chalicelib.storage.layout`.
"""

from __future__ import annotations

import datetime as dt
import re

from chalicelib.core.datasets.errors import (
    DatasetNameInvalidError,
    DatasetVersionInvalidError,
    UploadFilenameInvalidError,
)

# Matched with fullmatch: "$" would also match before a trailing newline ("fbig\n" is no name).
DATASET_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
# A single path segment: letters, digits, dot, dash, underscore; no leading dot (no "..", no ".hidden").
FILENAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}")
FORMATS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
           ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


def check_dataset_name(name: str | None) -> str:
    """``name`` if it is a valid dataset name, else :class:`DatasetNameInvalidError`."""
    if not isinstance(name, str) or not DATASET_NAME.fullmatch(name):
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


def check_filename(filename: str | None) -> str:
    if not isinstance(filename, str) or not FILENAME.fullmatch(filename):
        raise UploadFilenameInvalidError(
            "filename must be one path segment of 1-200 characters: letters, digits, '.', '_', '-' "
            "(no leading dot)")
    return filename


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


def now_iso(at: dt.datetime | None = None) -> str:
    """ISO-8601 UTC with milliseconds and ``Z``: ``2026-11-26T16:33:47.123Z``."""
    from chalicelib.core.clock import iso

    return iso(at)
