"""``GET /``: the read-only dashboard page (its access is app.py's: public, or IAM when a stage asks).

``?model=NAME&runs=RUN,RUN`` chooses the runs that model's run comparison shows (up to six).
"""

from __future__ import annotations

import re

from chalice import Blueprint, Response

from chalicelib.core.errors import BadRequestError
from chalicelib.triggers.http.http import query_param

bp = Blueprint(__name__)

RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_COMPARED = 6


@bp.route("/", methods=["GET"])
def dashboard() -> Response:
    """The dashboard: datasets, models, runs, checks and lineage as one self-contained HTML page."""
    from chalicelib.core.dashboard import render
    from chalicelib.core.reports.page import HTML_HEADERS
    from chalicelib.services.dashboard import gather

    model = query_param(bp.current_request, "model")
    runs = query_param(bp.current_request, "runs")
    compare = _compare(model, runs)
    return Response(body=render(gather(compare)), status_code=200, headers=dict(HTML_HEADERS))


def _compare(model: str | None, runs: str | None) -> tuple[str, list[str]] | None:
    if model is None and runs is None:
        return None
    from chalicelib.services.registry import check_name

    chosen = [r for r in (runs or "").split(",") if r]
    if model is None or not chosen or len(chosen) > MAX_COMPARED or not all(RUN_ID.match(r) for r in chosen):
        raise BadRequestError(f"compare runs with ?model=NAME&runs=RUN,RUN (1 to {MAX_COMPARED} run ids)",
                              code="invalid_comparison")
    return check_name(model), chosen
