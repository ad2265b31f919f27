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


@pytest.mark.parametrize("writer", ENGINES)
@pytest.mark.parametrize("reader", ENGINES)
def test_chunks_written_by_one_engine_read_back_identically_with_the_other(tmp_path, writer, reader):
    frame = _frame(1000)
    path = tmp_path / "f.parquet"
    assert parquet.write_file(path, (frame.iloc[i:i + 300] for i in range(0, 1000, 300)), use=writer) == 1000
    chunks = list(parquet.iter_file(path, chunk_rows=250, use=reader))
    assert all(len(c) <= 300 for c in chunks)
    back = pd.concat(chunks, ignore_index=True)
    pd.testing.assert_frame_equal(back[["x", "n"]], frame[["x", "n"]], check_dtype=False)
    assert back["city"].astype(str).tolist() == frame["city"].tolist()


def test_the_engine_falls_back_to_fastparquet_without_pyarrow(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name.startswith("pyarrow"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    assert parquet.engine() == "fastparquet"


def test_dates_and_timestamps_written_by_validation_read_back_alike_with_fastparquet(tmp_path):
    import datetime as dt

    frame = pd.DataFrame({
        "ts": pd.to_datetime(["2026-11-01T10:00:00", "2026-11-02T11:30:00"]).astype("datetime64[us]"),
        "day": [dt.date(2026, 11, 1), dt.date(2026, 11, 2)],
        "n": pd.array([1, None], dtype="Int64"), "flag": pd.array([True, None], dtype="boolean")})
    path = tmp_path / "typed.parquet"
    parquet.write_file(path, [frame], use="pyarrow")
    arrow = pd.concat(parquet.iter_file(path, use="pyarrow"), ignore_index=True)
    fast = pd.concat(parquet.iter_file(path, use="fastparquet"), ignore_index=True)
    assert list(pd.to_datetime(fast["ts"])) == list(pd.to_datetime(arrow["ts"]))
    assert [pd.Timestamp(v).date() for v in fast["day"]] == list(arrow["day"])
    assert fast["n"].isna().tolist() == [False, True] and fast["flag"].isna().tolist() == [False, True]
