"""The generated deployment template, built once per session (cached by its inputs' hash)."""

from __future__ import annotations

import fcntl
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "scripts"))


@pytest.fixture(scope="session")
def sam_template() -> dict:
    """build/dev/sam.json as `make package` writes it (re-packaged only when an input changed)."""
    import package

    lock = ROOT / "build" / ".package.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as handle:  # pytest-xdist workers share build/dev
        fcntl.flock(handle, fcntl.LOCK_EX)
        path = package.package("dev")
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def resources(sam_template: dict) -> dict:
    return sam_template["Resources"]


@pytest.fixture(scope="session")
def chalice_app():
    import app

    return app.app


@pytest.fixture(scope="session")
def functions(resources: dict) -> dict:
    """logical id -> resource of every Lambda function in the template."""
    return {k: v for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}
