import json

import pytest

from chalicelib.core.errors import BadRequestError, ConflictError, NotFoundError, SluiceError
from chalicelib.triggers.http.http import decode_token, encode_token, error_response, json_body


@pytest.mark.parametrize(("error", "status"), [
    (BadRequestError("bad"), 400), (NotFoundError("gone"), 404), (ConflictError("moved"), 409),
])
def test_typed_errors_map_to_their_status_and_code(error, status):
    response = error_response(error)
    assert response.status_code == status
    assert json.loads(response.body) == {"error": {"code": error.code, "message": error.message}}


def test_an_unexpected_exception_is_a_500_that_hides_its_message():
    response = error_response(RuntimeError("secret=hunter2"))
    assert response.status_code == 500
    assert "hunter2" not in response.body
    assert json.loads(response.body)["error"]["code"] == "internal_error"


def test_a_custom_code_overrides_the_class_code():
    assert SluiceError("x", code="special").to_dict() == {"code": "special", "message": "x"}


class _Request:
    def __init__(self, raw: bytes) -> None:
        self.raw_body = raw


def test_json_body_rejects_missing_and_malformed_bodies_with_codes():
    with pytest.raises(BadRequestError) as missing:
        json_body(_Request(b""))
    assert missing.value.code == "missing_body"
    with pytest.raises(BadRequestError) as malformed:
        json_body(_Request(b"{nope"))
    assert malformed.value.code == "invalid_json"
    assert json_body(_Request(b'{"a": 1}')) == {"a": 1}


def test_continuation_tokens_round_trip_and_forgeries_are_rejected():
    key = {"pk": "MODEL#m", "sk": "VERSION#0000000007"}
    assert decode_token(encode_token(key)) == key
    with pytest.raises(BadRequestError) as caught:
        decode_token("not-a-token!")
    assert caught.value.code == "invalid_token"


def test_chalice_view_errors_are_reshaped_like_ours():
    from chalice import Response

    from chalicelib.triggers.http.http import normalise_chalice_error

    shaped = normalise_chalice_error(Response(body={"Code": "NotFoundError", "Message": "no route"},
                                              status_code=404))
    assert json.loads(shaped.body) == {"error": {"code": "not_found", "message": "no route"}}
    untouched = Response(body={"a": 1}, status_code=200)
    assert normalise_chalice_error(untouched) is untouched


def test_a_body_nested_too_deeply_is_invalid_json_not_a_crash():
    with pytest.raises(BadRequestError) as caught:
        json_body(_Request(b"[" * 100_000 + b"]" * 100_000))
    assert caught.value.code == "invalid_json"


def test_non_finite_numbers_leave_as_null_so_the_json_stays_strict():
    from chalicelib.triggers.http.http import json_response

    body = json.loads(json_response({"predictions": [1.5, float("inf"), float("nan")]}).body)
    assert body == {"predictions": [1.5, None, None]}
