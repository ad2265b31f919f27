"""The export formats' files, as pure data: the MLflow signature and pins, deterministic archives."""

from __future__ import annotations

import io
import json
import tarfile

import pytest
import yaml

from chalicelib.core.registry.export import (
    ExportSource,
    mlflow_files,
    requirements,
    sagemaker_files,
    signature,
    tar_gz,
)


def source(task: str = "classification", classes=("no", "yes")) -> ExportSource:
    return ExportSource(
        model="tips", version=3, sha256="a" * 64, task=task, target="tipped",
        features=[{"name": "distance_km", "type": "float"}, {"name": "trips", "type": "int"},
                  {"name": "night", "type": "bool"}, {"name": "zone", "type": "category"},
                  {"name": "pickup_ts", "type": "timestamp"}, {"name": "day", "type": "date"}],
        classes=list(classes) if classes else None,
        libraries={"python": "3.12.9", "scikit-learn": "1.9.1", "numpy": "2.5.5", "pandas": "3.1.1",
                   "joblib": "1.6.0", "scipy": "1.18.1"},
        created_at="2026-12-06T10:00:00.000Z")


def test_the_signature_types_each_feature_as_serving_feeds_the_pipeline():
    inputs = json.loads(signature(source())["inputs"])
    assert [(c["name"], c["type"]) for c in inputs] == [
        ("distance_km", "double"), ("trips", "double"), ("night", "double"), ("zone", "string"),
        ("pickup_ts", "datetime"), ("day", "datetime")]
    assert all(c["required"] for c in inputs)


@pytest.mark.parametrize(("task", "classes", "label"), [
    ("classification", ("no", "yes"), "string"), ("classification", (0, 1), "long"),
    ("classification", (True, False), "boolean"), ("regression", None, "double"),
    ("classification", ("a", 1), None)])  # mixed classes: no output type is honest
def test_the_output_type_follows_the_classes_or_the_task(task, classes, label):
    outputs = signature(source(task, classes))["outputs"]
    assert (json.loads(outputs)[0]["type"] if outputs else None) == label


def test_requirements_pin_the_libraries_the_version_was_trained_with():
    assert requirements(source()) == ["scikit-learn==1.9.1", "numpy==2.5.5", "scipy==1.18.1",
                                      "pandas==3.1.1", "joblib==1.6.0"]


def test_the_mlmodel_names_both_flavors_the_code_folder_and_the_artifact():
    files = mlflow_files(source(), b"pickled", {"sluice_transforms.py": b"x = 1\n"}, "3.18.0")
    mlmodel = yaml.safe_load(files["MLmodel"])
    assert mlmodel["flavors"]["sklearn"]["serialization_format"] == "pickle"
    assert mlmodel["flavors"]["python_function"]["code"] == "code" == mlmodel["flavors"]["sklearn"]["code"]
    assert mlmodel["metadata"]["sluice_artifact_sha256"] == "a" * 64
    assert files["code/sluice_transforms.py"] == b"x = 1\n" and files["model.pkl"] == b"pickled"
    assert files["requirements.txt"].decode().split() == ["mlflow==3.18.0", *requirements(source())]


def test_archives_depend_on_their_content_only():
    files = sagemaker_files(source(), b"pickled", {"sluice_transforms.py": b"x = 1\n"})
    first, again = tar_gz(files), tar_gz(dict(reversed(list(files.items()))))
    assert first == again
    with tarfile.open(fileobj=io.BytesIO(first)) as archive:
        assert sorted(archive.getnames()) == sorted(files)
        assert archive.extractfile("code/sluice_transforms.py").read() == b"x = 1\n"
    assert tar_gz(files, folder="model") != first
