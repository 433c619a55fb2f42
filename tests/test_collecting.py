from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader import grade_folder
from grader.collecting import CANVAS_NAME, MOODLE_FOLDER, safe_id
from grader.errors import UsageError
from grader.loading import open_batch

from .builders import markdown_to_docx, markdown_to_notebook, markdown_to_pdf
from .conftest import ROOT

EXAMPLES = ROOT / "submissions"
ALICE = (EXAMPLES / "alice_excellent.md").read_text(encoding="utf-8")
BEN = (EXAMPLES / "ben_good.txt").read_text(encoding="utf-8")
CHLOE = (EXAMPLES / "chloe_average.md").read_text(encoding="utf-8")


def write_zip(
    path: Path, entries: dict[str, bytes | str], *, times: dict[str, tuple] | None = None
) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            stamp = (times or {}).get(name, (2024, 3, 1, 12, 0, 0))
            info = zipfile.ZipInfo(name, stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data.encode("utf-8") if isinstance(data, str) else data)
    return path


def every_file(report) -> set[str]:
    return {f for s in report.submissions for f in s.files}


# --- LMS names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "user", "late", "rest"),
    [
        ("smithjane_1234_5678_answers.docx", "1234", False, "answers.docx"),
        ("smithjane_LATE_1234_5678_answers-1.docx", "1234", True, "answers-1.docx"),
        ("doe_98765_1_My Essay (final).pdf", "98765", False, "My Essay (final).pdf"),
    ],
)
def test_canvas_names(name: str, user: str, late: bool, rest: str) -> None:
    match = CANVAS_NAME.match(name)
    assert match and match["user"] == user and bool(match["late"]) == late and match["rest"] == rest


@pytest.mark.parametrize("name", ["alice.md", "lab_2_answers.md", "alice_smith_answers.md"])
def test_plain_names_are_not_canvas(name: str) -> None:
    assert CANVAS_NAME.match(name) is None


def test_moodle_folder_names() -> None:
    match = MOODLE_FOLDER.match("Jane van der Berg_4242_assignsubmission_file_")
    assert match and match["name"] == "Jane van der Berg" and match["id"] == "4242"


@given(st.text(max_size=200))
def test_safe_ids_are_safe_file_names(text: str) -> None:
    sid = safe_id(text)
    assert sid and len(sid) <= 81
    assert all(ch.isalnum() or ch in "._-" for ch in sid)
    assert not sid.startswith((".", "-")) and ".." not in sid.split("/")


def test_safe_id_defuses_paths_and_device_names() -> None:
    assert safe_id("../../etc/passwd") == "etc_passwd"
    assert safe_id("CON") == "_CON"
    assert safe_id("José María") == "José_María"


# --- batches from an LMS --------------------------------------------------------------------


def test_canvas_download_groups_files_and_keeps_the_late_flag(tmp_path: Path, dl14) -> None:
    half = CHLOE.split("## Answer 5")
    archive = write_zip(
        tmp_path / "canvas.zip",
        {
            "smithjane_1234_5678_answers.docx": markdown_to_docx(ALICE),
            "okaforben_LATE_2222_3333_hw14.pdf": markdown_to_pdf(BEN),
            "leechloe_3333_4444_part1.md": half[0],
            "leechloe_3333_4445_part2.ipynb": markdown_to_notebook("## Answer 5" + half[1]),
        },
    )
    report = grade_folder(dl14, archive)
    rows = {s.id: s for s in report.submissions}
    assert set(rows) == {"1234", "2222", "3333"}
    assert rows["1234"].name == "smithjane" and rows["1234"].status == "graded"
    assert rows["2222"].late and "marked late by the LMS" in rows["2222"].notes
    assert not rows["1234"].late
    assert len(rows["3333"].files) == 2
    assert [q.answered for q in rows["3333"].questions] == [
        q.answered for q in grade_folder(dl14, EXAMPLES).submissions[2].questions
    ]
    assert every_file(report) == {f"{archive}!{n}" for n in zipfile.ZipFile(archive).namelist()}


