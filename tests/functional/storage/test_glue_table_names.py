"""Two datasets never share a Glue table: ``col-x`` and ``col_x`` both map to table ``col_x`` (Athena
names allow only lowercase letters, digits and '_'), so the second one's contract is refused."""

import json

from chalicelib.storage import datasets as store
from chalicelib.storage import glue_tables, layout

CONTRACT = {"columns": [{"name": "id", "type": "int"}]}
JSON = {"Content-Type": "application/json"}


def put(client, dataset):
    response = client.http.put(f"/datasets/{dataset}/contract", body=json.dumps(CONTRACT), headers=JSON)
    return response.status_code, json.loads(response.body)


def test_a_dataset_whose_glue_table_name_is_taken_is_refused_and_the_owner_keeps_it(client):
    assert put(client, "col-x")[0] == 201
    status, body = put(client, "col_x")
    assert status == 409
    assert body["error"]["code"] == "glue_table_taken"
    assert body["error"]["details"] == {"table": "col_x", "dataset": "col-x"}
    assert "'col_x'" in body["error"]["message"] and "'col-x'" in body["error"]["message"]
    assert put(client, "col-x")[0] == 201  # the owner stores new contract versions as before
    assert client.http.get("/datasets/col_x/contract").status_code == 404  # nothing stored


def test_a_dataset_cannot_take_a_table_name_reserved_for_sluices_own_tables(moto_world, client):
    from chalicelib.core.sql_tables import TABLES

    for name in (TABLES[0].name, TABLES[0].name.replace("_", "-"), "sluice-anything-later"):
        status, body = put(client, name)
        assert (status, body["error"]["code"]) == (409, "glue_table_taken"), name
        assert "reserved" in body["error"]["message"]
        assert client.http.get(f"/datasets/{name}/contract").status_code == 404  # nothing stored
    assert put(client, "sluicebox")[0] == 201  # only the sluice_ prefix is reserved


def test_a_dataset_stored_before_claims_existed_keeps_its_table(moto_world, client):
    from chalicelib.core.validation.contract import parse_contract

    store.put_contract(parse_contract({**CONTRACT, "dataset": "old_one"}))  # no claim, as before
    assert glue_tables.owner("old_one") is None
    status, body = put(client, "old-one")
    assert (status, body["error"]["details"]["dataset"]) == (409, "old_one")
    assert glue_tables.owner("old_one") == "old_one"
    assert put(client, "old_one")[0] == 201


def test_names_without_a_twin_claim_their_own_table(moto_world, client):
    assert put(client, "a-b-c")[0] == 201
    assert glue_tables.owner(layout.glue_table_name("a-b-c")) == "a-b-c"
    assert put(client, "a_b")[0] == 201


def test_a_feedback_dataset_whose_table_name_is_taken_is_refused(moto_world, client):
    import pytest

    from chalicelib.core.datasets.errors import GlueTableTakenError
    from chalicelib.core.validation.contract import parse_contract
    from chalicelib.services.feedback import store_contract

    assert put(client, "m-x-feedback")[0] == 201  # someone named a dataset like model m_x's feedback
    with pytest.raises(GlueTableTakenError):
        store_contract(parse_contract({**CONTRACT, "dataset": "m_x-feedback"}))
