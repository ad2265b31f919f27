"""The store's interface for other features, naming rules, and where the PII key comes from."""

import boto3
import pytest

from chalicelib.core.datasets import names
from chalicelib.core.datasets.errors import (
    ContractNotFoundError,
    DatasetVersionNotFoundError,
)
from chalicelib.core.datasets.types import Claim, DatasetVersion
from chalicelib.core.settings import Settings
from chalicelib.core.validation.contract import parse_contract
from chalicelib.storage import datasets as store
from chalicelib.storage import layout
from chalicelib.storage.datasets import get_contract, get_version, latest_passing_version
from chalicelib.storage.pii_key import clear_cache, pii_key
from tests.functional.datasets.conftest import REGION, rides_contract


def record(version: int, status: str) -> DatasetVersion:
    return DatasetVersion(dataset="rides", version=version, status=status,
                          raw={"bucket": "b", "key": f"raw/rides/{version}.csv"},
                          report_key=layout.report_key("rides", version), created_at=names.now_iso(),
                          curated_path=layout.curated_partition("rides", version) if status == "passed"
                          else None,
                          timings={"total_s": 0.25})


def test_contracts_read_back_as_models_by_version(moto_world):
    store.put_contract(parse_contract(rides_contract()))
    store.put_contract(parse_contract({**rides_contract(), "description": "second"}))
    latest = get_contract("rides")
    assert (latest.version, latest.contract.description) == (2, "second")
    assert get_contract("rides", 1).contract.description == ""
    assert latest.contract.column("rider_email").pii == "hash"
    with pytest.raises(ContractNotFoundError) as caught:
        get_contract("taxis")
    assert caught.value.code == "contract_not_found"


def test_latest_passing_version_skips_newer_failures(moto_world):
    assert latest_passing_version("rides") is None
    for version, status in [(1, "passed"), (2, "passed"), (3, "failed"), (4, "quarantined")]:
        assert store.put_version(record(version, status))
    found = latest_passing_version("rides", page_size=1)
    assert (found.version, found.status, found.timings) == (2, "passed", {"total_s": 0.25})
    assert found.curated_path == "curated/rides/dataset_version=2/"
    assert get_version("rides", 3).status == "failed"
    with pytest.raises(DatasetVersionNotFoundError):
        get_version("rides", 9)


def test_latest_passing_version_is_bounded(moto_world):
    for version in range(1, 6):
        store.put_version(record(version, "failed" if version > 1 else "passed"))
    assert latest_passing_version("rides", page_size=1, max_pages=2) is None
    assert latest_passing_version("rides", page_size=1, max_pages=5).version == 1


def test_a_version_record_is_never_overwritten(moto_world):
    assert store.put_version(record(1, "passed"))
    assert not store.put_version(record(1, "failed"))
    assert get_version("rides", 1).status == "passed"


def test_out_of_order_versions_keep_the_highest_as_latest(moto_world):
    store.put_version(record(2, "passed"))
    store.put_version(record(1, "failed"))
    assert store.get_dataset("rides")["latest_version"] == 2
    assert store.get_dataset("rides")["latest_status"] == "passed"


@pytest.mark.slow
def test_the_pii_key_comes_from_ssm_or_secrets_manager_and_is_cached(moto_world):
    clear_cache()
    ssm = boto3.client("ssm", region_name=REGION)
    ssm.put_parameter(Name="/sluice/pii", Value="from-ssm", Type="SecureString")
    secrets = boto3.client("secretsmanager", region_name=REGION)
    secrets.create_secret(Name="sluice-pii", SecretString="from-secret")
    from_env = Settings.from_env(pii_key="local-key")
    assert pii_key(from_env) == b"local-key"
    assert pii_key(Settings(pii_key_parameter="/sluice/pii", region=REGION)) == b"from-ssm"
    ssm.put_parameter(Name="/sluice/pii", Value="rotated", Type="SecureString", Overwrite=True)
    assert pii_key(Settings(pii_key_parameter="/sluice/pii", region=REGION)) == b"from-ssm"  # cached
    assert pii_key(Settings(pii_key_secret="sluice-pii", region=REGION)) == b"from-secret"
    clear_cache()


def test_an_expired_claim_is_taken_over_and_the_old_attempt_cannot_touch_it(moto_world):
    first = store.claim_object("rides", "h1", {"key": "raw/rides/a.csv"}, lease_seconds=-5)
    assert first.state == "acquired" and first.version is None
    assert store.set_claim_version("rides", "h1", 7, first.owner)
    second = store.claim_object("rides", "h1", {"key": "raw/rides/a.csv"}, lease_seconds=60)
    assert (second.state, second.version, second.attempts) == ("acquired", 7, 2)  # the version is reused
    store.release_claim("rides", "h1", first.owner)  # the old attempt's release is a no-op
    assert store.claim_object("rides", "h1", {}, lease_seconds=60).state == "busy"
    store.complete_claim("rides", "h1", 7)
    assert store.claim_object("rides", "h1", {}, lease_seconds=60) == Claim("complete", 7, 2)
