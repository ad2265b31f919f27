"""Whether a failure is worth another attempt: AWS throttling, 5xx and network trouble, or an error of
ours that says so (``retryable = True``, e.g. another delivery holding the processing claim)."""

from __future__ import annotations

# Error codes of AWS trouble that a later attempt may not meet (throttling, 5xx, conflicts).
RETRYABLE_AWS_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded", "SlowDown",
    "ProvisionedThroughputExceededException", "RequestThrottled", "RequestThrottledException",
    "TooManyRequestsException", "InternalError", "InternalFailure", "InternalServerError",
    "ServiceUnavailable", "ServiceUnavailableException", "TransactionConflictException",
    "RequestTimeout", "RequestTimeoutException", "LimitExceededException",
})


def is_retryable(exc: BaseException) -> bool:
    """Whether a later attempt may succeed: AWS throttling/5xx/network trouble, or a held claim."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:  # look through "raise ... from" chains
        seen.add(id(current))
        if getattr(current, "retryable", False) or isinstance(current, ConnectionError | HTTPClientError):
            return True
        if isinstance(current, ClientError):
            error = current.response.get("Error", {})
            status = int(current.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            return error.get("Code") in RETRYABLE_AWS_CODES or status >= 500
        current = current.__cause__
    return False
