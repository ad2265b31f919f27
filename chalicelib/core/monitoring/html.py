"""A self-contained HTML drift report: inline CSS and SVG charts, no script, font or external resource.

One section per feature: its verdict in one line that names each number (the test statistic and its
p-value, the effect size against its threshold, PSI), and a bar chart of the reference's and the window's
share per bin (numeric) or per category. The summary table gives the test statistic and the effect size
their own columns, each value under its name. Everything interpolated is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import TYPE_CHECKING, Any

from chalicelib.core.drift.config import NUMERIC
from chalicelib.core.drift.result import (
    describe,
    effect_label,
    power_text,
    statistic_label,
    statistic_name_of,
)

if TYPE_CHECKING:
    from chalicelib.core.drift.profile import FeatureProfile, Profile

STATUS_COLOURS = {"drift": "#c0392b", "minor": "#d68910", "stable": "#1e8449",
                  "insufficient_data": "#7f8c8d"}
REF_COLOUR, CUR_COLOUR = "#5d6d7e", "#2e86c1"
MAX_BARS = 20

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem;color:#1c2833}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin:0 0 .4rem}
.feature{border:1px solid #d5d8dc;border-radius:6px;padding:1rem;margin:1rem 0}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:4px;color:#fff;font-size:.85rem}
table{border-collapse:collapse}td,th{padding:.2rem .6rem;text-align:left;border-bottom:1px solid #eaecee}
.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem;vertical-align:middle}
"""


