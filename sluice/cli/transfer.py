"""Files to S3 through the presigned URL the API hands out, with a progress bar on stderr."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from rich.console import Console

from sluice.cli.calls import local_error

UPLOAD_CHUNK = 1024 * 1024


class _ProgressReader:
    """A file that reports each block read; its length lets ``requests`` send a Content-Length
    (S3 refuses chunked transfer encoding on a presigned PUT)."""

    def __init__(self, handle: Any, size: int, advance: Callable[[int], None]) -> None:
        self._handle, self._size, self._advance = handle, size, advance

    def __len__(self) -> int:
        return self._size

    def read(self, amount: int = -1) -> bytes:
        chunk = self._handle.read(UPLOAD_CHUNK if amount is None or amount < 0 else amount)
        self._advance(len(chunk))
        return chunk


def put_to_s3(target: dict[str, Any], handle: Any, size: int, label: str, *, quiet: bool) -> None:
    """PUT ``size`` bytes of ``handle`` to a presigned URL, with a progress bar on stderr unless quiet."""
    import requests
    from rich.progress import BarColumn, DownloadColumn, Progress, TaskProgressColumn, TransferSpeedColumn

    with Progress("[progress.description]{task.description}", BarColumn(), TaskProgressColumn(),
                  DownloadColumn(), TransferSpeedColumn(), console=Console(stderr=True),
                  disable=quiet) as progress:
        task = progress.add_task(label, total=size)
        body = _ProgressReader(handle, size, lambda n: progress.advance(task, n))
        try:
            response = requests.put(target["url"], data=body, headers=target.get("headers") or {},
                                    timeout=3600)
        except requests.RequestException as exc:
            raise local_error("upload_failed", f"the upload to S3 failed: {exc}") from exc
    if response.status_code >= 300:
        raise local_error("upload_failed", f"S3 answered {response.status_code}: {s3_error(response.text)}")


def s3_error(text: str) -> str:
    """S3's XML error as ``Code: Message`` (the whole body if it is not S3's shape)."""
    code = re.search(r"<Code>(.*?)</Code>", text)
    message = re.search(r"<Message>(.*?)</Message>", text)
    if code:
        return f"{code.group(1)}: {message.group(1) if message else ''}".strip()
    return text.strip()[:300]
