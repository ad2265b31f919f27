"""What the dashboard shows, gathered with bounded Queries (never a Scan): the first pages only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib.core.dashboard import DashboardData, DatasetView, ModelView

MAX_DATASETS = 50
MAX_DATASET_VERSIONS = 30
MAX_MODELS = 30
MAX_VERSIONS = 20
MAX_CHECKS = 60
MAX_MOVES = 20
MAX_RUNS = 20
MAX_INPUT_LOOKUPS = 40  # dataset versions read by the charted model versions, fetched for their raw objects
LINK_SECONDS = 900  # drift report links expire in 15 minutes


def gather(compare: tuple[str, Sequence[str]] | None = None) -> DashboardData:
    """Datasets and models; ``compare``: ``(model, run ids)`` chosen for that model's run comparison."""
    from chalicelib.storage import datasets

    data = DashboardData()
    summaries, _ = datasets.list_datasets(MAX_DATASETS)
    for summary in summaries:
        name = summary["dataset"]
        records, _ = datasets.list_versions(name, MAX_DATASET_VERSIONS)
        versions = [{**r.to_dict(), "link": report_link(name, r.version)} for r in records]
        data.datasets.append(DatasetView(name, dict(summary), versions))
    known = {(d.name, int(v["version"])): v for d in data.datasets for v in d.versions}
    data.models = _models(compare, known)
    return data


def report_link(dataset: str, version: int) -> str:
    """The validation report page, relative to the dashboard (both are served by the API)."""
    return f"datasets/{dataset}/versions/{int(version)}/report.html"


def _models(compare: tuple[str, Sequence[str]] | None, known: dict[tuple[str, int], dict[str, Any]]
            ) -> list[ModelView]:
    from chalicelib.services.registry import get_registry
    from chalicelib.storage import checks, runs

    registry = get_registry()
    models = []
    for model in registry.list_models(limit=MAX_MODELS).items:
        name = model.model
        versions = [v.to_dict() for v in registry.search_model_versions(name, limit=MAX_VERSIONS).items]
        aliases: dict[str, int] = {}
        for version in versions:
            for alias in version.get("aliases") or ():
                aliases[alias] = version["version"]
        moves = [m.to_dict() for m in reversed(registry.search_alias_history(name, "production",
                                                                             limit=MAX_MOVES).items)]
        recent, _ = checks.list_checks(name, limit=MAX_CHECKS)
        for check in recent:
            check["link"] = _presigned((check.get("reports") or {}).get("html") or check.get("report"))
        model_runs, _ = runs.list_runs(name, limit=MAX_RUNS)
        chosen = list(compare[1]) if compare and compare[0] == name else []
        models.append(ModelView(name, versions, aliases, moves, list(reversed(recent)),
                                [dict(r) for r in model_runs], _specs(name, model_runs), chosen,
                                _inputs(versions, known)))
    return models


def _specs(model: str, model_runs: Sequence[Any]) -> dict[int, dict[str, Any]]:
    from chalicelib.core.errors import NotFoundError
    from chalicelib.storage import specs

    found: dict[int, dict[str, Any]] = {}
    for number in {int(r.get("spec_version") or 0) for r in model_runs} - {0}:
        try:
            found[number] = specs.get_spec(model, number).spec.model_dump(mode="json")
        except NotFoundError:
            continue
    return found


def _inputs(versions: Sequence[Mapping[str, Any]], known: dict[tuple[str, int], dict[str, Any]]
            ) -> dict[tuple[str, int], dict[str, Any]]:
    """The dataset version records the model versions name (for their raw objects), at most a bounded few
    fetched beyond those the page already has."""
    from chalicelib.core.errors import NotFoundError
    from chalicelib.storage import datasets

    found: dict[tuple[str, int], dict[str, Any]] = {}
    lookups = 0
    for version in versions:
        for ref in version.get("dataset_versions") or []:
            key = (str(ref.get("dataset")), int(ref.get("version") or 0))
            if key in found:
                continue
            if key in known:
                found[key] = known[key]
            elif lookups < MAX_INPUT_LOOKUPS:
                lookups += 1
                try:
                    found[key] = datasets.get_version(*key).to_dict()  # type: ignore[assignment]
                except NotFoundError:
                    continue
    return found


def _presigned(key: str | None) -> str | None:
    """A short-lived presigned link to a stored report (reports hold no PII in clear: examples are masked)."""
    if not key:
        return None
    from chalicelib.core.settings import get_settings
    from chalicelib.storage import client

    return client("s3").generate_presigned_url("get_object", ExpiresIn=LINK_SECONDS,
                                               Params={"Bucket": get_settings().bucket, "Key": key})
