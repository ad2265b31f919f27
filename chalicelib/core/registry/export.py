"""A registered version as the tools people deploy with read it: an MLflow model directory, a SageMaker
scikit-learn ``model.tar.gz`` and a skops file. Pure: bytes in (the pipeline already serialised by the
caller), files out; no AWS, no scikit-learn import.

- **MLflow** (``mlflow``): ``MLmodel`` with the ``sklearn`` and ``python_function`` flavors, the
  pipeline pickled (``serialization_format: pickle``), ``code/`` (put on ``sys.path`` by MLflow's
  loader), a signature from the contract's feature types (the dtypes serving feeds the pipeline,
  :mod:`chalicelib.core.serving.frame`), and requirements pinned to the library versions the version was
  trained with. ``mlflow.pyfunc.load_model`` serves it.
- **SageMaker** (``sagemaker``): ``model.pkl`` and ``features.json`` plus ``code/inference.py``
  (``model_fn``, ``input_fn``, ``predict_fn``, ``output_fn`` of the SageMaker scikit-learn container),
  ``code/requirements.txt`` and the code the pipeline calls; the inference script types the records as
  sluice's API does.
- **skops** (``skops``): ``model.skops``, the code the pipeline calls and ``trusted_types.json``, the
  types ``skops.io.load`` must be told to trust (after the reader has looked at them).

Every bundle carries, beside the pipeline, ``code``: the modules its functions live in (file name → bytes).
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

FORMATS = ("mlflow", "sagemaker", "skops")
SUFFIX = {"mlflow": "mlflow.tar.gz", "sagemaker": "model.tar.gz", "skops": "skops.tar.gz"}
MEDIA_TYPE = dict.fromkeys(FORMATS, "application/gzip")
# contract type → MLflow column type: what serving feeds the pipeline (numbers and bools as float64)
MLFLOW_TYPES = {"int": "double", "float": "double", "bool": "double", "string": "string",
                "category": "string", "date": "datetime", "timestamp": "datetime"}
# the libraries a pipeline needs at load time, in the order requirements list them
LIBRARIES = ("scikit-learn", "numpy", "scipy", "pandas", "joblib")
FIXED_MTIME = 1_700_000_000  # tar members' time: an export's bytes depend on its content only


@dataclass(frozen=True)
class ExportSource:
    """What an export says about the version: from its metadata and registry record."""

    model: str
    version: int
    sha256: str  # the registered artifact's SHA-256 (verified before the pipeline was loaded)
    task: str
    target: str
    features: list[dict[str, str]]  # {"name", "type"} (contract types)
    classes: list[Any] | None
    libraries: dict[str, str]  # as trained: python, scikit-learn, numpy, pandas, joblib (+ scipy)
    created_at: str


def requirements(source: ExportSource) -> list[str]:
    """``name==version`` for each library the version recorded (scipy: scikit-learn's own dependency)."""
    return [f"{name}=={source.libraries[name]}" for name in LIBRARIES if source.libraries.get(name)]


def signature(source: ExportSource) -> dict[str, str | None]:
    """The MLflow signature (its JSON-in-YAML form): one required input column per feature."""
    inputs = [{"type": MLFLOW_TYPES.get(f["type"], "string"), "name": f["name"], "required": True}
              for f in source.features]
    label = _label_type(source)
    outputs = [{"type": label, "name": source.target, "required": True}] if label else []
    return {"inputs": json.dumps(inputs), "outputs": json.dumps(outputs) if outputs else None, "params": None}


def _label_type(source: ExportSource) -> str | None:
    if source.task == "regression":
        return "double"
    kinds = {type(c).__name__ for c in source.classes or []}
    return {"str": "string", "int": "long", "float": "double", "bool": "boolean"}.get(kinds.pop()) \
        if len(kinds) == 1 else None


def mlflow_files(source: ExportSource, pickled: bytes, code: Mapping[str, bytes],
                 mlflow_version: str) -> dict[str, bytes]:
    """The files of an MLflow model directory (relative paths) for ``pickled``, the pipeline as
    ``pickle.dumps`` wrote it."""
    python = source.libraries.get("python", "3.12")
    pins = requirements(source)
    mlmodel = {
        "artifact_path": "model",
        "flavors": {
            "python_function": {"env": {"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
                                "loader_module": "mlflow.sklearn", "model_path": "model.pkl",
                                "predict_fn": "predict", "python_version": python, "code": "code"},
            "sklearn": {"code": "code", "pickled_model": "model.pkl", "serialization_format": "pickle",
                        "sklearn_version": source.libraries.get("scikit-learn")},
        },
        "mlflow_version": mlflow_version,
        "model_uuid": source.sha256[:32],
        "utc_time_created": source.created_at,
        "signature": signature(source),
        "metadata": {"sluice_model": source.model, "sluice_version": source.version,
                     "sluice_artifact_sha256": source.sha256, "task": source.task},
    }
    conda = {"name": "mlflow-env", "channels": ["conda-forge"],
             "dependencies": [f"python={python}", "pip", {"pip": [f"mlflow=={mlflow_version}", *pins]}]}
    python_env = {"python": python, "build_dependencies": ["pip", "setuptools", "wheel"],
                  "dependencies": ["-r requirements.txt"]}
    return {"MLmodel": _yaml(mlmodel), "model.pkl": pickled, **{f"code/{n}": b for n, b in code.items()},
            "requirements.txt": ("\n".join([f"mlflow=={mlflow_version}", *pins]) + "\n").encode(),
            "conda.yaml": _yaml(conda), "python_env.yaml": _yaml(python_env)}


def sagemaker_files(source: ExportSource, pickled: bytes, code: Mapping[str, bytes]) -> dict[str, bytes]:
    """``model.pkl``, ``features.json`` and ``code/`` for the SageMaker scikit-learn container."""
    return {"model.pkl": pickled, "features.json": json.dumps(_described(source), indent=2).encode(),
            "code/inference.py": INFERENCE_SCRIPT.encode(),
            "code/requirements.txt": ("\n".join(requirements(source)) + "\n").encode(),
            **{f"code/{name}": body for name, body in code.items()}}


def skops_files(source: ExportSource, skops_bytes: bytes, code: Mapping[str, bytes],
                untrusted: list[str]) -> dict[str, bytes]:
    """``model.skops``, the code it calls, and the types a reader passes to ``skops.io.load(trusted=)``."""
    trusted = {**_described(source), "trusted_types": untrusted,
               "load": "sys.path.insert(0, folder); skops.io.load(folder + '/model.skops', "
                       "trusted=trusted_types)"}
    return {"model.skops": skops_bytes, "trusted_types.json": json.dumps(trusted, indent=2).encode(),
            "requirements.txt": ("\n".join(requirements(source)) + "\n").encode(), **dict(code)}


def _described(source: ExportSource) -> dict[str, Any]:
    return {"features": source.features, "classes": source.classes, "task": source.task,
            "target": source.target, "model": source.model, "version": source.version,
            "sha256": source.sha256}


def tar_gz(files: Mapping[str, bytes], folder: str = "") -> bytes:
    """A gzipped tar of ``files`` (under ``folder/`` when given), members sorted, times fixed."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(files):
            info = tarfile.TarInfo(f"{folder}/{name}" if folder else name)
            info.size, info.mtime, info.mode = len(files[name]), FIXED_MTIME, 0o644
            archive.addfile(info, io.BytesIO(files[name]))
    return buffer.getvalue()


def _yaml(value: Any) -> bytes:
    import yaml

    return yaml.safe_dump(value, sort_keys=False, default_flow_style=False).encode()


INFERENCE_SCRIPT = '''"""SageMaker scikit-learn container entry points for a model exported from sluice.

Requests: JSON ``{"records": [{feature: value, ...}, ...]}`` (or a list of records), or CSV with a
header row. Records are typed as sluice's API types them (numbers and booleans as float64, strings as
objects, dates and timestamps as datetime64). Responses: ``{"predictions": [...]}`` (+ ``probabilities``
per class for a classifier).
"""

import io
import json
import os
import pickle
import sys

import numpy as np
import pandas as pd

_NUMERIC = ("int", "float", "bool")
_TRUE = {"true", "1", "1.0", "t", "yes", "y"}
_FALSE = {"false", "0", "0.0", "f", "no", "n"}


def model_fn(model_dir):
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:  # the pipeline calls sluice_transforms, beside this script
        sys.path.insert(0, here)
    with open(os.path.join(model_dir, "features.json")) as handle:
        spec = json.load(handle)
    with open(os.path.join(model_dir, "model.pkl"), "rb") as handle:
        return {"pipeline": pickle.load(handle), **spec}


def input_fn(body, content_type):
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    if content_type == "text/csv":
        return pd.read_csv(io.StringIO(body), dtype=str, keep_default_na=False, na_values=[""])
    if content_type == "application/json":
        data = json.loads(body)
        records = data["records"] if isinstance(data, dict) else data
        return pd.DataFrame.from_records(records)
    raise ValueError(f"unsupported content type {content_type!r}: use application/json or text/csv")


def _number(value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return 1.0
        if lowered in _FALSE:
            return 0.0
    return float(value)


def _typed(frame, features):
    columns = {}
    for feature in features:
        name, kind = feature["name"], feature["type"]
        if name not in frame.columns:
            raise ValueError(f"missing feature {name!r}")
        values = frame[name]
        if kind in _NUMERIC:
            columns[name] = np.array([_number(v) for v in values], dtype="float64")
        elif kind in ("date", "timestamp"):
            columns[name] = pd.to_datetime(values, utc=True).dt.tz_localize(None).to_numpy(
                dtype="datetime64[ns]")
        else:
            columns[name] = np.array([np.nan if v is None else v for v in values], dtype=object)
    return pd.DataFrame(columns, columns=[f["name"] for f in features])


def predict_fn(data, model):
    frame = _typed(data, model["features"])
    pipeline = model["pipeline"]
    out = {"predictions": pipeline.predict(frame).tolist()}
    if model.get("task") == "classification" and hasattr(pipeline, "predict_proba"):
        classes = [str(c) for c in pipeline.classes_]
        out["probabilities"] = [dict(zip(classes, row)) for row in pipeline.predict_proba(frame).tolist()]
    return out


def output_fn(prediction, accept):
    return json.dumps(prediction), "application/json"
'''
