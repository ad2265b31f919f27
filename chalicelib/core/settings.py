"""Typed settings: explicit argument, then environment variable, then default.

Every environment variable sluice reads is named here, once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import TypedDict, Unpack

# Environment variable names (the only place they are spelled out).
ENV_STAGE = "SLUICE_STAGE"
ENV_BUCKET = "SLUICE_BUCKET"
ENV_TABLE = "SLUICE_TABLE"
ENV_TOPIC_ARN = "SLUICE_TOPIC_ARN"
ENV_GLUE_DATABASE = "SLUICE_GLUE_DATABASE"
ENV_PII_KEY = "SLUICE_PII_KEY"  # local only: the HMAC key itself
ENV_PII_KEY_PARAMETER = "SLUICE_PII_KEY_PARAMETER"  # on AWS: SSM SecureString parameter name
ENV_PII_KEY_SECRET = "SLUICE_PII_KEY_SECRET"  # or a Secrets Manager secret id
ENV_INVOKE_MODE = "SLUICE_INVOKE_MODE"  # "lambda" (AWS) or "queue" (local stack)
ENV_INVOKE_QUEUE_URL = "SLUICE_INVOKE_QUEUE_URL"
ENV_FUNCTION_PREFIX = "SLUICE_FUNCTION_PREFIX"  # deployed Lambda names are <prefix><name>
ENV_FUNCTION_NAME_PREFIX = "SLUICE_FUNCTION_"  # SLUICE_FUNCTION_TRAIN=<name or ARN> overrides
ENV_CAPTURE_PERCENT = "SLUICE_CAPTURE_PERCENT"
ENV_ALIAS_TTL_SECONDS = "SLUICE_ALIAS_TTL_SECONDS"
ENV_MAX_PREDICT_RECORDS = "SLUICE_MAX_PREDICT_RECORDS"
ENV_MONITOR_WINDOW_HOURS = "SLUICE_MONITOR_WINDOW_HOURS"
ENV_ENDPOINT_URL = "AWS_ENDPOINT_URL"
ENV_REGION = "AWS_REGION"
ENV_DEFAULT_REGION = "AWS_DEFAULT_REGION"


class SettingsOverrides(TypedDict, total=False):
    """Keyword arguments of :meth:`Settings.from_env` and :meth:`Settings.with_overrides` (the fields)."""

    stage: str
    bucket: str
    table: str
    topic_arn: str
    glue_database: str
    region: str
    endpoint_url: str | None
    pii_key: str
    pii_key_parameter: str
    pii_key_secret: str
    invoke_mode: str
    invoke_queue_url: str
    function_prefix: str
    capture_percent: float
    alias_ttl_seconds: float
    max_predict_records: int
    monitor_window_hours: float


@dataclass(frozen=True)
class Settings:
    """Where sluice keeps its state and how it reaches AWS."""

    stage: str = "dev"
    bucket: str = "sluice-local"
    table: str = "sluice-local"
    topic_arn: str = ""
    glue_database: str = ""
    region: str = "us-east-1"
    endpoint_url: str | None = None
    pii_key: str = ""
    pii_key_parameter: str = ""
    pii_key_secret: str = ""
    invoke_mode: str = "lambda"
    invoke_queue_url: str = ""
    function_prefix: str = ""
    capture_percent: float = 100.0
    alias_ttl_seconds: float = 30.0
    max_predict_records: int = 1000
    monitor_window_hours: float = 24.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Unpack[SettingsOverrides]
                 ) -> Settings:
        """Build settings from ``overrides``, then ``environ`` (default ``os.environ``), then defaults."""
        env = os.environ if environ is None else environ
        # strings, cast to the fields' types by _coerce
        from_env: dict[str, str | None] = {
            "stage": env.get(ENV_STAGE),
            "bucket": env.get(ENV_BUCKET),
            "table": env.get(ENV_TABLE),
            "topic_arn": env.get(ENV_TOPIC_ARN),
            "glue_database": env.get(ENV_GLUE_DATABASE),
            "region": env.get(ENV_REGION) or env.get(ENV_DEFAULT_REGION),
            "endpoint_url": env.get(ENV_ENDPOINT_URL) or None,
            "pii_key": env.get(ENV_PII_KEY),
            "pii_key_parameter": env.get(ENV_PII_KEY_PARAMETER),
            "pii_key_secret": env.get(ENV_PII_KEY_SECRET),
            "invoke_mode": env.get(ENV_INVOKE_MODE),
            "invoke_queue_url": env.get(ENV_INVOKE_QUEUE_URL),
            "function_prefix": env.get(ENV_FUNCTION_PREFIX),
            "capture_percent": env.get(ENV_CAPTURE_PERCENT),
            "alias_ttl_seconds": env.get(ENV_ALIAS_TTL_SECONDS),
            "max_predict_records": env.get(ENV_MAX_PREDICT_RECORDS),
            "monitor_window_hours": env.get(ENV_MONITOR_WINDOW_HOURS),
        }
        values: dict[str, object] = {k: v for k, v in from_env.items() if v is not None}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return _coerce(cls(**values))  # type: ignore[arg-type]  # strings until _coerce casts them

    def function_name(self, function: str, environ: Mapping[str, str] | None = None) -> str:
        """The deployed name (or ARN) of one of our Lambda functions.

        ``SLUICE_FUNCTION_<NAME>`` wins (the CloudFormation template sets it with ``!Ref``);
        otherwise Chalice's naming, ``<prefix><function>``.
        """
        env = os.environ if environ is None else environ
        return env.get(f"{ENV_FUNCTION_NAME_PREFIX}{function.upper()}") or (
            f"{self.function_prefix}{function}")

    def with_overrides(self, **overrides: Unpack[SettingsOverrides]) -> Settings:
        return _coerce(replace(self, **overrides))


def _coerce(settings: Settings) -> Settings:
    """Cast string values from the environment to the declared field types."""
    casts = {"float": float, "int": int}
    changes = {}
    for field in fields(settings):
        cast = casts.get(str(field.type))
        value = getattr(settings, field.name)
        if cast and isinstance(value, str):
            try:
                changes[field.name] = cast(value)
            except ValueError as exc:
                from chalicelib.core.errors import ConfigurationError

                raise ConfigurationError(f"setting {field.name!r} must be a {field.type}") from exc
    return replace(settings, **changes) if changes else settings


def get_settings() -> Settings:
    """The settings of this process, read from the environment each call (cheap, test-friendly)."""
    return Settings.from_env()
