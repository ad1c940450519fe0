"""Where media bytes live: a tiny key/value interface, a local-folder store now and an S3-compatible one later.

Keys are content addresses built by `media_key`/`thumbnail_key`, so writes are idempotent and readers never see
half-written files: every write goes to a temporary file next to the target and is moved in with os.replace.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path
from collections.abc import Callable
from typing import BinaryIO, Protocol

MAX_KEY_LENGTH = 512
_KEY_CHARS = re.compile(r"[A-Za-z0-9._/-]+")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class StorageError(Exception):
    """A refused key or a failed write; the message says which."""


class Storage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...  # atomic, idempotent

    def put_file(self, key: str, source: str | os.PathLike) -> None: ...  # atomic copy-in of a file

    def open(self, key: str) -> BinaryIO: ...  # FileNotFoundError if missing

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...  # FileNotFoundError if missing

    def delete(self, key: str) -> None: ...  # a missing key is fine

    def local_path(self, key: str) -> Path | None: ...  # a filesystem path when the store has one (sendfile)


def media_key(sha256: str) -> str:
    """"media/ab/cd/<sha256>": two folder levels keep directories small even with millions of files."""
    return f"media/{_fan_out(sha256)}"


def thumbnail_key(sha256: str) -> str:
    """"thumbs/ab/cd/<sha256>.jpg"; thumbnails are always JPEG."""
    return f"thumbs/{_fan_out(sha256)}.jpg"


def _fan_out(sha256: str) -> str:
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise StorageError("a media key needs a sha256 as 64 lowercase hex characters")
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def validate_key(key: str) -> str:
    """Return `key` if it is safe to use as a relative path under any store's root, else raise StorageError.

    Only a conservative character set and no empty, "." or ".." segments, so no key can name a path outside
    the root, and the same keys work unchanged as S3 object names.
    """
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise StorageError(f"a storage key must be 1 to {MAX_KEY_LENGTH} characters")
    if not _KEY_CHARS.fullmatch(key):
        raise StorageError("a storage key may only use letters, digits, '.', '_', '-' and '/'")
    if any(segment in ("", ".", "..") for segment in key.split("/")):
        raise StorageError("a storage key may not be absolute or have empty, '.' or '..' parts")
    return key


class LocalStorage:
    """A folder on local disk; implements Storage."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).absolute()

    def put(self, key: str, data: bytes) -> None:
        self._write(key, lambda file: file.write(data))

    def put_file(self, key: str, source: str | os.PathLike) -> None:
        """Copy `source` in (the caller still owns and removes it)."""
        with open(source, "rb") as reader:
            self._write(key, lambda file: _copy(reader, file))

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).split("/"))

    def _write(self, key: str, fill: Callable[[BinaryIO], object]) -> None:
        """Write via a temporary file in the target's own folder, so os.replace is a same-filesystem rename."""
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create the folder for {key!r}: {exc}") from exc
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
        try:
            # os.open with 0o666 honours the umask, unlike mkstemp's 0o600 a web server could not read.
            with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as file:
                fill(file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException as exc:
            temporary.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise StorageError(f"cannot write {key!r}: {exc}") from exc
            raise
        _fsync_folder(target.parent)


def _copy(reader: BinaryIO, writer: BinaryIO) -> None:
    """Copy a whole file: in the kernel (sendfile) where it can, else (or for what is left) through a buffer."""
    offset = 0
    try:
        size = os.fstat(reader.fileno()).st_size
        while offset < size:
            sent = os.sendfile(writer.fileno(), reader.fileno(), offset, size - offset)
            if sent == 0:
                break
            offset += sent
        else:
            return
    except (AttributeError, OSError):  # no sendfile on this platform, or not between these files
        pass
    reader.seek(offset)
    writer.seek(offset)
    shutil.copyfileobj(reader, writer, 1 << 20)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; platforms that cannot open folders simply skip this."""
    try:
        descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
