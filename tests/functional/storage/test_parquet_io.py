"""Parquet I/O gives the same frames with pyarrow (validation's layer) and fastparquet (the ML layer)."""

import numpy as np
import pandas as pd
import pytest

from chalicelib.core import parquet

ENGINES = ["pyarrow", "fastparquet"]


def _frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.normal(size=n), "n": np.arange(n, dtype="int64"),
                         "city": rng.choice(["a", "b"], size=n)})


@pytest.mark.parametrize("use", ENGINES)
def test_a_prefix_in_s3_is_read_object_by_object_with_chosen_columns(moto_world, tmp_path, use):
    import boto3

    frame, prefix, s3 = _frame(500), "curated/d/dataset_version=1/", boto3.client("s3")
    for part in range(2):
        path = tmp_path / f"p{part}.parquet"
        parquet.write_file(path, [frame.iloc[part * 250:(part + 1) * 250]], use="pyarrow")
        s3.upload_file(str(path), moto_world.bucket, f"{prefix}p{part}.parquet")
    s3.put_object(Bucket=moto_world.bucket, Key=f"{prefix}_SUCCESS", Body=b"")
    from chalicelib.storage.parquet import read_s3_prefix

    out = read_s3_prefix(f"s3://{moto_world.bucket}/{prefix}", columns=["n"], use=use)
    assert list(out.columns) == ["n"] and out["n"].tolist() == list(range(500))
