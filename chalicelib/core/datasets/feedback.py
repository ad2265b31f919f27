"""Feedback rows, pure: labels joined to captured requests, and the contract the rows are validated with.

A labels object ``labels/{model}/…`` names records by ``request_id`` and ``record_index``; each one found
among the captured requests (``capture/{model}/…``, within the join window) becomes one feedback row:

- the model's features, as captured (capture holds the version's features only, never other fields);
- the target, named as the spec's target, its value the label (a class label spelled as the model's
  class, :func:`chalicelib.core.monitoring.live.as_class`);
- the spec's time-split column when it has one: captured when it is a feature, else the capture time
  (a ``timestamp`` column) or its UTC date (a ``date`` column), else null;
- ``_request_id``, ``_record_index``, ``_captured_at`` (the request's time, UTC) and ``_labelled_at``
  (the labels object's time, UTC).

Rules, in one place:

- a key labelled twice in one file: the last row wins (:func:`chalicelib.core.monitoring.live.read_labels`);
- a key captured twice (it should not be: request ids are unique): the first capture in time wins;
- a label for a request id not captured in the window (unknown, older than the window, or a request the
  capture sample left out) is no row: it is counted as ``unmatched``;
- a key labelled again in a later labels object: both feedback versions keep their row, and readers
  keep the row of the highest feedback version per (``_request_id``, ``_record_index``): the latest
  label wins, a contradicting earlier one included.

The rows are validated by a contract DERIVED from the one the production version trained on
(:func:`feedback_contract`): the same column rules and PII actions, so feedback is curated exactly as
an upload of the training dataset would be.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.core.errors import InvalidInputError
from chalicelib.core.labels import Label

if TYPE_CHECKING:
    import pandas as pd

    from chalicelib.core.validation.contract import ColumnSpec, Contract

REQUEST_ID = "_request_id"
RECORD_INDEX = "_record_index"
CAPTURED_AT = "_captured_at"
LABELLED_AT = "_labelled_at"
METADATA_COLUMNS = (REQUEST_ID, RECORD_INDEX, CAPTURED_AT, LABELLED_AT)
KEY_COLUMNS = (REQUEST_ID, RECORD_INDEX)  # one row per labelled record; the latest version's wins
MAX_LISTED_CAPTURES = 100  # capture objects named on a version record (all of them: in the manifest)


class FeedbackContractError(InvalidInputError):
    """The training contract cannot describe feedback rows (a column is missing or clashes)."""

    code = "feedback_contract_invalid"


@dataclass(frozen=True)
class CaptureSource:
    """One capture object version: where a captured line was read."""

    key: str
    version_id: str | None

    def to_dict(self) -> dict[str, str | None]:
        return {"key": self.key, "version_id": self.version_id}


@dataclass(frozen=True)
class Match:
    """A label and the captured record it is the truth of."""

    request_id: str
    record_index: int
    label: object
    line: Mapping[str, Any]
    source: CaptureSource


@dataclass(frozen=True)
class Join:
    """What joining one labels object to the capture window gave."""

    matches: list[Match]
    labelled: int  # distinct labelled keys in the labels object
    sources: list[CaptureSource] = field(default_factory=list)  # distinct, in the order first matched

    @property
    def matched(self) -> int:
        return len(self.matches)

    @property
    def unmatched(self) -> int:
        return self.labelled - len(self.matches)


def join_labels(labels: Mapping[tuple[str, int], object],
                captured: Iterable[tuple[CaptureSource, Mapping[str, Any]]]) -> Join:
    """Each labelled key matched to the first captured line with its ``request_id`` + ``record_index``.

    ``captured`` is read oldest first and may be long: only the lines that match are kept.
    """
    wanted = dict(labels)
    matches: list[Match] = []
    sources: dict[CaptureSource, None] = {}
    for source, line in captured if wanted else ():
        key = (str(line.get("request_id")), int(line.get("record_index", 0) or 0))
        if key in wanted:
            matches.append(Match(key[0], key[1], wanted.pop(key), line, source))
            sources.setdefault(source)
            if not wanted:  # every label found: read no further
                break
    return Join(matches, len(labels), list(sources))


# ---- the derived contract -----------------------------------------------------------------------


def feedback_contract(training: Contract, *, dataset: str, features: Sequence[str], target: str,
                      split_column: str | None = None, source: str = "") -> Contract:
    """The contract of the feedback dataset ``dataset``, derived from ``training``.

    Keeps each feature's, the target's and the time-split column's declaration as written (type,
    rules, PII action), adds the metadata columns, reads Parquet and keys rows by
    (``_request_id``, ``_record_index``). Dataset-level rules of the training data (row count, its own
    key, freshness) do not apply to a batch of feedback; the failure policy and the undeclared-PII
    setting do. A split column that is not a feature is filled by the service (capture time) and
    may be null.
    """
    from chalicelib.core.validation.contract import (
        ColumnSpec,
        Contract,
        DatasetRules,
        FormatSpec,
        PrimaryKeyRule,
    )

    declared = {c.name: c for c in training.columns}
    wanted = list(dict.fromkeys([*features, target, *([split_column] if split_column else [])]))
    missing = [name for name in wanted if name not in declared]
    if missing:
        raise FeedbackContractError(f"the training contract of {training.dataset!r} does not declare "
                                    f"{', '.join(missing)}: no feedback contract can be derived")
    clash = [name for name in METADATA_COLUMNS if name in declared]
    if clash:
        raise FeedbackContractError(f"the training contract declares {', '.join(clash)}, a name feedback "
                                    "rows use for their metadata: rename the column to collect feedback")
    columns: list[ColumnSpec] = []
    for name in wanted:
        column = declared[name]
        if name == split_column and name not in features:
            column = column.model_copy(update={"nullable": True})
        columns.append(column)
    columns += [
        ColumnSpec(name=REQUEST_ID, type="string", min_length=1,
                   description="the prediction request's id (API Gateway's, or the one serving made up)"),
        ColumnSpec(name=RECORD_INDEX, type="int", min=0, description="the record's index in its request"),
        ColumnSpec(name=CAPTURED_AT, type="timestamp", description="when the request was served (UTC)"),
        ColumnSpec(name=LABELLED_AT, type="timestamp", description="when the labels were written (UTC)"),
    ]
    return Contract(
        dataset=dataset, description=source or f"feedback rows derived from {training.dataset!r}",
        format=FormatSpec(type="parquet"), columns=columns,
        rules=DatasetRules(primary_key=PrimaryKeyRule(columns=list(KEY_COLUMNS))),
        extra_columns="error", missing_columns="error", undeclared_pii=training.undeclared_pii,
        failure_policy=training.failure_policy)


def same_contract(a: Contract, b: Contract) -> bool:
    """True when storing ``a`` after ``b`` would add nothing (their JSON forms are equal)."""
    return a.model_dump(mode="json") == b.model_dump(mode="json")


# ---- the rows -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackColumns:
    """What a feedback row holds besides its metadata: features, target, split column (name, type)."""

    features: tuple[str, ...]
    target: str
    split: tuple[str, str] | None = None  # (name, contract type) of a time-split column, if any
    classes: tuple[Label, ...] = ()  # the model's classes (classification): labels are spelled as them


def feedback_frame(join: Join, columns: FeedbackColumns, labelled_at: dt.datetime) -> pd.DataFrame:
    """One row per match, ordered by capture time then key; columns typed so Parquet keeps them."""
    import pandas as pd

    from chalicelib.core.monitoring.live import as_class

    matches = sorted(join.matches, key=lambda m: (_captured_at(m.line) or dt.datetime.min, m.request_id,
                                                  m.record_index))
    data: dict[str, list[object]] = {name: [] for name in columns.features}
    data[columns.target] = []
    split_name, split_type = columns.split or (None, None)
    if split_name is not None:
        data.setdefault(split_name, [])
    for name in METADATA_COLUMNS:
        data[name] = []
    stamp = _naive_utc(labelled_at)
    classes = list(columns.classes)
    for match in matches:
        inputs = match.line.get("input") or {}
        captured_at = _captured_at(match.line)
        for name in columns.features:
            data[name].append(inputs.get(name))
        if split_name is not None and split_name not in columns.features:
            data[split_name].append(_split_value(split_type, captured_at))
        data[columns.target].append(as_class(match.label, classes) if classes else match.label)
        data[REQUEST_ID].append(match.request_id)
        data[RECORD_INDEX].append(match.record_index)
        data[CAPTURED_AT].append(captured_at)
        data[LABELLED_AT].append(stamp)
    return pd.DataFrame({name: _typed(values) for name, values in data.items()})


def _split_value(kind: str | None, captured_at: dt.datetime | None) -> object:
    if captured_at is None:
        return None
    if kind == "timestamp":
        return captured_at
    if kind == "date":
        return captured_at.date().isoformat()
    return None


def _captured_at(line: Mapping[str, Any]) -> dt.datetime | None:
    text = line.get("time")
    if not isinstance(text, str):
        return None
    try:
        return _naive_utc(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None


def _naive_utc(when: dt.datetime) -> dt.datetime:
    return when.astimezone(dt.UTC).replace(tzinfo=None) if when.tzinfo else when


def _typed(values: list[object]) -> pd.Series:
    """A column as Parquet can hold it: one type per column, nulls kept.

    Booleans, whole numbers, numbers and date-times keep their type (nullable); anything else (text,
    or a mix) is written as text, which the validation engine coerces to the contract's type exactly
    as it reads a CSV cell.
    """
    import pandas as pd

    values = [v.item() if hasattr(v, "item") and not isinstance(v, str) else v for v in values]
    present = [v for v in values if v is not None and not (isinstance(v, float) and v != v)]
    if present and all(isinstance(v, bool) for v in present):
        return pd.Series(values, dtype="boolean")
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pd.Series(values, dtype="Int64")
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        numbers = [float("nan") if v is None else float(v) for v in values]  # type: ignore[arg-type]
        return pd.Series(numbers, dtype="float64")
    if present and all(isinstance(v, dt.datetime) for v in present):
        return pd.Series(values, dtype="datetime64[us]")
    return pd.Series([None if v is None else _text(v) for v in values], dtype=object)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def lineage_record(labels: Mapping[str, Any], join: Join, *, window_hours: float, model: str,
                   model_version: int, training_contract: Mapping[str, Any],
                   manifest: Mapping[str, Any]) -> dict[str, Any]:
    """What a feedback version records of where its rows came from (bounded: the manifest lists every
    capture object, the record the first :data:`MAX_LISTED_CAPTURES`)."""
    return {
        "kind": "feedback", "model": model, "model_version": model_version,
        "labels": dict(labels),
        "captures": [s.to_dict() for s in join.sources[:MAX_LISTED_CAPTURES]],
        "captures_total": len(join.sources), "captures_manifest": dict(manifest),
        "join": {"window_hours": window_hours, "labelled": join.labelled, "matched": join.matched,
                 "unmatched": join.unmatched},
        "training_contract": dict(training_contract),
    }


def keep_latest(frame: pd.DataFrame, version_column: str) -> pd.DataFrame:
    """One row per (``_request_id``, ``_record_index``): the one of the highest feedback version (the
    latest label wins, a contradicting earlier one included); within a version, the last row. Keys match
    whatever the columns' dtypes (``7`` and ``"7"``, ``1`` and ``1.0`` are one key), in the frame's order."""
    import pandas as pd

    ordered = frame.reset_index(drop=True).sort_values(version_column, kind="stable")
    keys = pd.DataFrame({"request": ordered[REQUEST_ID].astype(str),
                         "index": pd.to_numeric(ordered[RECORD_INDEX], errors="coerce").astype("Int64")},
                        index=ordered.index)
    return ordered.loc[~keys.duplicated(keep="last")].sort_index()
