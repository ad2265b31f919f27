"""The validation report of one dataset version as a self-contained HTML page (pure).

Sections: the outcome (status, decision and why, counts), every rule with its status (passed, failed,
not evaluated), failing rows and a few failing values, the per-column profile, and the file's lineage
(raw object version → contract → dataset version → curated data, quarantine, report).

PII: the stored report's examples are already redacted by the engine; this page masks again whatever
belongs to a column the contract marks ``pii`` (a value of such a column never appears in clear, even in
a report written by an older engine) and scrubs detected PII out of every other value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib.core.reports.page import badge, link, page, stat, table
from chalicelib.core.reports.svg import DASH, esc, fmt, histogram, percent
from chalicelib.core.validation.pii import mask_value, scrub

SHOWN_EXAMPLES = 5
STATUS_ORDER = {"failed": 0, "not_evaluated": 1, "passed": 2}
# the shapes mask_value produces: already masked, kept as they are
_MASKED = re.compile(r"^(?:.\*\*\*@\*\*\*\.[A-Za-z0-9-]+|\*\*\*\*[0-9]{4}|.?\*\*\*)$")


@dataclass
class ValidationView:
    """What the page shows: the version record, its stored report, the contract it was validated with."""

    record: Mapping[str, Any]
    report: Mapping[str, Any] | None
    contract: Mapping[str, Any] | None = None  # the contract's JSON (model_dump)
    profile: Mapping[str, Any] | None = None  # a ProfileDict; default: the report's own ``profile``
    profile_note: str = ""  # why there is no profile, when there is none
    links: dict[str, str] = field(default_factory=dict)  # "dashboard": back to the dashboard


def render_validation_report(view: ValidationView) -> str:
    record, report = view.record, view.report or {}
    pii = pii_columns(view.contract)
    title = f"Validation report: {record.get('dataset')} v{record.get('version')}"
    back = link(view.links.get("dashboard"), "← dashboard")
    body = "".join((
        f"<p>{back}</p>" if back else "",
        _outcome(record, report),
        _rules(report, pii, int(record.get("rows") or report.get("rows") or 0)),
        _profile(view.profile or report.get("profile"), view.profile_note, view.contract),
        _lineage(record, report),
    ))
    return page(title, body, subtitle=str(record.get("status") or ""))


def pii_columns(contract: Mapping[str, Any] | None) -> dict[str, str]:
    """Column → PII action, for the columns the contract marks ``pii``."""
    columns = (contract or {}).get("columns") or []
    return {str(c["name"]): str(c["pii"]) for c in columns if isinstance(c, Mapping) and c.get("pii")}


def safe_value(value: object, *, pii: bool) -> str:
    """A value as the page may show it: masked when its column is PII, else with detected PII scrubbed."""
    if value is None:
        return "null"
    text = value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
    if pii:
        return text if _MASKED.match(text) else mask_value(text)
    return scrub(text)


def example_text(example: Mapping[str, Any], column: str | None, pii: Mapping[str, str]) -> str:
    """``row 12: value`` (or ``row 12: {id=…, email=j***@***.com}`` for a key), PII-safe."""
    where = f"row {example['row']}: " if example.get("row") is not None else ""
    if isinstance(example.get("key"), Mapping):
        parts = [f"{k}={safe_value(v, pii=k in pii)}" for k, v in example["key"].items()]
        return where + "{" + ", ".join(parts) + "}"
    return where + safe_value(example.get("value"), pii=column in pii)


# ---- outcome -----------------------------------------------------------------------------------


def _outcome(record: Mapping[str, Any], report: Mapping[str, Any]) -> str:
    summary = report.get("summary") or {}
    rows = int(record.get("rows") or 0)
    invalid = int(record.get("invalid_rows") or 0)
    why = record.get("reason") or report.get("message") or ""
    decision = record.get("decision") or report.get("decision") or DASH
    stats = "".join((
        stat("status", badge(record.get("status"))),
        stat("decision", esc(str(decision).replace("_", " "))),
        stat("rows", esc(fmt(rows))),
        stat("invalid rows", f"{esc(fmt(invalid))} <span class=\"muted small\">"
                             f"({esc(percent(invalid / rows if rows else 0.0, 2))})</span>"),
        stat("rules passed", esc(fmt(summary.get("passed")))),
        stat("rules failed", esc(fmt(summary.get("failed")))),
        stat("not evaluated", esc(fmt(summary.get("not_evaluated")))),
        stat("contract version", esc(fmt(record.get("contract_version")))),
    ))
    code = record.get("code") or report.get("reason")
    reason = (f'<p class="reason"><b>Why:</b> {esc(why)}'
              f'{f" <code>{esc(code)}</code>" if code else ""}</p>') if why or code else ""
    policy = report.get("failure_policy") or {}
    policy_text = (f'<p class="small muted">Failure policy: {esc(policy.get("action"))}, at most '
                   f'{esc(percent(policy.get("max_invalid_fraction"), 2))} invalid rows. Format '
                   f'{esc(report.get("format") or DASH)}; validated '
                   f'{esc(record.get("created_at") or "")}.</p>'
                   if policy else "")
    return (f'<section id="outcome"><h2>Outcome</h2><div class="grid">{stats}</div>{reason}{policy_text}'
            "</section>")


# ---- rules -------------------------------------------------------------------------------------


def rule_status(rule: Mapping[str, Any]) -> str:
    """The report's ``status``; older reports: from ``passed`` (null: the rule did not run)."""
    status = rule.get("status")
    if isinstance(status, str) and status:
        return status
    passed = rule.get("passed")
    return "not_evaluated" if passed is None else "passed" if passed else "failed"


