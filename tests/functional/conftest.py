"""The functional tier: moto in this process, the app through ``chalice.test.Client``, handlers called
as Lambda would call them.

The moto world is set up once per test process (once per pytest-xdist worker): one ``mock_aws``, the
resource template read once, and one boto3 session whose clients build every test's resources. Each
test still starts from an empty account: ``moto_world`` resets moto's backends when it starts and
when it ends, then creates infra/resources.yaml's resources under names no other test uses (a fresh
prediction service and fresh ``SLUICE_*`` settings follow from the names). Building them on warm
clients costs about 20 ms, where a fresh session per test cost 0.3-1.5 s (tests/README.md).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from chalicelib import storage as aws
from sluice.local.resources import LocalNames, LocalResources, create_resources
from tests.conftest import REGION


class WarmClients:
    """A boto3 session that hands out one client per service and endpoint, made on first use.

    ``create_resources`` asks its session for a client per service each time it runs; these are the
    same clients every time, so building a test's resources costs the API calls alone.
    """

    def __init__(self, session: Any) -> None:
        self._session = session
        self._clients: dict[tuple[str, str | None], Any] = {}

    def client(self, service: str, endpoint_url: str | None = None) -> Any:
        key = (service, endpoint_url)
        if key not in self._clients:
            self._clients[key] = self._session.client(service, endpoint_url=endpoint_url)
        return self._clients[key]


@dataclass(frozen=True)
class MotoSession:
    """What the tests of one process share: the mock, the template, warm clients for the set-up."""

    mock: Any
    clients: WarmClients
    template: dict[str, Any]


@pytest.fixture(scope="session", autouse=True)
def atomic_moto_dynamodb() -> Iterator[None]:
    """moto's DynamoDB writes made atomic, as DynamoDB's are (see sluice/local/atomic.py)."""
    from sluice.local.atomic import make_dynamodb_atomic

    undo = make_dynamodb_atomic()
    yield
    undo()


@pytest.fixture(scope="session")
def moto_session() -> MotoSession:
    import boto3
    from moto import mock_aws

    from sluice.local.template import load_template

    return MotoSession(mock_aws(), WarmClients(boto3.session.Session(region_name=REGION)), load_template())


@contextmanager
def fresh_world(moto: MotoSession, setenv: Callable[[str, str], None]) -> Iterator[LocalResources]:
    """An empty moto account holding infra/resources.yaml's resources under new names; ``setenv``
    points SLUICE_* at them. On leaving, the account is emptied again."""
    from chalicelib.services.serving import set_service

    moto.mock.start()  # resets every backend: nothing another test made is left
    try:
        names = LocalNames(prefix=f"sluice-test-{uuid.uuid4().hex[:8]}")
        resources = create_resources(moto.clients, None, names, moto.template)
        for key, value in {"SLUICE_STAGE": "local", "SLUICE_BUCKET": resources.bucket,
                           "SLUICE_TABLE": resources.table, "SLUICE_TOPIC_ARN": resources.topic_arn,
                           "SLUICE_GLUE_DATABASE": resources.glue_database,
                           "SLUICE_INVOKE_MODE": "queue",
                           "SLUICE_INVOKE_QUEUE_URL": resources.invoke_queue_url,
                           "SLUICE_PII_KEY": secrets.token_hex(32)}.items():
            setenv(key, value)
        aws.reset()
        yield resources
    finally:
        set_service(None)  # a prediction service a test installed must not answer in the next one
        moto.mock.stop()


@pytest.fixture
def moto_world(moto_session: MotoSession, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalResources]:
    """A fresh moto world (:func:`fresh_world`) for one test; the environment is restored after it."""
    with fresh_world(moto_session, monkeypatch.setenv) as resources:
        yield resources


@pytest.fixture
def chalice_app(moto_world: LocalResources) -> Any:
    import app

    return app.app


@pytest.fixture
def client(chalice_app: Any) -> Iterator[Any]:
    """``chalice.test.Client`` on the app, inside the moto world."""
    from chalice.test import Client

    with Client(chalice_app, stage_name="local") as test_client:
        yield test_client
