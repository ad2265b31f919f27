"""Local files as the API takes them: records from CSV/JSON/JSONL, contract and spec documents.

A CSV carries no types, so its cells are read as JSON would carry them (numbers, booleans, empty as
missing); anything else stays text. A file that cannot be read is a local error with a stable code.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from sluice.cli.calls import local_error

NUMBER = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$")


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise local_error("file_not_found", f"no file {str(path)!r}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise local_error("invalid_file", f"cannot read {str(path)!r}: {exc}") from exc


def _csv_value(text: str) -> Any:
    """A CSV cell as JSON would carry it: numbers as numbers, ``true``/``false`` as booleans, an
    empty cell as a missing value; anything else (``007``, ``2026-11-26``, ``Berlin``) stays text."""
    if text == "":
        return None
    if NUMBER.match(text):
        return float(text) if any(c in text for c in ".eE") else int(text)
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """A CSV file's rows as text, by header."""
    try:
        return [{k: v or "" for k, v in row.items()} for row in csv.DictReader(io.StringIO(read_text(path)))]
    except csv.Error as exc:
        raise local_error("invalid_file", f"{path.name} is not valid CSV: {exc}") from exc


def typed_rows(rows: list[dict[str, str]], text_fields: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """CSV rows as JSON records; ``text_fields`` stay text (a string feature like ``01099`` or ``42``)."""
    return [{k: (v or None) if k in text_fields else _csv_value(v) for k, v in row.items()} for row in rows]


def read_records(path: Path) -> list[dict[str, Any]]:
    """Records from a JSON (a list, or ``{"records": [...]}``), JSONL or CSV file."""
    if path.suffix.lower() == ".csv":
        return typed_rows(read_csv_rows(path))
    text = read_text(path)
    try:
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        data = json.loads(text)
    except ValueError as exc:
        kind = path.suffix.lstrip(".").upper() or "JSON"
        raise local_error("invalid_file", f"{path.name} is not valid {kind}: {exc}") from exc
    records = data.get("records") if isinstance(data, dict) else data
    if not isinstance(records, list):
        raise local_error("invalid_file",
                          f'{path.name} holds neither a list of records nor {{"records": [...]}}')
    return records


def document(path: Path, *, yaml_as_json: bool = False) -> tuple[bytes, str]:
    """A contract or spec file as the API takes it: JSON, or YAML (sent as YAML, or as JSON when the
    route only reads JSON)."""
    text = read_text(path)
    if path.suffix.lower() not in (".yaml", ".yml"):
        return text.encode(), "application/json"
    if not yaml_as_json:
        return text.encode(), "application/x-yaml"
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise local_error("invalid_yaml", f"{path.name} is not valid YAML: {exc}") from exc
    return json.dumps(data, default=str).encode(), "application/json"


def output_path(value: str | None) -> Path | None:
    """``-o``'s path, checked before any work: its folder exists and it is not a folder."""
    if value is None:
        return None
    path = Path(value)
    if path.is_dir() or not path.parent.is_dir():
        raise local_error("invalid_output", f"cannot write {value!r}: "
                                            f"{'a folder' if path.is_dir() else 'no such folder'}")
    return path
