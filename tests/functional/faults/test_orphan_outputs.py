"""The reconciler sweeps what upload attempts left in curated/ and quarantine/ that no version record
points to: a fenced-out attempt's ``run-{attempt}/`` folder, the folders of a version never recorded;
never the folder a version points to, nor the folder of an attempt whose claim is live."""

from __future__ import annotations

import time
from typing import Any

import pytest

from chalicelib.core.events import ObjectRef
from chalicelib.services import uploads as service
from chalicelib.services.uploads import process_object
from chalicelib.storage import datasets as store
from chalicelib.storage import layout
from tests.functional.datasets.conftest import (
    Ahead,
    all_objects,
    killed_at_part,
    put_contract,
    put_raw,
    rides_contract,
    rides_csv,
)
from tests.functional.faults.conftest import later


def folders(bucket: str, prefix: str) -> set[str]:
    return {key.rsplit("/", 1)[0] + "/" for key in all_objects(bucket, prefix)}


def fenced_out_version(moto_world: Any, monkeypatch: pytest.MonkeyPatch, bad: tuple[int, ...] = ()
                       ) -> tuple[ObjectRef, dict[str, bytes]]:
    """Version 1 of rides, recorded by Lambda's retry after the first attempt was killed between chunks;
    then the first attempt's parts that were in flight land (after the retry cleaned the partition).
    ``bad``: rows that fail the contract (quarantined, with a quarantine_rows policy)."""
    monkeypatch.setattr(service, "CHUNK_ROWS", 10)
    ref = put_raw("raw/rides/jan.csv", rides_csv(40, bad=bad))
    written = killed_at_part(monkeypatch, ref, moto_world.bucket)
    with monkeypatch.context() as retry:
        retry.setattr(store, "time", Ahead(60))  # the lease ran out: the retry takes the claim over
        assert process_object(ref).status == "passed"
    import boto3

    s3 = boto3.client("s3", region_name="us-east-1")
    for key, body in written.items():  # the fenced-out attempt's uploads in flight, landing late
        s3.put_object(Bucket=moto_world.bucket, Key=key, Body=body)
    return ref, written


def test_a_fenced_out_attempts_folder_is_swept_and_the_recorded_one_kept_and_audited(client, moto_world,
                                                                                     monkeypatch):
    from chalicelib.storage import ops
    from chalicelib.triggers.reconcile import reconcile

    put_contract(client, rides_contract())
    _, late = fenced_out_version(moto_world, monkeypatch)
    record = store.get_version("rides", 1)
    recorded = record.curated_path.removeprefix(f"s3://{moto_world.bucket}/")
    fenced = {key.rsplit("/", 1)[0] + "/" for key in late}
    assert len(fenced) == 1 and fenced != {recorded}
    assert folders(moto_world.bucket, "curated/rides/") == fenced | {recorded}

    done = reconcile(dry_run=False, now=later())
    swept = [f for f in done["findings"] if f["kind"] == "orphan_outputs"]
    assert [(f["subject"]["prefix"], f["outcome"], f["result"]["deleted"]) for f in swept] == [
        (*fenced, "done", len(late))]
    assert folders(moto_world.bucket, "curated/rides/") == {recorded}
    assert len(all_objects(moto_world.bucket, recorded)) == 4  # the version's data untouched
    [audited] = [a for a in ops.list_audit(limit=10)[0] if a["action"] == "delete_orphan_outputs"]
    assert audited["subject"] == {"dataset": "rides", "version": 1, "prefix": next(iter(fenced))}
    assert audited["outcome"] == "done" and audited["deleted"] == len(late)
    again = reconcile(dry_run=False, now=later())
    assert [f for f in again["findings"] if f["kind"] == "orphan_outputs"] == []


