"""An MLflow model directory's ``MLmodel`` file, as far as an import needs it: the scikit-learn flavor's
model file and how it is serialised, the scikit-learn version it was saved with, and the signature's
input columns (a schema when the pipeline does not name its columns)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.core.imports.errors import ImportInvalidError

SKOPS = "skops"
PICKLE_FORMATS = ("pickle", "cloudpickle")
SERIALIZATION_FORMATS = (SKOPS, *PICKLE_FORMATS)
MLFLOW_TYPES = {"double": "float", "float": "float", "long": "int", "integer": "int", "boolean": "bool",
                "string": "string", "datetime": "timestamp"}  # MLflow column type → contract type


@dataclass(frozen=True)
class MlflowModel:
    model_file: str  # relative to the folder holding MLmodel
    serialization_format: str  # skops | pickle | cloudpickle
    sklearn_version: str | None
    inputs: list[dict[str, str]] | None  # the signature's columns: {"name", "type"} (contract types)

    @property
    def pickled(self) -> bool:
        return self.serialization_format in PICKLE_FORMATS


def _invalid(message: str) -> ImportInvalidError:
    return ImportInvalidError(message, code="import_mlmodel_invalid")


def parse_mlmodel(text: bytes) -> MlflowModel:
    """The ``sklearn`` flavor of an MLmodel file (YAML, read with ``safe_load``: no tags, no objects)."""
    import yaml

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _invalid(f"MLmodel is not YAML ({type(exc).__name__})") from exc
    flavors = document.get("flavors") if isinstance(document, dict) else None
    flavor = flavors.get("sklearn") if isinstance(flavors, dict) else None
    if not isinstance(flavor, dict):
        raise _invalid("MLmodel has no sklearn flavor: only scikit-learn models (mlflow.sklearn) are "
                       "imported")
    model_file = flavor.get("pickled_model")
    if not isinstance(model_file, str) or not model_file or model_file.startswith("/") or ".." in model_file:
        raise _invalid("the sklearn flavor's pickled_model must name a file inside the model directory")
    fmt = flavor.get("serialization_format", "cloudpickle")  # mlflow's default before skops
    if fmt not in SERIALIZATION_FORMATS:
        raise _invalid(f"serialization_format {fmt!r} is not one of {', '.join(SERIALIZATION_FORMATS)}")
    version = flavor.get("sklearn_version")
    return MlflowModel(model_file, fmt, str(version) if version else None, _inputs(document.get("signature")))


def _inputs(signature: Any) -> list[dict[str, str]] | None:
    """The signature's named input columns (None for a tensor signature or none at all)."""
    import json

    if not isinstance(signature, dict) or not isinstance(signature.get("inputs"), str):
        return None
    try:
        columns = json.loads(signature["inputs"])
    except ValueError:
        return None
    if not isinstance(columns, list) or not all(isinstance(c, dict) and c.get("name") for c in columns):
        return None
    return [{"name": str(c["name"]), "type": MLFLOW_TYPES.get(str(c.get("type")), "string")} for c in columns]
