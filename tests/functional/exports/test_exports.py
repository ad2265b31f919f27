"""A registered version exported for MLflow, SageMaker and skops loads with each tool's own loader in a
process where sluice cannot be imported, and predicts exactly what sluice's API predicts."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest
import requests

from tests.functional.training.conftest import drain_invocations, make_dataset, send  # noqa: F401
from tests.unit.training.conftest import rides_frame

pytestmark = pytest.mark.slow

FEATURES = ["distance_km", "zone", "night", "pickup_ts"]
SPEC = {"dataset": "rides", "target": "tipped", "task": "classification", "features": FEATURES,
        "estimator": {"name": "LogisticRegression", "params": {"C": 0.5}}, "seed": 3}
# Run first in every loader process: sluice is not installed where an export is used.
NO_SLUICE = textwrap.dedent('''
    import sys
    class NoSluice:
        def find_spec(self, name, path=None, target=None):
            if name == "chalicelib" or name.startswith("chalicelib."):
                raise ImportError("sluice is not installed here")
    sys.meta_path.insert(0, NoSluice())
    sys.modules.pop("chalicelib", None)
''')


@pytest.fixture
def trained(client, moto_world, make_dataset):  # noqa: F811
    make_dataset()
    assert send(client, "put", "/models/tips/spec", SPEC)[0] == 201
    send(client, "post", "/models/tips/train", {})
    drain_invocations(client, moto_world)
    records = json.loads(rides_frame(40, seed=11)[FEATURES].to_json(orient="records", date_format="iso"))
    status, answer = send(client, "post", "/models/tips/predict?version=1", {"records": records})
    assert status == 200, answer
    return records, answer


def export(client, fmt: str, tmp_path: Path) -> Path:
    status, grant = send(client, "post", "/models/tips/versions/1/exports", {"format": fmt})
    assert status == 201, grant
    body = requests.get(grant["url"], timeout=30).content
    import hashlib

    assert hashlib.sha256(body).hexdigest() == grant["sha256"]
    folder = tmp_path / fmt
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        archive.extractall(folder, filter="data")
    return folder


def run_without_sluice(script: str, tmp_path: Path) -> dict:
    path = tmp_path / "load.py"
    path.write_text(NO_SLUICE + textwrap.dedent(script))
    done = subprocess.run([sys.executable, str(path)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_mlflow_export_is_served_by_mlflow_pyfunc_like_sluice_serves_it(client, trained, tmp_path):
    records, answer = trained
    folder = export(client, "mlflow", tmp_path)
    mlmodel = (folder / "model" / "MLmodel").read_text()
    assert "serialization_format: pickle" in mlmodel and "sluice_artifact_sha256" in mlmodel
    requirements = (folder / "model" / "requirements.txt").read_text().split()
    assert any(r.startswith("scikit-learn==") for r in requirements)
    (tmp_path / "records.json").write_text(json.dumps(records))
    out = run_without_sluice(f'''
        import json
        import mlflow.pyfunc
        import pandas as pd
        model = mlflow.pyfunc.load_model({str(folder / "model")!r})
        frame = pd.DataFrame(json.load(open("records.json")))
        frame["distance_km"] = frame["distance_km"].astype("float64")
        frame["night"] = frame["night"].astype("float64")
        frame["pickup_ts"] = pd.to_datetime(frame["pickup_ts"], utc=True).dt.tz_localize(None)
        inputs = [c.name for c in model.metadata.get_input_schema().inputs]
        print(json.dumps({{"predictions": [str(p) for p in model.predict(frame)], "inputs": inputs}}))
    ''', tmp_path)
    assert out["inputs"] == FEATURES
    assert out["predictions"] == [str(p) for p in answer["predictions"]]


def test_the_sagemaker_export_answers_through_its_inference_script_like_sluice(client, trained, tmp_path):
    records, answer = trained
    folder = export(client, "sagemaker", tmp_path)
    assert {"model.pkl", "features.json", "code"} <= {p.name for p in folder.iterdir()}
    out = run_without_sluice(f'''
        import importlib.util, json
        spec = importlib.util.spec_from_file_location("inference", {str(folder / "code" / "inference.py")!r})
        inference = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(inference)
        model = inference.model_fn({str(folder)!r})
        body = json.dumps({{"records": {records!r}}})
        data = inference.input_fn(body, "application/json")
        text, media = inference.output_fn(inference.predict_fn(data, model), "application/json")
        print(text)
    ''', tmp_path)
    assert out["predictions"] == answer["predictions"]
    for theirs, ours in zip(out["probabilities"], answer["probabilities"], strict=True):
        assert theirs == pytest.approx(ours, abs=1e-12)


def test_the_skops_export_loads_only_with_its_listed_types_trusted(client, trained, tmp_path):
    records, answer = trained
    folder = export(client, "skops", tmp_path)
    trusted = json.loads((folder / "trusted_types.json").read_text())["trusted_types"]
    assert "sluice_transforms.to_float" in trusted and not any("chalicelib" in t for t in trusted)
    out = run_without_sluice(f'''
        import json, sys
        import pandas as pd
        import skops.io
        sys.path.insert(0, {str(folder)!r})
        try:
            skops.io.load({str(folder / "model.skops")!r}, trusted=[])
            refused = False
        except skops.io.exceptions.UntrustedTypesFoundException:
            refused = True
        pipeline = skops.io.load({str(folder / "model.skops")!r}, trusted={trusted!r})
        frame = pd.DataFrame({records!r})
        frame["night"] = frame["night"].astype("float64")
        frame["pickup_ts"] = pd.to_datetime(frame["pickup_ts"], utc=True).dt.tz_localize(None)
        print(json.dumps({{"refused": refused, "predictions": pipeline.predict(frame).tolist()}}))
    ''', tmp_path)
    assert out["refused"] is True
    assert out["predictions"] == answer["predictions"]


def test_an_export_is_written_once_audited_once_and_refuses_a_tampered_artifact(client, trained):
    from chalicelib.storage import s3

    first = send(client, "post", "/models/tips/versions/1/exports", {"format": "sagemaker"})[1]
    again = send(client, "post", "/models/tips/versions/1/exports", {"format": "sagemaker"})[1]
    assert (again["key"], again["sha256"]) == (first["key"], first["sha256"])
    audit = send(client, "get", "/models/tips/audit?limit=50")[1]["items"]
    assert [e["details"]["format"] for e in audit if e["event"] == "model_exported"] == ["sagemaker"]

    s3.put_bytes("models/tips/1/model.joblib", b"not the registered model")
    status, error = send(client, "post", "/models/tips/versions/1/exports", {"format": "mlflow"})
    assert (status, error["error"]["code"]) == (409, "artifact_tampered")
    assert not s3.exists("exports/tips/1/mlflow/mlflow.tar.gz")
    assert send(client, "post", "/models/tips/versions/1/exports", {"format": "onnx"})[0] == 400
    assert send(client, "post", "/models/tips/versions/9/exports", {"format": "skops"})[0] == 404
