"""The HMAC key for PII hashing: from the environment locally, from SSM or Secrets Manager on AWS.

Order: ``SLUICE_PII_KEY`` (local), then the SecureString parameter ``SLUICE_PII_KEY_PARAMETER``
(GetParameter WithDecryption), then the secret ``SLUICE_PII_KEY_SECRET``. Fetched values are cached
per container (a warm Lambda makes no second call). The key is never logged nor put in an error.
"""

from __future__ import annotations

import threading

from chalicelib.core.errors import ConfigurationError
from chalicelib.core.settings import Settings, get_settings
from chalicelib.storage import client

_cache: dict[tuple[str, str], bytes] = {}
_lock = threading.Lock()


def pii_key(settings: Settings | None = None) -> bytes:
    """The PII hashing key as bytes; :class:`ConfigurationError` when none is configured."""
    settings = settings or get_settings()
    if settings.pii_key:
        return settings.pii_key.encode()
    if settings.pii_key_parameter:
        source = ("ssm", settings.pii_key_parameter)
    elif settings.pii_key_secret:
        source = ("secretsmanager", settings.pii_key_secret)
    else:
        raise ConfigurationError("no PII key configured: set SLUICE_PII_KEY (local), "
                                 "SLUICE_PII_KEY_PARAMETER or SLUICE_PII_KEY_SECRET", code="pii_key_missing")
    with _lock:
        if source not in _cache:
            _cache[source] = _fetch(*source, settings=settings)
        return _cache[source]


def _fetch(service: str, name: str, *, settings: Settings) -> bytes:
    value: str | bytes | None
    if service == "ssm":
        value = client("ssm", settings).get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    else:
        out = client("secretsmanager", settings).get_secret_value(SecretId=name)
        value = out.get("SecretString") or out.get("SecretBinary")
    if not value:
        raise ConfigurationError(f"the PII key in {service} {name!r} is empty", code="pii_key_missing")
    return value if isinstance(value, bytes) else value.encode()


def clear_cache() -> None:
    with _lock:
        _cache.clear()
