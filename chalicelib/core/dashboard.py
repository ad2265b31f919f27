"""The dashboard page: inline CSS and SVG, no script, font or stylesheet from anywhere else (pure).

Per dataset: its versions' validation status over time and the versions with their reports. Per model:
each metric across versions, the versions with the gate's reasons for every decision, live performance
and drift on a real time axis, the training runs and a side-by-side comparison of chosen runs, the
lineage from raw object to alias, the production alias's history and the checks with their reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib import __version__
from chalicelib.core.registry.entities import AliasMoveDict, ModelVersionDict
from chalicelib.core.reports import lineage as lineage_svg
from chalicelib.core.reports.page import badge, colour_of, link, page, table
from chalicelib.core.reports.runs import comparison
from chalicelib.core.reports.svg import (
    DASH,
    Mark,
    Point,
    Rule,
    TimeChart,
    esc,
    fmt,
    index_chart,
    legend,
    percent,
    time_chart,
)
from chalicelib.core.reports.ticks import parse_instant
from chalicelib.core.validation.pii import scrub

MAX_METRIC_CHARTS = 4
MAX_LINEAGE_VERSIONS = 6
MAX_LINEAGE_INPUTS = 6
DEFAULT_PRIMARY = {"classification": "accuracy", "regression": "rmse"}


@dataclass
class DatasetView:
    """One dataset: its summary (``list_datasets``) and its latest versions, newest first."""

    name: str
    summary: dict[str, Any]
    versions: list[dict[str, Any]]  # DatasetVersionDict with "link": its HTML report


@dataclass
class ModelView:
    """One model as the page shows it."""

    name: str
    versions: list[ModelVersionDict]  # newest first
    aliases: dict[str, int]
    moves: list[AliasMoveDict]  # oldest first
    checks: list[dict[str, Any]]  # stored check summaries, oldest first (fields depend on the kind)
    runs: list[dict[str, Any]] = field(default_factory=list)  # newest first
    specs: dict[int, dict[str, Any]] = field(default_factory=dict)  # spec version → spec JSON
    compare: list[str] = field(default_factory=list)  # run ids chosen for the comparison
    inputs: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)  # dataset versions read


@dataclass
class DashboardData:
    """Everything the page shows (gathered by :func:`chalicelib.services.dashboard.gather`)."""

    datasets: list[DatasetView] = field(default_factory=list)
    models: list[ModelView] = field(default_factory=list)


def render(data: DashboardData) -> str:
    body = "".join(_dataset(d) for d in data.datasets) + "".join(_model(m) for m in data.models)
    if not data.datasets and not data.models:
        body = ("<section><p>Nothing yet. Put a contract, upload data to <code>raw/{dataset}/</code>, "
                "then train a model: this page fills in as you go.</p></section>")
    nav = " · ".join([*(link(f"#dataset-{d.name}", f"dataset {d.name}") for d in data.datasets),
                      *(link(f"#model-{m.name}", f"model {m.name}") for m in data.models)])
    return page("sluice dashboard", (f'<nav class="small">{nav}</nav>' if nav else "") + body,
                subtitle=__version__)


# ---- datasets ----------------------------------------------------------------------------------


def _dataset(d: DatasetView) -> str:
    statuses = legend([(s, colour_of(s)) for s in ("passed", "quarantined", "failed")])
    headers = ["version", "validation", "file", "rows", "invalid", "failing rules", "at", ""]
    return (f'<section class="dataset" id="dataset-{esc(d.name)}"><h2>Dataset {esc(d.name)}</h2>'
            f"<h3>Validation over time</h3>{statuses}{_validation_chart(d)}<h3>Versions</h3>"
            f'{table(headers, [_version_row(v) for v in d.versions], cls="dataset-versions", numeric=[3, 4])}'
            "</section>")


def _validation_chart(d: DatasetView) -> str:
    """Each version at its time: the share of invalid rows (a file rejected whole: 100 %), its status."""
    points = []
    for v in d.versions:
        at = parse_instant(v.get("created_at"))
        if at is None:
            continue
        rows = int(v.get("rows") or 0)
        rejected = v.get("status") != "passed"
        share = int(v.get("invalid_rows") or 0) / rows if rows and not rejected else float(rejected)
        points.append(Point(at, share, colour_of(v.get("status")),
                            f"v{v.get('version')} {v.get('created_at')}: {v.get('status')}, {rows:,} rows, "
                            f"{percent(share, 2)} invalid", series="invalid share"))
    if not points:
        return ""
    top = max([0.01, *(p.value or 0.0 for p in points)])
    return time_chart(TimeChart(points, y_title="invalid rows", y_range=(0.0, top), y_label=_percent_label,
                                cls="validation-chart",
                                label=f"{d.name}: validation status and invalid share per version over time"))


def _version_row(v: dict[str, Any]) -> list[str]:
    return [f"v{esc(v.get('version'))}", badge(v.get("status")), esc(_file_name(v)), esc(fmt(v.get("rows"))),
            esc(fmt(v.get("invalid_rows"))), esc(", ".join(v.get("failing_rules") or []) or DASH),
            esc(v.get("created_at") or ""), link(v.get("link"), "report", "report-link")]


def _file_name(version: dict[str, Any]) -> str:
    """The name a person uploaded, from ``raw/{dataset}/{timestamp}-{uuid}-{name}`` (PII scrubbed)."""
    base = str((version.get("raw") or {}).get("key") or "").rsplit("/", 1)[-1]
    parts = base.split("-", 2)
    return scrub(parts[2] if len(parts) == 3 and parts[0][:8].isdigit() else base)


def _percent_label(value: float) -> str:
    return f"{value * 100:.2f}".rstrip("0").rstrip(".") + "%"


# ---- models ------------------------------------------------------------------------------------


def _model(m: ModelView) -> str:
    aliases = ", ".join(f"{esc(a)} → v{v}" for a, v in sorted(m.aliases.items())) or "none"
    return f"""<section class="model" id="model-{esc(m.name)}">
