"""Artifacts: written under models/{model}/{version}/, loaded only after the registry's SHA-256 matches."""

import json

import pytest

from chalicelib.storage import artifacts, s3
from tests.functional.training.conftest import drain_invocations, send
from tests.unit.training.conftest import rides_frame, spec_body

pytestmark = pytest.mark.slow  # each test trains a model through the train function first


@pytest.fixture
def trained(client, moto_world, make_dataset, registry):
    make_dataset()
    send(client, "put", "/models/tips/spec", spec_body())
    send(client, "post", "/models/tips/train", {})
    [(_, run)] = drain_invocations(client, moto_world)
    assert run["status"] == "succeeded", run.get("error")
    return run


def load(version: int = 1):
    """Load as serving and training do: with the SHA-256 the registry recorded for the version."""
    from chalicelib.services.registry import get_registry

    sha256 = get_registry().get_model_version("tips", version).artifact_sha256
    return artifacts.load_model("tips", version, sha256)


def test_the_artifacts_carry_metadata_lineage_and_the_reference_profile(trained, registry):
    loaded = load()
    meta = loaded.metadata
    assert meta["artifact_sha256"] == registry.get_model_version("tips", 1).artifact_sha256 == loaded.sha256
    assert [f["name"] for f in meta["features"]] == ["distance_km", "zone", "night", "pickup_ts"]
    assert meta["unprofiled_features"] == ["pickup_ts"]
    assert meta["classes"] == ["no", "yes"] and meta["task"] == "classification"
    assert meta["lineage"]["raw"]["key"] == "raw/rides/v1.csv"
    assert meta["libraries"]["scikit-learn"] and meta["spec"]["seed"] == 3
    assert {i["feature"] for i in meta["importance"]} == {"distance_km", "zone", "night", "pickup_ts"}
    assert meta["evaluation"]["confusion_matrix"]["labels"] == ["no", "yes"]
    profile = artifacts.load_reference_profile("tips", 1)
    from chalicelib.core.drift.profile import Profile

    features = Profile.from_dict(profile["features"])
    assert features.feature_types == {  # the timestamp as the model sees it: its parts
        "distance_km": "numeric", "zone": "categorical", "night": "categorical", "pickup_ts.year": "numeric",
        "pickup_ts.month": "categorical", "pickup_ts.day": "numeric", "pickup_ts.dayofweek": "categorical",
        "pickup_ts.hour": "categorical"}
    assert features.rows == 300 and meta["reference"]["rows"] == 300  # training rows and holdout
    assert meta["derived_features"]["pickup_ts.month"] == {"source": "pickup_ts", "part": "month",
                                                          "kind": "categorical"}
    prediction = Profile.from_dict(profile["prediction"])
    assert set(prediction["prediction"].frequencies) <= {"no", "yes"}
    assert prediction["prediction"].count == 300  # out-of-fold for the training rows, and the holdout
    assert meta["prediction_reference"]["method"] == "out_of_fold"
    assert meta["prediction_reference"]["folds"] == 5
    assert meta["reference_profile_key"] == "models/tips/1/reference_profile.json"
    # the loaded pipeline scores raw records, unseen categories included
    frame = rides_frame(5).drop(columns=["tipped", "fare", "ride_id", "rider_email"])
    frame.loc[0, "zone"] = "airport"
    assert set(loaded.pipeline.predict(frame)) <= {"no", "yes"}


def test_a_tampered_artifact_is_refused_before_unpickling(trained):
    key = "models/tips/1/model.joblib"
    body = s3.get_bytes(key)
    s3.put_bytes(key, body[:-1] + bytes([body[-1] ^ 1]))
    with pytest.raises(artifacts.ArtifactTamperedError) as caught:
        load()
    assert caught.value.code == "artifact_tampered"
    assert "does not match the registry's SHA-256" in caught.value.message


def test_a_replaced_artifact_with_a_matching_metadata_file_is_still_refused(trained):
    """The expected hash comes from the registry, not from the metadata next to the file."""
    import hashlib

    evil = b"not a model"
    s3.put_bytes("models/tips/1/model.joblib", evil)
    meta = s3.get_json("models/tips/1/metadata.json")
    meta["artifact_sha256"] = hashlib.sha256(evil).hexdigest()
    s3.put_json("models/tips/1/metadata.json", meta)
    with pytest.raises(artifacts.ArtifactTamperedError):
        load()


def test_an_artifact_from_another_scikit_learn_minor_is_refused(trained):
    meta = s3.get_json("models/tips/1/metadata.json")
    meta["libraries"]["scikit-learn"] = "1.2.2"
    s3.put_bytes("models/tips/1/metadata.json", json.dumps(meta).encode())
    with pytest.raises(artifacts.IncompatibleArtifactError) as caught:
        load()
    assert caught.value.code == "incompatible_artifact"
    assert "written by scikit-learn 1.2.2" in caught.value.message


def test_storage_keeps_no_stale_copy_a_later_tampering_is_refused_on_the_next_load(trained):
    """Serving's bounded LRU is the container's only model cache; every load from storage is verified."""
    assert load().sha256
    key = "models/tips/1/model.joblib"
    body = s3.get_bytes(key)
    s3.put_bytes(key, body[:-1] + bytes([body[-1] ^ 1]))
    with pytest.raises(artifacts.ArtifactTamperedError):
        load()
