"""How an API command runs: a client on the resolved URL, the command's call, then its view or its
JSON; a failure (the API's, or one on this side such as a missing file) prints its code and exits 1."""

from __future__ import annotations

import argparse
from typing import Any

from sluice.api_client import ApiClient, ApiError, resolve_api_url
from sluice.cli import output


def local_error(code: str, message: str) -> ApiError:
    """A failure on this side of the API (a file, a timeout), reported like the API's own errors."""
    return ApiError(0, code, message)


def run_api(args: argparse.Namespace) -> int:
    """One API command: its view (or JSON) on success; the error's code and message, exit 1, on failure."""
    try:
        api = ApiClient(resolve_api_url(args.api, args.state_file))
        result = args.api_call(api, args)
    except ApiError as exc:
        output.print_error(exc.code, exc.message)
        return 1
    if args.json:
        output.print_json(result, getattr(args, "to_json", None))
    else:
        args.view(output.console, result)
    return 0


def paged(api: ApiClient, path: str, a: argparse.Namespace, **params: Any) -> Any:
    """One page (``--limit``, ``--next-token``), or every page with ``--all``."""
    page = api.get(path, limit=a.limit, next_token=a.next_token, **params)
    if not a.all:
        return page
    items = list(page.get("items", []))
    while page.get("next_token"):
        page = api.get(path, limit=a.limit, next_token=page["next_token"], **params)
        items.extend(page.get("items", []))
    return {"items": items, "next_token": None}


def reason_body(a: argparse.Namespace) -> dict[str, Any]:
    """``{"reason": …}`` when ``--reason`` was given (kept in the audit trail)."""
    return {"reason": a.reason} if a.reason else {}
