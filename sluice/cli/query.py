"""``sluice query "SQL"``: SQL over everything sluice stores (docs/queries.md).

One query text, two places: on a deployed stack (``--stack NAME`` or ``$SLUICE_STACK``) Athena runs it
in the stack's workgroup over its Glue database; on the local stack (``sluice up``) DuckDB runs it over the
same objects in the local S3. Either way the tables are those of ``chalicelib/core/sql_tables.py`` plus
one per curated dataset.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.core.errors import SluiceError
from chalicelib.core.sql_query import NoStackError
from sluice.cli.grammar import Cli, default_state_file
from sluice.cli.output import cell, console, print_error

if TYPE_CHECKING:
    import pandas as pd

STACK_ENV = "SLUICE_STACK"
WORKGROUP_OUTPUT = "AthenaWorkGroupName"
DATABASE_OUTPUT = "GlueDatabaseName"
INSTALL_HINT = "the local engine needs DuckDB: pip install 'sluice[query]'"


@dataclass(frozen=True)
class DeployedStack:
    name: str
    database: str
    workgroup: str


def deployed_stack(name: str, session: Any) -> DeployedStack:
    """The Glue database and Athena workgroup of the CloudFormation stack ``name`` (its outputs)."""
    from botocore.exceptions import ClientError

    try:
        [found] = session.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        raise NoStackError(f"no stack {name!r}: {exc.response['Error'].get('Message', '')}") from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}
    missing = [k for k in (DATABASE_OUTPUT, WORKGROUP_OUTPUT) if k not in outputs]
    if missing:
        raise NoStackError(f"stack {name!r} has no output {', '.join(missing)}: deploy this sluice version "
                           "(make deploy) to get its Athena workgroup")
    return DeployedStack(name, outputs[DATABASE_OUTPUT], outputs[WORKGROUP_OUTPUT])


def run_query(sql: str, args: argparse.Namespace) -> pd.DataFrame:
    """The result of ``sql`` on the deployed stack named, else on the running local stack."""
    stack_name = args.stack or os.environ.get(STACK_ENV)
    if stack_name:
        import boto3

        from chalicelib.storage.sql_query import athena_query

        session = boto3.session.Session()
        stack = deployed_stack(stack_name, session)
        return athena_query(sql, database=args.database or stack.database,
                            workgroup=args.workgroup or stack.workgroup, session=session)
    return local_query(sql, args.state_file, args.database)


def local_query(sql: str, state_file: Path, database: str | None = None) -> pd.DataFrame:
    """``sql`` on DuckDB over the local stack's bucket (``sluice up`` recorded it in ``state_file``)."""
    from sluice.local import StackInfo

    if not state_file.exists():
        raise NoStackError(f"no stack to query: no local stack is running (no {state_file}; start one with "
                           f"`sluice up`) and no deployed one is named (--stack NAME or ${STACK_ENV})")
    try:
        import duckdb  # noqa: F401  (the engine's import, checked here to say how to install it)
    except ImportError as exc:
        raise NoStackError(INSTALL_HINT) from exc
    import boto3

    from chalicelib.storage.sql_query import LocalEngine

    info = StackInfo.load(state_file)
    env = info.environment()
    session = boto3.session.Session(aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                                    aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                                    region_name=info.region)
    engine = LocalEngine(session.client("s3", endpoint_url=info.aws_endpoint), info.bucket,
                         glue=session.client("glue", endpoint_url=info.aws_endpoint),
                         database=database or info.glue_database)
    return engine.query(sql)


def cmd_query(args: argparse.Namespace) -> int:
    sql = sys.stdin.read() if args.sql == "-" else args.sql
    try:
        frame = run_query(sql, args)
    except SluiceError as exc:
        print_error(exc.code, exc.message)
        return 1
    show(frame, args.format)
    return 0


def show(frame: pd.DataFrame, fmt: str) -> None:
    from chalicelib.storage.sql_query import to_records

    records = to_records(frame)
    columns = [str(c) for c in frame.columns]
    if fmt == "json":
        print(json.dumps(records, indent=2))
    elif fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_csv_cell(r[c]) for c in columns] for r in records)
    else:
        from rich import box
        from rich.table import Table

        table = Table(box=box.SIMPLE_HEAD)
        for column in columns:
            table.add_column(cell(column), overflow="fold")
        for record in records:
            table.add_row(*(cell(record[c]) for c in columns))
        console.print(table)
        console.print(f"{len(records)} row{'s' if len(records) != 1 else ''}", style="dim")


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    return json.dumps(value) if isinstance(value, dict | list) else value


EPILOG = """\
tables: sluice_captures (name the model: WHERE model = '...'), sluice_labels, sluice_checks,
sluice_check_features, sluice_validations, sluice_validation_rules, sluice_batch_outputs, and one
table per curated dataset (its name with '-' as '_'). Columns and example queries: docs/queries.md.

examples:
  sluice query "SELECT day, hour, count(*) AS predictions FROM sluice_captures
                WHERE model = 'fare' GROUP BY day, hour ORDER BY day, hour"
  sluice query --stack sluice-dev --format csv "SELECT * FROM sluice_checks" > checks.csv
"""


def register(cli: Cli) -> None:
    query = cli.top.add_parser(
        "query", help="SQL over captures, labels, checks, validations and datasets (Athena or local DuckDB)",
        description="Run SQL over what sluice stores: on a deployed stack with Athena (--stack), else on "
                    "the local stack with DuckDB. The same query runs in both places.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    query.add_argument("sql", help="the query ('-': read it from standard input)")
    query.add_argument("--format", choices=("table", "csv", "json"), default="table")
    query.add_argument("--stack", default=None,
                       help=f"a deployed stack's CloudFormation name (default: ${STACK_ENV}; none: local)")
    query.add_argument("--database", default=None, help="Glue database (default: the stack's)")
    query.add_argument("--workgroup", default=None, help="Athena workgroup (default: the stack's)")
    query.add_argument("--state-file", type=Path, default=default_state_file(), help=argparse.SUPPRESS)
    query.set_defaults(func=cmd_query)
