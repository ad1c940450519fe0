"""Local media storage: round trips, atomic writes, keys that cannot escape the root, content-addressed keys."""
from __future__ import annotations

import hashlib
import os

import pytest

from tasks import storage
from tasks.storage import LocalStorage, Storage, StorageError, media_key, thumbnail_key

SHA = hashlib.sha256(b"hello").hexdigest()


@pytest.fixture
def store(tmp_path) -> LocalStorage:
    return LocalStorage(tmp_path / "media-root")


def leftovers(root) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*.tmp"))


def test_put_open_exists_size_delete_round_trip(store):
    key = media_key(SHA)
    assert not store.exists(key)
    store.put(key, b"hello")
    assert store.exists(key) and store.size(key) == 5
    with store.open(key) as file:
        assert file.read() == b"hello"
    assert store.local_path(key) == store.root / "media" / SHA[:2] / SHA[2:4] / SHA
    assert store.local_path(key).read_bytes() == b"hello"
    store.delete(key)
    assert not store.exists(key)
    store.delete(key)  # deleting what is not there is fine
    with pytest.raises(FileNotFoundError):
        store.open(key)
    with pytest.raises(FileNotFoundError):
        store.size(key)


def test_put_is_idempotent_and_replaces_whole_files(store):
    store.put("a/b.bin", b"first version, longer")
    store.put("a/b.bin", b"second")
    store.put("a/b.bin", b"second")
    assert store.local_path("a/b.bin").read_bytes() == b"second"
    assert leftovers(store.root) == []


def test_put_accepts_any_bytes_like_object(store):
    store.put("x", bytearray(b"ab"))
    store.put("y", memoryview(b"cd"))
    assert store.local_path("x").read_bytes() + store.local_path("y").read_bytes() == b"abcd"


def test_put_file_copies_a_file_in_and_leaves_the_source(store, tmp_path):
    source = tmp_path / "upload.part"
    source.write_bytes(b"x" * 3_000_000)
    store.put_file(thumbnail_key(SHA), source)
    assert store.size(thumbnail_key(SHA)) == 3_000_000 and source.exists()
    assert leftovers(store.root) == []


def test_files_are_readable_by_others_as_the_umask_allows(store):
    old = os.umask(0o022)
    try:
        store.put("perm", b"x")
    finally:
        os.umask(old)
    assert store.local_path("perm").stat().st_mode & 0o777 == 0o644


def test_a_put_that_fails_while_writing_leaves_no_temporary_file_and_no_target(store):
    store.put("keep/other", b"x")
    with pytest.raises(TypeError):
        store.put("keep/broken", "a str is not bytes")  # type: ignore[arg-type]
    assert not store.exists("keep/broken") and leftovers(store.root) == []


def test_a_put_that_fails_at_the_rename_keeps_the_old_content_and_cleans_up(store, monkeypatch):
    store.put("doc", b"old")

    def failing_replace(source, target):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(storage.os, "replace", failing_replace)
    with pytest.raises(StorageError, match="No space left"):
        store.put("doc", b"new")
    with pytest.raises(StorageError):
        store.put_file("doc", store.local_path("doc"))
    assert store.local_path("doc").read_bytes() == b"old" and leftovers(store.root) == []


def test_the_file_is_fsynced_before_it_is_renamed_into_place(store, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(storage.os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(storage.os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    store.put("synced", b"x")
    assert events[:2] == ["fsync", "replace"]


@pytest.mark.parametrize("key", [
    "../x", "a/../../x", "..", ".", "/abs", "/etc/passwd", "a//b", "a/./b", "a/", "", "with space", "nul\x00byte",
    "back\\slash", "tilde~", "x" * 513, "caf\u00e9", "new\nline",
])
def test_bad_keys_are_refused_everywhere(store, key):
    for call in (lambda: store.put(key, b"x"), lambda: store.open(key), lambda: store.exists(key),
                 lambda: store.size(key), lambda: store.delete(key), lambda: store.local_path(key)):
        with pytest.raises(StorageError):
            call()
    assert not store.root.exists() or list(store.root.rglob("*")) == []


def test_good_keys_up_to_the_length_limit_are_accepted(store):
    key = "/".join(["d" * 100] * 5) + "/" + "f" * 7  # 512 characters
    assert len(key) == 512
    store.put(key, b"ok")
    store.put("a-b_c.D/...hidden/x.jpg", b"ok")  # "..." is a plain name, not a parent reference
    assert store.exists(key) and store.exists("a-b_c.D/...hidden/x.jpg")


def test_media_and_thumbnail_keys_fan_out_by_the_hash_prefix():
    assert media_key(SHA) == f"media/{SHA[:2]}/{SHA[2:4]}/{SHA}"
    assert thumbnail_key(SHA) == f"thumbs/{SHA[:2]}/{SHA[2:4]}/{SHA}.jpg"


@pytest.mark.parametrize("value", [SHA.upper(), SHA[:-1], SHA + "0", "g" * 64, "../" + SHA[3:], "", None, 123])
def test_media_keys_refuse_anything_but_64_lowercase_hex(value):
    with pytest.raises(StorageError):
        media_key(value)
    with pytest.raises(StorageError):
        thumbnail_key(value)


def test_local_storage_satisfies_the_storage_protocol(store):
    def uses(backend: Storage) -> bool:
        backend.put("p", b"1")
        return backend.exists("p")
    assert uses(store)
    assert {name for name in dir(Storage) if not name.startswith("_")} <= set(dir(LocalStorage))


@pytest.mark.parametrize("sendfile", ["works", "missing", "fails midway"])
def test_put_file_copies_every_byte_with_or_without_sendfile(store, tmp_path, monkeypatch, sendfile):
    source = tmp_path / "big.bin"
    payload = os.urandom(3 << 20) + b"tail"
    source.write_bytes(payload)
    real = os.sendfile
    calls = []

    def flaky(out, in_, offset, count):
        calls.append(offset)
        if len(calls) > 1:
            raise OSError(22, "not between these files")
        return real(out, in_, offset, min(count, 1 << 20))

    if sendfile == "missing":
        monkeypatch.delattr(os, "sendfile")
    elif sendfile == "fails midway":
        monkeypatch.setattr(os, "sendfile", flaky)
    store.put_file("exports/1/export.jsonl", source)
    assert store.local_path("exports/1/export.jsonl").read_bytes() == payload
    assert leftovers(store.root) == []
    if sendfile == "fails midway":
        assert calls == [0, 1 << 20]  # a first MiB by sendfile, the rest by hand
