"""The dashboard page: inline CSS and SVG, no script, font or stylesheet from anywhere else (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any

from chalicelib import __version__
from chalicelib.core.registry.entities import AliasMoveDict, ModelVersionDict


@dataclass
class ModelView:
    """One model as the page shows it: versions, aliases, alias moves and drift checks."""

    name: str
    versions: list[ModelVersionDict]
    aliases: dict[str, int]
    moves: list[AliasMoveDict]
    checks: list[dict[str, Any]]  # stored check summaries (their fields depend on the check's kind)


@dataclass
class DashboardData:
    """Everything the page shows (gathered by :func:`chalicelib.services.dashboard.gather`)."""

    datasets: list[dict[str, Any]] = field(default_factory=list)
    models: list[ModelView] = field(default_factory=list)


COLOURS = {"drift": "#c0392b", "minor": "#d68910", "stable": "#1e8449", "insufficient_data": "#95a5a6",
           "passed": "#1e8449", "failed": "#c0392b", "quarantined": "#d68910", "ok": "#1e8449",
           "degraded": "#c0392b"}

CSS = "\n".join((
    "body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0}",
    "body{color:#1c2833;background:#f8f9f9}",
    "header{background:#1b4f72;color:#fff;padding:1rem 2rem}",
    "header h1{margin:0;font-size:1.3rem}",
    "main{padding:1rem 2rem}",
    "section{background:#fff;border:1px solid #d5d8dc;border-radius:6px;padding:1rem;margin:1rem 0}",
    "h2{font-size:1.1rem;margin-top:0}",
    "h3{font-size:1rem}",
    "table{border-collapse:collapse;width:100%}",
    "td,th{padding:.3rem .6rem;text-align:left;border-bottom:1px solid #eaecee;font-size:.9rem}",
    ".badge{display:inline-block;padding:.05rem .45rem;border-radius:4px;color:#fff;font-size:.8rem}",
    ".muted{color:#7f8c8d}",
    ".charts{display:flex;flex-wrap:wrap;gap:2rem}",
))


def render(data: DashboardData) -> str:
    body = _datasets(data.datasets) + "".join(_model(m) for m in data.models)
    if not data.datasets and not data.models:
        body = ("<section><p>Nothing yet. Put a contract, upload data to <code>raw/{dataset}/</code>, "
                "then train a model: this page fills in as you go.</p></section>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>sluice dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>
<body><header><h1>sluice <span class="muted">{escape(__version__)}</span></h1></header>
<main>{body}</main></body></html>
"""


def _badge(status: object) -> str:
    text = str(status or "none")
    return f'<span class="badge" style="background:{COLOURS.get(text, "#566573")}">{escape(text)}</span>'


def _link(url: str | None, text: str) -> str:
    return f'<a href="{escape(url, quote=True)}">{escape(text)}</a>' if url else ""


def _datasets(datasets: list[dict[str, Any]]) -> str:
    if not datasets:
        return ""
    rows = []
    for d in datasets:
        latest = d.get("latest") or {}
        failing = ", ".join(latest.get("failing_rules") or [])
        rows.append(
            f"<tr><td>{escape(str(d['dataset']))}</td><td>{escape(str(d.get('latest_version') or ''))}</td>"
            f"<td>{_badge(latest.get('status'))}</td><td>{escape(str(latest.get('rows', '')))}</td>"
            f"<td>{escape(failing[:120])}</td><td>{escape(str(latest.get('created_at', '')))}</td>"
            f"<td>{_link(latest.get('link'), 'report')}</td></tr>")
    return ('<section id="datasets"><h2>Datasets</h2><table><tr><th>dataset</th><th>latest version</th>'
            "<th>validation</th><th>rows</th><th>failing rules</th><th>at</th><th></th></tr>"
            + "".join(rows) + "</table></section>")


def _model(model: ModelView) -> str:
    aliases = ", ".join(f"{escape(a)} → v{v}" for a, v in sorted(model.aliases.items())) or "none"
    rows = []
    for v in model.versions:
        shown = list((v.get("metrics") or {}).items())[:4]
        metrics = ", ".join(f"{escape(str(k))} {_num(val)}" for k, val in shown)
        rows.append(f"<tr><td>v{v['version']}</td><td>{_badge(v.get('status'))}</td>"
                    f"<td>{escape(', '.join(v.get('aliases') or ()))}</td><td>{metrics}</td>"
                    f"<td>{escape(str(v.get('created_at', '')))}</td></tr>")
    moves = "".join(
        f"<tr><td>{escape(str(m.get('at')))}</td>"
        f"<td>{_ver(m.get('from_version'))} → {_ver(m.get('to_version'))}</td>"
        f"<td>{escape(_actor_kind(m.get('actor')))}</td></tr>"
        for m in reversed(model.moves))
    checks = "".join(
        f"<tr><td>{escape(str(c.get('checked_at')))}</td><td>{escape(str(c.get('kind')))}</td>"
        f"<td>{_badge(c.get('status'))}</td><td>v{escape(str(c.get('version')))}</td>"
        f"<td>{_link(c.get('link'), 'report')}</td></tr>" for c in reversed(model.checks))
    return f"""<section class="model" id="model-{escape(model.name, quote=True)}">
<h2>Model {escape(model.name)}</h2><p>Aliases: {aliases}</p>
<div class="charts">{_drift_chart(model)}</div>
<h3>Versions</h3><table><tr><th>version</th><th>status</th><th>aliases</th><th>metrics</th><th>registered</th>
</tr>{''.join(rows)}</table>
<h3>Production alias history</h3>
<table><tr><th>at</th><th>move</th><th>by</th></tr>{moves}</table>
<h3>Checks</h3><table><tr><th>at</th><th>kind</th><th>status</th><th>version</th><th></th></tr>{checks}</table>
</section>"""


def _drift_chart(model: ModelView) -> str:
    """Share of drifted features per drift check over time, coloured by the verdict."""
    drift = [c for c in model.checks if c.get("kind") == "drift"]
    if not drift:
        return '<p class="muted">No drift checks yet.</p>'
    width, height, gap = max(300, 22 * len(drift) + 40), 120, 22
    bars = []
    for i, check in enumerate(drift):
        share = float(check.get("drift_share") or 0.0)
        h = max(2.0, share * (height - 10))
        colour = COLOURS.get(str(check.get("status")), "#566573")
        bars.append(f'<rect class="bar" x="{30 + i * gap}" y="{height - h:.1f}" width="16" height="{h:.1f}" '
                    f'fill="{colour}"><title>{escape(str(check.get("checked_at")))}: '
                    f'{share:.0%} drifted ({escape(str(check.get("status")))})</title></rect>')
    axis = (f'<line x1="28" y1="{height}" x2="{width}" y2="{height}" stroke="#95a5a6"/>'
            f'<text x="0" y="12" font-size="10">100%</text><text x="8" y="{height}" font-size="10">0%</text>')
    return (f'<figure><svg class="drift-chart" role="img" width="{width}" height="{height + 4}" '
            f'viewBox="0 0 {width} {height + 4}">{axis}{"".join(bars)}</svg>'
            "<figcaption>Share of drifted features per check, oldest to newest</figcaption></figure>")


def _actor_kind(actor: object) -> str:
    """Who moved an alias, without naming them: the page is public (IAM identities stay in the audit API)."""
    text = str(actor or "")
    if text in ("gate", "system", "api", "anonymous"):
        return text
    return "a person" if text else "unknown"


def _ver(value: object) -> str:
    return "none" if value is None else f"v{value}"


def _num(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else escape(str(value))
