"""Model artifacts under ``models/{model}/{version}/``: ``model.joblib``, ``metadata.json``,
``reference_profile.json``.

Loading never trusts the bucket: the caller hands in the SHA-256 from the registry's record of the
version, and the bytes are checked against it BEFORE ``joblib.load`` (unpickling runs code). An artifact
written by another scikit-learn major.minor is refused too. Nothing is cached here: serving keeps the
container's one bounded cache of loaded models, keyed by (model, version, sha256).
"""

from __future__ import annotations

import hashlib
import io
import platform
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.core.drift.profile import ReferenceProfileDict
from chalicelib.core.training.errors import ArtifactTamperedError, IncompatibleArtifactError
from chalicelib.core.training.metadata import ModelMetadata
from chalicelib.storage import s3
from chalicelib.storage.layout import MODELS, model_prefix

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

__all__ = ["ArtifactInfo", "ArtifactPrefix", "ArtifactTamperedError", "IncompatibleArtifactError",
           "LoadedModel", "delete_artifacts", "list_artifact_prefixes", "load_model",
           "load_reference_profile", "write_artifacts"]

MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
PROFILE_FILE = "reference_profile.json"



@dataclass(frozen=True)
class ArtifactInfo:
    sha256: str
    model_key: str
    metadata_key: str
    profile_key: str
    source: str  # s3://bucket/models/{model}/{version}/
    size: int


@dataclass(frozen=True)
class ArtifactPrefix:
    """What lies under one ``models/{model}/{version}/``: how many objects, and when the newest was
    written (epoch seconds)."""

    model: str
    version: int
    objects: int
    newest: float

    @property
    def prefix(self) -> str:
        return model_prefix(self.model, self.version)


@dataclass(frozen=True)
class LoadedModel:
    pipeline: Any  # the fitted scikit-learn Pipeline (untyped library)
    metadata: ModelMetadata
    model: str = ""
    version: int = 0
    sha256: str = ""


def library_versions() -> dict[str, str]:
    import joblib
    import numpy
    import pandas
    import sklearn

    return {"python": platform.python_version(), "scikit-learn": sklearn.__version__,
            "numpy": numpy.__version__, "pandas": pandas.__version__, "joblib": joblib.__version__}


def dump_model(pipeline: object) -> bytes:
    import joblib

    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer, compress=3)
    return buffer.getvalue()


def write_artifacts(model: str, version: int, pipeline: object, metadata: ModelMetadata,
                    reference_profile: ReferenceProfileDict) -> ArtifactInfo:
    """Write the three files (model first); ``metadata`` gains the SHA-256, keys and library versions."""
    base = model_prefix(model, version)
    body = dump_model(pipeline)
    stored = s3.put_bytes(base + MODEL_FILE, body)
    profile = s3.put_json(base + PROFILE_FILE, reference_profile)
    meta: ModelMetadata = {**metadata, "model": model, "version": version, "artifact_sha256": stored.sha256,
            "artifact_key": stored.key, "artifact_size": len(body), "reference_profile_key": profile.key,
            "libraries": library_versions()}
    s3.put_json(base + METADATA_FILE, meta)
    return ArtifactInfo(stored.sha256 or hashlib.sha256(body).hexdigest(), stored.key,
                        base + METADATA_FILE, profile.key, f"s3://{stored.bucket}/{base}", len(body))


def check_compatible(metadata: ModelMetadata) -> None:
    """:class:`IncompatibleArtifactError` unless the artifact's scikit-learn major.minor is ours."""
    import sklearn

    written = str(metadata.get("libraries", {}).get("scikit-learn", "unknown"))
    if _major_minor(written) != _major_minor(sklearn.__version__):
        raise IncompatibleArtifactError(
            f"artifact {metadata.get('model')}/{metadata.get('version')} was written by scikit-learn "
            f"{written}; this runtime has {sklearn.__version__} (major.minor must match); retrain the model "
            "or deploy a matching runtime")


def _major_minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


def load_model(model: str, version: int, expected_sha256: str) -> LoadedModel:
    """The verified, loaded pipeline of ``model`` ``version`` with its metadata.

    ``expected_sha256`` is the registry's record of the version. Raises ``artifact_tampered`` (SHA-256
    mismatch), ``incompatible_artifact`` (scikit-learn major.minor) or ``NotFoundError``.
    """
    base = model_prefix(model, version)
    body = s3.get_bytes(base + MODEL_FILE)
    actual = hashlib.sha256(body).hexdigest()
    if actual != expected_sha256:
        raise ArtifactTamperedError(
            f"artifact of {model} version {version} does not match the registry's SHA-256 "
            f"(expected {str(expected_sha256)[:12]}…, found {actual[:12]}…); refusing to load it")
    metadata: ModelMetadata = s3.get_json(base + METADATA_FILE)
    check_compatible(metadata)
    import joblib

    return LoadedModel(joblib.load(io.BytesIO(body)), metadata, model, int(version), actual)


def load_reference_profile(model: str, version: int) -> ReferenceProfileDict:
    """``{"features": Profile dict, "prediction": Profile dict}`` stored with the version
    (``chalicelib.core.drift.profile.Profile.from_dict`` reads each)."""
    profile: ReferenceProfileDict = s3.get_json(model_prefix(model, version) + PROFILE_FILE)
    return profile


def load_metadata(model: str, version: int) -> ModelMetadata:
    """``metadata.json`` of a version: task, target, features, classes, holdout metrics, spec, lineage."""
    metadata: ModelMetadata = s3.get_json(model_prefix(model, version) + METADATA_FILE)
    return metadata


def delete_artifacts(model: str, version: int) -> int:
    """Delete every object under ``models/{model}/{version}/`` (a delete marker each: the bucket keeps
    versions); returns how many. Only for a version the registry does not hold."""
    from chalicelib.core.settings import get_settings
    from chalicelib.storage.clients import client

    bucket = get_settings().bucket
    s3_client = client("s3")
    deleted = 0
    for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                     Prefix=model_prefix(model, version)):
        keys: list[ObjectIdentifierTypeDef] = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
        if keys:
            s3_client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            deleted += len(keys)
    return deleted


def list_artifact_prefixes(model: str | None = None) -> list[ArtifactPrefix]:
    """Every ``models/{model}/{version}/`` holding objects (of one model, or all), in key order."""
    from chalicelib.core.settings import get_settings
    from chalicelib.storage.clients import client

    prefix = f"{MODELS}/{model}/" if model else f"{MODELS}/"
    found: dict[tuple[str, int], tuple[int, float]] = {}
    bucket = get_settings().bucket
    pages = client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for page in pages:
        for obj in page.get("Contents", []):
            parts = obj["Key"].split("/")
            if len(parts) < 4 or not parts[2].isdigit():
                continue  # not an artifact of a numbered version
            key = (parts[1], int(parts[2]))
            count, newest = found.get(key, (0, 0.0))
            found[key] = (count + 1, max(newest, obj["LastModified"].timestamp()))
    return [ArtifactPrefix(m, v, count, newest) for (m, v), (count, newest) in sorted(found.items())]
