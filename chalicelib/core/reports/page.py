"""The shell every report page shares: one inline stylesheet, status badges, tables, the CSP header."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from chalicelib.core.reports.svg import esc

# What the pages may load: nothing but their own inline styles (and data: images). No script at all.
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")
HTML_HEADERS = {"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": CSP,
                "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer"}

STATUS_COLOURS = {
    "drift": "#c0392b", "minor": "#d68910", "stable": "#1e8449", "insufficient_data": "#95a5a6",
    "passed": "#1e8449", "failed": "#c0392b", "quarantined": "#d68910", "not_evaluated": "#95a5a6",
    "ok": "#1e8449", "degraded": "#c0392b", "not_computable": "#95a5a6",
    "approved": "#1e8449", "rejected": "#c0392b", "candidate": "#2e86c1", "archived": "#7f8c8d",
    "succeeded": "#1e8449", "running": "#2e86c1", "queued": "#7f8c8d",
}
NEUTRAL = "#566573"

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#1c2833;
background:#f8f9f9;line-height:1.4}
header{background:#1b4f72;color:#fff;padding:1rem 2rem}header h1{margin:0;font-size:1.3rem}
header a{color:#d6eaf8}main{padding:1rem 2rem}
section,.card{background:#fff;border:1px solid #d5d8dc;border-radius:6px;padding:1rem;margin:1rem 0}
h2{font-size:1.15rem;margin:0 0 .5rem}h3{font-size:1rem;margin:1rem 0 .4rem}
table{border-collapse:collapse;width:100%}
td,th{padding:.3rem .6rem;text-align:left;border-bottom:1px solid #eaecee;font-size:.9rem;vertical-align:top}
th{background:#f4f6f7}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:.05rem .45rem;border-radius:4px;color:#fff;font-size:.8rem}
.muted{color:#7f8c8d}.small{font-size:.85rem}code{font-size:.85rem;word-break:break-all}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(11rem,1fr));gap:.6rem}
.stat{border:1px solid #eaecee;border-radius:6px;padding:.5rem .7rem}
.stat b{display:block;font-size:1.05rem;word-break:break-word}
svg.chart{display:block;width:100%;height:auto;margin:.3rem 0}
svg.histogram{max-width:20rem}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(24rem,1fr));gap:1rem}
figure{margin:0}nav{margin:.5rem 0}
.legend{margin:.2rem 0;font-size:.85rem}.legend .key{margin-right:1.2rem;white-space:nowrap}
.swatch{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle;border-radius:2px}
.differs{background:#fdebd0}ul.reasons{margin:.2rem 0;padding-left:1.2rem}
.examples{font-family:ui-monospace,monospace;font-size:.8rem}
"""


def badge(status: object) -> str:
    text = str(status or "none")
    return (f'<span class="badge status-{esc(text)}" style="background:'
            f'{STATUS_COLOURS.get(text, NEUTRAL)}">{esc(text.replace("_", " "))}</span>')


def colour_of(status: object) -> str:
    return STATUS_COLOURS.get(str(status or ""), NEUTRAL)


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, cls: str = "",
          numeric: Iterable[int] = ()) -> str:
    """A table of already-escaped cells; ``numeric`` column indexes are right-aligned."""
    right = set(numeric)
    head = "".join(f'<th{" class=num" if i in right else ""}>{esc(h)}</th>' for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f'<td{" class=num" if i in right else ""}>{c}</td>'
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f'<table class="{esc(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def link(url: str | None, text: str, cls: str = "") -> str:
    if not url:
        return ""
    extra = f' class="{esc(cls)}"' if cls else ""
    return f'<a href="{esc(url)}"{extra}>{esc(text)}</a>'


def stat(label: str, value: str) -> str:
    """A labelled number (``value`` already escaped)."""
    return f'<div class="stat"><span class="muted small">{esc(label)}</span><b>{value}</b></div>'


def page(title: str, body: str, *, subtitle: str = "") -> str:
    """A complete HTML document: inline CSS, no script, no external resource."""
    sub = f' <span class="muted">{esc(subtitle)}</span>' if subtitle else ""
    return ("<!DOCTYPE html>\n"
            f'<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="referrer" content="no-referrer">'
            f"<style>{CSS}</style></head>"
            f"<body><header><h1>{esc(title)}{sub}</h1></header><main>{body}</main></body></html>\n")
