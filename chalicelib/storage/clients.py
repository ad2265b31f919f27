"""Lazily created, cached boto3 clients that honour ``AWS_ENDPOINT_URL`` (moto) and the region.

Nothing here runs at import time: a client created before ``moto.mock_aws()`` starts would escape
the mock, and every client costs cold-start time. Tests call :func:`reset` between moto worlds.
"""

from __future__ import annotations

import threading
from types import ModuleType
from typing import TYPE_CHECKING, Literal, overload

from chalicelib.core.settings import Settings, get_settings

if TYPE_CHECKING:
    # type stubs only (boto3-stubs, requirements-dev.txt): nothing of this is imported at run time
    import boto3
    from botocore.config import Config, _S3Dict
    from mypy_boto3_dynamodb import DynamoDBServiceResource
    from mypy_boto3_glue import GlueClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_ssm import SSMClient

# The services sluice calls; naming another one in client() is a type error (add an overload).
Service = Literal["glue", "lambda", "s3", "secretsmanager", "sns", "sqs", "ssm"]

_lock = threading.Lock()
_session: boto3.session.Session | None = None
_clients: dict[tuple[str, str, str | None], object] = {}
_resources: dict[tuple[str, str, str | None], DynamoDBServiceResource] = {}


def _get_session() -> boto3.session.Session:
    global _session
    if _session is None:
        import boto3

        _session = boto3.session.Session()
    return _session


@overload
def client(service: Literal["glue"], settings: Settings | None = None) -> GlueClient: ...
@overload
def client(service: Literal["lambda"], settings: Settings | None = None) -> LambdaClient: ...
@overload
def client(service: Literal["s3"], settings: Settings | None = None) -> S3Client: ...
@overload
def client(service: Literal["secretsmanager"], settings: Settings | None = None) -> SecretsManagerClient: ...
@overload
def client(service: Literal["sns"], settings: Settings | None = None) -> SNSClient: ...
@overload
def client(service: Literal["sqs"], settings: Settings | None = None) -> SQSClient: ...
@overload
def client(service: Literal["ssm"], settings: Settings | None = None) -> SSMClient: ...


def client(service: Service, settings: Settings | None = None) -> object:
    """A boto3 client for ``service``, created on first use and then reused (thread-safe)."""
    settings = settings or get_settings()
    key = (service, settings.region, settings.endpoint_url)
    with _lock:
        found = _clients.get(key)
        if found is None:
            found = _get_session().client(
                service, region_name=settings.region, endpoint_url=settings.endpoint_url,
                config=_config(service, settings.endpoint_url),
            )
            _clients[key] = found
        return found


def resource(service: Literal["dynamodb"], settings: Settings | None = None) -> DynamoDBServiceResource:
    """A boto3 resource (used for DynamoDB's typed Table API), cached like :func:`client`."""
    settings = settings or get_settings()
    key = (service, settings.region, settings.endpoint_url)
    with _lock:
        found = _resources.get(key)
        if found is None:
            found = _get_session().resource(
                service, region_name=settings.region, endpoint_url=settings.endpoint_url,
                config=_config(service, settings.endpoint_url),
            )
            _resources[key] = found
        return found


LAMBDA_READ_TIMEOUT_S = 905  # Lambda's longest run (900 s) and a margin


def _config(service: str, endpoint_url: str | None = None) -> Config:
    from botocore.config import Config

    # Path-style addressing lets presigned URLs and awswrangler reach a local moto server.
    # A synchronous invoke waits as long as the function may run (900 s): botocore's default 60 s read
    # timeout would give up early and, with retries, invoke the function again.
    return Config(retries={"max_attempts": 5, "mode": "standard"},
                  s3=_s3_config(endpoint_url) if service == "s3" else None,
                  signature_version="s3v4" if service == "s3" else None,
                  read_timeout=LAMBDA_READ_TIMEOUT_S if service == "lambda" else 60)


def _s3_config(endpoint_url: str | None) -> _S3Dict:
    """Over plain HTTP (the local stack's moto server) botocore signs every request body with SHA-256
    (~0.5 s of CPU per million uploaded rows): unsigned there, as over HTTPS. On AWS (HTTPS) nothing
    changes: PutObject bodies already go unsigned with a CRC32 trailer, small bodies (DeleteObjects) stay
    signed, as botocore decides."""
    config: _S3Dict = {"addressing_style": "path"}
    if endpoint_url and endpoint_url.lower().startswith("http://"):
        config["payload_signing_enabled"] = False
    return config


def wrangler(settings: Settings | None = None) -> ModuleType:
    """The awswrangler module, configured for the same endpoint and session as the clients."""
    settings = settings or get_settings()
    import awswrangler as wr

    for attr in ("s3_endpoint_url", "dynamodb_endpoint_url", "glue_endpoint_url",
                 "sts_endpoint_url", "athena_endpoint_url"):
        setattr(wr.config, attr, settings.endpoint_url)
    return wr


def boto3_session(settings: Settings | None = None) -> boto3.session.Session:
    """A boto3 session in the configured region, for awswrangler's ``boto3_session`` argument."""
    settings = settings or get_settings()
    import boto3

    return boto3.session.Session(region_name=settings.region)


def reset() -> None:
    """Forget every cached client and session (a new moto world, or new credentials)."""
    global _session
    with _lock:
        _clients.clear()
        _resources.clear()
        _session = None
