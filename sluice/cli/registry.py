"""``sluice models …`` and ``sluice aliases …``: the registry's versions, decisions, aliases and audit."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
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


# ---- import --------------------------------------------------------------------------------------

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")
MAX_PACKED_FILES = 1000


@dataclass(frozen=True)
class Packed:
    """An MLflow model directory as one gzipped tar, and whether its model is pickled (MLmodel says)."""

    body: bytes
    pickled: bool
    serialization_format: str


def pack_mlflow(folder: Path) -> Packed:
    """``folder`` (an MLflow model directory: MLmodel + the model file) as a gzipped tar of its regular
    files, names relative to it, times fixed; a symbolic link in it is refused (the server refuses one
    in an archive too)."""
    import io
    import tarfile

    import yaml

    mlmodel = folder / "MLmodel"
    if not mlmodel.is_file():
        raise local_error("import_mlmodel_invalid", f"{folder} is not an MLflow model directory (no MLmodel)")
    flavor = ((yaml.safe_load(mlmodel.read_text()) or {}).get("flavors") or {}).get("sklearn") or {}
    fmt = str(flavor.get("serialization_format", "cloudpickle"))
    files = sorted(p for p in folder.rglob("*") if not p.is_dir() or p.is_symlink())
    links = [str(p.relative_to(folder)) for p in files if p.is_symlink() or not p.is_file()]
    if links:
        raise local_error("import_archive_invalid", f"the model directory holds links or special files: "
                                                    f"{', '.join(links[:5])}")
    if len(files) > MAX_PACKED_FILES:
        raise local_error("import_too_large", f"the model directory holds more than {MAX_PACKED_FILES} files")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        for path in files:
            info = tarfile.TarInfo(path.relative_to(folder).as_posix())
            info.size, info.mtime, info.mode = path.stat().st_size, 1_700_000_000, 0o644
            with path.open("rb") as handle:
                archive.addfile(info, handle)
    return Packed(buffer.getvalue(), fmt in ("pickle", "cloudpickle"), fmt)


def _import_format(path: Path, given: str | None) -> str:
    if given:
        return given
    if path.is_dir():
        return "mlflow"
    if path.suffix == ".skops":
        return "skops"
    if path.suffix in PICKLE_SUFFIXES:
        return "pickle"
    raise local_error("import_format_unknown", f"cannot tell the format of {path.name}: pass --format "
                                               "skops|mlflow|pickle")


def import_model(api: ApiClient, a: argparse.Namespace) -> Any:
    """Request the import, upload the file (an MLflow directory packed first), start the import run;
    a pickle-based model goes to the approver's route (``…/imports/pickle``)."""
    import hashlib
    import io

    from sluice.cli.training import wait_for_run
    from sluice.cli.transfer import put_to_s3

    path = Path(a.path)
    fmt = _import_format(path, a.format)
    if fmt == "mlflow":
        packed = pack_mlflow(path)
        body, pickled = packed.body, packed.pickled
    else:
        body, pickled = path.read_bytes(), fmt == "pickle"
    dataset, _, version = a.dataset.partition(":")
    request: dict[str, Any] = {"format": fmt, "dataset": dataset, "sha256": hashlib.sha256(body).hexdigest(),
                               "size": len(body)}
    if version:
        request["dataset_version"] = int(version) if version.isdigit() else version
    for name in ("target", "task", "description", "reason"):
        if getattr(a, name, None):
            request[name] = getattr(a, name)
    if a.features:
        request["features"] = [f.strip() for f in a.features.split(",") if f.strip()]
    grant = api.request("POST", f"/models/{a.model}/imports" + ("/pickle" if pickled else ""), body=request)
    put_to_s3(grant["upload"], io.BytesIO(body), len(body), f"uploading {path.name}", quiet=a.json)
    started = api.request("POST", grant["start"], body={})
    out = {**started, "format": fmt, "pickle": pickled, "sha256": request["sha256"]}
    if not a.wait:
        return out
    run = wait_for_run(api, a.model, started["run_id"], timeout=a.timeout, quiet=a.json)
    if run.get("status") in ("failed", "cancelled"):
        error = run.get("error") or {}
        raise local_error(f"import_{run['status']}",
                          f"import run {run['run_id']} {run['status']}: {error.get('code', 'error')}: "
                          f"{error.get('message', '')}")
    return {**run, "import_id": started["import_id"]}


def import_view(console: Console, result: Any) -> None:
    if result.get("status") in ("succeeded", "failed", "cancelled"):
        from sluice.cli.training import run_view

        run_view(console, result)
        return
    console.print(f"import {result['import_id']} of {result['model']} ({result['format']}"
                  f"{', pickle: approver route' if result.get('pickle') else ''}) uploaded; "
                  f"run {result['run_id']} {result['status']}: "
                  f"`sluice runs show {result['model']} {result['run_id']}`",
                  highlight=False, markup=False)


def _import_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="a skops file, an MLflow model directory, or (approvers) a pickle or "
                                "joblib file")
    p.add_argument("--dataset", required=True, metavar="DATASET[:VERSION]",
                   help="the dataset version whose holdout judges the model (default: its newest passing "
                        "one)")
    p.add_argument("--format", default=None, choices=("skops", "mlflow", "pickle"),
                   help="default: from the path (a directory is MLflow, .skops skops, .pkl/.joblib pickle)")
    p.add_argument("--features", default=None, metavar="A,B,…",
                   help="the input columns, when the pipeline and its MLflow signature do not name them")
    p.add_argument("--target", default=None, help="the target column (a model without a training spec)")
    p.add_argument("--task", default=None, choices=("classification", "regression"),
                   help="the task (a model without a training spec)")
    p.add_argument("--description", default=None, help="the version's description")
    p.add_argument("--wait", action="store_true", help="wait for the import run to end, showing progress")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds to wait (default 900)")
    reason(p)


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
    origin = result.get("origin") or {}
    if origin.get("kind"):
        by = origin.get("by")
        sha = str(origin.get("sha256"))[:12]
        how = (f"imported ({origin.get('format')}, sha256 {sha}…{', pickle' if origin.get('pickle') else ''})"
               if origin["kind"] == "import" else f"trained by run {origin.get('run_id')}")
        console.print(f"origin: {how}" + (f" by {by}" if by else ""), highlight=False, markup=False)
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
IMPORT = Command(import_model, "import an externally trained scikit-learn model (skops, MLflow directory; "
                 "pickle: approvers) as a new version, judged and gated like a trained one", ("model",),
                 view=import_view, extra=_import_args)
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
                          ("audit", AUDIT), ("lineage", LINEAGE), ("export", EXPORT),
                          ("import", IMPORT)):
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
