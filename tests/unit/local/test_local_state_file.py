"""The local stack's state folder (sluice/local/snapshot.py): what it writes, and what it refuses to load.

Backends stand in for moto's: plain objects and moto's own S3 ``FakeKey`` (no AWS client, no server).
The running stack's restart is tested in tests/e2e/local/test_local_state.py.
"""

from __future__ import annotations

import json
import stat
import threading

import pytest

from sluice.local.snapshot import BLOBS, STATE_FILE, SnapshotError, StateDir


def s3_key(name: str, body: bytes):
    from moto.s3.models import FakeKey

    return FakeKey(name, body, account_id="123456789012", region_name="us-east-1", version_id=f"v-{name}")


def services(*keys) -> dict:
    return {"s3": {"123456789012": {"aws": {"keys": list(keys), "lock": threading.RLock()}}}}


def saved_folder(tmp_path, *keys, key_file=None) -> StateDir:
    state = StateDir(tmp_path / ".sluice", key_file or tmp_path / "home" / "state.key")
    state.write(state.dump(services(*keys), pii_key="k" * 64))
    return state


def test_a_saved_state_loads_back_with_object_bodies_version_ids_and_the_pii_key(tmp_path):
    saved_folder(tmp_path, s3_key("raw/a.csv", b"a\n1\n"), s3_key("raw/b.csv", b"b\n2\n"))

    loaded = StateDir(tmp_path / ".sluice", tmp_path / "home" / "state.key").load()

    keys = loaded.services["s3"]["123456789012"]["aws"]["keys"]
    assert [(k.name, k.version_id, k.value) for k in keys] == [
        ("raw/a.csv", "v-raw/a.csv", b"a\n1\n"), ("raw/b.csv", "v-raw/b.csv", b"b\n2\n")]
    assert loaded.pii_key == "k" * 64
    assert loaded.services["s3"]["123456789012"]["aws"]["lock"].acquire(blocking=False)  # a new, free lock


def test_a_folder_without_a_state_loads_nothing(tmp_path):
    assert StateDir(tmp_path / "empty", tmp_path / "state.key").load() is None


def test_a_state_signed_with_another_users_key_is_refused_not_unpickled(tmp_path):
    saved_folder(tmp_path, s3_key("raw/a.csv", b"x"))

    with pytest.raises(SnapshotError, match="signature"):
        StateDir(tmp_path / ".sluice", tmp_path / "someone-else" / "state.key").load()


def test_a_state_changed_after_it_was_signed_is_refused(tmp_path):
    state = saved_folder(tmp_path, s3_key("raw/a.csv", b"x"))
    data = bytearray((state.path / STATE_FILE).read_bytes())
    data[-5] ^= 0x01
    (state.path / STATE_FILE).write_bytes(bytes(data))

    with pytest.raises(SnapshotError, match="signature"):
        state.load()


def test_a_state_saved_by_another_moto_is_refused_with_both_versions_and_the_way_out(tmp_path):
    state = saved_folder(tmp_path, s3_key("raw/a.csv", b"x"))
    magic, header, body = (state.path / STATE_FILE).read_bytes().split(b"\n", 2)
    old = json.dumps({**json.loads(header), "moto": "4.0.0"}).encode()
    (state.path / STATE_FILE).write_bytes(b"\n".join([magic, old, body]))

    with pytest.raises(SnapshotError, match=r"moto 4\.0\.0.*--fresh"):
        state.load()


def test_a_damaged_object_body_is_refused_rather_than_served(tmp_path):
    state = saved_folder(tmp_path, s3_key("raw/a.csv", b"the body"))
    [blob] = (state.path / BLOBS).iterdir()
    blob.write_bytes(b"the b0dy")

    with pytest.raises(SnapshotError, match="damaged"):
        state.load()


def test_each_body_is_written_once_and_a_body_no_state_refers_to_is_removed(tmp_path):
    kept, dropped = s3_key("raw/a.csv", b"kept"), s3_key("raw/b.csv", b"dropped")
    state = saved_folder(tmp_path, kept, dropped)
    blobs = {p.name: p.stat().st_ino for p in (state.path / BLOBS).iterdir()}
    assert len(blobs) == 2

    state.write(state.dump(services(kept), pii_key="k" * 64))

    [(name, inode)] = [(p.name, p.stat().st_ino) for p in (state.path / BLOBS).iterdir()]
    assert blobs[name] == inode  # the same file: not written again


def test_the_folder_is_private_and_ignored_by_git(tmp_path):
    state = saved_folder(tmp_path, s3_key("raw/a.csv", b"email@example.com"))
    assert stat.S_IMODE(state.path.stat().st_mode) == 0o700
    for path in (state.path / STATE_FILE, *(state.path / BLOBS).iterdir(), state.key_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert (state.path / ".gitignore").read_text().splitlines()[-1] == "*"


def test_a_second_stack_cannot_take_a_folder_another_stack_holds(tmp_path):
    first, second = StateDir(tmp_path / "s", tmp_path / "k"), StateDir(tmp_path / "s", tmp_path / "k")
    first.acquire()
    try:
        with pytest.raises(SnapshotError, match="another `sluice up`"):
            second.acquire()
    finally:
        first.release()
    second.acquire()
    second.release()


def test_a_write_cut_short_by_a_kill_leaves_the_last_state_whole_and_its_leftovers_go_on_the_next_start(
        tmp_path):
    state = saved_folder(tmp_path, s3_key("raw/a.csv", b"kept"))
    # what a kill -9 in the middle of the next save leaves: the new file half written beside the old
    (state.path / f".{STATE_FILE}.4242.1.partial").write_bytes(b"sluice-local-state\n{")
    (state.path / BLOBS / ".0123.4242.1.partial").write_bytes(b"half a bo")

    again = StateDir(tmp_path / ".sluice", tmp_path / "home" / "state.key")
    again.acquire()
    try:
        assert not list(again.path.rglob("*.partial"))
        keys = again.load().services["s3"]["123456789012"]["aws"]["keys"]
        assert [k.value for k in keys] == [b"kept"]
    finally:
        again.release()


def test_the_copy_made_while_moto_waits_writes_nothing_new_bodies_are_hashed_and_written_after(tmp_path):
    """dump() runs while moto holds requests back: a new 8 MB body must not be hashed and written there."""
    state = StateDir(tmp_path / ".sluice", tmp_path / "home" / "state.key")
    snapshot = state.dump(services(s3_key("raw/big.bin", b"x" * 8_000_000)), pii_key="k" * 64)
    assert not state.path.exists() or not any(state.path.rglob("*"))

    state.write(snapshot)

    keys = StateDir(state.path, state.key_file).load().services["s3"]["123456789012"]["aws"]["keys"]
    assert [len(k.value) for k in keys] == [8_000_000]
