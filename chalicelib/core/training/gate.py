"""Pure: the promotion gate. Challenger, champion and trivial baseline are scored on the same holdout
(the challenger's).

Every version passes the same checks; the reference is the champion, or the trivial baseline
(majority class / training mean) when the model has none yet:

- **primary** — the primary metric improves on the champion's by at least ``min_improvement`` (in the
  metric's good direction); a first version must strictly beat the baseline, by at least
  ``min_improvement``.
- **guard rails** (``promotion.guardrails``: metric → allowed regression) — no guard-rail metric is
  worse than the reference's by more than its limit.
- **thresholds** (``promotion.thresholds``: metric → ``{min, max}``) — absolute bounds, as SageMaker
  Pipelines' ``ConditionGreaterThanOrEqualTo``/``ConditionLessThanOrEqualTo`` promotion conditions.

A value that could not be computed fails its check. Under ``auto`` the challenger is promoted when
every check passes; ``manual`` never promotes automatically (the checks are still made and reported,
for the reviewer). The reasons name each check with its numbers, pass or fail; ``evidence["checks"]``
holds the same, structured.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict, cast

if TYPE_CHECKING:
    from chalicelib.core.training.spec import TrainingSpec

# metric name → value; None where the metric could not be computed
Metrics = Mapping[str, float | None]


@dataclass(frozen=True)
class GatePolicy:
    mode: str  # "auto" | "manual"
    primary: str
    min_improvement: float = 0.0
    guardrails: dict[str, float] = field(default_factory=dict)  # metric → max regression
    thresholds: dict[str, dict[str, float]] = field(default_factory=dict)  # metric → {"min": x, "max": y}

    @classmethod
    def from_spec(cls, spec: TrainingSpec) -> GatePolicy:
        return cls(spec.promotion.mode, spec.primary_metric, spec.promotion.min_improvement,
                   dict(spec.promotion.guardrails),
                   {m: t.bounds() for m, t in spec.promotion.thresholds.items()})


class GateDecisionDict(TypedDict):
    promote: bool
    reasons: list[str]
    evidence: dict[str, Any]  # the numbers behind each check (JSON; see decide)


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reasons: list[str]
    evidence: dict[str, Any]

    def to_dict(self) -> GateDecisionDict:
        return cast(GateDecisionDict, asdict(self))


@dataclass(frozen=True)
class Check:
    passed: bool
    reason: str
    evidence: dict[str, Any]


def gain(metric: str, new: float, old: float, directions: dict[str, str]) -> float:
    """How much better ``new`` is than ``old`` (negative when worse), whatever the metric's direction."""
    return (new - old) if directions[metric] == "higher" else (old - new)


def decide(policy: GatePolicy, challenger: Metrics, champion: Metrics | None, baseline: Metrics,
           metric_directions: dict[str, str]) -> GateDecision:
    """Whether the challenger takes ``production``, why, and the numbers behind it."""
    against = "baseline" if champion is None else "champion"
    reference = baseline if champion is None else champion
    evidence: dict[str, Any] = {
        "mode": policy.mode, "primary": policy.primary, "direction": metric_directions[policy.primary],
        "min_improvement": policy.min_improvement, "challenger": dict(challenger),
        "champion": dict(champion) if champion is not None else None, "baseline": dict(baseline),
        "against": against, "guardrails": {}, "thresholds": {},
    }
    primary = _primary(policy, challenger, reference, against, metric_directions)
    if primary.evidence["improvement"] is not None:  # the names earlier gate decisions stored
        key = "improvement" if champion is not None else "improvement_over_baseline"
        evidence[key] = primary.evidence["improvement"]
    checks = [primary]
    for metric, limit in sorted(policy.guardrails.items()):
        check = _guardrail(metric, limit, challenger, reference, against, metric_directions)
        evidence["guardrails"][metric] = check.evidence
        checks.append(check)
    for metric, bounds in sorted(policy.thresholds.items()):
        value = challenger.get(metric)
        bound_checks = [_threshold(metric, bound, limit, value) for bound, limit in sorted(bounds.items())]
        evidence["thresholds"][metric] = {"value": value, **bounds, "ok": all(c.passed for c in bound_checks)}
        checks.extend(bound_checks)
    passed = all(c.passed for c in checks)
    evidence["checks"] = [c.evidence for c in checks]
    evidence["checks_passed"] = passed
    reasons = [c.reason for c in checks]
    if policy.mode == "manual":
        verdict = "every check passed" if passed else "a check failed"
        reasons = [f"promotion policy is manual: the version stays a candidate for review ({verdict})",
                   *reasons]
    return GateDecision(passed and policy.mode == "auto", reasons, evidence)


def _name(against: str) -> str:
    return "the trivial baseline" if against == "baseline" else "the champion"


def _mark(passed: bool) -> str:
    return "pass" if passed else "fail"


def _primary(policy: GatePolicy, challenger: Metrics, reference: Metrics, against: str,
             directions: dict[str, str]) -> Check:
    metric, required = policy.primary, policy.min_improvement
    new, old = challenger.get(metric), reference.get(metric)
    record: dict[str, Any] = {"check": "primary", "metric": metric, "against": against, "challenger": new,
                              against: old, "improvement": None, "required": required}
    if new is None or old is None:
        whose = "the challenger" if new is None else _name(against)
        return Check(False, f"primary {metric}: could not be computed for {whose} — fail",
                     {**record, "passed": False})
    improvement = gain(metric, new, old, directions)
    if against == "baseline":  # a first version must beat the trivial model, not tie it
        passed = improvement > 0 and improvement >= required
        rule = f"> 0 and ≥ {required:g}" if required else "> 0"
    else:
        passed = improvement >= required
        rule = f"≥ {required:g}"
    reason = (f"primary {metric}: {new:.6g} vs {_name(against)}'s {old:.6g}, improvement {improvement:.6g} "
              f"(required {rule}) — {_mark(passed)}")
    return Check(passed, reason, {**record, "improvement": improvement, "passed": passed})


def _guardrail(metric: str, limit: float, challenger: Metrics, reference: Metrics, against: str,
               directions: dict[str, str]) -> Check:
    new, old = challenger.get(metric), reference.get(metric)
    record: dict[str, Any] = {"check": "guardrail", "metric": metric, "against": against, "challenger": new,
                              against: old, "limit": limit}
    if new is None or old is None:
        whose = "the challenger" if new is None else _name(against)
        return Check(False, f"guard rail {metric}: could not be computed for {whose} — fail",
                     {**record, "regression": None, "ok": False, "passed": False})
    regression = -gain(metric, new, old, directions)
    passed = regression <= limit
    change = (f"regresses by {regression:.6g}" if regression > 0 else f"improves by {-regression:.6g}"
              if regression < 0 else "unchanged")
    reason = (f"guard rail {metric}: {new:.6g} vs {_name(against)}'s {old:.6g}, {change} "
              f"(allowed regression {limit:g}) — {_mark(passed)}")
    return Check(passed, reason, {**record, "regression": regression, "ok": passed, "passed": passed})


def _threshold(metric: str, bound: str, limit: float, value: float | None) -> Check:
    sign = "≥" if bound == "min" else "≤"
    record: dict[str, Any] = {"check": "threshold", "metric": metric, "bound": bound, "limit": limit,
                              "challenger": value}
    if value is None:
        return Check(False, f"threshold {metric} {sign} {limit:g}: could not be computed — fail",
                     {**record, "passed": False})
    passed = value >= limit if bound == "min" else value <= limit
    return Check(passed, f"threshold {metric} {sign} {limit:g}: {value:.6g} — {_mark(passed)}",
                 {**record, "passed": passed})
