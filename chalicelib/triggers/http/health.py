"""Liveness: ``GET /health``."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib import __version__
from chalicelib.core.settings import get_settings

bp = Blueprint(__name__)


@bp.route("/health", methods=["GET"])
def health() -> dict:
    return {"status": "ok", "version": __version__, "stage": get_settings().stage}
