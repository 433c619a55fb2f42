from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from grader.archives import (
    ArchiveError,
    ArchiveLimits,
    list_entries,
    open_zip,
    read_entry,
    unsafe_name_reason,
)


def zip_bytes(entries: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, (2024, 3, 1, 12, 0, 0))
            info.compress_type = compression
            archive.writestr(info, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        pytest.param("../../etc/passwd", "points outside the archive", id="dotdot"),
        pytest.param("alice/../../x.md", "points outside the archive", id="dotdot-inside"),
        pytest.param("/etc/passwd", "is an absolute path", id="absolute"),
        pytest.param("C:/Windows/x.md", "is an absolute path", id="drive"),
        pytest.param("..\\..\\x.md", None, id="backslashes-are-checked-by-list_entries"),
    ],
)
def test_unsafe_names_are_refused(name: str, pattern: str | None) -> None:
    reason = unsafe_name_reason(name)
    if pattern is None:
        entries = list_entries(open_zip(zip_bytes({name: b"x"})), ArchiveLimits())
        assert entries[0].problem and "points outside the archive" in entries[0].problem
    else:
        assert reason is not None and pattern in reason


def test_safe_names_pass() -> None:
    assert unsafe_name_reason("alice_1_2_answers.md") is None
    assert unsafe_name_reason("Jane Doe_12_assignsubmission_file_/my..answers.md") is None


def test_too_many_entries_refuse_the_archive() -> None:
    archive = open_zip(zip_bytes({f"s{i}.md": b"x" for i in range(6)}))
    with pytest.raises(ArchiveError, match=r"6 files in the archive, over the limit of 5"):
        list_entries(archive, ArchiveLimits(max_entries=5))


def test_total_size_limit_refuses_the_archive() -> None:
    archive = open_zip(zip_bytes({"a.md": b"x" * 600, "b.md": b"y" * 600}))
    with pytest.raises(ArchiveError, match=r"would unpack to 1,200 bytes, over the limit of 1,000"):
        list_entries(archive, ArchiveLimits(max_total_bytes=1000))


def test_compression_ratio_limit_refuses_the_entry() -> None:
    bomb = b"\0" * 3_000_000  # compresses about 1000:1
    entries = list_entries(
        open_zip(zip_bytes({"bomb.md": bomb, "ok.md": b"fine"})), ArchiveLimits()
    )
    by_name = {e.name: e for e in entries}
    assert by_name["bomb.md"].problem and "over the limit of 100:1" in by_name["bomb.md"].problem
    assert by_name["ok.md"].problem is None


def test_entries_are_read_up_to_the_limit_only() -> None:
    archive = open_zip(zip_bytes({"a.md": b"x" * 1000}))
    entry = list_entries(archive, ArchiveLimits())[0]
    assert len(read_entry(archive, entry, 10)) == 11


def test_encrypted_entry_is_marked() -> None:
    data = bytearray(zip_bytes({"a.md": b"x"}, compression=zipfile.ZIP_STORED))
    # set the 'encrypted' flag bit in the local and central headers
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        data[at + offset] |= 0x1
    entries = list_entries(open_zip(bytes(data)), ArchiveLimits())
    assert entries[0].problem and "encrypted entry" in entries[0].problem


def test_corrupt_archive(tmp_path: Path) -> None:
    path = tmp_path / "class.zip"
    path.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(ArchiveError, match="corrupt archive"):
        open_zip(path)


def test_damaged_entry_is_reported_when_read() -> None:
    data = bytearray(zip_bytes({"a.md": bytes(range(256)) * 20}, compression=zipfile.ZIP_STORED))
    start = data.find(b"a.md") + 4  # the stored data follows the local header's name
    for i in range(start + 100, start + 110):
        data[i] ^= 0xFF  # the CRC no longer matches
    archive = open_zip(bytes(data))
    entry = list_entries(archive, ArchiveLimits())[0]
    with pytest.raises(ArchiveError, match="corrupt archive entry"):
        read_entry(archive, entry, 10_000)
