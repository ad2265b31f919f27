"""A function a skops file may name but sluice does not trust: calling it leaves a trace."""

from __future__ import annotations

from typing import Any

CALLS: list[str] = []


def side_effect(value: Any) -> Any:
    CALLS.append("called")
    return value
