"""Training routes: bodies are strict."""

import json


def test_a_train_request_with_unknown_fields_is_refused_not_ignored(client):
    response = client.http.post("/models/fare/train", headers={"Content-Type": "application/json"},
                                body=json.dumps({"dataset_version": "abc"}))
    assert response.status_code == 400
    assert response.json_body["error"]["code"] == "invalid_input"
    assert "dataset_version" in response.json_body["error"]["message"]
