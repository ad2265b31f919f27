"""The validation report's column profile, taken on the way: the curated stream's first rows (what curated
data holds: typed, PII already hashed or masked, dropped columns gone), profiled when the file is accepted
(:func:`chalicelib.core.reports.profile.profile_frame`; PII columns get counts only)."""

from __future__ import annotations

from typing import Any

from chalicelib.core.reports.profile import ProfileDict, profile_frame

PROFILE_ROWS = 100_000  # enough for a profile's figures; bounded memory whatever the file's size


class ProfilingSink:
    """Hands every call to ``inner`` (the curated sink) and keeps the first :data:`PROFILE_ROWS` rows it
    is given. A part the end-of-file duplicate decision replaces is profiled as first written."""

    def __init__(self, inner: Any, limit: int = PROFILE_ROWS) -> None:
        self.inner = inner
        self.limit = limit
        self.tables: list[Any] = []
        self.kept = 0

    def write(self, part: int, table: Any) -> None:
        if self.kept < self.limit and table.num_rows:
            head = table.slice(0, self.limit - self.kept)
            self.tables.append(head)
            self.kept += head.num_rows
        self.inner.write(part, table)

    def replace(self, part: int, table: Any) -> None:
        self.inner.replace(part, table)

    def close(self) -> None:
        self.inner.close()

    def abort(self) -> None:
        self.tables, self.kept = [], 0
        self.inner.abort()

    def profile(self, contract: Any, rows: int) -> ProfileDict | None:
        """The profile of the kept rows (``rows``: how many the curated data has), None without rows."""
        if not self.tables:
            return None
        import pyarrow as pa

        frame = pa.concat_tables(self.tables, promote_options="permissive").to_pandas()
        kept = [c for c in contract.columns if c.pii != "drop" and c.name in frame.columns]
        return profile_frame(frame, {c.name: c.type for c in kept}, {c.name: c.pii for c in kept}, rows=rows,
                             source="curated")
