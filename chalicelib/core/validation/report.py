"""The validation report: per-rule outcomes, redacted examples, the decision and its reason.

The report is a JSON-safe dict (see :func:`build_report`). Each rule outcome carries ``status``:
``passed``, ``failed`` or ``not_evaluated`` (the rule never ran: the file could not be read, or a column
it needs is missing under ``missing_columns: error``); a rule not evaluated has ``failing_rows: null``
and no examples, and ``passed`` (kept for older readers) is true, false or null accordingly. The
``summary`` counts the rules per status. Example values are always redacted: the
values of PII columns are masked (``j***@***.com``, ``****1234``), and PII detected inside any other
value is masked in place; long values are cut at ``MAX_EXAMPLE_CHARS``. Row numbers (``row``) are
0-based positions of the record among the file's data rows (the header is not a row).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NotRequired, TypedDict

from chalicelib.core.validation.contract import Contract, RuleRef
from chalicelib.core.validation.pii import mask_value, scrub

REPORT_VERSION = 2  # 2: rule ``status`` (passed / failed / not_evaluated), counted in the summary
MAX_EXAMPLES = 20
MAX_EXAMPLE_CHARS = 120

# why a file was not accepted (first matching entry wins)
DATASET_REASONS = {"readable": "unreadable_file", "missing_columns": "missing_columns",
                   "extra_columns": "extra_columns", "row_count": "row_count", "freshness": "stale_data",
                   "undeclared_pii": "undeclared_pii"}


class RuleResult(TypedDict):
    """One rule's entry in the report's ``rules``."""

    id: str
    kind: str
    column: str | None
    severity: str
    level: str
    status: str  # passed | failed | not_evaluated
    passed: bool | None
    failing_rows: int | None
    examples: list[dict[str, Any]]  # redacted cells: {"row": n, "value": ...} or {"row": n, "key": {...}}
    message: NotRequired[str]
    details: NotRequired[dict[str, Any]]


@dataclass
class RuleOutcome:
    """What one rule found across the whole file."""

    ref: RuleRef
    failing_rows: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    evaluated: bool = True
    failed_flag: bool = False  # dataset-level rules fail without failing rows

    @property
    def failed(self) -> bool:
        return self.evaluated and (self.failed_flag or self.failing_rows > 0)

    @property
    def status(self) -> str:
        if not self.evaluated:
            return "not_evaluated"
        return "failed" if self.failed else "passed"

    def skip(self, why: str) -> None:
        """Mark the rule not evaluated, dropping anything it counted on part of the file."""
        self.evaluated = False
        self.failing_rows, self.failed_flag, self.examples, self.details = 0, False, [], {}
        self.message = f"not evaluated: {why}"

    @property
    def room(self) -> int:
        return MAX_EXAMPLES - len(self.examples)

    def to_dict(self) -> RuleResult:
        out: RuleResult = {"id": self.ref.id, "kind": self.ref.kind, "column": self.ref.column,
               "severity": self.ref.severity, "level": self.ref.level,
               "status": self.status, "passed": None if not self.evaluated else not self.failed,
               "failing_rows": int(self.failing_rows) if self.evaluated else None,
               "examples": self.examples if self.evaluated else []}
        if self.message:
            out["message"] = self.message
        if self.details:
            out["details"] = self.details
        return out


def redact(value: object, *, pii: bool) -> bool | int | float | str | None:
    """A report-safe rendering of one cell value."""
    if value is None:
        return None
    if isinstance(value, bool | int | float) and not pii:
        return value
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    text = mask_value(text) if pii else scrub(text)
    return text if len(text) <= MAX_EXAMPLE_CHARS else text[:MAX_EXAMPLE_CHARS] + "…"


def decide(contract: Contract, outcomes: list[RuleOutcome], rows: int, invalid_rows: int,
           ) -> tuple[str, str, str | None]:
    """``(verdict, decision, reason)`` from the rule outcomes and the contract's failure policy."""
    errors = [o for o in outcomes if o.failed and o.ref.severity == "error"]
    if not errors:
        return "pass", "accept", None
    dataset_errors = [o for o in errors if o.ref.level == "dataset"]
    if dataset_errors:
        first = dataset_errors[0]
        reason = first.details.get("code") or DATASET_REASONS.get(first.ref.kind, first.ref.kind)
        return "fail", "reject_file", reason
    policy = contract.failure_policy
    if policy.action == "reject_file":
        return "fail", "reject_file", "invalid_rows"
    fraction = invalid_rows / rows if rows else 1.0
    if fraction > policy.max_invalid_fraction:
        return "fail", "reject_file", "too_many_invalid_rows"
    return "fail", "accept_rows", "invalid_rows"


def build_report(contract: Contract, outcomes: list[RuleOutcome], *, fmt: str | None, rows: int,
                 invalid_rows: int, verdict: str, decision: str, reason: str | None,
                 columns: dict[str, list[str]], timings: dict[str, float], chunk_rows: int,
                 ) -> dict[str, Any]:
    """The JSON-safe report; the caller adds the input's identity (bucket, key, version, ETag, ...)."""
    failed = [o for o in outcomes if o.failed]
    pii_findings = [{"column": o.ref.column, "severity": o.ref.severity, **o.details, "examples": o.examples}
                    for o in outcomes if o.ref.kind == "undeclared_pii"]
    message = next((o.message for o in failed if o.ref.severity == "error" and o.message), "")
    return {
        "report_version": REPORT_VERSION,
        "dataset": contract.dataset,
        "verdict": verdict,
        "decision": decision,
        "reason": reason,
        "message": message,
        "format": fmt,
        "rows": rows,
        "invalid_rows": invalid_rows,
        "invalid_fraction": round(invalid_rows / rows, 6) if rows else 0.0,
        "columns": columns,
        "summary": {"rules": len(outcomes), "passed": sum(o.status == "passed" for o in outcomes),
                    "failed": len(failed), "not_evaluated": sum(not o.evaluated for o in outcomes),
                    "failed_errors": sum(o.ref.severity == "error" for o in failed),
                    "failed_warnings": sum(o.ref.severity == "warn" for o in failed)},
        "rules": [o.to_dict() for o in outcomes],
        "undeclared_pii": pii_findings,
        "failure_policy": contract.failure_policy.model_dump(mode="json"),
        "chunk_rows": chunk_rows,
        "timings": {k: round(v, 4) for k, v in timings.items()},
    }
