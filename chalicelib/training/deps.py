"""The other features training builds on, reached lazily in one place (tests may substitute them)."""

from __future__ import annotations

from typing import Any


def registry() -> Any:
    """The model registry (``chalicelib.registry.get_registry()``)."""
    from chalicelib.registry import get_registry

    return get_registry()


def datasets() -> Any:
    """The dataset store module (``get_contract``, ``get_version``, ``latest_passing_version``)."""
    from chalicelib.datasets import store

    return store


def build_profile() -> Any:
    """The drift profile builder (``chalicelib.drift.profile.build_profile``)."""
    from chalicelib.drift.profile import build_profile as build

    return build


def read_curated(path: str) -> Any:
    """The curated Parquet of one dataset version as a DataFrame (fastparquet in the ML layer)."""
    from chalicelib.aws.parquet import read_s3_prefix

    return read_s3_prefix(path)
