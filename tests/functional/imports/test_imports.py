"""An externally trained scikit-learn pipeline enters the registry through the API: uploaded to the
staging prefix, loaded with trusted types only, judged on the dataset version's holdout and gated as a
trained version is."""

from __future__ import annotations

import io
import json

import pytest

from tests.functional.imports.conftest import (
    FEATURES,
    SPEC,
    external_pipeline,
    import_model,
    put_file,
    request_import,
    skops_bytes,
)
from tests.functional.training.conftest import drain_invocations, send

pytestmark = pytest.mark.slow


def holdout_of(spec: dict):
    """The holdout a trained run on the rides version holds out (sluice's own split of the same rows)."""
    from chalicelib.core.training.features import Feature
    from chalicelib.core.training.spec import TrainingSpec
    from chalicelib.core.training.trainer import holdout_split
    from tests.unit.training.conftest import rides_frame

    types = {"distance_km": "float", "zone": "category", "night": "bool"}
    return holdout_split(TrainingSpec.model_validate(spec), [Feature(n, types[n]) for n in FEATURES],
                         rides_frame())


def test_a_skops_pipeline_is_judged_on_the_holdout_a_trained_run_holds_out_and_registered_with_its_origin(
        client, moto_world, tips_spec, registry):
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    pipeline = external_pipeline()
    body = skops_bytes(pipeline)
    run = import_model(client, moto_world, body, "skops")
    assert run["status"] == "succeeded", run.get("error")
    holdout = holdout_of(SPEC)
    X, y = holdout.X_test.astype({"night": "float64"}), holdout.y_test
    assert run["rows"] == {"total": 300, "train": 225, "holdout": 75} == holdout.rows
    assert run["metrics"]["accuracy"] == accuracy_score(y, pipeline.predict(X))
    assert run["metrics"]["f1"] == f1_score(y, pipeline.predict(X), pos_label="yes")
    assert run["metrics"]["roc_auc"] == roc_auc_score(y, pipeline.predict_proba(X)[:, 1])
    version = registry.get_model_version("tips", run["version"])
    import hashlib

    assert version.origin is not None
    assert version.origin["kind"] == "import" and version.origin["format"] == "skops"
    assert version.origin["sha256"] == hashlib.sha256(body).hexdigest()
    assert version.origin["by"] == "anonymous"
    assert version.tags["estimator"] == "LogisticRegression"
    assert version.run_id == run["run_id"] and version.spec_version == 1
    assert version.dataset_versions[0]["dataset"] == "rides" and version.dataset_versions[0]["version"] == 1
    status, answer = send(client, "post", "/models/tips/predict?version=1",
                          {"records": [{"distance_km": 12.0, "zone": "north", "night": True}]})
    assert status == 200 and answer["predictions"] == pipeline.predict(
        __import__("pandas").DataFrame({"distance_km": [12.0], "zone": ["north"], "night": [1.0]})).tolist()


def test_a_trained_version_records_its_origin_too(client, moto_world, tips_spec, registry):
    _status, started = send(client, "post", "/models/tips/train", {})
    drain_invocations(client, moto_world)
    version = registry.get_model_version("tips", 1)
    assert version.origin is not None and version.origin["kind"] == "training_run"
    assert version.origin["run_id"] == started["run_id"]
    assert not any(tag.startswith("sluice.origin") for tag in version.tags)
    status, _ = send(client, "patch", "/models/tips/versions/1", {"tags": {"origin": "elsewhere"}})
    assert status == 200 and registry.get_model_version("tips", 1).origin == version.origin  # not a tag


def test_a_skops_file_naming_a_type_outside_the_trusted_list_is_refused_with_its_name(
        client, moto_world, tips_spec, registry):
    import skops.io
    from sklearn.svm import SVC

    body = skops_bytes(external_pipeline(SVC(probability=True)))
    assert "sklearn.svm._classes.SVC" not in skops.io.get_untrusted_types(data=body)  # skops trusts it
    run = import_model(client, moto_world, body, "skops")
    assert run["status"] == "failed"
    assert run["error"]["code"] == "import_untrusted_type"
    assert "sklearn.svm._classes.SVC" in run["error"]["message"]
    assert registry.store.get_model_version("tips", 1) is None