def _rules(report: Mapping[str, Any], pii: Mapping[str, str], rows: int) -> str:
    rules = sorted(report.get("rules") or [], key=lambda r: STATUS_ORDER.get(rule_status(r), 3))
    if not rules:
        return '<section id="rules"><h2>Rules</h2><p class="muted">No rule ran on this file.</p></section>'
    body = [_rule_row(rule, pii, rows) for rule in rules]
    headers = ["rule", "column", "severity", "status", "failing rows", "failing values (first rows)", "note"]
    return (f'<section id="rules"><h2>Rules</h2>{table(headers, body, cls="rules", numeric=[4])}'
            '<p class="small muted">Values of PII columns are masked; PII found in other values is masked '
            "in place.</p></section>")


def _rule_row(rule: Mapping[str, Any], pii: Mapping[str, str], rows: int) -> list[str]:
    status = rule_status(rule)
    column = rule.get("column")
    failing = rule.get("failing_rows")
    count = DASH if status == "not_evaluated" or failing is None else (
        f"{fmt(int(failing))} ({percent(int(failing) / rows, 2)})" if rows and rule.get("level") != "dataset"
        else fmt(int(failing)))
    examples = [example_text(e, column, pii) for e in (rule.get("examples") or [])[:SHOWN_EXAMPLES]
                if isinstance(e, Mapping)]
    shown = "<br>".join(esc(e) for e in examples)
    more = len(rule.get("examples") or []) - len(examples)
    if more > 0:
        shown += f'<br><span class="muted">and {more} more in the JSON report</span>'
    pii_tag = (f' <span class="muted small">(PII: {esc(pii[column])})</span>'
               if isinstance(column, str) and column in pii else "")
    return [f'<code>{esc(rule.get("id"))}</code>', esc(column or DASH) + pii_tag,
            esc(rule.get("severity") or ""), badge(status), esc(count),
            f'<span class="examples">{shown}</span>',
            esc(scrub(str(rule.get("message") or "")))]


# ---- profile -----------------------------------------------------------------------------------


def _profile(profile: Mapping[str, Any] | None, note: str, contract: Mapping[str, Any] | None) -> str:
    if not profile:
        text = note or "This report holds no column profile."
        return f'<section id="profile"><h2>Column profile</h2><p class="muted">{esc(text)}</p></section>'
    columns = list(profile.get("columns") or [])
    seen = {c.get("name") for c in columns}
    dropped = [c["name"] for c in (contract or {}).get("columns") or []
               if isinstance(c, Mapping) and c.get("pii") == "drop" and c.get("name") not in seen]
    rows = [_profile_row(c) for c in columns]
    rows += [[f"<b>{esc(name)}</b>", DASH, "dropped (PII)", "", "", "", "", "", ""] for name in dropped]
    headers = ["column", "type", "non-null", "nulls", "distinct", "min", "max", "mean (std)", "distribution"]
    total, read = profile.get("rows"), profile.get("profiled_rows")
    source = {"curated": "the curated data (after PII handling)", "raw": "the uploaded file"}.get(
        str(profile.get("source")), str(profile.get("source") or "the data"))
    scope = (f"the first {fmt(read)} of {fmt(total)} rows" if read is not None and total is not None
             and int(read) < int(total) else f"all {fmt(total)} rows")
    return (f'<section id="profile"><h2>Column profile</h2><p class="small muted">Profiled from {esc(scope)} '
            f"of {esc(source)}.</p>{table(headers, rows, cls='profile', numeric=[2, 3, 4])}</section>")


