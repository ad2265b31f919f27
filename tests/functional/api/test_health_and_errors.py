from chalicelib import __version__


def test_health_answers_with_status_and_version(client):
    response = client.http.get("/health")
    assert response.status_code == 200
    assert response.json_body == {"status": "ok", "version": __version__, "stage": "local"}


def test_typed_errors_raised_in_views_reach_the_one_mapping(client):
    response = client.http.post("/models/m/drift/check", headers={"Content-Type": "application/json"},
                                body="{nope")
    assert response.status_code == 400
    assert response.json_body["error"]["code"] == "invalid_json"


def test_a_bug_in_a_view_is_our_500_without_details(client, monkeypatch):
    from chalicelib.storage import checks as store

    def broken(*args, **kwargs):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(store, "list_checks", broken)
    response = client.http.get("/models/m/drift")
    assert response.status_code == 500
    assert response.json_body == {"error": {"code": "internal_error", "message": "internal error"}}


def test_an_item_over_dynamodbs_size_limit_is_a_413_from_any_route(client, monkeypatch):
    from botocore.exceptions import ClientError

    from chalicelib.storage import checks as store

    def too_big(*args, **kwargs):
        error = {"Code": "ValidationException", "Message": "Item size has exceeded the maximum allowed size"}
        raise ClientError({"Error": error}, "PutItem")

    monkeypatch.setattr(store, "list_checks", too_big)
    response = client.http.get("/models/m/drift")
    assert response.status_code == 413
    assert response.json_body["error"]["code"] == "item_too_large"
