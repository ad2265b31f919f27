"""Batch scoring on local files: read CSV, JSONL or Parquet chunk by chunk, score each chunk, write the
input's rows back unchanged plus ``prediction``, one ``probability_{class}`` column per class and
``_error`` (no AWS here: :mod:`chalicelib.services.batch` moves the objects).

The output has the input's format, and the input's values unchanged: CSV cells are read as text and
written back as they were, quoted only where RFC 4180 needs it (so ``12`` stays a number and ``007``
keeps its zeros); a JSONL line's object is written back as parsed (``3`` stays ``3``, not ``3.0``; a
large integer keeps every digit; nested values stay); Parquet input columns keep their exact types. A row
that does not match the feature schema keeps its place with empty predictions and the reason (field
names and expected types, never values).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from chalicelib.core.labels import Label
from chalicelib.core.serving.errors import BatchFileUnreadableError, BatchFormatUnsupportedError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from chalicelib.core.serving.schema import Feature

# An added output column: predictions (numpy or a nullable pandas array), probabilities, errors
type AddedColumn = np.ndarray | pd.api.extensions.ExtensionArray | list[str | None]
type Added = dict[str, AddedColumn]

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}
CONTENT_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet",
                 "jsonl": "application/x-ndjson"}
CHUNK_ROWS = 10_000
PREDICTION = "prediction"
ERROR = "_error"


def batch_format(name: str) -> str:
    """``csv``, ``parquet`` or ``jsonl`` from the object name's extension."""
    suffix = Path(name).suffix.lower()
    if suffix not in FORMATS:
        raise BatchFormatUnsupportedError(
            f"batch inputs must end in one of {', '.join(sorted(FORMATS))}; got {suffix or 'no extension'!r}")
    return FORMATS[suffix]


def score_file(source: Path, result: Path, fmt: str, pipeline: Any, features: Sequence[Feature], *,
               chunk_rows: int = CHUNK_ROWS) -> tuple[int, int]:
    """Score ``source`` into ``result`` chunk by chunk; ``(rows, rows with an error)``."""
    from chalicelib.core.serving.scoring import output_columns

    classes, with_probabilities = output_columns(pipeline)
    writer = _writer(fmt)(result, classes, with_probabilities)
    rows = bad = 0
    try:
        for chunk in _readable(_READERS[fmt](source, chunk_rows), fmt):
            added = _score_chunk(chunk.frame, pipeline, features, classes, with_probabilities)
            writer.write(chunk, added)
            rows += len(chunk.frame)
            bad += sum(e is not None for e in added[ERROR])
        writer.close()
    finally:
        writer.abort()
    return rows, bad


def _readable(chunks: Iterator[_Chunk], fmt: str) -> Iterator[_Chunk]:
    """The reader's chunks; a parse error (pandas and pyarrow raise ValueErrors) becomes a domain error."""
    while True:
        try:
            chunk = next(chunks)
        except StopIteration:
            return
        except (ValueError, OSError) as exc:
            raise BatchFileUnreadableError(
                f"the {fmt} file could not be read ({type(exc).__name__})") from exc
        yield chunk


def _score_chunk(data: pd.DataFrame, pipeline: Any, features: Sequence[Feature], classes: list[Label] | None,
                 with_probabilities: bool) -> Added:
    """The added columns for one chunk (arrays): prediction, probability_<class>..., _error."""
    import numpy as np
    import pandas as pd

    from chalicelib.core.serving.frame import coerce_frame
    from chalicelib.core.serving.scoring import score

    frame, errors = coerce_frame(data, features)
    n = len(frame)
    good = np.array([e is None for e in errors], dtype=bool)
    probabilities = {probability_column(c): np.full(n, np.nan) for c in classes or ()} \
        if with_probabilities else {}
    predictions: AddedColumn = pd.array([None] * n, dtype=object)
    if good.any():
        scores = score(pipeline, frame if good.all() else frame[good].reset_index(drop=True))
        raw = cast("np.ndarray", scores.raw)  # score() always sets it
        if good.all():
            predictions = raw
        else:  # nullable (Int64, string, boolean, Float64): missing where the row had an error
            predictions = pd.Series(pd.array(raw), index=np.flatnonzero(good)).reindex(
                pd.RangeIndex(n)).array
        if probabilities and scores.probability_matrix is not None:
            for j, cls in enumerate(scores.classes or ()):
                probabilities[probability_column(cls)][good] = scores.probability_matrix[:, j]
    return {PREDICTION: predictions, **probabilities, ERROR: errors}