def test_a_fenced_out_attempts_quarantine_folder_is_swept_beside_the_recorded_one(client, moto_world,
                                                                                  monkeypatch):
    from chalicelib.triggers.reconcile import reconcile

    put_contract(client, rides_contract(policy="quarantine_rows", max_invalid_fraction=0.5))
    _, late = fenced_out_version(moto_world, monkeypatch, bad=(1, 2, 11, 12))
    record = store.get_version("rides", 1)
    recorded = {area: path.removeprefix(f"s3://{moto_world.bucket}/")
                for area, path in (("curated", record.curated_path), ("quarantine", record.quarantine_path))}
    assert recorded["quarantine"].startswith("quarantine/rides/0000000001/run-")
    kept = {area: all_objects(moto_world.bucket, prefix) for area, prefix in recorded.items()}
    fenced = {key.rsplit("/", 1)[0] + "/" for key in late}
    assert any(f.startswith("quarantine/") for f in fenced)  # the dead attempt's rows landed late

    swept = [f for f in reconcile(dry_run=False, now=later())["findings"] if f["kind"] == "orphan_outputs"]
    assert all(f["outcome"] == "done" for f in swept) and swept
    assert not any(k in late for k in all_objects(moto_world.bucket, "quarantine/rides/"))
    assert not any(k in late for k in all_objects(moto_world.bucket, "curated/rides/"))
    assert {area: all_objects(moto_world.bucket, prefix) for area, prefix in recorded.items()} == kept
    again = reconcile(dry_run=False, now=later())["findings"]
    assert [f for f in again if f["kind"] == "orphan_outputs"] == []


def test_a_live_attempts_folder_is_kept_and_a_dead_unrecorded_versions_folders_go_after_the_grace(
        client, moto_world):
    from chalicelib.core.ops.reconcile import OUTPUT_GRACE_SECONDS
    from chalicelib.triggers.reconcile import reconcile, scan

    put_contract(client, rides_contract())
    assert process_object(put_raw("raw/rides/jan.csv", rides_csv(20))).status == "passed"  # version 1
    live_ref = put_raw("raw/rides/feb.csv", rides_csv(20))
    claim_key = layout.object_hash(live_ref.identity)
    live = store.claim_object("rides", claim_key, {"identity": live_ref.identity}, lease_seconds=7200)
    version = store.next_version("rides")  # 2: allocated, being written, not recorded yet
    assert store.set_claim_version("rides", claim_key, version, live.owner)
    import boto3

    s3 = boto3.client("s3", region_name="us-east-1")
    working = f"curated/rides/dataset_version={version}/run-{live.owner[:16]}/part-00000.snappy.parquet"
    dead = ["curated/rides/dataset_version=7/run-0123456789abcdef/part-00000.snappy.parquet",
            "quarantine/rides/0000000007/rows/part-00000.snappy.parquet"]  # a version burned long ago
    for key in (working, *dead):
        s3.put_object(Bucket=moto_world.bucket, Key=key, Body=b"PAR1")

    assert scan(time.time() + OUTPUT_GRACE_SECONDS - 60, kinds=("orphan_outputs",)) == []  # too fresh
    done = reconcile(dry_run=False, now=later(), kinds=("orphan_outputs",))
    assert sorted((f["subject"]["prefix"], f["outcome"]) for f in done["findings"]) == [
        ("curated/rides/dataset_version=7/run-0123456789abcdef/", "done"),
        ("quarantine/rides/0000000007/", "done")]
    left = all_objects(moto_world.bucket, "curated/rides/")
    assert working in left and not any(key in left for key in dead)
    record = store.get_version("rides", 1)
    assert all_objects(moto_world.bucket, record.curated_path.removeprefix(f"s3://{moto_world.bucket}/"))
    assert reconcile(dry_run=False, now=later(), kinds=("orphan_outputs",))["findings"] == []


def test_the_upload_paths_lease_is_the_one_the_sweep_waits_for():
    from chalicelib.core.ops import reconcile

    assert reconcile.UPLOAD_LEASE_SECONDS == service.LEASE_SECONDS
    assert reconcile.RUN_FOLDER == service.RUN_FOLDER
