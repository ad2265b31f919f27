"""Batch output keys and the file formats batch scoring reads (the scoring: tests/functional/serving)."""

import pytest

from chalicelib.core.serving.batch_files import batch_format
from chalicelib.core.serving.errors import BatchFormatUnsupportedError
from chalicelib.storage.layout import batch_output_key as output_key

MODEL = "churn"


def test_output_keys_and_formats():
    assert output_key(f"batch/{MODEL}/input/a/b.csv") == f"batch/{MODEL}/output/a/b.csv"
    assert output_key(f"batch/{MODEL}/output/a.csv") is None
    assert batch_format("x.PARQUET") == "parquet" and batch_format("x.ndjson") == "jsonl"
    with pytest.raises(BatchFormatUnsupportedError) as caught:
        batch_format("x.json")
    assert caught.value.code == "unsupported_batch_format"
