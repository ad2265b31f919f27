"""The only code that talks to AWS: lazy, cached clients and thin storage helpers."""

from chalicelib.storage.clients import client, reset, resource, wrangler

__all__ = ["client", "reset", "resource", "wrangler"]
