"""A self-contained HTML drift report: inline CSS and SVG charts, no script, font or external resource.

The summary table gives each feature's status, the test statistic and its p-value, the effect size
against its threshold, PSI and the reason for the status, each value under its name. One full-width
section per feature then shows its verdict in one line, the numbers again with the sample sizes and
missing shares, a bar chart of the reference's and the window's share per bin (numeric; bins labelled
``< a``, ``a to b``, ``≥ b``) or per category (the reference's and any new ones), with labelled axes and
values, and the feature's effect size and status over the last checks on a time axis (``history``: the
model's earlier drift check summaries, as stored). Everything interpolated is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from chalicelib.core.drift.config import NUMERIC
from chalicelib.core.drift.result import (
    describe,
    effect_label,
    power_text,
    statistic_label,
    statistic_name_of,
)
from chalicelib.core.reports.page import badge, colour_of, page
from chalicelib.core.reports.svg import (
    DASH,
    Point,
    Rule,
    Series,
    TimeChart,
    bar_chart,
    esc,
    legend,
    percent,
    time_chart,
)
from chalicelib.core.reports.ticks import parse_instant, tick_label

if TYPE_CHECKING:
    from chalicelib.core.drift.profile import FeatureProfile, Profile

STATUS_COLOURS = {"drift": "#c0392b", "minor": "#d68910", "stable": "#1e8449",
                  "insufficient_data": "#7f8c8d"}
REF_COLOUR, CUR_COLOUR = "#5d6d7e", "#2e86c1"
MAX_BARS = 20
MAX_HISTORY = 30


def render_drift_report(summary: Mapping[str, Any], reference: Profile | None, current: Profile | None,
                        history: Sequence[Mapping[str, Any]] = ()) -> str:
    """The HTML page for one drift check (``summary`` as stored; profiles as compared; ``history``: the
    model's earlier drift checks, any order; the last :data:`MAX_HISTORY` with this one are charted)."""
    features = list(summary.get("features", []))
    checks = _history(summary, history)
    rows = "".join(_summary_row(f) for f in features)
    sections = "".join(_feature_section(f, reference, current, checks) for f in features)
    title = f"Drift report: {summary.get('model')} v{summary.get('version')}"
    body = f"""<section id="summary"><h2>{badge(summary.get("status", ""))} Summary</h2>
<p>Window {esc(summary.get('window_start'))} → {esc(summary.get('window_end'))};
{esc(summary.get('rows', 0))} captured records against {esc(summary.get('reference_rows', 0))}
reference rows. Drifted features: {esc(summary.get('drifted_features', 0))} of
{esc(len(features))} (dataset drift at a share of
{esc(summary.get('drift_share_threshold', ''))}). Check {esc(summary.get('check_id'))},
{esc(summary.get('checked_at'))}.</p>
{_reference_paragraph(summary)}{_needed_paragraph(summary)}{_retrain_paragraph(summary)}
<table><tr><th>feature</th><th>status</th><th>method</th><th>statistic</th><th>p-value</th>
<th>effect size (threshold)</th><th>PSI</th><th>why</th></tr>
{rows}</table></section>
{legend([("reference", REF_COLOUR), ("current window", CUR_COLOUR)])}
{sections}"""
    return page(title, body)


def _history(summary: Mapping[str, Any], history: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """This check and the earlier drift checks, oldest first, the last :data:`MAX_HISTORY`."""
    seen = {summary.get("check_id")}
    checks = [c for c in history if c.get("kind", "drift") == "drift" and c.get("check_id") not in seen]
    checks = [c for c in checks if parse_instant(c.get("checked_at"))] + [summary]
    checks.sort(key=lambda c: str(parse_instant(c.get("checked_at")) or ""))
    return checks[-MAX_HISTORY:]


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
    return f'<p class="reference">{esc(text)}.</p>'


def _needed_paragraph(summary: Mapping[str, Any]) -> str:
    needed = summary.get("rows_needed") or {}
    return f'<p class="needed">{esc(needed["message"])}.</p>' if needed.get("message") else ""


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
    return f'<p class="retrain">{esc(text)}</p>'


def _statistic(f: Mapping[str, Any]) -> str:
    if f.get("statistic") is None:
        return ""
    return f"{statistic_label(statistic_name_of(f), f.get('effect_scale'))} {_fmt(f.get('statistic'))}"


def _effect(f: Mapping[str, Any]) -> str:
    if f.get("effect") is None:
        return ""
    text = f"{effect_label(f.get('effect_name'), f.get('effect_scale'))} {_fmt(f.get('effect'))}"
    if f.get("effect_threshold") is not None:
        text += f" ({_fmt(f.get('effect_threshold'))})"
    return text


def _summary_row(f: Mapping[str, Any]) -> str:
    cells = [esc(f.get("name")), badge(f.get("status", "")), esc(f.get("method", "")), esc(_statistic(f)),
             esc(_fmt(f.get("p_value"))), esc(_effect(f)), esc(_psi(f)), esc(f.get("reason") or "")]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _psi(f: Mapping[str, Any]) -> str:
    text = _fmt(f.get("psi"))
    return f"{text} ({f['psi_level']})" if text and f.get("psi_level") else text


def _feature_section(f: Mapping[str, Any], reference: Profile | None, current: Profile | None,
                     checks: list[Mapping[str, Any]]) -> str:
    name = str(f.get("name"))
    ref = reference.features.get(name) if reference is not None else None
    cur = current.features.get(name) if current is not None else None
    chart = _chart(name, ref, cur) if ref is not None else "<p>no reference profile</p>"
    verdict = f.get("description") or describe(f)
    power = power_text(f)
    power_html = f'<p class="power small muted">{esc(power)}</p>' if power else ""
    return (f'<section class="feature" id="feature-{esc(name)}">'
            f'<h2>{esc(name)} {badge(f.get("status", ""))}</h2>'
            f'<p class="verdict">{esc(verdict)}</p><p class="why"><b>Why {esc(_status_word(f))}:</b> '
            f'{esc(f.get("reason") or "")}</p>{_numbers(f)}{power_html}{chart}'
            f'<h3>{esc(name)} over the last {len(checks)} check(s)</h3>{_trend(name, checks)}</section>')


def _status_word(f: Mapping[str, Any]) -> str:
    return str(f.get("status") or "unknown").replace("_", " ")


def _numbers(f: Mapping[str, Any]) -> str:
    cells = [("test statistic", _statistic(f) or DASH), ("p-value", _fmt(f.get("p_value")) or DASH),
             ("effect size (threshold)", _effect(f) or DASH), ("PSI", _psi(f) or DASH),
             ("values (reference / current)", f"{_fmt(f.get('n_reference'))} / {_fmt(f.get('n_current'))}"),
             ("missing share (reference → current)",
              f"{percent(f.get('missing_share_reference'))} → {percent(f.get('missing_share_current'))}")]
    return '<div class="grid">' + "".join(
        f'<div class="stat"><span class="muted small">{esc(k)}</span><b>{esc(v)}</b></div>' for k, v in cells
    ) + "</div>"


def _shares(fp: FeatureProfile) -> tuple[list[str], list[float]]:
    if fp.kind == NUMERIC:
        labels = bin_labels(fp.edges)
        counts = list(fp.bin_counts) or [0] * len(labels)
    else:
        top = sorted(fp.frequencies.items(), key=lambda kv: -kv[1])[:MAX_BARS]
        labels = [k for k, _ in top]
        counts = [v for _, v in top]
    total = sum(counts) or 1
    return labels, [c / total for c in counts]


def _chart(name: str, ref: FeatureProfile, cur: FeatureProfile | None) -> str:
    labels, ref_shares = _shares(ref)
    cur_shares = [0.0] * len(labels)
    if cur is not None and ref.kind == NUMERIC:
        _, cur_shares = _shares(cur)
    elif cur is not None:
        total = sum(cur.frequencies.values()) or 1
        new = [k for k, _ in sorted(cur.frequencies.items(), key=lambda kv: -kv[1]) if k not in labels]
        labels = labels + new[:max(0, MAX_BARS - len(labels))]
        ref_total = sum(ref.frequencies.values()) or 1
        ref_shares = [ref.frequencies.get(label, 0) / ref_total for label in labels]
        cur_shares = [cur.frequencies.get(label, 0) / total for label in labels]
    axis = f"{name}: value bin" if ref.kind == NUMERIC else f"{name}: category"
    return bar_chart(labels, [Series("reference", ref_shares, REF_COLOUR),
                              Series("current window", cur_shares, CUR_COLOUR)],
                     y_title="share of values", x_axis_title=axis, cls="bars distribution",
                     y_label=_percent_label, label=f"{name}: reference and current share per bin")


def _percent_label(value: float) -> str:
    text = f"{value * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _trend(name: str, checks: list[Mapping[str, Any]]) -> str:
    """The feature's effect size per check on a time axis, each point coloured by its status."""
    points, threshold = [], None
    for check in checks:
        verdict = next((f for f in check.get("features") or [] if f.get("name") == name), None)
        at = parse_instant(check.get("checked_at"))
        if verdict is None or at is None:
            continue
        effect = verdict.get("effect")
        threshold = verdict.get("effect_threshold", threshold)
        status = str(verdict.get("status") or "")
        points.append(Point(at, float(effect) if effect is not None else None, colour_of(status),
                            f"{check.get('checked_at')}: {status.replace('_', ' ')}; "
                            f"{_effect(verdict) or 'no effect size'}; p={_fmt(verdict.get('p_value'))}",
                            series=name))
    rules = [] if threshold is None else [Rule(float(threshold), f"threshold {_fmt(threshold)}", "#c0392b")]
    values = [p.value for p in points if p.value is not None] + [r.value for r in rules]
    return time_chart(TimeChart(points, y_title="effect size", rules=rules, cls="trend spark-trend",
                                height=170, label=f"{name}: effect size over the last checks",
                                y_range=(0.0, max(values, default=1.0)), series_colours={name: "#aab7b8"}))


def bin_labels(edges: Sequence[float]) -> list[str]:
    """Readable bins from the inner edges: ``< a``, ``a to b``, ..., ``≥ z`` (``all`` without edges)."""
    if not edges:
        return ["all"]
    ticks = list(edges)
    text = [_edge(e, ticks) for e in ticks]
    middle = [f"{text[i]} to {text[i + 1]}" for i in range(len(text) - 1)]
    return [f"< {text[0]}", *middle, f"≥ {text[-1]}"]


def _edge(value: float, edges: list[float]) -> str:
    text = f"{value:.4g}"
    return text if "e" not in text else tick_label(value, edges)


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
