"""Shared fixtures: a fresh moto world per test, with the template's resources, and a Chalice client.

Fake credentials and a region are set before anything creates a client (clients made before
``mock_aws`` starts escape it); every test gets its own resource names (uuid) so tests stay
independent, also under pytest-xdist.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator

import pytest

from chalicelib import storage as aws
from sluice.local.atomic import make_dynamodb_atomic
from sluice.local.resources import LocalNames, LocalResources, create_resources

REGION = "us-east-1"


@pytest.fixture(scope="session", autouse=True)
def atomic_moto_dynamodb() -> Iterator[None]:
    """moto's DynamoDB writes made atomic, as DynamoDB's are (see sluice/local/atomic.py)."""
    undo = make_dynamodb_atomic()
    yield
    undo()


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
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


@pytest.fixture
def moto_world(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalResources]:
    """A fresh moto world holding infra/resources.yaml's resources; SLUICE_* point at them."""
    from moto import mock_aws

    with mock_aws():
        import boto3

        names = LocalNames(prefix=f"sluice-test-{uuid.uuid4().hex[:8]}")
        resources = create_resources(boto3.session.Session(region_name=REGION), None, names)
        for key, value in {"SLUICE_STAGE": "local", "SLUICE_BUCKET": resources.bucket,
                           "SLUICE_TABLE": resources.table, "SLUICE_TOPIC_ARN": resources.topic_arn,
                           "SLUICE_GLUE_DATABASE": resources.glue_database,
                           "SLUICE_INVOKE_MODE": "queue",
                           "SLUICE_INVOKE_QUEUE_URL": resources.invoke_queue_url,
                           "SLUICE_PII_KEY": secrets.token_hex(32)}.items():
            monkeypatch.setenv(key, value)
        aws.reset()
        yield resources


@pytest.fixture
def chalice_app(moto_world: LocalResources):
    import app

    return app.app


@pytest.fixture
def client(chalice_app) -> Iterator:
    """``chalice.test.Client`` on the app, inside the moto world."""
    from chalice.test import Client

    with Client(chalice_app, stage_name="local") as test_client:
        yield test_client
