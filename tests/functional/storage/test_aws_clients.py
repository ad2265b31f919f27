from chalicelib import storage as aws
from chalicelib.core.settings import Settings


def test_clients_are_created_once_per_endpoint_and_honour_the_endpoint():
    local = Settings(endpoint_url="http://127.0.0.1:5999", region="eu-west-1")
    first = aws.client("s3", local)
    assert aws.client("s3", local) is first
    assert first.meta.endpoint_url == "http://127.0.0.1:5999"
    assert first.meta.region_name == "eu-west-1"
    assert aws.client("s3", Settings(region="eu-west-1")) is not first


def test_reset_forgets_cached_clients():
    settings = Settings(region="eu-west-1")
    first = aws.client("sqs", settings)
    aws.reset()
    assert aws.client("sqs", settings) is not first


def test_a_synchronous_lambda_invoke_waits_as_long_as_a_function_may_run():
    """botocore's default 60 s read timeout would abandon a long synchronous invoke and, with retries,
    invoke the function again (contract inference, feedback validation)."""
    from chalicelib.storage.clients import client

    assert client("lambda").meta.config.read_timeout >= 900
    assert client("s3").meta.config.read_timeout == 60
