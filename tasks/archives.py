"""Reading .zip uploads without trusting them: no path tricks, bounded members, size and compression ratio.

Members are never extracted to disk under their own names; each is read into
memory (bounded by `max_member_bytes`) and handed on, so a `../` name can do no
harm, but it is still refused so the owner learns the archive is odd.
"""
from __future__ import annotations

import posixpath
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

ARCHIVE_SUFFIXES = (".zip", ".tar", ".gz", ".tgz", ".7z", ".rar", ".bz2", ".xz")


class ArchiveRejected(Exception):
    """The whole archive is refused; `reason` says why in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ZipLimits:
    max_members: int = 10_000
    max_total_bytes: int = 4 * 1024**3
    max_member_bytes: int = 256 * 1024**2
    max_ratio: int = 100  # uncompressed / compressed, for members big enough to matter


@dataclass(frozen=True)
class Member:
    name: str
    data: bytes | None  # None when refused
    reason: str | None = None


def is_zip(head: bytes) -> bool:
    return head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06")


def _unsafe(name: str) -> bool:
    if name.startswith(("/", "\\")) or "\\" in name or (len(name) > 1 and name[1] == ":"):
        return True
    return any(part == ".." for part in name.split("/"))


def _skipped(info: zipfile.ZipInfo) -> bool:
    base = posixpath.basename(info.filename.rstrip("/"))
    return info.is_dir() or info.filename.startswith("__MACOSX/") or base.startswith(".")


def _check_archive(archive: zipfile.ZipFile, limits: ZipLimits) -> list[zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        raise ArchiveRejected(f"the archive has {len(infos)} entries; the limit is {limits.max_members}")
    declared = sum(i.file_size for i in infos)
    if declared > limits.max_total_bytes:
        raise ArchiveRejected(f"the archive unpacks to {declared / 1024**2:.0f} MB; the limit is "
                              f"{limits.max_total_bytes / 1024**2:.0f} MB")
    for info in infos:
        if info.file_size > 1024**2 and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise ArchiveRejected(f"{info.filename!r} expands {info.file_size // max(info.compress_size, 1)}x; "
                                  "the archive looks like a zip bomb")
    return infos


def read_zip(source: BinaryIO, limits: ZipLimits = ZipLimits()) -> Iterator[Member]:
    """Yield each file of the archive, or the reason it is refused; raise ArchiveRejected for the whole."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ArchiveRejected(f"not a readable zip archive ({error})") from None
    with archive:
        infos = _check_archive(archive, limits)
        budget = limits.max_total_bytes
        for info in infos:
            if _skipped(info):
                continue
            member = _read_member(archive, info, limits, budget)
            budget -= len(member.data or b"")
            yield member


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ZipLimits, budget: int) -> Member:
    name = info.filename
    if _unsafe(name):
        return Member(name, None, "unsafe path in the archive (absolute, or containing ..)")
    if stat.S_ISLNK(info.external_attr >> 16):
        return Member(name, None, "symbolic links are not imported")
    if info.flag_bits & 0x1:
        return Member(name, None, "encrypted files are not imported")
    if name.lower().endswith(ARCHIVE_SUFFIXES):
        return Member(name, None, "archives inside archives are not imported")
    if info.file_size > limits.max_member_bytes:
        return Member(name, None, f"the file is {info.file_size / 1024**2:.0f} MB; the limit is "
                                  f"{limits.max_member_bytes / 1024**2:.0f} MB")
    # Headers can lie: count what is really inflated and stop at the limits.
    cap = min(limits.max_member_bytes, budget)
    try:
        with archive.open(info) as stream:
            data = stream.read(cap + 1)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as error:
        return Member(name, None, f"the file cannot be read from the archive ({error})")
    if len(data) > cap:
        raise ArchiveRejected("the archive inflates past its declared sizes; it looks like a zip bomb")
    return Member(name, data)