<h2>Model {esc(m.name)}</h2><p>Aliases: {aliases}</p>
<h3>Metrics across versions</h3>{_metric_charts(m)}
<h3>Versions and the gate's decisions</h3>{_versions(m)}
<h3>Live performance over time</h3>{_performance_chart(m)}
<h3>Drift over time</h3>{_drift_chart(m)}
<h3>Training runs</h3>{_runs(m)}
<h3 id="compare-{esc(m.name)}">Run comparison</h3>{_comparison(m)}
<h3>Lineage</h3>{lineage_svg.render(lineage_graph(m), label=f"{m.name}: lineage")}
<h3>Production alias history</h3>{_moves(m)}
<h3>Checks</h3>{_checks(m)}
</section>"""


def primary_metric(m: ModelView) -> str | None:
    for run in m.runs:
        spec = m.specs.get(int(run.get("spec_version") or 0)) or {}
        if spec:
            return (spec.get("metrics") or {}).get("primary") or DEFAULT_PRIMARY.get(str(spec.get("task")))
    return None


def _metric_names(m: ModelView) -> list[str]:
    names = list(dict.fromkeys(k for v in m.versions for k in (v.get("metrics") or {})))
    primary = primary_metric(m)
    if primary in names:
        names.remove(primary)
        names.insert(0, primary)
    return names[:MAX_METRIC_CHARTS]


def _metric_charts(m: ModelView) -> str:
    versions = sorted(m.versions, key=lambda v: v["version"])
    production = m.aliases.get("production")
    charts = []
    for name in _metric_names(m):
        marks = []
        for v in versions:
            value = (v.get("metrics") or {}).get(name)
            marks.append(Mark(f"v{v['version']}", float(value) if isinstance(value, int | float) else None,
                              colour_of(v.get("status")), f"v{v['version']} ({v.get('status')}): {name} "
                              f"{fmt(value)}", ring=v["version"] == production))
        charts.append(f'<figure class="metric" data-metric="{esc(name)}">'
                      + index_chart(marks, y_title=name, x_axis_title="model version", cls="metric-chart",
                                    label=f"{m.name}: {name} per version")
                      + f"<figcaption class=\"small muted\">{esc(name)} on each version's holdout"
                      f"{' (primary)' if name == primary_metric(m) else ''}; ringed: production</figcaption>"
                      "</figure>")
    if not charts:
        return '<p class="muted">No metrics yet.</p>'
    statuses = legend([(s, colour_of(s)) for s in ("approved", "rejected", "candidate")])
    return f'{statuses}<div class="charts">{"".join(charts)}</div>'


def _versions(m: ModelView) -> str:
    rows = []
    shown = _metric_names(m)
    for v in m.versions:
        metrics = ", ".join(f"{esc(k)} {esc(fmt((v.get('metrics') or {}).get(k)))}" for k in shown
                            if k in (v.get("metrics") or {}))
        rows.append([f"v{v['version']}", badge(v.get("status")), esc(", ".join(v.get("aliases") or ())),
                     metrics, esc(v.get("run_id") or ""), _decision(v.get("decision")),
                     esc(v.get("created_at") or "")])
    headers = ["version", "status", "aliases", "metrics", "run", "gate decision and reasons", "registered"]
    return table(headers, rows, cls="model-versions")


def _decision(decision: Any) -> str:
    if not isinstance(decision, dict) or not decision:
        return f'<span class="muted">{DASH}</span>'
    verdict = "promote" if decision.get("promote") else "do not promote"
    reasons = "".join(f"<li>{esc(r)}</li>" for r in decision.get("reasons") or [])
    return f'<b>{esc(verdict)}</b><ul class="reasons">{reasons}</ul>'


def _performance_chart(m: ModelView) -> str:
    checks = _checks_of(m, "performance")
    if not checks:
        return ('<p class="muted">No performance checks yet (upload labels to '
                "<code>labels/{model}/</code>).</p>")
    metric = str(checks[-1].get("metric") or "metric")
    points = [Point(at, _float(c.get("live")), colour_of(c.get("status")),
                    f"{c.get('checked_at')}: live {metric} {fmt(c.get('live'))} vs holdout "
                    f"{fmt(c.get('holdout'))} on {c.get('rows')} labelled rows (v{c.get('version')}, "
                    f"{c.get('status')})", series=metric) for at, c in _timed(checks)]
    holdout = _float(checks[-1].get("holdout"))
    label = f"holdout {fmt(holdout)} (v{checks[-1].get('version')})"
    rules = [] if holdout is None else [Rule(holdout, label, "#5d6d7e")]
    return (legend([(s, colour_of(s)) for s in ("ok", "degraded", "insufficient_data")])
            + time_chart(TimeChart(points, y_title=f"live {metric}", rules=rules, cls="performance-chart",
                                   label=f"{m.name}: live {metric} per performance check over time")))


def _drift_chart(m: ModelView) -> str:
    """Share of drifted features per drift check at the check's time, coloured by the verdict."""
    checks = _checks_of(m, "drift")
    if not checks:
        return '<p class="muted">No drift checks yet.</p>'
    points = []
    for at, c in _timed(checks):
        share = float(c.get("drift_share") or 0.0)
        points.append(Point(at, share, colour_of(c.get("status")),
                            f"{c.get('checked_at')}: {percent(share, 0)} of features drifted "
                            f"({c.get('status')}, v{c.get('version')}, {c.get('rows')} rows)",
                            series="drift share"))
    threshold = _float(checks[-1].get("drift_share_threshold"))
    rules = [Rule(threshold, f"dataset drift at {percent(threshold, 0)}", "#c0392b")] if threshold else []
    return (legend([(s, colour_of(s)) for s in ("stable", "minor", "drift", "insufficient_data")])
            + time_chart(TimeChart(points, y_title="drifted features", rules=rules, y_range=(0.0, 1.0),
                                   y_label=_percent_label, cls="drift-chart",
                                   label=f"{m.name}: share of drifted features per check over time")))