def probability_column(cls: object) -> str:
    return f"probability_{cls}"


@dataclass
class _Chunk:
    frame: pd.DataFrame  # the input's columns as read
    arrow: pa.RecordBatch | None = None  # the Parquet batch, written back untouched
    records: list[dict[str, Any]] | None = None  # the parsed JSONL objects, written back untouched


def _read_csv(path: Path, chunk_rows: int) -> Iterator[_Chunk]:
    import pandas as pd

    # Every value as text (CSV has no types): "007" stays "007"; only empty cells are missing.
    with pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], chunksize=chunk_rows) as reader:
        for frame in reader:
            yield _Chunk(frame)


def _read_jsonl(path: Path, chunk_rows: int) -> Iterator[_Chunk]:
    """Each line's object as parsed (kept for the output) and, for scoring, a frame of them."""
    import pandas as pd

    def chunk(records: list[dict[str, Any]]) -> _Chunk:
        return _Chunk(pd.DataFrame.from_records(records), records=records)

    records: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            record = json.loads(line)  # ValueError: unreadable (_readable)
            if not isinstance(record, dict):
                raise ValueError("a JSONL line is not an object")
            records.append(record)
            if len(records) == chunk_rows:
                yield chunk(records)
                records = []
    if records:
        yield chunk(records)


def _read_parquet(path: Path, chunk_rows: int) -> Iterator[_Chunk]:
    if not has_pyarrow():  # the ML layer: fastparquet, one row group (sliced to chunk_rows) at a time
        import pandas as pd

        from chalicelib.core.parquet import iter_file

        dates = _fastparquet_date_columns(path)
        for frame in iter_file(path, chunk_rows=chunk_rows, use="fastparquet"):
            for name in dates:  # fastparquet gives Parquet DATE values as epoch nanoseconds
                frame[name] = pd.to_datetime(pd.to_numeric(frame[name]), unit="ns")
            yield _Chunk(frame)
        return
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as parquet:
        for batch in parquet.iter_batches(batch_size=chunk_rows):
            yield _Chunk(batch.to_pandas(), batch)


def _fastparquet_date_columns(path: Path) -> list[str]:
    from fastparquet import ParquetFile
    from fastparquet.parquet_thrift import ConvertedType

    elements = ParquetFile(str(path)).schema.schema_elements[1:]
    return [e.name for e in elements if e.converted_type == ConvertedType.DATE]


def has_pyarrow() -> bool:
    """pyarrow is in the AWS SDK for pandas layer but not in the ML layer ``on_batch_object`` runs with."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


class _ArrowWriter:
    """Each chunk as an Arrow table: the input's columns untouched, the added ones with fixed types."""

    def __init__(self, path: Path, classes: list[Label] | None, with_probabilities: bool) -> None:
        import pyarrow as pa

        self._path = path
        self._writer: Any = None
        self._schema: Any = None
        label_type = pa.array(classes).type if classes else pa.float64()
        self._types = {PREDICTION: label_type}
        for cls in (classes or ()) if with_probabilities else ():
            self._types[probability_column(cls)] = pa.float64()
        self._types[ERROR] = pa.string()

    def write(self, chunk: _Chunk, added: Added) -> None:
        import pyarrow as pa

        if chunk.arrow is not None:
            table = pa.Table.from_batches([chunk.arrow])
        else:
            table = pa.Table.from_pandas(chunk.frame, preserve_index=False)
        for name, values in added.items():
            if name in table.column_names:
                table = table.drop_columns([name])
            kind = self._types[name]
            table = table.append_column(pa.field(name, kind), [pa.array(values, kind, from_pandas=True)])
        if self._writer is None:
            self._schema = table.schema
            self._writer = self._open(table.schema)
        elif table.schema != self._schema:  # e.g. a text column that was all-null in the first chunk
            table = table.cast(self._schema)
        self._writer.write_table(table)

    def _open(self, schema: pa.Schema) -> pa.parquet.ParquetWriter:
        raise NotImplementedError

    def close(self) -> None:
        import pyarrow as pa

        if self._writer is None:  # an input with no rows: an empty output with the added columns
            self._writer = self._open(pa.schema([pa.field(n, t) for n, t in self._types.items()]))
        self._writer.close()
        self._writer = None

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class _ParquetWriter(_ArrowWriter):
    """Appends the added columns to the input's record batches: input columns keep their exact types."""

    def _open(self, schema: pa.Schema) -> pa.parquet.ParquetWriter:
        import pyarrow.parquet as pq

        return pq.ParquetWriter(self._path, schema)