def test_a_function_of_unknown_code_is_refused_before_anything_is_built(client, moto_world, tips_spec):
    from sklearn.preprocessing import FunctionTransformer

    from tests.unit.imports import evil

    evil.CALLS.clear()
    pipeline = external_pipeline()
    pipeline.steps.insert(0, ("evil", FunctionTransformer(evil.side_effect)))
    run = import_model(client, moto_world, skops_bytes(pipeline), "skops")
    assert run["error"]["code"] == "import_untrusted_type"
    assert "tests.unit.imports.evil.side_effect" in run["error"]["message"]
    assert evil.CALLS == []


def test_an_mlflow_directory_saved_with_skops_is_imported_with_its_signature(
        client, moto_world, tips_spec, registry, tmp_path):
    import mlflow.sklearn
    from mlflow.models import infer_signature

    from sluice.cli.registry import pack_mlflow
    from tests.unit.training.conftest import rides_frame

    pipeline = external_pipeline()
    X = rides_frame()[FEATURES].astype({"night": "float64", "zone": "object"})
    mlflow.sklearn.save_model(pipeline, tmp_path / "model", serialization_format="skops",
                              skops_trusted_types=["numpy.dtype"],
                              signature=infer_signature(X, pipeline.predict(X)))
    packed = pack_mlflow(tmp_path / "model")
    run = import_model(client, moto_world, packed.body, "mlflow")
    assert run["status"] == "succeeded", run.get("error")
    assert run["origin"]["serialization_format"] == "skops" and run["origin"]["pickle"] is False
    assert run["origin"]["sklearn_version"]
    assert registry.get_model_version("tips", run["version"]).origin["format"] == "mlflow"


def test_a_pickled_mlflow_directory_loads_only_through_the_approvers_route(
        client, moto_world, tips_spec, registry, tmp_path):
    import mlflow.sklearn

    from sluice.cli.registry import pack_mlflow

    mlflow.sklearn.save_model(external_pipeline(), tmp_path / "model", serialization_format="cloudpickle")
    packed = pack_mlflow(tmp_path / "model")
    assert packed.pickled
    refused = import_model(client, moto_world, packed.body, "mlflow")
    assert refused["status"] == "failed" and refused["error"]["code"] == "pickle_requires_approver"
    assert registry.store.get_model_version("tips", 1) is None
    run = import_model(client, moto_world, packed.body, "mlflow", pickle_route=True)
    assert run["status"] == "succeeded", run.get("error")
    assert run["origin"]["pickle"] is True and run["origin"]["route"] == "approver"


def test_a_pickle_is_refused_on_the_operators_route_and_audited_on_the_approvers(
        client, moto_world, tips_spec, registry):
    import joblib

    buffer = io.BytesIO()
    joblib.dump(external_pipeline(), buffer)
    body = buffer.getvalue()
    status, answer = request_import(client, body, "pickle")
    assert status == 403 and answer["error"]["code"] == "pickle_requires_approver"
    assert [e for e in registry.list_audit_events("tips").items if e.event == "import"] == [] \
        if registry.store.get_model("tips") else True
    run = import_model(client, moto_world, body, "pickle", pickle_route=True)
    assert run["status"] == "succeeded", run.get("error")
    [audit] = [e for e in registry.list_audit_events("tips", limit=100).items if e.event == "import"]
    assert audit.actor == "anonymous" and audit.details["format"] == "pickle"
    assert audit.details["route"] == "approver" and audit.details["pickle_allowed"] is True


def test_the_pickle_route_belongs_to_the_approver_role_alone():
    from pathlib import Path

    import yaml

    roles = yaml.safe_load((Path(__file__).parents[3] / "infra" / "api_access.yaml").read_text())["roles"]
    assert "POST /models/{model}/imports/pickle" in roles["approver"]["routes"]
    assert all("POST /models/{model}/imports/pickle" not in r["routes"] and "POST *" not in r["routes"]
               for name, r in roles.items() if name != "approver")
    assert "POST /models/{model}/imports" in roles["operator"]["routes"]


