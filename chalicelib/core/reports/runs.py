"""Training runs side by side (pure): parameters, data, metrics and the gate's decision, one column per
run, the rows whose values differ between the runs highlighted (MLflow's "compare runs")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib.core.reports.page import badge
from chalicelib.core.reports.svg import DASH, esc, fmt

MAX_COMPARED = 6


def flatten(prefix: str, value: Any) -> dict[str, str]:
    """Nested settings as ``a.b.c`` → text (lists joined by ``, ``)."""
    if isinstance(value, Mapping):
        out: dict[str, str] = {}
        for key, inner in value.items():
            out.update(flatten(f"{prefix}.{key}" if prefix else str(key), inner))
        return out
    if isinstance(value, list | tuple):
        return {prefix: ", ".join(str(v) for v in value)}
    return {prefix: fmt(value)}


def parameters(run: Mapping[str, Any], spec: Mapping[str, Any] | None) -> dict[str, str]:
    """What the run was asked to do: its spec's estimator, features, split, preprocessing and data window."""
    spec = spec or {}
    out = {"spec version": fmt(run.get("spec_version"))}
    for part in ("estimator", "task", "target", "features", "split", "preprocessing", "seed"):
        if part in spec:
            out.update(flatten(part, spec[part]))
    data = run.get("data") or {}
    if data.get("window"):
        out["data.window"] = str(data["window"])
    dataset = run.get("dataset") or {}
    if dataset:
        out["data.newest version"] = f"{dataset.get('dataset')} v{dataset.get('version')}"
    return out


def outcomes(run: Mapping[str, Any]) -> dict[str, str]:
    """What the run produced: rows, metrics (and the baseline's), the registered version."""
    out = {"status": str(run.get("status") or ""), "trigger": _trigger(run.get("cause"))}
    out.update(flatten("rows", run.get("rows") or {}))
    out.update(flatten("metric", run.get("metrics") or {}))
    out.update(flatten("baseline", run.get("baseline") or {}))
    if run.get("version") is not None:
        out["model version"] = f"v{run['version']}"
    if run.get("error"):
        out["error"] = str((run.get("error") or {}).get("code") or "")
    return out


def _trigger(cause: Any) -> str:
    if isinstance(cause, Mapping):
        return str(cause.get("trigger") or "automatic")
    return "manual" if not cause else str(cause)[:40]


def comparison(runs: Sequence[Mapping[str, Any]], specs: Mapping[int, Mapping[str, Any]], *,
               model: str) -> str:
    """The table: a column per run, a row per parameter, outcome and the gate's decision."""
    runs = list(runs)[:MAX_COMPARED]
    if not runs:
        return '<p class="muted">No training run yet.</p>'
    columns = [parameters(r, specs.get(int(r.get("spec_version") or 0))) for r in runs]
    results = [outcomes(r) for r in runs]
    head = "".join(f'<th class="run">{esc(r.get("run_id"))}<br>{badge(r.get("status"))}</th>' for r in runs)
    body = _rows("parameters", columns) + _rows("outcome", results) + _gate_row(runs)
    return (f'<table class="compare" data-model="{esc(model)}"><thead><tr><th></th>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def _rows(section: str, columns: list[dict[str, str]]) -> str:
    names = list(dict.fromkeys(name for column in columns for name in column))
    rows = [f'<tr class="section"><th colspan="{len(columns) + 1}">{esc(section)}</th></tr>']
    for name in names:
        values = [column.get(name, DASH) for column in columns]
        differs = len(set(values)) > 1
        cls = ' class="differs"' if differs else ""
        rows.append(f'<tr{cls} data-row="{esc(name)}"><th>{esc(name)}</th>'
                    + "".join(f"<td>{esc(v)}</td>" for v in values) + "</tr>")
    return "".join(rows)


def _gate_row(runs: list[Mapping[str, Any]]) -> str:
    cells = []
    for run in runs:
        decision = run.get("decision") or {}
        if not decision:
            cells.append(f"<td>{DASH}</td>")
            continue
        verdict = "promote" if decision.get("promote") else "keep the champion"
        reasons = "".join(f"<li>{esc(r)}</li>" for r in decision.get("reasons") or [])
        cells.append(f'<td><b>{esc(verdict)}</b><ul class="reasons">{reasons}</ul></td>')
    return (f'<tr class="section"><th colspan="{len(runs) + 1}">gate</th></tr>'
            f'<tr data-row="gate"><th>decision and reasons</th>{"".join(cells)}</tr>')
