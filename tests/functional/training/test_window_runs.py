"""Runs over a training window: every version it names, feedback rows joined (latest label per key), the
recent holdout, and lineage that lists what the run read. Specs that cannot train are refused at PUT."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.functional.training.conftest import drain_invocations, send
from tests.unit.training.conftest import CONTRACT, rides_frame, spec_body

FEATURE_COLUMNS = [c for c in CONTRACT["columns"]
                   if c["name"] in ("distance_km", "zone", "night", "pickup_ts", "tipped")]
FEEDBACK_CONTRACT = {"dataset": "tips-feedback", "columns": [
    *FEATURE_COLUMNS, {"name": "_request_id", "type": "string"}, {"name": "_record_index", "type": "int"},
    {"name": "_captured_at", "type": "timestamp"}, {"name": "_labelled_at", "type": "timestamp"}]}


def feedback(keys: range, label: str, captured: str, *, seed: int = 5) -> pd.DataFrame:
    frame = rides_frame(len(keys), seed=seed)[["distance_km", "zone", "night", "pickup_ts", "tipped"]]
    frame["tipped"] = label
    frame["_request_id"] = [f"req-{k}" for k in keys]
    frame["_record_index"] = 0
    frame["_captured_at"] = pd.Timestamp(captured, tz="UTC")
    frame["_labelled_at"] = pd.Timestamp("2026-12-20", tz="UTC")
    return frame


def run_of(client, moto_world, model="tips"):
    status, out = send(client, "post", f"/models/{model}/train", {})
    assert status == 202, out
    drain_invocations(client, moto_world)
    _, run = send(client, "get", f"/models/{model}/runs/{out['run_id']}")
    assert run["status"] == "succeeded", run.get("error")
    return run


@pytest.mark.slow
def test_a_run_reads_every_version_of_its_window_and_the_latest_label_of_each_feedback_key(
        client, moto_world, make_dataset, registry):
    first, second = make_dataset(rides_frame(150, seed=1)), make_dataset(rides_frame(150, seed=2))
    make_dataset(feedback(range(40), "no", "2026-12-01"), dataset="tips-feedback", contract=FEEDBACK_CONTRACT)
    make_dataset(pd.concat([feedback(range(20), "yes", "2026-12-02"), feedback(range(40, 50), "yes",
                                                                                "2026-12-03")]),
                 dataset="tips-feedback", contract=FEEDBACK_CONTRACT)  # req-0..19 labelled again
    spec = spec_body(data={"versions": "all", "feedback": True},
                     split={"method": "recent", "test_size": 0.2})
    assert send(client, "put", "/models/tips/spec", spec)[0] == 201

    run = run_of(client, moto_world)
    assert run["data"] == {"window": "all + feedback", "dataset_versions": [1, 2],
                           "feedback_versions": [1, 2],
                           "rows": {"dataset": 300, "feedback": 50, "feedback_replaced": 20}}
    assert run["rows"] == {"total": 350, "train": 280, "holdout": 70, "train_feedback": 0,
                           "holdout_feedback": 50}  # the newest rows are the feedback, all in the holdout
    assert run["dataset"]["version"] == second.version  # the newest dataset version, as before windows
    version = registry.get_model_version("tips", 1)
    assert [(d["dataset"], d["version"]) for d in version.dataset_versions] == [
        ("rides", first.version), ("rides", second.version), ("tips-feedback", 1), ("tips-feedback", 2)]
    _, lineage = send(client, "get", "/models/tips/versions/1/lineage")
    assert [d["found"] for d in lineage["datasets"]] == [True] * 4
    from chalicelib.storage import artifacts

    meta = artifacts.load_metadata("tips", 1)
    assert meta["lineage"]["feedback"]["rows"] == 50 and meta["lineage"]["window"]["versions"] == "all"
    confusion = meta["evaluation"]["confusion_matrix"]
    truth = dict(zip(confusion["labels"], np.asarray(confusion["matrix"]).sum(axis=1).tolist(), strict=True))
    newest = rides_frame(150, seed=2)["tipped"].iloc[-20:].value_counts()  # version 2's last rows
    # req-0..19 relabelled yes and req-40..49 yes; req-20..39 keep their first label, no
    assert truth == {"yes": 30 + int(newest.get("yes", 0)), "no": 20 + int(newest.get("no", 0))}


@pytest.mark.slow
@pytest.mark.parametrize(("versions", "read"), [({"last": 2}, [2, 3]), ({"since": "2026-06-01"}, [3]),
                                                ("latest", [3]), ("all", [1, 2, 3])])
def test_last_n_and_since_windows_read_only_their_versions(client, moto_world, make_dataset, versions, read):
    for seed, created in ((1, "2026-01-10T00:00:00.000Z"), (2, "2026-05-31T23:59:59.000Z"),
                          (3, "2026-06-01T00:00:00.000Z")):
        make_dataset(rides_frame(80, seed=seed), created_at=created)
    make_dataset(status="failed")  # version 4 did not pass: never read
    send(client, "put", "/models/tips/spec", spec_body(data={"versions": versions}))
    run = run_of(client, moto_world)
    assert run["data"]["dataset_versions"] == read and run["rows"]["total"] == 80 * len(read)


def test_a_window_with_no_passing_version_fails_the_run_naming_the_window(client, moto_world, make_dataset):
    make_dataset(created_at="2026-01-01T00:00:00.000Z")
    send(client, "put", "/models/tips/spec", spec_body(data={"versions": {"since": "2026-02-01"}}))
    _, out = send(client, "post", "/models/tips/train", {})
    drain_invocations(client, moto_world)
    _, run = send(client, "get", f"/models/tips/runs/{out['run_id']}")
    assert run["status"] == "failed" and run["error"]["code"] == "dataset_not_ready"
    assert run["error"]["message"] == ("dataset 'rides' has no passing version in the window "
                                       "(since 2026-02-01) to train on")


def test_a_spec_pinning_a_version_and_choosing_a_window_is_refused_at_put(client, moto_world):
    status, body = send(client, "put", "/models/tips/spec",
                        spec_body(dataset_version=2, data={"versions": {"last": 3}}))
    assert status == 400
    assert "dataset_version pins version 2; data.versions chooses a window of versions" in str(body)


def test_a_spec_listing_a_pii_column_as_a_feature_is_refused_at_put(client, moto_world, make_dataset):
    make_dataset()
    status, body = send(client, "put", "/models/tips/spec",
                        spec_body(features=["distance_km", "rider_email"]))
    assert status == 400 and body["error"]["code"] == "invalid_spec"
    assert body["error"]["details"]["problems"] == [
        "feature column(s) declared PII in the contract: rider_email (pii: hash); PII columns cannot be "
        "features (serving would take and capture them in clear): remove them from features"]
