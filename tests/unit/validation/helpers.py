"""Helpers of the validation engine tests."""

from __future__ import annotations

from typing import Any

from chalicelib.core.validation.contract import Contract, parse_contract
from chalicelib.core.validation.engine import ValidationResult, validate_file

PII_KEY = b"test-only-key-0123456789abcdef"


def contract(columns: list[dict[str, Any]], **extra: Any) -> Contract:
    return parse_contract({"dataset": "t", "columns": columns, **extra})


def run(path: str, c: Contract, **kw: Any) -> ValidationResult:
    return validate_file(path, c, pii_key=PII_KEY, **kw)


def rule(result: ValidationResult, rule_id: str) -> dict[str, Any]:
    for r in result.report["rules"]:
        if r["id"] == rule_id:
            return r
    raise AssertionError(f"no rule {rule_id} in {[r['id'] for r in result.report['rules']]}")


def failing(result: ValidationResult) -> dict[str, int]:
    return {r["id"]: r["failing_rows"] for r in result.report["rules"] if r["passed"] is False}