def test_moodle_download_one_folder_per_participant(tmp_path: Path, dl14) -> None:
    archive = write_zip(
        tmp_path / "moodle.zip",
        {
            "Jane Smith_101_assignsubmission_file_/answers.docx": markdown_to_docx(ALICE),
            "Jane Smith_101_assignsubmission_onlinetext_/onlinetext.html": "<p>See my file.</p>",
            "Ben Okafor_102_assignsubmission_file_/work/final/answers.md": BEN,
            "__MACOSX/Ben Okafor_102_assignsubmission_file_/._answers.md": b"\0\5\26\7junk",
        },
    )
    report = grade_folder(dl14, archive)
    rows = {s.id: s for s in report.submissions}
    assert set(rows) == {"101", "102"}
    assert rows["101"].name == "Jane Smith" and len(rows["101"].files) == 2
    assert rows["101"].source == f"{archive}!Jane Smith_101_assignsubmission_file_"
    assert rows["102"].status == "graded" and rows["102"].score > 5


def test_moodle_flat_files(tmp_path: Path, dl14) -> None:
    archive = write_zip(
        tmp_path / "flat.zip",
        {"Jane Smith_101_assignsubmission_file_answers.md": ALICE},
    )
    [row] = grade_folder(dl14, archive).submissions
    assert row.id == "101" and row.name == "Jane Smith" and row.status == "graded"


def test_students_own_zip_inside_the_download(tmp_path: Path, dl14) -> None:
    inner = write_zip(
        tmp_path / "inner.zip", {"hw/answers.md": ALICE, "hw/figure.png": b"\x89PNG...."}
    )
    archive = write_zip(tmp_path / "canvas.zip", {"smithjane_1234_5678_hw.zip": inner.read_bytes()})
    [row] = grade_folder(dl14, archive).submissions
    assert row.id == "1234" and row.status == "graded"
    assert any("figure.png not read: unsupported format '.png'" in n for n in row.notes)
    assert row.needs_review


def test_a_folder_holding_the_lms_zip(tmp_path: Path, dl14) -> None:
    folder = tmp_path / "downloads"
    folder.mkdir()
    write_zip(
        folder / "canvas.zip", {"smithjane_1234_5678_a.md": ALICE, "okaforben_2222_1_b.md": BEN}
    )
    assert {s.id for s in grade_folder(dl14, folder).submissions} == {"1234", "2222"}


# --- plain folders ---------------------------------------------------------------------------


def test_one_folder_per_student_with_the_same_file_name(tmp_path: Path, dl14) -> None:
    for student, text in (("alice", ALICE), ("ben", BEN), ("chloe", CHLOE)):
        (tmp_path / "class" / student).mkdir(parents=True)
        (tmp_path / "class" / student / "answers.md").write_text(text)
    (tmp_path / "class" / "alice" / "notes.md").write_text(
        "## Answer 7\nMC Dropout keeps dropout on."
    )
    report = grade_folder(dl14, tmp_path / "class")
    assert [s.id for s in report.submissions] == ["alice", "ben", "chloe"]
    assert len(report.submissions[0].files) == 2


def test_section_folders_keep_one_student_per_file(tmp_path: Path, dl14) -> None:
    for section, student, text in (("A", "alice", ALICE), ("A", "ben", BEN), ("B", "chloe", CHLOE)):
        (tmp_path / section).mkdir(exist_ok=True)
        (tmp_path / section / f"{student}.md").write_text(text)
    assert [s.id for s in grade_folder(dl14, tmp_path).submissions] == ["alice", "ben", "chloe"]


