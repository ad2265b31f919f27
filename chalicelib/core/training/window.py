"""Pure: which dataset versions a run trains on, how feedback rows join them, and whether anything new
arrived since the production version's training data.

The service lists the passing versions (storage) and reads their curated rows; everything decided about
them is decided here, without AWS:

- :func:`select_versions` — the spec's ``data.versions`` window over the passing versions;
- :func:`join_rows` — dataset rows and feedback rows as one frame, each row with its ingestion time
  (``_ingested_at``: its dataset version's ``created_at``, a feedback row's ``_captured_at``), feedback
  deduplicated per ``(_request_id, _record_index)`` with the latest feedback version winning;
- :func:`trained_on` and :func:`new_data` — what the champion trained on, and whether a newer dataset
  version or enough new labelled feedback rows exist since (the retrain-only-on-new-data rule).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.core.datasets.feedback import CAPTURED_AT, KEY_COLUMNS, METADATA_COLUMNS, keep_latest
from chalicelib.core.datasets.types import DatasetVersion
from chalicelib.core.training.errors import DatasetNotReadyError, TrainingDataError
from chalicelib.core.training.spec import MAX_WINDOW_VERSIONS, DataWindow, LastVersions, SinceDate

if TYPE_CHECKING:
    import pandas as pd

INGESTED_AT = "_ingested_at"  # a row's ingestion time in the training frame (the ``recent`` split's order)
FROM_FEEDBACK = "_from_feedback"  # True on the training frame's feedback rows (counted in the run's rows)
FEEDBACK_METADATA = METADATA_COLUMNS


# ---- the window ---------------------------------------------------------------------------------


def select_versions(passing: Sequence[DatasetVersion], window: DataWindow) -> list[DatasetVersion]:
    """The passing versions ``window`` chooses, oldest first (``passing`` in any order)."""
    ordered = sorted(passing, key=lambda v: v.version)
    versions = window.versions
    if versions == "latest":
        chosen = ordered[-1:]
    elif versions == "all":
        chosen = ordered
    elif isinstance(versions, LastVersions):
        chosen = ordered[-versions.last:]
    else:
        assert isinstance(versions, SinceDate)
        since = versions.since.isoformat()
        chosen = [v for v in ordered if v.created_at >= since]  # ISO 8601 UTC: text order is time order
    if len(chosen) > MAX_WINDOW_VERSIONS:
        raise TrainingDataError(f"the window holds {len(chosen)} dataset versions; a run reads at most "
                                f"{MAX_WINDOW_VERSIONS}: narrow it with data.versions {{last: N}} or "
                                "{since: date}")
    return chosen


def no_version_error(dataset: str, window: DataWindow) -> DatasetNotReadyError:
    where = "" if window.versions == "latest" else f" in the window ({window.describe()})"
    return DatasetNotReadyError(f"dataset {dataset!r} has no passing version{where} to train on")


# ---- the rows -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One dataset version's curated rows (``frame``), as read for a run."""

    version: DatasetVersion
    frame: pd.DataFrame


@dataclass(frozen=True)
class Joined:
    frame: pd.DataFrame  # the columns asked for, plus INGESTED_AT and FROM_FEEDBACK
    rows: dict[str, int]  # dataset, feedback, feedback_replaced (older labels of a key a newer one replaced)


def join_rows(dataset_parts: Sequence[Part], feedback_parts: Sequence[Part], columns: Sequence[str]
              ) -> Joined:
    """The training frame: ``columns`` of every dataset row (oldest version first), then the feedback rows.

    A column a version lacks (added to the contract later) is missing in its rows. Feedback rows keep one
    row per ``(_request_id, _record_index)``: the one of the highest feedback version (a key labelled again
    later, or twice in one file, keeps its last label). Metadata columns are dropped here, so they never
    reach the features.
    """
    import pandas as pd

    frames = [_with_time(part.frame, columns, _stamp(part.version.created_at, len(part.frame)), False)
              for part in sorted(dataset_parts, key=lambda p: p.version.version)]
    dataset_rows = sum(len(f) for f in frames)
    feedback, replaced = _latest_feedback(feedback_parts)
    if feedback is not None:
        captured = pd.to_datetime(feedback[CAPTURED_AT], errors="coerce", utc=True) \
            if CAPTURED_AT in feedback.columns else pd.Series(pd.NaT, index=feedback.index)
        fallback = pd.to_datetime(feedback["__version_created_at"], errors="coerce", utc=True)
        frames.append(_with_time(feedback, columns, captured.fillna(fallback), True))
    if not frames:
        return Joined(pd.DataFrame({**{c: [] for c in columns}, INGESTED_AT: [], FROM_FEEDBACK: []}),
                      {"dataset": 0, "feedback": 0, "feedback_replaced": 0})
    frame = pd.concat(frames, ignore_index=True, sort=False)
    return Joined(frame, {"dataset": dataset_rows, "feedback": len(frame) - dataset_rows,
                          "feedback_replaced": replaced})


