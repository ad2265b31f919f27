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


def test_awswrangler_is_pointed_at_the_same_endpoint():
    wr = aws.wrangler(Settings(endpoint_url="http://127.0.0.1:5999"))
    assert wr.config.s3_endpoint_url == "http://127.0.0.1:5999"
    wr = aws.wrangler(Settings())
    assert wr.config.s3_endpoint_url is None
