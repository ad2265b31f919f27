"""What every tier shares: the tier markers, fake AWS credentials, and one botocore data loader.

The tiers are folders (tests/README.md): ``tests/unit`` (pure logic), ``tests/functional`` (moto and the
app in this process), ``tests/e2e`` (the running local stack, the CLI as a process, a browser). Each test
is marked with its tier from its folder, so ``-m unit`` selects the same tests as ``tests/unit``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib import storage as aws

REGION = "us-east-1"
TESTS = Path(__file__).resolve().parent
TIERS = {
    "unit": "pure logic in this process: no AWS client (moto or real), no network, no program started",
    "functional": "moto and the app in this process (chalice.test.Client, handlers), tools on the repository",
}


def pytest_configure(config: pytest.Config) -> None:
    for tier, meaning in TIERS.items():
        config.addinivalue_line("markers", f"{tier}: {meaning} (tests/{tier})")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.path.resolve().relative_to(TESTS).parts
        if len(parts) > 1 and parts[0] in (*TIERS, "e2e"):
            item.add_marker(parts[0])


@pytest.fixture(scope="session", autouse=True)
def botocore_reads_each_service_model_once() -> Iterator[None]:
    """Every botocore session of a test process shares one data loader.

    Tests make a fresh boto3 session per test (``storage.reset()``: no client outlives its test), and
    a fresh session re-reads and re-parses each service's JSON model: 40-70 ms per client, most of the
    functional tier's time (measured: 31.6 s of 67 s in six functional files). The models are read-only
    data; sharing them is what one long-lived Lambda container does. Clients, sessions, credentials and
    event handlers stay per session.
    """
    import botocore.session
    from botocore.loaders import Loader

    class SearchPaths(list):
        """boto3 appends its data folder to the loader of every session it makes: once is enough."""

        def append(self, path: str) -> None:
            if path not in self:
                super().append(path)

    loaders: dict[str | None, Loader] = {}

    def shared_loader(search_path_string: str | None = None) -> Loader:
        if search_path_string not in loaders:  # botocore.loaders.create_loader, with SearchPaths
            extra = [] if search_path_string is None else search_path_string.split(os.pathsep)
            loaders[search_path_string] = Loader(extra_search_paths=SearchPaths(
                os.path.expanduser(os.path.expandvars(path)) for path in extra))
        return loaders[search_path_string]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", shared_loader)
        yield


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and no endpoint: nothing can reach real AWS."""
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "AWS_REGION": REGION,
                       "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "SLUICE_FUNCTION_PREFIX"):
        monkeypatch.delenv(key, raising=False)
    aws.reset()
    yield
    aws.reset()
