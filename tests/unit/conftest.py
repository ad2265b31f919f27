"""The unit tier: pure logic in this process, so that ``pytest tests/unit`` answers in seconds.

Enforced, not hoped for: a unit test fails when it creates an AWS client (moto's or a real one),
connects a network socket, or starts a program (a Python, a linter, sluice, a shell). Such a test
belongs in tests/functional or tests/e2e. Only the hardware and library probes that numerical
libraries run on their own (joblib's ``lscpu``, ctypes' ``ldconfig``) may start. The moto fixtures
(``moto_world``, ``client``) are not even visible here: they live in tests/functional/conftest.py.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Programs that numerical libraries start by themselves to size their thread pools or find a library.
LIBRARY_PROBES = frozenset({"lscpu", "ldconfig", "gcc", "cc", "ld"})
NETWORK_FAMILIES = (socket.AF_INET, socket.AF_INET6)


class _Watch:
    """What a running unit test did that the tier forbids (threads included)."""

    def __init__(self) -> None:
        self.active = False
        self.violations: list[str] = []

    def forbid(self, what: str) -> None:
        self.violations.append(what)
        raise UnitTierViolation(f"a unit test {what}: move it to tests/functional or tests/e2e")


class UnitTierViolation(RuntimeError):
    pass


WATCH = _Watch()


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not WATCH.active:
        return
    if event == "socket.connect" and getattr(args[0], "family", None) in NETWORK_FAMILIES:
        WATCH.forbid(f"connected to {args[1]!r}")
    elif event in ("subprocess.Popen", "os.posix_spawn", "os.exec", "os.system"):
        program = _program(event, args)
        if Path(program).name not in LIBRARY_PROBES:
            WATCH.forbid(f"started the program {program!r}")


def _program(event: str, args: tuple[Any, ...]) -> str:
    if event == "os.system":
        return str(args[0]).split()[0] if str(args[0]).split() else ""
    executable, argv = args[0], args[1]
    if executable:
        return str(executable)
    if isinstance(argv, (str, bytes)):
        return str(argv).split()[0]
    return str(next(iter(argv), ""))


sys.addaudithook(_audit)  # audit hooks cannot be removed: this one acts only while WATCH.active


@pytest.fixture(autouse=True)
def unit_tier_rules(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import botocore.session

    def no_client(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        WATCH.forbid(f"created a {service_name} client")

    monkeypatch.setattr(botocore.session.Session, "create_client", no_client)
    WATCH.active, WATCH.violations = True, []
    try:
        yield
    finally:
        WATCH.active = False
    if WATCH.violations:  # also when the code under test caught the exception
        pytest.fail("; ".join(WATCH.violations), pytrace=False)
