"""``sluice models …`` and ``sluice aliases …``: the registry's versions, decisions, aliases and audit."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.tree import Tree

from sluice.api_client import ApiClient
from sluice.cli.calls import local_error, paged, reason_body
from sluice.cli.grammar import Cli, Command, both, paging, reason
from sluice.cli.output import at, cell, esc, fields, listing, metrics_text


def models_list(api: ApiClient, a: argparse.Namespace) -> Any:
    return paged(api, "/models", a)


def versions_list(api: ApiClient, a: argparse.Namespace) -> Any:
    return paged(api, f"/models/{a.model}/versions", a)


def version_show(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.get(f"/models/{a.model}/versions/{a.version}")


def version_update(api: ApiClient, a: argparse.Namespace) -> Any:
    tags: dict[str, str | None] = {}
    for pair in a.tag or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise local_error("invalid_tag", f"--tag takes KEY=VALUE, not {pair!r}")
        tags[key] = value
    tags.update({key: None for key in a.untag or []})
    body: dict[str, Any] = {"tags": tags} if tags else {}
    if a.description is not None:
        body["description"] = a.description
    return api.request("PATCH", f"/models/{a.model}/versions/{a.version}", body=body)


def audit(api: ApiClient, a: argparse.Namespace) -> Any:
    return paged(api, f"/models/{a.model}/audit", a)


def promote(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.request("POST", f"/models/{a.model}/versions/{a.version}/promote", body=reason_body(a))


def reject(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.request("POST", f"/models/{a.model}/versions/{a.version}/reject", body=reason_body(a))


def rollback(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.request("POST", f"/models/{a.model}/rollback", body=reason_body(a))


def lineage(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.get(f"/models/{a.model}/versions/{a.version}/lineage")


def export(api: ApiClient, a: argparse.Namespace) -> Any:
    """Export the version, download it (its SHA-256 checked) and unpack it into ``--out``."""
    import hashlib
    import io
    import tarfile
    from pathlib import Path

    import requests

    grant = api.request("POST", f"/models/{a.model}/versions/{a.version}/exports", body={"format": a.format})
    body = requests.get(grant["url"], timeout=300).content
    if hashlib.sha256(body).hexdigest() != grant["sha256"]:
        raise local_error("export_corrupted", f"the download of {grant['key']} does not match its SHA-256")
    folder = Path(a.out or f"{a.model}-{a.version}-{a.format}")
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        archive.extractall(folder, filter="data")
    return {**{k: v for k, v in grant.items() if k != "url"}, "path": str(folder.resolve())}


def export_view(console: Console, result: Any) -> None:
    console.print(f"{esc(result['model'])} version {result['version']} exported for "
                  f"[bold]{esc(result['format'])}[/] into {esc(result['path'])} "
                  f"(SHA-256 {result['sha256'][:12]}…, from artifact {result['artifact_sha256'][:12]}…)")
    console.print(LOAD_HINT[result["format"]].format(path=result["path"]))


LOAD_HINT = {
    "mlflow": "load it: mlflow.pyfunc.load_model('{path}/model')",
    "sagemaker": "deploy it: tar czf model.tar.gz -C {path} . and a SageMaker SKLearnModel with "
                 "entry_point='inference.py', source_dir='{path}/code'",
    "skops": "load it: sys.path.insert(0, '{path}'); skops.io.load('{path}/model.skops', "
             "trusted=json.load(open('{path}/trusted_types.json'))['trusted_types'])",
}


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", default="mlflow", choices=("mlflow", "sagemaker", "skops"),
                   help="an MLflow model directory (default), a SageMaker scikit-learn model or a skops "
                        "file")
    p.add_argument("--out", default=None, help="folder to unpack into (default MODEL-VERSION-FORMAT)")


def alias_get(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.get(f"/models/{a.model}/aliases/{a.alias}")


def _expected_body(a: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if a.expected is not None:
        body["expected_version"] = a.expected
    return body | reason_body(a)


def alias_set(api: ApiClient, a: argparse.Namespace) -> Any:
    body = {"version": a.version, **_expected_body(a)}
    return api.request("PUT", f"/models/{a.model}/aliases/{a.alias}", body=body)


def alias_delete(api: ApiClient, a: argparse.Namespace) -> Any:
    return api.request("DELETE", f"/models/{a.model}/aliases/{a.alias}", body=_expected_body(a) or None)


def alias_history(api: ApiClient, a: argparse.Namespace) -> Any:
    if a.at:
        return api.get(f"/models/{a.model}/aliases/{a.alias}/history", at=a.at)
    return paged(api, f"/models/{a.model}/aliases/{a.alias}/history", a)


# ---- views ---------------------------------------------------------------------------------------


def move_view(console: Console, result: Any) -> None:
    move = result.get("alias_move", result)
    if "model_version" in result:
        version = result["model_version"]
        console.print(f"{version['model']} version {version['version']} is {version['status']}",
                      highlight=False, markup=False)
    console.print(f"{move['model']} alias {move['alias']}: {cell(move.get('from_version'))} → "
                  f"{cell(move.get('to_version'))}" + (f" ({move['reason']})" if move.get("reason") else ""),
                  highlight=False, markup=False)


def alias_view(console: Console, result: Any) -> None:
    console.print(f"{result['model']} alias {result['alias']}: version {result['version']}",
                  highlight=False, markup=False)


def alias_history_view(console: Console, result: Any) -> None:
    if "at" in result:
        console.print(f"{result['model']} alias {result['alias']} at {result['at']}: "
                      f"version {cell(result.get('version'))}", highlight=False, markup=False)
        return
    listing("seq", at("at"), ("from", lambda m: m.get("from_version")), ("to", lambda m: m.get("to_version")),
            "actor", "reason", ("cause", lambda m: m.get("cause") if isinstance(m.get("cause"), str)
                                else "gate"))(console, result)


def version_view(console: Console, result: Any) -> None:
    fields("model", "version", "status", "aliases", "metrics", "run_id", "spec_version", "source",
           "artifact_sha256", "description", "tags", "created_at", "updated_at")(console, result)
    trained_on = result.get("dataset_versions") or []
    datasets = ", ".join(f"{d.get('dataset')} v{d.get('version')}" for d in trained_on)
    console.print(f"trained on: {datasets or '-'}", highlight=False, markup=False)


def lineage_view(console: Console, result: Any) -> None:
    artifact = result.get("artifact") or {}
    head = esc(f"{result['model']} version {result['version']}")
    rest = esc(f"({result.get('status')}) · run {result.get('run_id')} · "
               f"spec v{result.get('spec_version')} · artifact sha256 {str(artifact.get('sha256'))[:12]}…")
    tree = Tree(f"[bold]{head}[/] {rest}")
    for dataset in result.get("datasets") or []:
        if not dataset.get("found"):
            tree.add(f"{esc(dataset.get('dataset'))} v{dataset.get('version')} [red](not found)[/]")
            continue
        branch = tree.add(esc(f"dataset {dataset['dataset']} v{dataset['version']} ({dataset.get('status')}, "
                              f"{dataset.get('rows')} rows, contract v{dataset.get('contract_version')}) "
                              f"{dataset.get('curated_path') or ''}"))
        raw = dataset.get("raw") or {}
        sha = str(raw.get("sha256"))[:12]
        branch.add(esc(f"raw s3://{raw.get('bucket')}/{raw.get('key')} (sha256 {sha}…)"))
        feedback = dataset.get("feedback")
        if feedback:
            labels = feedback.get("labels") or {}
            join = feedback.get("join") or {}
            branch.add(esc(f"labels s3://{labels.get('bucket')}/{labels.get('key')} "
                           f"(version {labels.get('version_id')}): {join.get('matched')} of "
                           f"{join.get('labelled')} labels matched"))
            manifest = feedback.get("captures_manifest") or {}
            branch.add(esc(f"{feedback.get('captures_total')} capture objects, listed in "
                           f"{manifest.get('key')}"))
    console.print(tree, highlight=False)


# ---- wiring --------------------------------------------------------------------------------------


def _update_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--description", default=None, help="new description")
    p.add_argument("--tag", action="append", metavar="KEY=VALUE", help="set a tag (repeatable)")
    p.add_argument("--untag", action="append", metavar="KEY", help="remove a tag (repeatable)")


def _expected(p: argparse.ArgumentParser) -> None:
    p.add_argument("--expected", type=int, default=None,
                   help="only if the alias points at this version now (else: conflict, exit 1)")
    reason(p)


LIST = Command(models_list, "list registered models",
               view=listing("model", ("versions", lambda m: m.get("version_count")), at("created_at"),
                            at("updated_at")),
               extra=paging)
VERSIONS = Command(versions_list, "list a model's versions, newest first", ("model",),
                   view=listing("version", "status", "aliases",
                                ("metrics", lambda v: metrics_text(v.get("metrics"), limit=2)),
                                at("created_at")),
                   extra=paging)
SHOW = Command(version_show, "one model version", ("model", "version"), view=version_view)
UPDATE = Command(version_update, "change a version's description or tags", ("model", "version"),
                 view=version_view, extra=_update_args)
PROMOTE = Command(promote, "approve a version and point production at it", ("model", "version"),
                  view=move_view, extra=reason)
REJECT = Command(reject, "reject a version (it can no longer be promoted)", ("model", "version"),
                 view=fields("model", "version", "status", "updated_at"), extra=reason)
ROLLBACK = Command(rollback, "move production back to the version it pointed at before", ("model",),
                   view=move_view, extra=reason)
AUDIT = Command(audit, "a model's audit trail: who did what, when, newest first", ("model",),
                view=listing(at("at"), "event", "version", "actor",
                             ("details", lambda e: cell(e.get("details"))[:60])),
                extra=paging)
LINEAGE = Command(lineage, "model version → dataset versions → raw objects", ("model", "version"),
                  view=lineage_view)
EXPORT = Command(export, "export a version for MLflow, SageMaker or skops into a local folder",
                 ("model", "version"), view=export_view, extra=_export_args)

ALIAS_SHOW = Command(alias_get, "the version an alias points at", ("model", "alias"), view=alias_view)
ALIAS_SET = Command(alias_set, "point an alias at a version", ("model", "alias", "version"), view=move_view,
                    extra=_expected)
ALIAS_DELETE = Command(alias_delete, "remove an alias", ("model", "alias"), view=move_view, extra=_expected)
ALIAS_HISTORY = Command(alias_history, "an alias's moves, newest first (or its version --at a time)",
                        ("model", "alias"), view=alias_history_view,
                        extra=both(paging, lambda p: p.add_argument("--at", default=None,
                                                                    help="ISO-8601 time: the version then")))


def register(cli: Cli) -> None:
    models = cli.noun("models")
    for name, command in (("list", LIST), ("versions", VERSIONS), ("show", SHOW), ("update", UPDATE),
                          ("promote", PROMOTE), ("reject", REJECT), ("rollback", ROLLBACK),
                          ("audit", AUDIT), ("lineage", LINEAGE), ("export", EXPORT)):
        command.add(models, name)
    aliases = cli.noun("aliases")
    ALIAS_SHOW.add(aliases, "show", aliases=["get"])
    ALIAS_SET.add(aliases, "set")
    ALIAS_DELETE.add(aliases, "delete")
    ALIAS_HISTORY.add(aliases, "history")
    # earlier spellings: sluice versions list|show|update, sluice promote|reject|rollback|lineage
    versions = cli.legacy_group("versions", "model versions (now `sluice models versions|show|update`)")
    VERSIONS.add(versions, "list")
    SHOW.add(versions, "show")
    UPDATE.add(versions, "update")
    for name, command in (("promote", PROMOTE), ("reject", REJECT), ("rollback", ROLLBACK),
                          ("lineage", LINEAGE)):
        command.add(cli.top, name, hidden=True)
