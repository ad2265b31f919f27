"""What the dashboard shows, gathered with bounded Queries (never a Scan): the first pages only."""

from __future__ import annotations

from typing import Any

from chalicelib.core.dashboard import DashboardData, ModelView

MAX_DATASETS = 50
MAX_MODELS = 30
MAX_VERSIONS = 20
MAX_CHECKS = 30
MAX_MOVES = 20
LINK_SECONDS = 900  # the page is public: report links expire in 15 minutes


def gather() -> DashboardData:
    from chalicelib.services.registry import get_registry
    from chalicelib.storage import checks, datasets

    data = DashboardData()
    summaries, _ = datasets.list_datasets(MAX_DATASETS)
    for summary in summaries:
        latest = summary.get("latest_version")
        record = _latest_record(datasets, summary["dataset"], latest) if latest else None
        data.datasets.append({**summary, "latest": record})
    registry = get_registry()
    for model in registry.list_models(limit=MAX_MODELS).items:
        page = registry.search_model_versions(model.model, limit=MAX_VERSIONS)
        versions = [v.to_dict() for v in page.items]
        aliases: dict[str, int] = {}
        for version in versions:
            for alias in version.get("aliases") or ():
                aliases[alias] = version["version"]
        newest = registry.search_alias_history(model.model, "production", limit=MAX_MOVES).items
        moves = [m.to_dict() for m in reversed(newest)]
        recent, _ = checks.list_checks(model.model, limit=MAX_CHECKS)
        for check in recent:
            check["link"] = _link((check.get("reports") or {}).get("html") or check.get("report"))
        data.models.append(ModelView(model.model, versions, aliases, moves, list(reversed(recent))))
    return data


def _latest_record(datasets: Any, dataset: str, version: int) -> dict[str, Any] | None:
    from chalicelib.core.errors import NotFoundError

    try:
        record = datasets.get_version(dataset, int(version)).to_dict()
    except NotFoundError:
        return None
    record["link"] = _link(record.get("report_key"))
    return record


def _link(key: str | None) -> str | None:
    """A short-lived presigned link to a report (reports hold no PII in clear: examples are masked)."""
    if not key:
        return None
    from chalicelib.core.settings import get_settings
    from chalicelib.storage import client

    return client("s3").generate_presigned_url("get_object", ExpiresIn=LINK_SECONDS,
                                               Params={"Bucket": get_settings().bucket, "Key": key})
