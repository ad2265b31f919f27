"""awswrangler is configured for the same endpoint as the cached clients (tests/functional/storage)."""

from chalicelib import storage as aws
from chalicelib.core.settings import Settings


def test_awswrangler_is_pointed_at_the_same_endpoint():
    wr = aws.wrangler(Settings(endpoint_url="http://127.0.0.1:5999"))
    assert wr.config.s3_endpoint_url == "http://127.0.0.1:5999"
    wr = aws.wrangler(Settings())
    assert wr.config.s3_endpoint_url is None
