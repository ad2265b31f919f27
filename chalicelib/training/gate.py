"""Pure: the promotion gate. Challenger and champion are scored on the same (the challenger's) holdout.

Under ``auto`` the challenger is promoted when its primary metric improves on the champion's by at
least ``min_improvement`` (in the metric's good direction) and no guard-rail metric regresses by more
than its limit. With no champion (the model's first version) it must beat the trivial baseline
(majority class / mean) on the primary metric. ``manual`` never promotes automatically.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class GatePolicy:
    mode: str  # "auto" | "manual"
    primary: str
    min_improvement: float = 0.0
    guardrails: dict[str, float] = field(default_factory=dict)  # metric → max regression

    @classmethod
    def from_spec(cls, spec: Any) -> GatePolicy:
        return cls(spec.promotion.mode, spec.primary_metric, spec.promotion.min_improvement,
                   dict(spec.promotion.guardrails))


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reasons: list[str]
    evidence: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def gain(metric: str, new: float, old: float, directions: dict[str, str]) -> float:
    """How much better ``new`` is than ``old`` (negative when worse), whatever the metric's direction."""
    return (new - old) if directions[metric] == "higher" else (old - new)


def decide(policy: GatePolicy, challenger: dict[str, float | None], champion: dict[str, float | None] | None,
           baseline: dict[str, float | None], metric_directions: dict[str, str]) -> GateDecision:
    """Whether the challenger takes ``production``, why, and the numbers behind it."""
    evidence: dict[str, Any] = {
        "mode": policy.mode, "primary": policy.primary, "direction": metric_directions[policy.primary],
        "min_improvement": policy.min_improvement, "challenger": dict(challenger),
        "champion": dict(champion) if champion is not None else None, "baseline": dict(baseline),
        "guardrails": {},
    }
    if champion is None:
        promote, reasons = _against_baseline(policy, challenger, baseline, metric_directions, evidence)
    else:
        promote, reasons = _against_champion(policy, challenger, champion, metric_directions, evidence)
    if policy.mode == "manual":
        reasons = ["promotion policy is manual: the version stays a candidate for review", *reasons]
        promote = False
    return GateDecision(promote, reasons, evidence)


def _against_baseline(policy: GatePolicy, challenger: dict, baseline: dict, directions: dict[str, str],
                      evidence: dict[str, Any]) -> tuple[bool, list[str]]:
    metric = policy.primary
    new, old = challenger.get(metric), baseline.get(metric)
    if new is None or old is None:
        return False, [f"first version: {metric} could not be computed for the "
                       f"{'challenger' if new is None else 'baseline'}; not promoted"]
    improvement = gain(metric, new, old, directions)
    evidence["improvement_over_baseline"] = improvement
    if improvement > 0 and improvement >= policy.min_improvement:
        return True, [f"first version: {metric} {new:.6g} beats the trivial baseline's {old:.6g} "
                      f"by {improvement:.6g}"]
    return False, [f"first version: {metric} {new:.6g} does not beat the trivial baseline's {old:.6g}"
                   + (f" by at least {policy.min_improvement:g}" if improvement > 0 else "")]


def _against_champion(policy: GatePolicy, challenger: dict, champion: dict, directions: dict[str, str],
                      evidence: dict[str, Any]) -> tuple[bool, list[str]]:
    metric = policy.primary
    new, old = challenger.get(metric), champion.get(metric)
    if new is None or old is None:
        return False, [f"{metric} could not be computed for the "
                       f"{'challenger' if new is None else 'champion'} on the holdout; not promoted"]
    improvement = gain(metric, new, old, directions)
    evidence["improvement"] = improvement
    reasons: list[str] = []
    promote = improvement >= policy.min_improvement
    if promote:
        reasons.append(f"{metric} {new:.6g} vs champion {old:.6g}: improvement {improvement:.6g} "
                       f"≥ {policy.min_improvement:g}")
    else:
        reasons.append(f"{metric} {new:.6g} vs champion {old:.6g}: improvement {improvement:.6g} "
                       f"< required {policy.min_improvement:g}")
    for guard, limit in sorted(policy.guardrails.items()):
        g_new, g_old = challenger.get(guard), champion.get(guard)
        if g_new is None or g_old is None:
            evidence["guardrails"][guard] = {"challenger": g_new, "champion": g_old, "limit": limit,
                                             "regression": None, "ok": False}
            reasons.append(f"guard rail {guard} could not be computed; not promoted")
            promote = False
            continue
        regression = -gain(guard, g_new, g_old, directions)
        ok = regression <= limit
        evidence["guardrails"][guard] = {"challenger": g_new, "champion": g_old, "limit": limit,
                                         "regression": regression, "ok": ok}
        if not ok:
            promote = False
            reasons.append(f"guard rail {guard} regresses by {regression:.6g} (limit {limit:g}): "
                           f"{g_new:.6g} vs champion {g_old:.6g}")
    return promote, reasons