def _checks_of(m: ModelView, kind: str) -> list[dict[str, Any]]:
    return [c for c in m.checks if c.get("kind") == kind and parse_instant(c.get("checked_at"))]


def _timed(checks: list[dict[str, Any]]) -> list[tuple[Any, dict[str, Any]]]:
    return [(parse_instant(c.get("checked_at")), c) for c in checks]


def _runs(m: ModelView) -> str:
    if not m.runs:
        return '<p class="muted">No training run yet.</p>'
    primary = primary_metric(m)
    rows = []
    for i, run in enumerate(m.runs):
        previous = m.runs[i + 1]["run_id"] if i + 1 < len(m.runs) else None
        compare = link(compare_url(m.name, [previous, run["run_id"]]), "compare with previous",
                       "compare-link") if previous else ""
        value = (run.get("metrics") or {}).get(primary) if primary else None
        promotion = run.get("promotion") or {}
        rows.append([esc(run.get("run_id")), badge(run.get("status")), esc(run.get("created_at") or ""),
                     esc(_cause(run.get("cause"))), esc(fmt(run.get("spec_version"))),
                     f"v{esc(run['version'])}" if run.get("version") is not None else DASH,
                     esc(fmt(value)), esc("promoted" if promotion.get("promoted") else
                                          promotion.get("status") or ""), compare])
    return table(["run", "status", "started", "trigger", "spec", "version", primary or "primary metric",
                  "gate", ""], rows, cls="runs")