class _JsonlWriter:
    """Each input object as it was parsed, plus the added fields (JSON values: NaN and NA as null)."""

    def __init__(self, path: Path, classes: list[Label] | None, with_probabilities: bool) -> None:
        self._file = path.open("w", encoding="utf-8", newline="")

    def write(self, chunk: _Chunk, added: Added) -> None:
        records: Sequence[dict[Any, Any]] = (  # the JSON objects, or the frame's rows
            chunk.records if chunk.records is not None else chunk.frame.to_dict("records"))
        columns = {name: _json_values(values) for name, values in added.items()}
        for index, record in enumerate(records):
            extra = {name: values[index] for name, values in columns.items()}
            self._file.write(json.dumps({**record, **extra}, ensure_ascii=False, default=str) + "\n")

    def close(self) -> None:
        self._file.close()

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()


class _CsvWriter:
    """pandas' CSV writer, one chunk at a time: the input's text cells go back as they were read, quoted
    only where RFC 4180 needs it (Arrow's writer, with or without pyarrow, quotes every text value, which
    turned ``12`` into ``"12"``)."""

    def __init__(self, path: Path, classes: list[Label] | None, with_probabilities: bool) -> None:
        self._file = path.open("w", encoding="utf-8", newline="")
        self._first = True

    def write(self, chunk: _Chunk, added: Added) -> None:
        _with_added(chunk.frame, added).to_csv(self._file, header=self._first, index=False,
                                               lineterminator="\n")
        self._first = False

    def close(self) -> None:
        self._file.close()

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()


class _FastParquetWriter:
    """Parquet without pyarrow (the ML layer): fastparquet, one row group per chunk.

    The added columns get fixed dtypes so every row group has the same schema (a chunk of only bad
    rows has no predictions to infer a type from).
    """

    def __init__(self, path: Path, classes: list[Label] | None, with_probabilities: bool) -> None:
        self._path = path
        self._rows = 0
        self._label = _nullable_dtype(classes)
        self._names = [PREDICTION, *(probability_column(c) for c in (classes or ()) if with_probabilities),
                       ERROR]

    def write(self, chunk: _Chunk, added: Added) -> None:
        import fastparquet

        frame = _with_added(chunk.frame, added).astype({PREDICTION: self._label})
        fastparquet.write(str(self._path), frame, append=self._rows > 0, object_encoding="utf8")
        self._rows += len(frame)

    def close(self) -> None:
        import fastparquet
        import pandas as pd

        if self._rows == 0:
            empty = pd.DataFrame({n: pd.Series([], dtype=self._label if n == PREDICTION else
                                               ("float64" if n != ERROR else object)) for n in self._names})
            fastparquet.write(str(self._path), empty, object_encoding="utf8")

    def abort(self) -> None:
        """Nothing held open between chunks."""


def _with_added(frame: pd.DataFrame, added: Added) -> pd.DataFrame:
    import numpy as np

    columns = {name: np.array(v, dtype=object) if isinstance(v, list) else v for name, v in added.items()}
    return frame.reset_index(drop=True).assign(**columns)


def _json_values(values: AddedColumn) -> list[object]:
    """An added column as JSON values: numpy scalars as Python numbers, NaN and NA as None."""
    import math

    import numpy as np

    out = []
    for value in values.tolist() if hasattr(values, "tolist") else list(values):
        if isinstance(value, np.generic):
            value = value.item()
        if value is None or (isinstance(value, float) and math.isnan(value)) or _is_na(value):
            value = None
        out.append(value)
    return out


def _is_na(value: object) -> bool:
    import pandas as pd

    return value is pd.NA or value is pd.NaT


def _nullable_dtype(classes: list[Label] | None) -> str:
    """A pandas dtype that holds the labels and a missing value."""
    if classes is None:
        return "float64"
    if all(isinstance(c, bool) for c in classes):
        return "boolean"
    if all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
        return "Int64"
    if all(isinstance(c, int | float) and not isinstance(c, bool) for c in classes):
        return "Float64"
    return "object"


class _Writer(Protocol):
    def write(self, chunk: _Chunk, added: Added) -> None: ...
    def close(self) -> None: ...
    def abort(self) -> None: ...


def _writer(fmt: str) -> Callable[[Path, list[Label] | None, bool], _Writer]:
    if fmt == "jsonl":
        return _JsonlWriter
    if fmt == "csv":
        return _CsvWriter
    return _ParquetWriter if has_pyarrow() else _FastParquetWriter


_READERS = {"csv": _read_csv, "jsonl": _read_jsonl, "parquet": _read_parquet}
