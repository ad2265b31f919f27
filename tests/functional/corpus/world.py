"""A moto world and a Chalice test client outside pytest (for ``python -m tests.functional.corpus.table``).

The same set-up as ``tests/functional/conftest.py``'s ``moto_world`` and ``client`` fixtures: fake
credentials, the template's resources under fresh names, ``SLUICE_*`` pointing at them,
DynamoDB writes atomic.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

REGION = "us-east-1"


@contextmanager
def world() -> Iterator[tuple[Any, Any]]:
    """``(client, resources)`` inside a fresh moto world; the environment is restored afterwards."""
    import boto3
    from chalice.test import Client
    from moto import mock_aws

    from chalicelib import storage as aws
    from sluice.local.atomic import make_dynamodb_atomic
    from sluice.local.resources import LocalNames, create_resources

    saved = dict(os.environ)
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION})
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "SLUICE_FUNCTION_PREFIX"):
        os.environ.pop(key, None)
    undo = make_dynamodb_atomic()
    try:
        with mock_aws():
            names = LocalNames(prefix=f"sluice-corpus-{uuid.uuid4().hex[:8]}")
            resources = create_resources(boto3.session.Session(region_name=REGION), None, names)
            os.environ.update({"SLUICE_STAGE": "local", "SLUICE_BUCKET": resources.bucket,
                               "SLUICE_TABLE": resources.table, "SLUICE_TOPIC_ARN": resources.topic_arn,
                               "SLUICE_GLUE_DATABASE": resources.glue_database, "SLUICE_INVOKE_MODE": "queue",
                               "SLUICE_INVOKE_QUEUE_URL": resources.invoke_queue_url,
                               "SLUICE_PII_KEY": secrets.token_hex(32)})
            aws.reset()
            import app

            with Client(app.app, stage_name="local") as client:
                yield client, resources
    finally:
        undo()
        os.environ.clear()
        os.environ.update(saved)
        aws.reset()
