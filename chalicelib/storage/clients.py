"""Lazily created, cached boto3 clients that honour ``AWS_ENDPOINT_URL`` (moto) and the region.

Nothing here runs at import time: a client created before ``moto.mock_aws()`` starts would escape
the mock, and every client costs cold-start time. Tests call :func:`reset` between moto worlds.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from chalicelib.core.settings import Settings, get_settings

if TYPE_CHECKING:
    import boto3

_lock = threading.Lock()
_session: boto3.session.Session | None = None
_clients: dict[tuple[str, str, str | None], Any] = {}
_resources: dict[tuple[str, str, str | None], Any] = {}


def _get_session() -> boto3.session.Session:
    global _session
    if _session is None:
        import boto3

        _session = boto3.session.Session()
    return _session


def client(service: str, settings: Settings | None = None) -> Any:
    """A boto3 client for ``service``, created on first use and then reused (thread-safe)."""
    settings = settings or get_settings()
    key = (service, settings.region, settings.endpoint_url)
    with _lock:
        found = _clients.get(key)
        if found is None:
            found = _get_session().client(
                service, region_name=settings.region, endpoint_url=settings.endpoint_url,
                config=_config(service),
            )
            _clients[key] = found
        return found


def resource(service: str, settings: Settings | None = None) -> Any:
    """A boto3 resource (used for DynamoDB's typed Table API), cached like :func:`client`."""
    settings = settings or get_settings()
    key = (service, settings.region, settings.endpoint_url)
    with _lock:
        found = _resources.get(key)
        if found is None:
            found = _get_session().resource(
                service, region_name=settings.region, endpoint_url=settings.endpoint_url,
                config=_config(service),
            )
            _resources[key] = found
        return found


def _config(service: str) -> Any:
    from botocore.config import Config

    # Path-style addressing lets presigned URLs and awswrangler reach a local moto server.
    s3 = {"addressing_style": "path"} if service == "s3" else None
    return Config(retries={"max_attempts": 5, "mode": "standard"}, s3=s3,
                  signature_version="s3v4" if service == "s3" else None)


def wrangler(settings: Settings | None = None) -> Any:
    """The awswrangler module, configured for the same endpoint and session as the clients."""
    settings = settings or get_settings()
    import awswrangler as wr

    for attr in ("s3_endpoint_url", "dynamodb_endpoint_url", "glue_endpoint_url",
                 "sts_endpoint_url", "athena_endpoint_url"):
        setattr(wr.config, attr, settings.endpoint_url)
    return wr


def boto3_session(settings: Settings | None = None) -> Any:
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
