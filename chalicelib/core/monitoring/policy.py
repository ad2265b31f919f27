"""When live performance counts as a drop (pure).

``performance_tolerance`` (from the training spec) is read in the metric's own terms: an absolute
drop for bounded scores (accuracy, F1, precision, recall, ROC AUC, R²), a relative rise for error
metrics (RMSE, MAE, MAPE, log loss), whose scale depends on the target's units.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.core.training.spec import HIGHER_IS_BETTER

# the metrics where lower is better: their tolerance is relative (see the module docstring)
ERROR_METRICS = frozenset(name for name, higher in HIGHER_IS_BETTER.items() if not higher)
MIN_LABELLED_ROWS = 30


@dataclass(frozen=True)
class PerformanceVerdict:
    status: str  # ok | degraded | insufficient_data | not_computable
    metric: str
    holdout: float | None
    live: float | None
    change: float | None  # live - holdout (absolute) or (live - holdout) / holdout (error metrics)
    tolerance: float
    rows: int

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def judge_performance(metric: str, holdout: float | None, live: float | None, tolerance: float,
                      rows: int, *, min_rows: int = MIN_LABELLED_ROWS) -> PerformanceVerdict:
    """``degraded`` when the live metric is worse than the holdout's by more than ``tolerance``.

    Fewer than ``min_rows`` labelled rows is ``insufficient_data``; enough rows but no number to compare
    (the metric is undefined on them, e.g. ROC AUC on one class) is ``not_computable``.
    """
    if rows < min_rows:
        return PerformanceVerdict("insufficient_data", metric, holdout, live, None, tolerance, rows)
    if holdout is None or live is None:
        return PerformanceVerdict("not_computable", metric, holdout, live, None, tolerance, rows)
    if metric in ERROR_METRICS:
        change = (live - holdout) / abs(holdout) if holdout else (live - holdout)
        worse = change > tolerance
    else:
        change = live - holdout
        worse = -change > tolerance
    return PerformanceVerdict("degraded" if worse else "ok", metric, holdout, live, change, tolerance, rows)
