"""The validation report page: PII never in clear, every rule shown, the profile against pandas/numpy."""

import re

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.core.reports.profile import profile_frame
from chalicelib.core.reports.validation_html import (
    ValidationView,
    example_text,
    render_validation_report,
    safe_value,
)

CONTRACT = {"columns": [{"name": "email", "type": "string", "pii": "hash"},
                        {"name": "card", "type": "string", "pii": "mask"},
                        {"name": "note", "type": "string"}, {"name": "fare", "type": "float"}]}
RECORD = {"dataset": "rides", "version": 3, "status": "passed", "rows": 10, "invalid_rows": 2,
          "raw": {"bucket": "b", "key": "raw/rides/f.csv", "version_id": "v1", "sha256": "ab" * 32}}


def rule(rule_id: str, column: str | None, status: str, examples: list, **extra) -> dict:
    return {"id": rule_id, "column": column, "kind": rule_id.split(".")[1], "severity": "error",
            "level": "row", "status": status, "passed": {"passed": True, "failed": False}.get(status),
            "failing_rows": None if status == "not_evaluated" else len(examples), "examples": examples,
            **extra}


def page_of(rules: list, profile: dict | None = None) -> str:
    report = {"rules": rules, "summary": {"passed": 1, "failed": 2, "not_evaluated": 1}}
    return render_validation_report(ValidationView(RECORD, report, CONTRACT, profile))


def test_values_of_pii_columns_are_masked_even_when_an_older_report_kept_them_in_clear():
    page = page_of([
        rule("email.pattern", "email", "failed", [{"row": 1, "value": "alice.smith@corp.example.org"}]),
        rule("card.length", "card", "failed", [{"row": 2, "value": "4111 1111 1111 1111"},
                                               {"row": 5, "value": "Alice Smith"}]),
        rule("dataset.primary_key", None, "failed", [{"row": 3, "key": {"email": "bob@corp.example.org",
                                                                          "fare": 7.5}}]),
        rule("note.length", "note", "failed", [{"row": 4, "value": "call me at bob@example.com <b>now</b>"}]),
    ])
    for secret in ("alice.smith", "4111 1111", "bob@corp", "bob@example.com", "Alice Smith"):
        assert secret not in page
    assert "row 1: a***@***.org" in page and "row 2: ****1111" in page
    assert "row 3: {email=b***@***.org, fare=7.5}" in page
    assert "&lt;b&gt;now&lt;/b&gt;" in page and "<b>now</b>" not in page


def test_masking_keeps_what_is_already_masked_and_says_null_for_missing_values():
    assert safe_value("j***@***.com", pii=True) == "j***@***.com"
    assert safe_value("****1234", pii=True) == "****1234"
    assert safe_value("Jonathan", pii=True) == "J***"
    assert safe_value(None, pii=True) == "null"
    assert example_text({"row": 0, "value": True}, "note", {}) == "row 0: true"


def test_every_rule_is_listed_failures_first_with_a_dash_for_those_not_evaluated():
    page = page_of([rule("fare.range", "fare", "passed", []),
                    rule("fare.type", "fare", "not_evaluated", []),
                    rule("note.length", "note", "failed", [{"row": 4, "value": "x"}])])
    order = re.findall(r"<code>([\w.]+)</code>", page.split('id="rules"')[1])
    assert order[:3] == ["note.length", "fare.type", "fare.range"]
    evaluated = page.split("<code>fare.type</code>")[1].split("</tr>")[0]
    assert "not evaluated" in evaluated and "<td class=num>\u2013</td>" in evaluated


def test_the_profile_of_a_pii_column_holds_counts_only():
    frame = pd.DataFrame({"email": ["a@x.org", "b@x.org", None], "note": ["hi", "hi", "yo"],
                          "fare": [1.0, 2.0, 3.5]})
    profile = profile_frame(frame, {"email": "string", "note": "string", "fare": "float"},
                            {"email": "hash"})
    email = profile["columns"][0]
    assert (email["count"], email["nulls"], email["distinct"]) == (2, 1, 2)
    assert not {"top", "min", "max", "histogram"} & set(email)
    page = page_of([], dict(profile))
    assert "a@x.org" not in page and "PII (hash): only counts are shown" in page
    assert "hi (2)" in page


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False)), min_size=1, max_size=200))
def test_a_numeric_profile_equals_pandas_and_numpy(values):
    series = pd.Series(values, dtype="float64")
    column = profile_frame(pd.DataFrame({"x": series}), {"x": "float"}, {})["columns"][0]
    present = series.dropna()
    assert column["count"] == len(present) and column["nulls"] == series.isna().sum()
    assert column["distinct"] == present.nunique()
    if len(present):
        assert column["min"] == present.min() and column["max"] == present.max()
        assert column["mean"] == np.float64(present.mean())
        counts, edges = np.histogram(present, bins=min(20, present.nunique()))
        assert column["histogram"]["counts"] == counts.tolist()
        assert column["histogram"]["edges"] == edges.tolist()
        assert sum(column["histogram"]["counts"]) == len(present)
