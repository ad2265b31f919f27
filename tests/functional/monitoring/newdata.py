"""A passing dataset version record in moto: data that arrived after the production version trained.

Drift and performance triggers retrain only when something new arrived since the production version's
training data (``chalicelib.services.training.retrain``); a test that expects a run puts one first."""

from __future__ import annotations

from typing import Any


def put_passing_version(dataset: str = "rides", *, rows: int = 500,
                        created_at: str = "2026-11-26T00:00:00.000Z", invalid_rows: int = 0) -> Any:
    """The next version of ``dataset``, passed (its record only: nothing reads its rows before a run)."""
    from chalicelib.core.datasets.types import DatasetVersion
    from chalicelib.core.settings import get_settings
    from chalicelib.storage import datasets as store

    bucket = get_settings().bucket
    version = store.next_version(dataset)
    record = DatasetVersion(
        dataset=dataset, version=version, status="passed",
        raw={"bucket": bucket, "key": f"raw/{dataset}/v{version}.csv", "version_id": "v1", "etag": "e",
             "sha256": "0" * 64, "size": 1},
        report_key=f"reports/validation/{dataset}/{version}.json", created_at=created_at,
        curated_path=f"s3://{bucket}/curated/{dataset}/dataset_version={version}/", contract_version=1,
        rows=rows, invalid_rows=invalid_rows, verdict="pass")
    store.put_version(record)
    return record
