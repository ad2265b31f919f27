"""The Glue tables of the deployed template are the definitions the local engine reads
(chalicelib/core/sql_tables.py): same names, locations, columns, types, SerDe and partition projection."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from chalicelib.core.sql_tables import INPUT_FORMAT, OUTPUT_FORMAT, SERDE, SERDE_PARAMETERS, TABLES

ROOT = Path(__file__).resolve().parents[3]
BUCKET = "${DataBucket}"


@pytest.fixture(scope="module")
def resources() -> dict:
    """build/dev/sam.json as `make template` writes it (re-packaged only when an input changed)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import package

    return json.loads(package.package("dev").read_text())["Resources"]


def _glue_tables(resources: dict) -> dict[str, dict]:
    return {r["Properties"]["TableInput"]["Name"]: r["Properties"]
            for r in resources.values() if r["Type"] == "AWS::Glue::Table"}


def _sub(text: str) -> dict:
    """What the template holds for ``text`` with the bucket: a Fn::Sub whose own ``${…}`` are escaped."""
    return {"Fn::Sub": re.sub(r"\$\{(?!DataBucket\})(\w+)\}", r"${!\1}", text)}


def test_the_template_holds_exactly_the_defined_tables_in_the_stacks_database(resources):
    tables = _glue_tables(resources)
    assert sorted(tables) == sorted(t.name for t in TABLES)
    for properties in tables.values():
        assert properties["DatabaseName"] == {"Ref": "GlueDatabase"}
        assert properties["CatalogId"] == {"Ref": "AWS::AccountId"}


@pytest.mark.parametrize("definition", TABLES, ids=lambda t: t.name)
def test_each_glue_table_equals_its_definition(resources, definition):
    table = _glue_tables(resources)[definition.name]["TableInput"]
    storage = table["StorageDescriptor"]
    assert storage["Columns"] == [{"Name": c.name, "Type": c.type} for c in definition.columns]
    assert table["PartitionKeys"] == [{"Name": p.name, "Type": p.type} for p in definition.partitions]
    assert storage["Location"] == _sub(f"s3://{BUCKET}/{definition.prefix}")
    assert (storage["InputFormat"], storage["OutputFormat"]) == (INPUT_FORMAT, OUTPUT_FORMAT)
    assert storage["SerdeInfo"] == {"SerializationLibrary": SERDE, "Parameters": SERDE_PARAMETERS}
    expected = definition.parameters(BUCKET)
    expected["storage.location.template"] = _sub(expected["storage.location.template"])
    assert table["Parameters"] == expected
    assert table["TableType"] == "EXTERNAL_TABLE"


def test_no_table_column_repeats_a_partition_or_another_column():
    for definition in TABLES:
        names = [c.name for c in definition.columns] + [p.name for p in definition.partitions]
        assert len(names) == len(set(names)), definition.name


def test_athena_runs_in_a_workgroup_that_keeps_results_encrypted_in_the_bucket_and_expires_them(resources):
    workgroup = resources["AthenaWorkGroup"]["Properties"]["WorkGroupConfiguration"]
    assert workgroup["EnforceWorkGroupConfiguration"] is True
    result = workgroup["ResultConfiguration"]
    assert result["OutputLocation"] == {"Fn::Sub": "s3://${DataBucket}/athena-results/"}
    assert result["EncryptionConfiguration"] == {"EncryptionOption": "SSE_KMS",
                                                 "KmsKey": {"Fn::GetAtt": ["DataKey", "Arn"]}}
    rules = resources["DataBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    [expiry] = [r for r in rules if r.get("Prefix") == "athena-results/"]
    assert expiry["ExpirationInDays"] == 7
