"""The contract_inference function: what the deployed API invokes to infer a contract (it has pyarrow)."""

import boto3


def test_the_function_answers_a_suggested_contract_or_a_typed_error(client, moto_world):
    boto3.client("s3").put_object(Bucket=moto_world.bucket, Key="raw/rides/a.csv",
                                  Body=b"ride_id,km,city\nr1,1.5,Berlin\nr2,2.5,Hamburg\nr3,3.0,Berlin\n")
    invoke = client.lambda_.invoke
    answer = invoke("contract_inference", {"dataset": "rides", "key": "raw/rides/a.csv"}).payload
    columns = {c["name"]: c["type"] for c in answer["result"]["contract"]["columns"]}
    assert columns["km"] == "float" and answer["result"]["source"]["key"] == "raw/rides/a.csv"
    missing = invoke("contract_inference", {"dataset": "rides", "key": "raw/rides/no.csv"}).payload
    assert missing["error"]["status"] == 404 and missing["error"]["code"] == "object_not_found"
