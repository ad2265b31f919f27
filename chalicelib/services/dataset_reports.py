"""The HTML validation report of a dataset version, from what is stored (read-only).

The page is rendered from the stored JSON report, the version record and the contract it was validated
with. The column profile is the report's own ``profile`` when the engine wrote one; otherwise, for an
accepted version, it is computed here from the first :data:`MAX_PROFILE_ROWS` curated rows (after PII
handling), where this function can read Parquet (the worker functions and the local stack; the API
function has no pyarrow in its layer, and the page then says why there is no profile).
"""

from __future__ import annotations

from typing import Any

from chalicelib.core.datasets.types import DatasetVersion
from chalicelib.core.log import logger
from chalicelib.storage import dataset_files as outputs
from chalicelib.storage import datasets as store

MAX_PROFILE_ROWS = 100_000
NO_CURATED = ("No column profile: the file was not accepted, so there are no curated rows to profile, "
              "and the validation engine's report holds no profile.")
NO_PARQUET = ("No column profile: the validation engine's report holds none, and this function cannot read "
              "the curated Parquet to compute one.")


def report_url(dataset: str, version: int) -> str:
    """The page's path on the API (relative to its base URL)."""
    return f"/datasets/{dataset}/versions/{int(version)}/report.html"


def validation_page(dataset: str, version: int, *, dashboard: str | None = None) -> str:
    from chalicelib.core.reports.validation_html import ValidationView, render_validation_report

    record = store.get_version(dataset, version)
    report = outputs.get_report(record.report_key)
    contract = _contract(dataset, record.contract_version)
    profile, note = (None, "") if (report or {}).get("profile") else _curated_profile(record, contract)
    links = {"dashboard": dashboard} if dashboard else {}
    return render_validation_report(ValidationView(record.to_dict(), report, contract, profile, note, links))


def _contract(dataset: str, version: int | None) -> dict[str, Any] | None:
    from chalicelib.core.errors import NotFoundError

    if version is None:
        return None
    try:
        return store.get_contract(dataset, int(version)).contract.model_dump(mode="json")
    except NotFoundError:
        return None


def _curated_profile(record: DatasetVersion, contract: dict[str, Any] | None
                     ) -> tuple[dict[str, Any] | None, str]:
    if not record.curated_path or not contract:
        return None, NO_CURATED
    try:
        import pandas as pd
        import pyarrow  # noqa: F401 - the Parquet reader behind iter_curated
    except ImportError:
        return None, NO_PARQUET
    from chalicelib.core.reports.profile import profile_frame

    columns = [c for c in contract.get("columns") or [] if c.get("pii") != "drop"]
    names = [str(c["name"]) for c in columns]
    try:
        chunks = list(_first_rows(outputs.iter_curated(record.curated_path, names), MAX_PROFILE_ROWS))
    except Exception as exc:  # a profile is a nicety: the rest of the report still shows
        logger.warning("curated rows could not be profiled", extra={"dataset": record.dataset,
                                                                     "version": record.version,
                                                                     "error": type(exc).__name__})
        return None, f"No column profile: the curated rows could not be read ({type(exc).__name__})."
    frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=names)
    curated_rows = max(0, int(record.rows) - int(record.invalid_rows))
    profile = profile_frame(frame, {n: c.get("type") for n, c in zip(names, columns, strict=True)},
                            {n: c.get("pii") for n, c in zip(names, columns, strict=True)},
                            rows=max(curated_rows, len(frame)), source="curated")
    return dict(profile), ""


def _first_rows(chunks: Any, limit: int) -> Any:
    """Chunks until ``limit`` rows (the last one cut)."""
    taken = 0
    for chunk in chunks:
        if taken >= limit:
            return
        part = chunk.iloc[:limit - taken]
        taken += len(part)
        yield part
