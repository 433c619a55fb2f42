"""Gradebook files as each LMS reads them. The rules checked here are the ones in
docs/gradebooks.md, taken from the importers' source and documentation."""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import pytest

from grader import Report, Rubric, grade_folder
from grader.errors import UsageError
from grader.report import (
    Assignment,
    build_reports,
    check_assignment,
    format_number,
    render_gradebook,
)
from grader.roster import Roster, load_roster, match_roster

from .conftest import DATA, ROOT

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("GRADER_UPDATE_GOLDEN") == "1"
ROSTER = DATA / "rosters" / "dl14.csv"


@pytest.fixture(scope="module")
def report(dl14: Rubric) -> Report:
    cwd = Path.cwd()
    os.chdir(ROOT)  # sources in the report are the paths as the user typed them
    try:
        return grade_folder(dl14, Path("submissions"))
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="module")
def roster() -> Roster:
    return load_roster(ROSTER)


def _score(report: Report, submission: str) -> str:
    """The total as the gradebooks write it (rounded to 2 decimals, no trailing zeros)."""
    result = next(s for s in report.submissions if s.id == submission)
    return format_number(result.score or 0.0)


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize(
    ("fmt", "name"),
    [
        ("canvas", "gradebook_canvas.csv"),
        ("moodle", "gradebook_moodle.csv"),
        ("blackboard", "gradebook_blackboard.csv"),
    ],
)
def test_gradebooks_match_golden_files(report, dl14, roster, fmt: str, name: str) -> None:
    """Refresh on purpose with GRADER_UPDATE_GOLDEN=1 pytest tests/test_report_gradebooks.py."""
    files = build_reports(
        report,
        dl14,
        gradebook=fmt,  # type: ignore[arg-type]
        roster=roster,
        assignment=Assignment("DL 14", "4242"),
    )
    for file_name in (name, "unmatched_submissions.csv"):
        golden = GOLDEN / file_name
        if UPDATE:
            golden.write_text(files[file_name], encoding="utf-8")
        assert files[file_name] == golden.read_text(encoding="utf-8")


def test_canvas_file_passes_canvas_importer_rules(report, dl14, roster) -> None:
    rows = _rows(
        render_gradebook(
            "canvas",
            report,
            dl14,
            match=match_roster(report, roster),
            assignment=Assignment("DL 14", "4242"),
        )
    )
    header, points, students = rows[0], rows[1], rows[2:]
    # GradebookImporter#header?: Student, ID, then SIS User ID + SIS Login ID, Section last.
    assert re.search("Student", header[0]) and re.search("ID", header[1])
    assert re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3])
    assert re.search("Section", header[4])
    title, assignment_id = re.fullmatch(r"(.*)\s\((\d+)\)", header[5]).groups()  # type: ignore[union-attr]
    assert (title, assignment_id) == ("DL 14", "4242")
    assert re.search("Points Possible", points[0]) and points[5] == "19"
    assert all(len(row) == len(header) for row in rows)
    by_login = {row[3]: row for row in students}
    assert by_login["aarcher"][5] == _score(report, "alice_excellent")
    assert by_login["ffarouk"][5] == "", "a roster student with no submission gets no grade, not 0"
    assert by_login["dpatel"][0].startswith("'="), "a formula in a name is neutralised"
    assert "emma_poor" not in {row[0] for row in students}


def test_canvas_without_id_names_the_assignment_only(report, dl14, roster) -> None:
    rows = _rows(
        render_gradebook(
            "canvas",
            report,
            dl14,
            match=match_roster(report, roster),
            assignment=Assignment("DL 14"),
        )
    )
    assert rows[0][5] == "DL 14"


def test_moodle_file_has_identity_grade_and_feedback(report, dl14, roster) -> None:
    rows = _rows(
        render_gradebook(
            "moodle",
            report,
            dl14,
            match=match_roster(report, roster),
            assignment=Assignment("DL 14"),
        )
    )
    assert rows[0] == ["Email address", "DL 14", "Feedback: DL 14"]
    by_email = {row[0]: row for row in rows[1:]}
    assert by_email["chloe.chen@example.edu"][1] == _score(report, "chloe_average")
    feedback = by_email["dev.patel@example.edu"][2]
    assert feedback.startswith(f"Score {_score(report, 'dev_weak')} / 19.")
    assert "Standard dropout is switched off at inference" in feedback
    assert "\n" not in feedback
    assert by_email["farid.farouk@example.edu"][1:] == ["", ""]


def test_moodle_uses_id_number_when_emails_are_missing(dl14) -> None:
    roster = load_roster(DATA / "rosters" / "semicolons-id-numbers.csv")
    report = Report(rubric={"id": "r", "title": "R"}, max_score=19.0, submissions=[])  # type: ignore[arg-type]
    rows = _rows(render_gradebook("moodle", report, dl14, match=match_roster(report, roster)))
    assert rows[0][0] == "ID number"
    assert [row[0] for row in rows[1:]] == ["S-1001", "S-1002"]


def test_blackboard_file_quotes_every_cell_and_names_points_and_column(
    report, dl14, roster
) -> None:
    text = render_gradebook(
        "blackboard",
        report,
        dl14,
        match=match_roster(report, roster),
        assignment=Assignment("DL 14", "4242"),
    )
    lines = text.splitlines()
    assert lines[0] == '"Username","DL 14 [Total Pts: 19] |4242"'
    assert all(re.fullmatch(r'"[^"]*","[^"]*"', line) for line in lines)
    assert f'"bbrown","{_score(report, "ben_good")}"' in lines and '"ffarouk",""' in lines


def test_error_submissions_get_an_empty_grade(dl14, tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "broken.md").write_bytes(b"\x00\x00binary")
    report = grade_folder(dl14, subs)
    roster = load_roster(io_path(tmp_path, "submission,login_id\nbroken,bx\n"))
    rows = _rows(render_gradebook("blackboard", report, dl14, match=match_roster(report, roster)))
    assert rows[1] == ["bx", ""]


def io_path(folder: Path, text: str) -> Path:
    path = folder / "roster.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("fmt", "assignment", "message"),
    [
        ("canvas", Assignment("DL", "12a"), "column ids are numbers"),
        ("canvas", Assignment("DL (12)"), "trailing '\\(number\\)'"),
        ("blackboard", Assignment("DL | 2"), "'\\[' and '\\|'"),
        ("moodle", Assignment("  "), "name is empty"),
    ],
)
def test_assignment_names_the_lms_would_misread_are_refused(fmt, assignment, message) -> None:
    with pytest.raises(UsageError, match=message):
        check_assignment(fmt, assignment)


def test_lms_format_without_roster_is_a_usage_error(report, dl14) -> None:
    with pytest.raises(UsageError, match="needs --roster"):
        build_reports(report, dl14, gradebook="canvas")
