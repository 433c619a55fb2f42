from __future__ import annotations

from pathlib import Path

import pytest

from grader.errors import RosterError
from grader.models import Report, RubricRef, SubmissionResult
from grader.report import check_roster_for
from grader.roster import load_roster, match_roster, parse_roster

from .conftest import DATA

ROSTERS = DATA / "rosters"
INVALID = ROSTERS / "invalid"


def _result(sid: str, source: str | None = None, *, status: str = "graded") -> SubmissionResult:
    return SubmissionResult(
        id=sid,
        source=source or f"subs/{sid}.md",
        status=status,  # type: ignore[arg-type]
        score=1.0 if status == "graded" else None,
        max_score=2.0,
        error=None if status == "graded" else "empty file",
    )


def _report(*results: SubmissionResult) -> Report:
    return Report(rubric=RubricRef(id="r", title="R"), max_score=2.0, submissions=list(results))


def test_roster_keeps_file_order_and_every_column() -> None:
    roster = load_roster(ROSTERS / "dl14.csv")
    assert [e.submission for e in roster.entries] == [
        "alice_excellent",
        "ben_good",
        "chloe_average",
        "dev_weak",
        "farid_absent",
    ]
    alice = roster.entries[0]
    assert (alice.name, alice.id, alice.sis_user_id, alice.login_id) == (
        "Archer, Alice",
        "1001",
        "S-1001",
        "aarcher",
    )
    assert alice.email == "alice.archer@example.edu" and alice.section == "Section A"
    assert alice.line == 2


def test_a_canvas_export_with_a_submission_column_is_a_roster() -> None:
    """Canvas's own headers are understood; its Points Possible row is not a student."""
    roster = load_roster(ROSTERS / "canvas-export-with-submission-column.csv")
    assert [(e.name, e.id, e.login_id, e.submission) for e in roster.entries] == [
        ("Archer, Alice", "1001", "aarcher", "alice_excellent"),
        ("Brown, Ben", "1002", "bbrown", "ben_good"),
    ]
    assert "Quiz 1 (11)" in roster.ignored_columns


def test_semicolon_separated_roster_is_read() -> None:
    roster = load_roster(ROSTERS / "semicolons-id-numbers.csv")
    assert [e.sis_user_id for e in roster.entries] == ["S-1001", "S-1002"]


def test_windows_1252_roster_is_read(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes("submission,name\nzoe,Zoë Müller\n".encode("cp1252"))
    assert load_roster(path).entries[0].name == "Zoë Müller"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param(
            "misspelt-submission-column.csv",
            r"no 'submission' column \(did you mean 'submision'\?\)",
            id="misspelt",
        ),
        pytest.param(
            "duplicate-email.csv", r"email 'A@example.edu' is given to two students", id="email"
        ),
        pytest.param(
            "duplicate-submission.csv",
            r"submission 'ALICE_EXCELLENT' is given to two students \(lines 2 and 3\)",
            id="submission",
        ),
        pytest.param("empty.csv", r"empty roster", id="empty"),
        pytest.param("header-only.csv", r"header but no students", id="header-only"),
    ],
)
def test_invalid_rosters_name_file_line_and_fix(name: str, message: str) -> None:
    with pytest.raises(RosterError, match=message) as caught:
        load_roster(INVALID / name)
    assert str(caught.value).startswith(str(INVALID / name))


def test_missing_roster_file_is_a_roster_error(tmp_path: Path) -> None:
    with pytest.raises(RosterError, match="file not found"):
        load_roster(tmp_path / "nope.csv")


@pytest.mark.parametrize(
    ("fmt", "name", "message"),
    [
        ("blackboard", "missing-login-id.csv", r":3: --gradebook blackboard needs login_id"),
        ("canvas", "no-identifiers.csv", r"needs one of id, sis_user_id, login_id .*line\(s\) 2"),
        ("moodle", "no-identifiers.csv", r"needs email"),
    ],
)
def test_each_format_requires_its_identifier(fmt: str, name: str, message: str) -> None:
    with pytest.raises(RosterError, match=message):
        check_roster_for(fmt, load_roster(INVALID / name))  # type: ignore[arg-type]


def test_roster_with_what_a_format_needs_passes() -> None:
    roster = load_roster(ROSTERS / "dl14.csv")
    for fmt in ("plain", "canvas", "moodle", "blackboard"):
        check_roster_for(fmt, roster)  # type: ignore[arg-type]
    check_roster_for("moodle", load_roster(ROSTERS / "semicolons-id-numbers.csv"))


def test_matching_never_drops_a_student_or_a_submission() -> None:
    roster = parse_roster("submission,email\nalice,a@x\nbob,b@x\nCarol,c@x\n")
    report = _report(_result("alice"), _result("carol"), _result("eve"))
    match = match_roster(report, roster)
    assert [(r.entry.submission, r.result.id if r.result else None) for r in match.rows] == [
        ("alice", "alice"),
        ("bob", None),
        ("Carol", "carol"),  # case differs, but only one file can be meant
    ]
    assert [e.submission for e in match.missing] == ["bob"]
    assert [(u.result.id, u.reason) for u in match.unmatched] == [("eve", "not in the roster")]


def test_two_files_for_one_student_get_no_grade_and_are_both_listed() -> None:
    roster = parse_roster("submission,email\nalice,a@x\n")
    report = _report(_result("alice", "subs/alice.md"), _result("alice", "subs/alice.txt"))
    match = match_roster(report, roster)
    assert match.rows[0].result is None
    assert "several files" in (match.rows[0].problem or "")
    assert match.missing == ()
    assert sorted(u.result.source for u in match.unmatched) == ["subs/alice.md", "subs/alice.txt"]
