"""Zip archives, read safely and without unpacking to disk: entry names that point outside the
archive are refused, and limits on entry count, total size and compression ratio stop zip bombs
before anything is decompressed."""

from __future__ import annotations

import calendar
import io
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

#: Default limits. An LMS download of a class is a few hundred files of a few MB at most.
MAX_ENTRIES = 10_000
MAX_TOTAL_BYTES = 1_000_000_000
MAX_RATIO = 100
#: Entries smaller than this are never refused for their ratio: a page of repeated text
#: compresses well, and nothing that small can hurt.
RATIO_FLOOR_BYTES = 1_000_000


@dataclass(frozen=True)
class ArchiveLimits:
    max_entries: int = MAX_ENTRIES
    max_total_bytes: int = MAX_TOTAL_BYTES
    max_ratio: float = MAX_RATIO


class ArchiveError(Exception):
    """The archive as a whole cannot be read: corrupt, or over a limit. `reason` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class ArchiveEntry:
    """One file in an archive. `problem` is set when it must not be read, and says why."""

    name: str  # as stored, '/'-separated
    parts: tuple[str, ...]
    size: int
    compressed_size: int
    mtime: float
    problem: str | None = None


def open_zip(source: Path | bytes) -> zipfile.ZipFile:
    """Open a zip from a path or from bytes; `ArchiveError` when it is not a readable zip."""
    try:
        handle: Path | IO[bytes] = io.BytesIO(source) if isinstance(source, bytes) else source
        return zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise ArchiveError(f"corrupt archive: not a readable zip file ({exc})") from None


def list_entries(archive: zipfile.ZipFile, limits: ArchiveLimits) -> list[ArchiveEntry]:
    """Every file entry, with the ones that must not be read marked; `ArchiveError` when the
    archive as a whole is over a limit."""
    infos = [i for i in archive.infolist() if not i.is_dir()]
    if len(infos) > limits.max_entries:
        raise ArchiveError(
            f"refused: {len(infos):,} files in the archive, over the limit of "
            f"{limits.max_entries:,} (a zip bomb?); unpack it yourself and pass the folder"
        )
    total = sum(i.file_size for i in infos)
    if total > limits.max_total_bytes:
        raise ArchiveError(
            f"refused: the archive would unpack to {total:,} bytes, over the limit of "
            f"{limits.max_total_bytes:,} (a zip bomb?); unpack it yourself and pass the folder"
        )
    entries = []
    for info in infos:
        name = info.filename.replace("\\", "/")
        problem = unsafe_name_reason(name)
        parts = tuple(p for p in PurePosixPath(name).parts if p not in {"", "."})
        if problem is None and info.flag_bits & 0x1:
            problem = "encrypted entry in the archive (password-protected); it cannot be read"
        ratio = info.file_size / max(info.compress_size, 1)
        if problem is None and info.file_size > RATIO_FLOOR_BYTES and ratio > limits.max_ratio:
            problem = (
                f"refused: compressed {ratio:,.0f}:1 in the archive, over the limit of "
                f"{limits.max_ratio:,.0f}:1 (a zip bomb?)"
            )
        entries.append(
            ArchiveEntry(
                name=name,
                parts=parts or (name,),
                size=info.file_size,
                compressed_size=info.compress_size,
                mtime=_zip_time(info.date_time),
                problem=problem,
            )
        )
    return entries


def unsafe_name_reason(name: str) -> str | None:
    """Why an entry name must not be used as a path, or None when it is safe."""
    if "\x00" in name:
        return f"unsafe name in the archive ({name!r} contains a NUL byte); not read"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or name.startswith("//"):
        return f"unsafe name in the archive ({name!r} is an absolute path); not read"
    if ".." in PurePosixPath(name).parts:
        return (
            f"unsafe name in the archive ({name!r} points outside the archive with '..'); not read"
        )
    return None


def read_entry(archive: zipfile.ZipFile, entry: ArchiveEntry, limit: int) -> bytes:
    """The bytes of one entry, never more than `limit` + 1 (so the caller can tell it was cut);
    `ArchiveError` when the entry is damaged."""
    try:
        with archive.open(
            entry.name if entry.name in archive.NameToInfo else _stored_name(archive, entry)
        ) as handle:
            return handle.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError, ValueError) as exc:
        raise ArchiveError(f"corrupt archive entry, cannot be read ({exc})") from None
    except NotImplementedError as exc:
        raise ArchiveError(f"unsupported compression in the archive ({exc})") from None


def _stored_name(archive: zipfile.ZipFile, entry: ArchiveEntry) -> str:
    for info in archive.infolist():
        if info.filename.replace("\\", "/") == entry.name:
            return info.filename
    raise KeyError(entry.name)


def _zip_time(date_time: tuple[int, int, int, int, int, int]) -> float:
    """Zip times carry no time zone; read as UTC so the order is the same on every machine."""
    try:
        return float(calendar.timegm((*date_time, 0, 0, 0)))
    except (ValueError, OverflowError):
        return 0.0
