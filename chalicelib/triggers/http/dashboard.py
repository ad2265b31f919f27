"""``GET /``: the read-only dashboard page (public like ``/health``; it shows no data values)."""

from __future__ import annotations

from chalice import Blueprint, Response

bp = Blueprint(__name__)


@bp.route("/", methods=["GET"])
def dashboard() -> Response:
    from chalicelib.core.dashboard import render
    from chalicelib.services.dashboard import gather

    return Response(body=render(gather()), status_code=200,
                    headers={"Content-Type": "text/html; charset=utf-8",
                             "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                                        "img-src data:; base-uri 'none'; form-action 'none'",
                             "Cache-Control": "no-store"})
