"""The unit tier's rules hold: its conftest refuses what a unit test may not do, and no unit test
imports from a higher tier."""

from __future__ import annotations

import ast
import contextlib
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.conftest import WATCH, UnitTierViolation

UNIT = Path(__file__).resolve().parent


@pytest.fixture
def refusals():
    """The refusals the test provokes on purpose, taken so the tier's own check does not fail it."""
    yield WATCH.violations
    WATCH.violations.clear()


def test_an_aws_client_is_refused_moto_or_not(refusals):
    import boto3

    with pytest.raises(UnitTierViolation, match="created a s3 client"):
        boto3.client("s3", region_name="us-east-1")
    assert refusals == ["created a s3 client"]


def test_a_network_connection_is_refused(refusals):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, \
            pytest.raises(UnitTierViolation, match="connected to"):
        sock.connect(("127.0.0.1", 9))
    assert len(refusals) == 1


def test_starting_a_program_is_refused(refusals):
    with pytest.raises(UnitTierViolation, match="started the program"):
        subprocess.run([sys.executable, "-c", "pass"], check=False)
    assert len(refusals) == 1


def test_a_refusal_the_code_swallows_still_fails_the_test(refusals):
    import boto3

    with contextlib.suppress(Exception):  # as code under test might: the conftest still fails the test
        boto3.client("sqs", region_name="us-east-1")
    assert refusals == ["created a sqs client"]


def test_no_unit_test_imports_from_the_functional_or_e2e_tiers():
    found = []
    for path in sorted(UNIT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                       else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.relative_to(UNIT)}:{node.lineno} {m}" for m in modules
                      if m.startswith(("tests.functional", "tests.e2e"))]
    assert found == []
