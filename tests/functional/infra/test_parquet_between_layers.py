"""Curated Parquet written in the pandas layer (pyarrow) reads back in the ML layer (fastparquet)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

fastparquet = pytest.importorskip("fastparquet")


def test_feature_columns_written_by_pyarrow_read_back_with_fastparquet(tmp_path):
    frame = pd.DataFrame({
        "count": pd.array([1, None, 3], dtype="Int64"),
        "amount": [1.5, np.nan, 2.0],
        "flag": pd.array([True, None, False], dtype="boolean"),
        "city": pd.array(["Oslo", None, "Lima"], dtype="string"),
        "plan": pd.Categorical(["a", "b", "a"]),
        "at": pd.to_datetime(["2026-01-01T00:00:00Z", None, "2026-01-02T03:04:05Z"]),
    })
    path = tmp_path / "part-00000.snappy.parquet"
    frame.to_parquet(path, engine="pyarrow", compression="snappy", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fastparquet's numpy/pandas deprecation noise
        back = fastparquet.ParquetFile(str(path)).to_pandas()
    assert back["count"].tolist()[::2] == [1, 3] and back["count"].isna().tolist() == [False, True, False]
    assert back["amount"].tolist()[::2] == [1.5, 2.0]
    assert back["flag"].tolist()[::2] == [True, False]
    assert back["city"].tolist() == ["Oslo", None, "Lima"]
    assert back["plan"].astype(str).tolist() == ["a", "b", "a"]
    assert back["at"].tolist()[::2] == frame["at"].tolist()[::2]