def test_duplicate_student_ids_grade_the_newest_and_report_both(tmp_path: Path, dl14) -> None:
    old, new = tmp_path / "alice.md", tmp_path / "sub" / "alice.docx"
    new.parent.mkdir()
    old.write_text(CHLOE)
    new.write_bytes(markdown_to_docx(ALICE))
    os.utime(old, (1_700_000_000, 1_700_000_000))
    os.utime(new, (1_700_000_100, 1_700_000_100))
    report = grade_folder(dl14, tmp_path)
    rows = {s.source: s for s in report.submissions}
    assert {s.id for s in report.submissions} == {"alice"}
    graded, superseded = rows[str(new)], rows[str(old)]
    assert graded.status == "graded" and graded.duplicates == [str(old)]
    assert graded.needs_review
    assert superseded.status == "error" and superseded.duplicates == [str(new)]
    assert superseded.error == (
        f"duplicate: student id 'alice' also handed in {new}, which is newer and was graded instead"
    )


def test_the_same_answers_handed_in_twice_are_read_once(tmp_path: Path, dl14) -> None:
    archive = write_zip(
        tmp_path / "c.zip",
        {
            "smithjane_1_2_answers.docx": markdown_to_docx(ALICE),
            "smithjane_1_3_answers.pdf": markdown_to_pdf(ALICE),
        },
        times={"smithjane_1_3_answers.pdf": (2024, 3, 2, 9, 0, 0)},  # the newer one is kept
    )
    [row] = grade_folder(dl14, archive).submissions
    assert (
        "smithjane_1_2_answers.docx repeats smithjane_1_3_answers.pdf; "
        "only smithjane_1_3_answers.pdf was read"
    ) in row.notes
    assert not any("answered twice" in n for n in row.notes)


# --- nothing lost ------------------------------------------------------------------------------


def test_every_bad_file_keeps_a_row_with_its_reason(tmp_path: Path, dl14) -> None:
    from .pdfgen import build_pdf

    archive = write_zip(
        tmp_path / "mixed.zip",
        {
            "good.md": ALICE,
            "empty.md": "",
            "binary.txt": bytes(range(256)),
            "scan.pdf": build_pdf(None, image_pages=1),
            "old.doc": b"\xd0\xcf\x11\xe0" + bytes(100),
            "../evil.md": "## Answer 1\nescape",
            "inner.zip": b"PK\x03\x04 broken",
            "headings-only.md": "## Answer 1\n\n## Answer 2\n",
        },
    )
    report = grade_folder(dl14, archive)
    reasons = {s.files[0].split("!")[-1]: s.error for s in report.submissions}
    assert reasons["good.md"] is None
    assert reasons["empty.md"] == "empty file"
    assert reasons["binary.txt"].startswith("not a text file")
    assert reasons["scan.pdf"].startswith("scanned PDF")
    assert reasons["old.doc"].startswith("unsupported format '.doc'")
    assert "points outside the archive" in reasons["../evil.md"]
    assert reasons["inner.zip"].startswith("corrupt archive")
    assert reasons["headings-only.md"].startswith("no answers found")
    assert len(report.submissions) == 8 and report.error_count == 7
    assert all(".." not in s.id and "/" not in s.id for s in report.submissions)
    assert not (tmp_path / "evil.md").exists()


def test_too_large_files_name_the_limit_and_the_flag(tmp_path: Path, dl14) -> None:
    (tmp_path / "big.md").write_text(ALICE)
    [row] = grade_folder(dl14, tmp_path, max_bytes=100).submissions
    assert row.error.startswith(f"too large ({len(ALICE.encode()):,} bytes; the limit is 100;")
    assert "--max-bytes" in row.error


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        pytest.param(
            b"not a zip at all", r"corrupt archive: not a readable zip file", id="corrupt"
        ),
        pytest.param(None, r"no submission files found", id="empty"),
    ],
)
def test_unusable_input_archive_is_a_usage_error(
    tmp_path: Path, content: bytes | None, pattern: str
) -> None:
    path = tmp_path / "class.zip"
    if content is None:
        write_zip(path, {})
    else:
        path.write_bytes(content)
    with pytest.raises(UsageError, match=pattern), open_batch(path):
        pass