def _profile_row(c: Mapping[str, Any]) -> list[str]:
    count, nulls = int(c.get("count") or 0), int(c.get("nulls") or 0)
    total = count + nulls
    kind_type = esc(c.get("type") or c.get("kind") or "")
    if c.get("pii"):
        kind_type += f' <span class="muted small">(PII: {esc(c["pii"])})</span>'
    mean = "" if c.get("mean") is None else f"{fmt(c.get('mean'))} ({fmt(c.get('std'))})"
    return [f'<b>{esc(c.get("name"))}</b>', kind_type, esc(fmt(count)),
            f"{esc(fmt(nulls))} <span class=\"muted small\">({esc(percent(nulls / total if total else 0.0))})"
            "</span>", esc(fmt(c.get("distinct"))), esc(_bound(c.get("min"))), esc(_bound(c.get("max"))),
            esc(mean), _distribution(c)]


def _bound(value: object) -> str:
    return "" if value is None else fmt(value)


def _distribution(c: Mapping[str, Any]) -> str:
    if c.get("withheld"):
        return f'<span class="muted small">{esc(c["withheld"])}</span>'
    name = str(c.get("name"))
    if c.get("unique") and not c.get("histogram"):
        return '<span class="muted small">every value distinct</span>'
    if c.get("top"):
        top = list(c["top"])
        labels = [safe_value(t.get("value"), pii=False) for t in top]
        counts = [int(t.get("count") or 0) for t in top]
        bars = histogram(labels, counts, cls="histogram top-values", title=f"most frequent values of {name}",
                         colour="#5d6d7e")
        listed = ", ".join(f"{esc(v)} ({fmt(n)})" for v, n in zip(labels[:5], counts[:5], strict=True))
        return f'{bars}<span class="small">{listed}</span>'
    hist = c.get("histogram") or {}
    edges, counts = list(hist.get("edges") or []), list(hist.get("counts") or [])
    if counts and len(edges) == len(counts) + 1:
        labels = [f"{fmt(edges[i])} to {fmt(edges[i + 1])}" for i in range(len(counts))]
        return histogram(labels, [int(n) for n in counts], title=f"distribution of {name}")
    return ""


# ---- lineage -----------------------------------------------------------------------------------


def _lineage(record: Mapping[str, Any], report: Mapping[str, Any]) -> str:
    raw = record.get("raw") or report.get("input") or {}
    steps = [
        ("raw object", f"s3://{raw.get('bucket')}/{raw.get('key')}" if raw.get("key") else None,
         [("version id", raw.get("version_id")), ("ETag", raw.get("etag")), ("SHA-256", raw.get("sha256")),
          ("bytes", fmt(raw.get("size")) if raw.get("size") is not None else None)]),
        ("contract", f"version {record.get('contract_version')}" if record.get("contract_version") else None,
         []),
        ("dataset version", f"{record.get('dataset')} v{record.get('version')}",
         [("validated", record.get("created_at"))]),
        ("curated data", record.get("curated_path"), [("Glue table", record.get("glue_table"))]),
        ("quarantine", record.get("quarantine_path"), []),
        ("JSON report", record.get("report_key"), []),
    ]
    items = []
    for name, value, extra in steps:
        if not value:
            continue
        details = "".join(f'<br><span class="muted small">{esc(k)}: <code>{esc(v)}</code></span>'
                          for k, v in extra if v)
        items.append(f'<li><b>{esc(name)}</b> <code>{esc(value)}</code>{details}</li>')
    upstream = _upstream(record.get("lineage") or report.get("lineage") or {})
    return (f'<section id="lineage"><h2>Lineage</h2><ol class="lineage">{"".join(items)}</ol>{upstream}'
            "</section>")


def _upstream(lineage: Mapping[str, Any]) -> str:
    """Where rows came from beyond the raw object (feedback versions: labels and captured requests)."""
    if not lineage:
        return ""
    rows = [[esc(k), f"<code>{esc(_flat(v))}</code>"] for k, v in lineage.items()]
    return f'<h3>Upstream</h3>{table(["source", "value"], rows, cls="upstream")}'


def _flat(value: object) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_flat(v)}" for k, v in value.items())
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "; ".join(_flat(v) for v in value)
    return scrub(str(value))
