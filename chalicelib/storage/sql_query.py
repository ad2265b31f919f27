"""The two engines of ``sluice query``: Athena on a deployed stack, DuckDB over the local stack's S3.

Both get the SQL text as written. **Athena** (:func:`athena_query`) reads the Glue tables of the
template through awswrangler, in the stack's workgroup (results encrypted under ``athena-results/``).
**DuckDB** (:class:`LocalEngine`) cannot reach moto's S3 itself (its httpfs extension is downloaded at
run time), so it lists and reads the same objects with boto3 and registers each table the query names as
an Arrow table: sluice's tables from :mod:`chalicelib.core.sql_tables` (rows as the JSON SerDe reads them,
partition columns from the keys as projection derives them) and the curated datasets' tables from the
local Glue catalog (Parquet, partition columns from ``name=value`` folders).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from chalicelib.core.sql_query import (
    TRINO_MACROS,
    QueryError,
    check_injected,
    check_tables,
    injected_values,
)
from chalicelib.core.sql_tables import BY_NAME, TableDef, TypeTree, parse_type, rows_of

if TYPE_CHECKING:
    import boto3
    import pandas as pd
    import pyarrow as pa
    from mypy_boto3_glue import GlueClient
    from mypy_boto3_s3 import S3Client


def athena_query(sql: str, *, database: str, workgroup: str, session: boto3.session.Session) -> pd.DataFrame:
    """``sql`` on Athena in ``workgroup`` (its result location), ``database`` as the default database.

    Results come back through the workgroup's CSV result (``ctas_approach=False``): no temporary Glue
    table is created, so querying needs no right to change the catalog."""
    import awswrangler as wr

    try:
        frame: pd.DataFrame = wr.athena.read_sql_query(sql, database=database, workgroup=workgroup,
                                                       ctas_approach=False, boto3_session=session)
    except wr.exceptions.QueryFailed as exc:
        raise QueryError(str(exc)) from exc
    return frame


class LocalEngine:
    """DuckDB over the objects of one bucket (the local stack's moto S3)."""

    def __init__(self, s3: S3Client, bucket: str, *, glue: GlueClient | None = None,
                 database: str | None = None) -> None:
        self.s3, self.bucket, self.glue, self.database = s3, bucket, glue, database

    def curated_tables(self) -> dict[str, dict[str, Any]]:
        """The curated datasets' Glue tables of the local catalog (name → Glue table)."""
        if self.glue is None or not self.database:
            return {}
        out: dict[str, dict[str, Any]] = {}
        for page in self.glue.get_paginator("get_tables").paginate(DatabaseName=self.database):
            for found in page["TableList"]:
                if found["Name"] not in BY_NAME:
                    out[found["Name"]] = dict(found)
        return out

    def query(self, sql: str) -> pd.DataFrame:
        import duckdb

        connection = duckdb.connect()
        try:
            connection.execute("SET TimeZone = 'UTC'")
            for macro in TRINO_MACROS.values():
                connection.execute(macro)
            referenced = {name.lower() for name in connection.get_table_names(sql)}
            curated = self.curated_tables()
            check_tables(referenced, [*BY_NAME, *curated])
            check_injected(sql, referenced)
            if self.database:  # `database.table` reads the same as `table`, as on Athena
                connection.execute(f'CREATE SCHEMA "{self.database}"')
            for name in sorted(referenced):
                data = self.load(BY_NAME[name], sql) if name in BY_NAME else self.load_curated(curated[name])
                connection.register(name, data)
                if self.database:
                    connection.execute(f'CREATE VIEW "{self.database}"."{name}" AS SELECT * FROM "{name}"')
            return connection.execute(sql).fetchdf()
        except duckdb.Error as exc:
            raise QueryError(str(exc)) from exc
        finally:
            connection.close()

    # ---- sluice's tables -----------------------------------------------------------------------

    def load(self, definition: TableDef, sql: str = "") -> pa.Table:
        """Every row of ``definition``'s objects (only the named values of an injected partition)."""
        import pyarrow as pa

        prefixes = [definition.prefix]
        for partition in definition.injected:
            values = injected_values(sql, partition)
            if values is not None:
                prefixes = [definition.location.split("${" + partition + "}")[0] + v + "/" for v in values]
        rows: list[dict[str, Any]] = []
        for key in self._keys(prefixes):
            partitions = definition.partition_values(key)
            if partitions is not None:
                rows.extend(rows_of(definition, self._get(key), partitions))
        fields = [(c.name, arrow_type(parse_type(c.type))) for c in definition.columns]
        fields += [(p.name, arrow_type(p.type)) for p in definition.partitions]
        schema = pa.schema(fields)
        return pa.Table.from_pylist([_arrow_row(r, schema) for r in rows], schema=schema)

    # ---- curated datasets ----------------------------------------------------------------------

    def load_curated(self, glue_table: dict[str, Any]) -> pa.Table:
        """A curated dataset's Parquet objects, with its partition columns from the keys."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        location = str(glue_table["StorageDescriptor"]["Location"])
        prefix = location.split(f"s3://{self.bucket}/", 1)[-1].rstrip("/") + "/"
        keys = {p["Name"]: arrow_type(parse_type(p["Type"])) for p in glue_table.get("PartitionKeys", [])}
        parts = []
        for key in self._keys([prefix]):
            if not key.endswith(".parquet"):
                continue
            part = pq.read_table(io.BytesIO(self._get(key)))
            values = dict(s.split("=", 1) for s in key[len(prefix):].split("/")[:-1] if "=" in s)
            for name, kind in keys.items():
                part = part.append_column(name, pa.array([values.get(name)] * part.num_rows).cast(kind))
            parts.append(part)
        if not parts:
            columns = glue_table["StorageDescriptor"].get("Columns", []) + glue_table.get("PartitionKeys", [])
            return pa.schema([(c["Name"], arrow_type(parse_type(c["Type"]))) for c in columns]).empty_table()
        return pa.concat_tables(parts, promote_options="permissive")

    # ---- S3 ------------------------------------------------------------------------------------

    def _keys(self, prefixes: list[str]) -> Iterator[str]:
        paginator = self.s3.get_paginator("list_objects_v2")
        for prefix in prefixes:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield item["Key"]

    def _get(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()


def arrow_type(tree: TypeTree) -> pa.DataType:
    """The Arrow type DuckDB reads as the Glue type ``tree``."""
    import pyarrow as pa

    if isinstance(tree, str):
        primitive = {"string": pa.string(), "int": pa.int32(), "bigint": pa.int64(), "double": pa.float64(),
                     "float": pa.float32(), "boolean": pa.bool_(), "smallint": pa.int16(),
                     "tinyint": pa.int8(), "date": pa.date32(), "timestamp": pa.timestamp("ms")}
        if tree.startswith("decimal"):
            return pa.float64()
        return primitive.get(tree, pa.string())
    kind, fields = tree
    if kind == "map":
        return pa.map_(arrow_type(fields[0][1]), arrow_type(fields[1][1]))
    if kind == "struct":
        return pa.struct([(label, arrow_type(sub)) for label, sub in fields])
    return pa.list_(arrow_type(fields[0][1]))


def _arrow_row(row: dict[str, Any], schema: pa.Schema) -> dict[str, Any]:
    """Maps as Arrow wants them from Python: lists of (key, value) pairs."""
    return {name: _arrow_value(row.get(name), schema.field(name).type) for name in schema.names}


def _arrow_value(value: Any, kind: pa.DataType) -> Any:
    import pyarrow as pa

    if value is None:
        return None
    if pa.types.is_map(kind):
        return [(k, _arrow_value(v, kind.item_type)) for k, v in value.items()]
    if pa.types.is_struct(kind):
        return {kind.field(i).name: _arrow_value(value.get(kind.field(i).name), kind.field(i).type)
                for i in range(kind.num_fields)}
    return value


def to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A result as JSON-safe records (NaN and NaT as null, times as ISO text)."""
    records: list[dict[str, Any]] = json.loads(frame.to_json(orient="records", date_format="iso"))
    return records
