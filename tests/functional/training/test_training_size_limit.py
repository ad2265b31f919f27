"""Data the training function cannot hold (its measured limit, rendered into SLUICE_TRAIN_MAX_ROWS) is
refused before a row is read: at once for a person's POST /train, in the run record for an automatic run."""

from __future__ import annotations

from chalicelib.services.training import start_run
from tests.functional.training.conftest import drain_invocations, send
from tests.unit.training.conftest import ROWS, spec_body

LIMIT = {"SLUICE_TRAIN_MAX_ROWS": str(ROWS - 1), "SLUICE_TRAIN_MEASURED_COLUMNS": "8"}


def test_a_window_larger_than_the_measured_limit_is_refused_with_the_limit(client, moto_world, make_dataset,
                                                                           monkeypatch):
    make_dataset()
    assert send(client, "put", "/models/big/spec", spec_body())[0] == 201
    for name, value in LIMIT.items():
        monkeypatch.setenv(name, value)
    status, body = send(client, "post", "/models/big/train", {})
    assert (status, body["error"]["code"]) == (413, "training_data_too_large")
    assert body["error"]["details"]["rows"] == ROWS and body["error"]["details"]["max_rows"] == ROWS - 1
    assert "Narrow the window" in body["error"]["message"]
    assert send(client, "get", "/models/big/runs")[1]["items"] == []  # nothing queued, the model free

    run_id = start_run("big", "system", cause={"trigger": "drift"})  # automatic: recorded in the run
    drain_invocations(client, moto_world)
    run = send(client, "get", f"/models/big/runs/{run_id}")[1]
    assert (run["status"], run["error"]["code"]) == ("failed", "training_data_too_large")


def test_without_a_configured_limit_the_same_window_trains(client, moto_world, make_dataset, monkeypatch):
    for name in LIMIT:
        monkeypatch.delenv(name, raising=False)
    make_dataset()
    assert send(client, "put", "/models/big/spec", spec_body())[0] == 201
    status, body = send(client, "post", "/models/big/train", {})
    assert status == 202, body
