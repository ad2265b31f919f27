"""Shared helpers for the continuous-delivery tests: the workflows as data, and the linters' binaries.

The linters are required, not optional: a machine without them fails these tests (it must not
pass quietly). They are installed into the virtual environment from requirements-dev.txt.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS_DIR = REPO_ROOT / ".github" / "workflows"
SCRIPTS_DIR = REPO_ROOT / ".github" / "scripts"
CICD_TEMPLATE = REPO_ROOT / "infra" / "cicd.yaml"

# The jobs that reach AWS, and the stage each one deploys.
DEPLOY_JOBS = {"deploy-dev": "dev", "deploy-prod": "prod"}


def workflow_files() -> list[Path]:
    return sorted([*WORKFLOWS_DIR.glob("*.yml"), *WORKFLOWS_DIR.glob("*.yaml")])


def load_workflow(path: Path) -> dict[str, Any]:
    """The workflow as data; YAML 1.1 reads the key ``on`` as ``True``, so it is renamed back."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in data:
        data["on"] = data.pop(True)
    return data


def all_steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(job id, step)`` for every step of every job."""
    return [(job_id, step) for job_id, job in workflow["jobs"].items() for step in job.get("steps", [])]


def require_tool(name: str) -> str:
    """Path of the executable ``name``: the virtual environment's own first, then PATH; else FAIL."""
    beside_python = Path(sys.executable).parent / name
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: it is required to lint the workflows offline "
                    f"(pinned in requirements-dev.txt; `make venv` installs it)", pytrace=False)
    return found


@pytest.fixture(scope="session")
def workflows() -> dict[str, dict[str, Any]]:
    """``{file name: workflow}`` for every workflow of the repository."""
    return {path.name: load_workflow(path) for path in workflow_files()}


@pytest.fixture(scope="session")
def deploy_workflow(workflows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return workflows["deploy.yml"]