def compare_url(model: str, run_ids: list[str]) -> str:
    return f"?model={model}&runs={','.join(run_ids)}#compare-{model}"


def _cause(cause: Any) -> str:
    if isinstance(cause, dict):
        return str(cause.get("trigger") or "automatic")
    return "manual" if not cause else str(cause)[:60]


def _comparison(m: ModelView) -> str:
    by_id = {r.get("run_id"): r for r in m.runs}
    chosen = [by_id[r] for r in m.compare if r in by_id] if m.compare else \
        [r for r in m.runs if r.get("status") == "succeeded"][:3]
    example = esc(compare_url(m.name, ["RUN", "RUN"]))
    hint = (f'<p class="small muted">Choose runs with <code>{example}</code> (up to 6 run ids); rows whose '
            "values differ are highlighted.</p>")
    return hint + comparison(chosen, m.specs, model=m.name)


def lineage_graph(m: ModelView) -> lineage_svg.Graph:
    """raw object → dataset version → run → model version → alias, for the latest versions."""
    graph = lineage_svg.Graph()
    aliases_of: dict[int, list[str]] = {}
    for alias, number in m.aliases.items():
        aliases_of.setdefault(number, []).append(alias)
    for v in sorted(m.versions, key=lambda v: v["version"])[-MAX_LINEAGE_VERSIONS:]:
        model = graph.node("model", str(v["version"]), f"v{v['version']} {v.get('status')}")
        run_id = str(v.get("run_id") or "")
        run = graph.node("run", run_id or f"v{v['version']}", run_id or "unknown run")
        graph.edge(run, model)
        for ref in (v.get("dataset_versions") or [])[-MAX_LINEAGE_INPUTS:]:
            dataset, number = str(ref.get("dataset")), int(str(ref.get("version") or 0))
            node = graph.node("dataset", f"{dataset}/{number}", f"{dataset} v{number}")
            graph.edge(node, run)
            record = m.inputs.get((dataset, number)) or {}
            raw = record.get("raw") or {}
            if raw.get("key"):
                raw_node = graph.node("raw", f"{raw['key']}#{raw.get('version_id') or ''}",
                                      _file_name(record), scrub(f"s3://{raw.get('bucket')}/{raw['key']}"))
                graph.edge(raw_node, node)
        for alias in sorted(aliases_of.get(v["version"], [])):
            graph.edge(model, graph.node("alias", alias, alias))
    return graph


def _moves(m: ModelView) -> str:
    rows = [[esc(mv.get("at")), f"{_ver(mv.get('from_version'))} → {_ver(mv.get('to_version'))}",
             esc(_actor_kind(mv.get("actor")))] for mv in reversed(m.moves)]
    return table(["at", "move", "by"], rows, cls="moves")


def _checks(m: ModelView) -> str:
    rows = [[esc(c.get("checked_at")), esc(c.get("kind")), badge(c.get("status")),
             f"v{esc(c.get('version'))}", link(c.get("link"), "report")] for c in reversed(m.checks)]
    return table(["at", "kind", "status", "version", ""], rows, cls="checks")


def _actor_kind(actor: object) -> str:
    """Who moved an alias, without naming them (IAM identities stay in the audit API)."""
    text = str(actor or "")
    if text in ("gate", "system", "api", "anonymous"):
        return text
    return "a person" if text else "unknown"


def _ver(value: object) -> str:
    return "none" if value is None else f"v{value}"


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