def _stamp(created_at: str, rows: int) -> pd.Series:
    import pandas as pd

    return pd.Series(pd.to_datetime([created_at] * rows, errors="coerce", utc=True))


def _with_time(frame: pd.DataFrame, columns: Sequence[str], stamps: pd.Series, feedback: bool
               ) -> pd.DataFrame:
    out = frame.reindex(columns=list(columns)).reset_index(drop=True)  # absent columns: all missing
    out[INGESTED_AT] = stamps.reset_index(drop=True)
    out[FROM_FEEDBACK] = feedback
    return out


def _latest_feedback(parts: Sequence[Part]) -> tuple[pd.DataFrame | None, int]:
    """Every feedback row, one per key (the latest feedback version's; within a file, its last row), and
    how many older rows a newer label replaced."""
    import pandas as pd

    if not parts:
        return None, 0
    frames = []
    for part in parts:
        missing = [c for c in KEY_COLUMNS if c not in part.frame.columns]
        if missing:
            raise TrainingDataError(f"feedback version {part.version.version} lacks column(s) "
                                    f"{', '.join(missing)}")
        frames.append(part.frame.assign(__version_created_at=part.version.created_at,
                                        __feedback_version=part.version.version))
    rows = pd.concat(frames, ignore_index=True, sort=False)
    latest = keep_latest(rows, "__feedback_version").sort_values("__feedback_version", kind="stable")
    return latest.drop(columns="__feedback_version").reset_index(drop=True), len(rows) - len(latest)


# ---- what is new --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainedOn:
    """What a model version trained on, from its lineage: the newest version of each dataset."""

    versions: dict[str, int] = field(default_factory=dict)  # dataset → the newest version trained on
    known: bool = False  # False: no lineage recorded (a version registered outside a training run)

    def newest(self, dataset: str) -> int | None:
        return self.versions.get(dataset)


def trained_on(lineage: Mapping[str, Any] | None) -> TrainedOn:
    """From a version's metadata ``lineage`` (``datasets`` and ``feedback`` lists; versions written before
    them have one ``dataset``)."""
    if not lineage:
        return TrainedOn()
    refs: list[Any] = [*(lineage.get("datasets") or []), *((lineage.get("feedback") or {}).get("versions")
                                                          or [])]
    if not refs and isinstance(lineage.get("dataset"), Mapping):
        refs = [lineage["dataset"]]
    versions: dict[str, int] = {}
    for ref in refs:
        if not isinstance(ref, Mapping) or ref.get("version") is None:
            continue
        if isinstance(ref.get("dataset"), str):
            name, number = ref["dataset"], int(ref["version"])
            versions[name] = max(number, versions.get(name, 0))
    return TrainedOn(versions, known=True)


@dataclass(frozen=True)
class NewData:
    """Whether a drift or performance trigger may start a run, and the numbers behind it."""

    found: bool
    reason: str
    dataset: str
    since_version: int | None  # the newest version of the dataset the champion trained on
    newer_versions: list[int]
    feedback: bool  # the spec trains on feedback
    feedback_dataset: str
    since_feedback_version: int | None
    new_feedback_rows: int
    min_new_feedback_rows: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def new_data(dataset: str, window_versions: Sequence[DatasetVersion], feedback_name: str,
             feedback_versions: Sequence[DatasetVersion], trained: TrainedOn, *, use_feedback: bool,
             min_new_feedback_rows: int) -> NewData:
    """Is there something new to learn since the champion's training data?

    New means a passing version of ``dataset`` the spec's window would read that is newer than every
    version the champion trained on, or — when the spec trains on feedback — at least
    ``min_new_feedback_rows`` curated rows in feedback versions newer than the champion's newest one.
    """
    since = trained.newest(dataset)
    newer = sorted(v.version for v in window_versions if since is None or v.version > since)
    since_feedback = trained.newest(feedback_name)
    fresh = sum(max(0, int(v.rows) - int(v.invalid_rows)) for v in feedback_versions
                if since_feedback is None or v.version > since_feedback) if use_feedback else 0
    enough = use_feedback and fresh >= min_new_feedback_rows
    if newer or enough:
        parts = ([f"dataset {dataset} version(s) {', '.join(map(str, newer))}"] if newer else []) + (
            [f"{fresh} new labelled feedback row(s)"] if enough else [])
        reason = "new data: " + " and ".join(parts)
    else:
        reason = f"no new data since version {since}" if since is not None else \
            f"no new data: dataset {dataset} has no passing version to train on"
    return NewData(bool(newer or enough), reason, dataset, since, newer, use_feedback, feedback_name,
                   since_feedback, fresh, min_new_feedback_rows)