def render_drift_report(summary: Mapping[str, Any], reference: Profile | None, current: Profile | None
                        ) -> str:
    """The HTML page for one drift check (``summary`` as stored; profiles as compared)."""
    rows = "".join(_summary_row(f) for f in summary.get("features", []))
    sections = "".join(_feature_section(f, reference, current) for f in summary.get("features", []))
    title = f"Drift report: {summary.get('model')} v{summary.get('version')}"
    status = summary.get("status", "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>
<body><h1>{escape(title)} {_badge(status)}</h1>
<p>Window {escape(str(summary.get('window_start')))} → {escape(str(summary.get('window_end')))};
{escape(str(summary.get('rows', 0)))} captured records against {escape(str(summary.get('reference_rows', 0)))}
reference rows. Drifted features: {escape(str(summary.get('drifted_features', 0)))} of
{escape(str(len(summary.get('features', []))))} (dataset drift at a share of
{escape(str(summary.get('drift_share_threshold', '')))}). Check {escape(str(summary.get('check_id')))},
{escape(str(summary.get('checked_at')))}.</p>
{_reference_paragraph(summary)}{_needed_paragraph(summary)}{_retrain_paragraph(summary)}
<table><tr><th>feature</th><th>status</th><th>method</th><th>statistic</th><th>p-value</th>
<th>effect size (threshold)</th><th>PSI</th></tr>
{rows}</table>
<p class="legend"><span style="background:{REF_COLOUR}"></span>reference
<span style="background:{CUR_COLOUR}"></span>current window</p>
{sections}</body></html>
"""


def _reference_paragraph(summary: Mapping[str, Any]) -> str:
    """What the reference covers: its rows, and how the prediction reference was made."""
    reference = summary.get("reference") or {}
    if not reference:
        return ""
    text = f"The reference profiles {reference.get('rows')} rows"
    if reference.get("covers"):
        text += f" ({reference['covers']})"
    prediction = reference.get("prediction") or {}
    if prediction.get("method") == "out_of_fold":
        text += (f"; its predictions are out-of-fold ({prediction.get('folds')} folds) for the "
                 f"{prediction.get('training_rows')} training rows and the final model's for the "
                 f"{prediction.get('holdout_rows')} holdout rows")
    elif prediction.get("method") == "in_sample":
        text += f"; its predictions are the final model's own (in-sample: {prediction.get('reason')})"
    return f'<p class="reference">{escape(text)}.</p>'


def _needed_paragraph(summary: Mapping[str, Any]) -> str:
    needed = summary.get("rows_needed") or {}
    return f'<p class="needed">{escape(str(needed["message"]))}.</p>' if needed.get("message") else ""


def _retrain_paragraph(summary: Mapping[str, Any]) -> str:
    decision = summary.get("retrain") or {}
    if not decision:
        return ""
    text = f"Retraining: {decision.get('status')}"
    if decision.get("run_id"):
        text += f", run {decision['run_id']}"
    if decision.get("reason"):
        text += f" ({decision['reason']})"
    if decision.get("upload"):
        text += f". {decision['upload']}"
    return f'<p class="retrain">{escape(text)}</p>'


def _badge(status: str) -> str:
    colour = STATUS_COLOURS.get(status, "#566573")
    return f'<span class="badge" style="background:{colour}">{escape(status or "unknown")}</span>'


def _summary_row(f: Mapping[str, Any]) -> str:
    cells = [escape(str(f.get("name"))), _badge(str(f.get("status", ""))), escape(str(f.get("method", "")))]
    scale = f.get("effect_scale")
    statistic = effect = ""
    if f.get("statistic") is not None:
        statistic = f"{statistic_label(statistic_name_of(f), scale)} {_fmt(f.get('statistic'))}"
    if f.get("effect") is not None:
        effect = f"{effect_label(f.get('effect_name'), scale)} {_fmt(f.get('effect'))}"
        if f.get("effect_threshold") is not None:
            effect += f" ({_fmt(f.get('effect_threshold'))})"
    cells += [escape(statistic), escape(_fmt(f.get("p_value"))), escape(effect), escape(_fmt(f.get("psi")))]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _feature_section(f: Mapping[str, Any], reference: Profile | None, current: Profile | None) -> str:
    name = str(f.get("name"))
    ref = reference.features.get(name) if reference is not None else None
    cur = current.features.get(name) if current is not None else None
    chart = _chart(ref, cur) if ref is not None else "<p>no reference profile</p>"
    verdict = f.get("description") or describe(f)
    power = power_text(f)
    power_html = f'<p class="power">{escape(power)}</p>' if power else ""
    return (f'<div class="feature"><h2>{escape(name)} {_badge(str(f.get("status", "")))}</h2>'
            f'<p class="verdict">{escape(verdict)}</p>{power_html}{chart}</div>')


def _shares(fp: FeatureProfile) -> tuple[list[str], list[float]]:
    if fp.kind == NUMERIC:
        labels = _bin_labels(fp.edges)
        counts = list(fp.bin_counts) or [0] * len(labels)
    else:
        top = sorted(fp.frequencies.items(), key=lambda kv: -kv[1])[:MAX_BARS]
        labels = [k for k, _ in top]
        counts = [v for _, v in top]
    total = sum(counts) or 1
    return labels, [c / total for c in counts]


def _chart(ref: FeatureProfile, cur: FeatureProfile | None) -> str:
    labels, ref_shares = _shares(ref)
    cur_shares = [0.0] * len(labels)
    if cur is not None:
        if ref.kind == NUMERIC:
            _, cur_shares = _shares(cur)
        else:
            total = sum(cur.frequencies.values()) or 1
            cur_shares = [cur.frequencies.get(label, 0) / total for label in labels]
    width, height, bar = max(320, 46 * len(labels)), 180, 18
    top = max([*ref_shares, *cur_shares, 0.01])
    parts = [f'<svg role="img" width="{width}" height="{height + 50}" '
             f'viewBox="0 0 {width} {height + 50}">']
    for i, label in enumerate(labels):
        x = 10 + i * 46
        for offset, share, colour in ((0, ref_shares[i], REF_COLOUR), (bar, cur_shares[i], CUR_COLOUR)):
            h = height * share / top
            parts.append(f'<rect x="{x + offset}" y="{height - h:.1f}" width="{bar}" height="{h:.1f}" '
                         f'fill="{colour}"><title>{escape(label)}: {share:.1%}</title></rect>')
        y = height + 14
        parts.append(f'<text x="{x}" y="{y}" font-size="9" transform="rotate(30 {x} {y})">'
                     f"{escape(label[:14])}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _bin_labels(edges: list[float]) -> list[str]:
    if not edges:
        return ["all"]
    bounds = ["-∞", *(_fmt(e) for e in edges), "∞"]
    return [f"{bounds[i]} to {bounds[i + 1]}" for i in range(len(bounds) - 1)]


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
