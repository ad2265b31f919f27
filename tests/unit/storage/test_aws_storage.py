"""The thin storage layer's pure parts: DynamoDB number types, invoke answers and settings (the AWS calls
are in tests/functional/storage/test_aws_storage.py)."""

import json

import pytest

from chalicelib.core.errors import ConfigurationError
from chalicelib.core.settings import Settings
from chalicelib.storage import table
from chalicelib.storage.invoke import invoke_async


def test_numbers_survive_the_trip_through_dynamodb_types():
    value = {"f": 0.1, "i": 3, "nan": float("nan"), "nested": [1.5, {"b": True}], "tiny": 1.8e-293,
             "huge": 1e300}
    assert table.to_plain(table.to_dynamo(value)) == {"f": 0.1, "i": 3, "nan": None, "tiny": 0,
                                                       "huge": None, "nested": [1.5, {"b": True}]}


def test_queue_mode_without_a_queue_is_a_configuration_error():
    with pytest.raises(ConfigurationError):
        invoke_async("train", {}, Settings(invoke_mode="queue"))


def test_a_sync_answer_carries_the_result_or_the_typed_error():
    from chalicelib.core.errors import NotFoundError
    from chalicelib.storage.invoke import sync_answer

    assert sync_answer(lambda x: x + 1, 1) == {"result": 2}

    def missing():
        raise NotFoundError("no object", code="object_not_found")

    assert sync_answer(missing) == {"error": {"code": "object_not_found", "message": "no object",
                                              "status": 404}}


def test_invoke_sync_turns_the_answer_back_into_a_result_or_the_same_error(monkeypatch):
    import io

    from chalicelib.core.errors import SluiceError
    from chalicelib.storage import invoke

    answers = iter([{"result": {"ok": 1}},
                    {"error": {"code": "unreadable_file", "message": "binary", "status": 400}}])
    calls = []

    class FakeLambda:
        def invoke(self, **kwargs):
            calls.append(kwargs)
            return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(next(answers)).encode())}

    monkeypatch.setattr(invoke, "client", lambda service, settings=None: FakeLambda())
    settings = Settings(invoke_mode="lambda", function_prefix="sluice-dev-")
    assert invoke.invoke_sync("contract_inference", {"k": 1}, settings) == {"ok": 1}
    with pytest.raises(SluiceError) as caught:
        invoke.invoke_sync("contract_inference", {"k": 2}, settings)
    assert (caught.value.status, caught.value.code) == (400, "unreadable_file")
    assert calls[0]["FunctionName"] == "sluice-dev-contract_inference"
    assert calls[0]["InvocationType"] == "RequestResponse"
