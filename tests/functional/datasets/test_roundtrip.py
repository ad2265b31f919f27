"""Round trip through the service: infer a contract from a file, PUT it, upload the same file: it passes;
and so does the same contract with unique/primary-key rules on every column whose values are distinct."""

from __future__ import annotations

import itertools
import json
import os
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.core.validation.infer import infer_contract
from chalicelib.services.contracts import suggestion_warnings
from chalicelib.storage import datasets as store
from tests.functional.datasets.conftest import put_contract, upload_and_process
from tests.unit.validation.frames import frames
from tests.unit.validation.test_infer_roundtrip import with_keys

EXAMPLES = int(os.environ.get("SLUICE_ROUNDTRIP_EXAMPLES", "15"))
_numbers = itertools.count(1)


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(frame=frames(max_rows=20), fmt=st.sampled_from(["csv", "parquet", "jsonl"]))
def test_an_inferred_contract_put_over_http_passes_the_upload_of_its_own_file_with_and_without_keys(
        client, frame, fmt):
    dataset = f"roundtrip-{next(_numbers)}"  # the moto world lives across examples: one dataset each
    with tempfile.TemporaryDirectory(prefix="sluice-rt-") as folder:
        path = frame.write(fmt, os.path.join(folder, f"data.{fmt}"))
        with open(path, "rb") as fh:
            body = fh.read()
        inferred = infer_contract(path, dataset)
    if suggestion_warnings(inferred):  # e.g. columns "X" and "x": one curated name, said with the suggestion
        refused = client.http.put(f"/datasets/{dataset}/contract", body=json.dumps(inferred),
                                  headers={"Content-Type": "application/json"})
        code = json.loads(refused.body)["error"]["code"]
        assert (refused.status_code, code) == (400, "curated_name_collision")
        return
    for version, document in enumerate([inferred, with_keys(inferred, frame)], start=1):
        stored = put_contract(client, document)
        assert stored["version"] == version
        _, out = upload_and_process(client, f"raw/{dataset}/upload-{version}.{fmt}", body)
        record = store.get_version(dataset, version)
        assert out["processed"][0]["status"] == "passed", (record.code, record.reason, record.failing_rules,
                                                          document)
        assert (record.rows, record.invalid_rows, record.contract_version) == (frame.rows, 0, version)