def test_an_imported_version_worse_than_production_is_rejected_by_the_gate_like_a_trained_one(
        client, moto_world, tips_spec, registry):
    from sklearn.linear_model import LogisticRegression

    send(client, "post", "/models/tips/train", {})
    drain_invocations(client, moto_world)
    assert registry.get_alias("tips", "production") == 1
    worse = external_pipeline(LogisticRegression(C=1e-4), rows=40, seed=99)  # near the prior
    run = import_model(client, moto_world, skops_bytes(worse), "skops")
    assert run["status"] == "succeeded", run.get("error")
    evidence = run["decision"]["evidence"]
    assert run["decision"]["promote"] is False and run["promotion"]["status"] == "rejected"
    assert evidence["champion_version"] == 1 and evidence["challenger_version"] == 2
    assert evidence["against"] == "champion" and evidence["holdout_rows"] == 75
    assert registry.get_alias("tips", "production") == 1
    better = import_model(client, moto_world, skops_bytes(external_pipeline()), "skops")
    assert better["decision"]["promote"] is True and registry.get_alias("tips", "production") == 3


def test_an_import_without_a_spec_is_judged_by_the_requests_target_and_task(client, moto_world, rides,
                                                                            registry):
    status, answer = request_import(client, b"x", "skops", model="byom")
    assert status == 400 and answer["error"]["code"] == "import_spec_required"
    run = import_model(client, moto_world, skops_bytes(external_pipeline()), "skops", model="byom",
                       target="tipped", task="classification")
    assert run["status"] == "succeeded", run.get("error")
    assert registry.get_model_version("byom", 1).spec_version is None
    assert run["promotion"]["promoted"] is True  # against the trivial baseline, the gate's default policy


def test_bytes_other_than_the_requested_ones_are_refused_before_loading(client, moto_world, tips_spec):
    body = skops_bytes(external_pipeline())
    _, grant = request_import(client, body, "skops")
    tampered = body[:-1] + bytes([body[-1] ^ 1])
    assert put_file(grant, tampered).status_code == 200
    _status, started = send(client, "post", grant["start"], {})
    drain_invocations(client, moto_world)
    run = send(client, "get", f"/models/tips/runs/{started['run_id']}")[1]
    assert run["error"]["code"] == "import_checksum_mismatch"


def test_start_refuses_before_the_upload_after_a_wrong_size_and_a_second_time(client, moto_world, tips_spec):
    body = skops_bytes(external_pipeline())
    status, grant = request_import(client, body, "skops")
    status, answer = send(client, "post", grant["start"], {})
    assert status == 409 and answer["error"]["code"] == "import_not_uploaded"
    assert put_file(grant, body).status_code == 200
    assert put_file(grant, body).status_code == 412  # write-once: the URL cannot replace the file
    assert send(client, "post", grant["start"], {})[0] == 202
    status, answer = send(client, "post", grant["start"], {})
    assert status == 409 and answer["error"]["code"] == "import_already_started"
    status, shown = send(client, "get", f"/models/tips/imports/{grant['import_id']}")
    assert status == 200 and shown["status"] == "queued"
    assert shown["run_id"] == answer["error"]["details"]["run_id"]
    status, grant = request_import(client, body + b"x", "skops")
    put_file(grant, body)
    status, answer = send(client, "post", grant["start"], {})
    assert status == 422 and answer["error"]["code"] == "import_size_mismatch"


def test_an_unknown_import_is_404_and_features_other_than_the_pipelines_columns_are_refused(
        client, moto_world, tips_spec):
    assert send(client, "get", "/models/tips/imports/20990101T000000000Z-00000000")[1]["error"]["code"] == \
        "import_not_found"
    assert send(client, "post", "/models/tips/imports/..%2Fx/start", {})[0] == 404
    pipeline = external_pipeline()
    run = import_model(client, moto_world, skops_bytes(pipeline), "skops", features=["zone"])
    assert run["error"]["code"] == "import_schema_mismatch"
    assert json.dumps(run["error"]).count("distance_km") >= 1
