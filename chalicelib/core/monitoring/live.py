"""Live performance, pure: a labels file read and checked, labels matched to the model's classes, and the
live metrics with their verdict against the holdout.

A labels file (CSV, JSONL or Parquet) has ``request_id``, optionally ``record_index`` (default 0), and the
truth in ``label`` (or a column named like the model's target).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from chalicelib.core.errors import BadRequestError
from chalicelib.core.labels import Label
from chalicelib.core.monitoring.policy import PerformanceVerdict, judge_performance
from chalicelib.core.training.evaluate import compute_metrics
from chalicelib.core.training.metadata import ModelMetadata
from chalicelib.core.training.spec import DEFAULT_PRIMARY, TASK_METRICS
from chalicelib.core.validation.rules import FALSE_TOKENS, TRUE_TOKENS

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


class JoinedRow(TypedDict):
    """A label matched to the captured record it is the truth of."""

    prediction: object
    label: object
    probabilities: dict[str, float] | None  # {class as text: p}, None when the capture has none


class LabelsUnreadableError(BadRequestError):
    """A labels file could not be read or lacks the columns needed for the join."""

    code = "labels_unreadable"


def read_labels(path: str, target: str | None) -> pd.DataFrame:
    """The labels as a DataFrame with ``request_id``, ``record_index``, ``label``."""
    import pandas as pd

    suffix = Path(path).suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix in (".jsonl", ".ndjson", ".json"):
            frame = pd.read_json(path, lines=True, dtype=False)
        else:
            frame = pd.read_csv(path, dtype={"request_id": str})
    except Exception as exc:  # every reader fails differently (pandas, pyarrow, fastparquet, json)
        raise LabelsUnreadableError(f"cannot read the labels file: {type(exc).__name__}") from exc
    truth = "label" if "label" in frame.columns else target
    if "request_id" not in frame.columns or truth not in frame.columns:
        raise LabelsUnreadableError(f"a labels file needs the columns request_id and label (or {target!r})")
    out = pd.DataFrame({"request_id": frame["request_id"].astype(str), "label": frame[truth]})
    if "record_index" in frame.columns:
        index = pd.to_numeric(frame["record_index"], errors="coerce")
        if index.isna().any() or (index % 1 != 0).any() or (index < 0).any():
            raise LabelsUnreadableError("record_index must hold whole numbers ≥ 0 on every row")
        out["record_index"] = index.astype(int)
    else:
        out["record_index"] = 0
    return out.dropna(subset=["label"]).drop_duplicates(["request_id", "record_index"], keep="last")


def live_metrics(metadata: ModelMetadata, joined: Sequence[JoinedRow]
                 ) -> tuple[dict[str, float | None], PerformanceVerdict]:
    """Every metric of the task on the joined rows (``label``, ``prediction``, ``probabilities``) and the
    verdict on the primary one against the holdout: the same definitions
    (:mod:`chalicelib.core.training.evaluate`) as training's."""
    spec = metadata.get("spec") or {}
    task = metadata.get("task", "classification")
    metric = (spec.get("metrics") or {}).get("primary") or DEFAULT_PRIMARY[task]
    classes = metadata.get("classes") or []
    names = list(dict.fromkeys([metric, *TASK_METRICS[task]]))
    metrics: dict[str, float | None] = dict.fromkeys(names)
    if joined:
        y_true = [as_class(r["label"], classes) for r in joined]
        y_pred = [r["prediction"] for r in joined]
        metrics = compute_metrics(task, names, y_true, y_pred, probability_matrix(joined, classes), classes)
    holdout = (metadata.get("metrics") or {}).get(metric)
    tolerance = float(spec.get("performance_tolerance", 0.05))
    verdict = judge_performance(metric, holdout, metrics[metric], tolerance, len(joined))
    return metrics, verdict


def as_class(label: object, classes: list[Label]) -> object:
    """A label as the model's class it spells: labels read from CSV are strings or numbers.

    A whole float (a CSV column with a gap reads 1 as 1.0) also matches the class spelled ``1``; for a
    model whose classes are booleans, the contract's spellings of true/false (``yes``/``no``, ``t``/``f``,
    ``1``/``0``, any case) match ``True``/``False``, as validation read the training data.
    """
    text = str(int(label)) if isinstance(label, float) and label.is_integer() else str(label)
    for cls in classes:
        if str(cls) in (text, str(label)):
            return cls
    if classes and all(isinstance(c, bool) for c in classes):
        token = text.strip().lower()
        if token in TRUE_TOKENS or token in FALSE_TOKENS:
            return token in TRUE_TOKENS
    return label


def probability_matrix(joined: Sequence[JoinedRow], classes: list[Label]) -> np.ndarray | None:
    """The captured probabilities in ``classes`` order; None unless every row has one for every class
    (a stand-in value would score probabilities the model never gave)."""
    if not classes:
        return None
    keys = [str(c) for c in classes]
    rows = [r.get("probabilities") for r in joined]
    complete = [row for row in rows if isinstance(row, dict) and all(k in row for k in keys)]
    if len(complete) != len(rows):
        return None
    import numpy as np

    try:
        return np.array([[float(row[k]) for k in keys] for row in complete])
    except (TypeError, ValueError):
        return None
