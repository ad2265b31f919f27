"""A lineage graph in SVG: raw object → dataset version → run → model version → alias (pure).

Five columns of boxes joined left to right. Each node appears once however many paths share it (a dataset
version several runs read, a run behind one model version); node and edge elements carry ``data-kind``
and ``data-id`` for the browser tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.core.reports.svg import CHAR, FONT, Plot, esc, open_svg

COLUMNS = ("raw", "dataset", "run", "model", "alias")
TITLES = {"raw": "raw object", "dataset": "dataset version", "run": "training run", "model": "model version",
          "alias": "alias"}
FILLS = {"raw": "#eaf2f8", "dataset": "#e8f8f5", "run": "#fef9e7", "model": "#f4ecf7", "alias": "#fdedec"}
MAX_TEXT = 24
ROW, BOX_H, WIDTH = 34.0, 26.0, 960.0


@dataclass
class Graph:
    """Nodes per column (id → label, in first-seen order) and edges between node ids."""

    nodes: dict[str, dict[str, str]] = field(default_factory=lambda: {c: {} for c in COLUMNS})
    tooltips: dict[str, str] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)

    def node(self, kind: str, node_id: str, label: str, tooltip: str = "") -> str:
        key = f"{kind}:{node_id}"
        self.nodes[kind].setdefault(key, label)
        if tooltip:
            self.tooltips[key] = tooltip
        return key

    def edge(self, source: str, target: str) -> None:
        if (source, target) not in self.edges:
            self.edges.append((source, target))


def render(graph: Graph, *, cls: str = "lineage", label: str = "lineage") -> str:
    rows = max((len(n) for n in graph.nodes.values()), default=0)
    if not rows:
        return '<p class="muted">No lineage yet: no registered model version.</p>'
    plot = Plot(WIDTH, 2 * FONT + 10 + rows * ROW, 4, 4, 2 * FONT + 6, 4)
    column = (plot.x1 - plot.x0) / len(COLUMNS)
    box = column - 28
    where: dict[str, tuple[float, float]] = {}
    parts = [open_svg(cls, plot, label)]
    for c, kind in enumerate(COLUMNS):
        x = plot.x0 + c * column
        parts.append(f'<text class="column-title" x="{x + box / 2:.1f}" y="{FONT + 4}" text-anchor="middle" '
                     f'font-weight="600">{esc(TITLES[kind])}</text>')
        for r, (key, text) in enumerate(graph.nodes[kind].items()):
            y = plot.y1 + r * ROW
            where[key] = (x, y)
            parts.append(
                f'<g class="node" data-kind="{kind}" data-id="{esc(key.split(":", 1)[1])}">'
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{box:.1f}" height="{BOX_H}" rx="4" '
                f'fill="{FILLS[kind]}" stroke="#aab7b8"/>'
                f'<text x="{x + 6:.1f}" y="{y + BOX_H / 2 + FONT / 3:.1f}">'
                f"{esc(_fit(text, box))}</text><title>{esc(graph.tooltips.get(key) or text)}</title></g>")
    for source, target in graph.edges:
        if source not in where or target not in where:
            continue
        (sx, sy), (tx, ty) = where[source], where[target]
        x1, y1, x2, y2 = sx + box, sy + BOX_H / 2, tx, ty + BOX_H / 2
        middle = (x1 + x2) / 2
        parts.append(f'<path class="edge" data-from="{esc(source)}" data-to="{esc(target)}" '
                     f'd="M{x1:.1f},{y1:.1f} C{middle:.1f},{y1:.1f} {middle:.1f},{y2:.1f} {x2:.1f},{y2:.1f}" '
                     f'fill="none" stroke="#85929e" stroke-width="1.2"/>')
    parts.append("</svg>")
    return "".join(parts)


def _fit(text: str, width: float) -> str:
    room = max(6, min(MAX_TEXT, int((width - 12) / CHAR)))
    return text if len(text) <= room else text[:room - 1] + "…"
