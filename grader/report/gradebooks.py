"""Gradebook CSVs: the plain one (grades.csv) and the import files of Canvas, Moodle and
Blackboard. The rules each LMS applies, with their sources, are in docs/gradebooks.md."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from grader.errors import RosterError, UsageError
from grader.models import Report, Rubric, SubmissionResult
from grader.report.common import render_csv, safe_cell
from grader.report.feedback import feedback_summary
from grader.roster import Roster, RosterEntry, RosterMatch

GradebookFormat = Literal["plain", "canvas", "moodle", "blackboard"]
GRADEBOOK_FORMATS: tuple[GradebookFormat, ...] = ("plain", "canvas", "moodle", "blackboard")
LMS_FORMATS: tuple[GradebookFormat, ...] = ("canvas", "moodle", "blackboard")

UNMATCHED_FILE = "unmatched_submissions.csv"


def gradebook_file(fmt: GradebookFormat) -> str:
    """The file an LMS gradebook is written to (the plain one is grades.csv)."""
    return "grades.csv" if fmt == "plain" else f"gradebook_{fmt}.csv"


@dataclass(frozen=True)
class Assignment:
    """How the LMS names the graded column."""

    name: str
    column_id: str | None = None


def check_assignment(fmt: GradebookFormat, assignment: Assignment) -> None:
    """Reject names and ids that the LMS would read differently from what the user meant."""
    if not assignment.name.strip():
        raise UsageError("--assignment: the assignment name is empty")
    if assignment.column_id is not None and not re.fullmatch(r"\d+", assignment.column_id):
        raise UsageError(
            f"--assignment-id {assignment.column_id!r}: Canvas and Blackboard column ids are "
            "numbers (Canvas: the number in the assignment's URL; Blackboard: the number after "
            "'|' in a Grade Center download)"
        )
    if fmt == "blackboard" and ("|" in assignment.name or "[" in assignment.name):
        raise UsageError(
            f"--assignment {assignment.name!r}: Blackboard reads '[' and '|' in a column header "
            "as points and column id; choose a name without them"
        )
    if fmt == "canvas" and re.search(r"\s\(\d+\)\Z", assignment.name):
        raise UsageError(
            f"--assignment {assignment.name!r}: Canvas reads a trailing '(number)' as the "
            "assignment id; pass the id with --assignment-id instead"
        )


def moodle_identity(entries: Sequence[RosterEntry]) -> tuple[str, str]:
    """(roster column, Moodle header) that identifies students in a Moodle import: the email
    address when every student has one, else the ID number (`sis_user_id`)."""
    if all(entry.email for entry in entries):
        return "email", "Email address"
    if all(entry.sis_user_id for entry in entries):
        return "sis_user_id", "ID number"
    return "email", "Email address"


def check_roster_for(fmt: GradebookFormat, roster: Roster) -> None:
    """Every student needs the identifier the LMS matches on; a row without one would be
    imported into the wrong student or abort the whole import (Moodle)."""
    needs: tuple[str, ...]
    if fmt == "canvas":
        needs, what = ("id", "sis_user_id", "login_id"), "one of id, sis_user_id, login_id"
    elif fmt == "blackboard":
        needs, what = ("login_id",), "login_id (the Blackboard username)"
    elif fmt == "moodle":
        column, _ = moodle_identity(roster.entries)
        needs = (column,)
        what = "email (or, for every student, sis_user_id: the Moodle ID number)"
    else:
        return
    lacking = [e.line for e in roster.entries if not any(e.value(c) for c in needs)]
    if not lacking:
        return
    present = [c for c in needs if c in roster.columns]
    hint = "" if present else roster.missing_column_hint(needs[0])
    lines = ", ".join(str(n) for n in lacking[:10]) + (" ..." if len(lacking) > 10 else "")
    raise RosterError(
        roster.source,
        f"--gradebook {fmt} needs {what} for every student{hint}; missing on line(s) {lines}",
        line=lacking[0],
    )


# --- rendering -------------------------------------------------------------------------------


def plain_gradebook(report: Report, rubric: Rubric) -> tuple[list[str], list[list[str]]]:
    """The plain gradebook: one row per submission, error rows included."""
    question_ids = [q.id for q in rubric.questions]
    return plain_header(rubric), [plain_row(s, question_ids) for s in report.submissions]


def plain_header(rubric: Rubric) -> list[str]:
    return [
        "submission",
        "score",
        "max_score",
        *(safe_cell(q.id) for q in rubric.questions),
        "status",
        "needs_review",
        "error",
        "manual",  # the questions whose score is a TA's override
        "name",
        "late",
        "files",
    ]


def plain_row(result: SubmissionResult, question_ids: Sequence[str]) -> list[str]:
    """One submission's row of grades.csv."""
    per_question = {q.id: q.score for q in result.questions}
    return [
        safe_cell(result.id),
        safe_cell(result.score),
        safe_cell(result.max_score),
        *(safe_cell(per_question.get(qid)) for qid in question_ids),
        result.status,
        safe_cell(result.needs_review),
        safe_cell(result.error),
        safe_cell(" ".join(q.id for q in result.questions if q.manual)),
        safe_cell(result.name),
        safe_cell(result.late),
        safe_cell("; ".join(result.files)),
    ]


def _grade(result: SubmissionResult | None) -> str:
    """The grade cell: empty when there is no graded submission, never a surprise 0."""
    if result is None or result.status != "graded" or result.score is None:
        return ""
    return safe_cell(result.score)


def render_gradebook(
    fmt: GradebookFormat,
    report: Report,
    rubric: Rubric,
    *,
    match: RosterMatch | None = None,
    assignment: Assignment | None = None,
    summaries: Mapping[tuple[str, str], str] | None = None,
) -> str:
    """The CSV text of one gradebook format. LMS formats need a roster `match`; Moodle's
    feedback column takes each student's summary from `summaries` ((id, source) → text) when
    given, else from the result."""
    if fmt == "plain":
        return render_csv(*plain_gradebook(report, rubric))
    if match is None:
        raise UsageError(f"--gradebook {fmt} needs --roster ROSTER.csv")
    assignment = assignment or Assignment(rubric.title)
    check_assignment(fmt, assignment)
    points = safe_cell(rubric.max_score)
    if fmt == "canvas":
        title = assignment.name + (f" ({assignment.column_id})" if assignment.column_id else "")
        header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", safe_cell(title)]
        rows = [["    Points Possible", "", "", "", "", points]]
        for row in match.rows:
            e = row.entry
            rows.append(
                [
                    safe_cell(e.name or e.submission),
                    safe_cell(e.id),
                    safe_cell(e.sis_user_id),
                    safe_cell(e.login_id),
                    safe_cell(e.section),
                    _grade(row.result),
                ]
            )
        return render_csv(header, rows)
    if fmt == "moodle":
        column, identity = moodle_identity([row.entry for row in match.rows])
        name = safe_cell(assignment.name)
        header = [identity, name, safe_cell(f"Feedback: {assignment.name}")]
        rows = [
            [
                safe_cell(row.entry.value(column)),
                _grade(row.result),
                safe_cell(_moodle_feedback(row.result, rubric, row.problem, summaries)),
            ]
            for row in match.rows
        ]
        return render_csv(header, rows)
    # Blackboard: its help asks for every cell of a comma-separated file to be quoted.
    title = f"{assignment.name} [Total Pts: {points}]"
    if assignment.column_id:
        title += f" |{assignment.column_id}"
    header = ["Username", safe_cell(title)]
    rows = [[safe_cell(row.entry.login_id), _grade(row.result)] for row in match.rows]
    return render_csv(header, rows, quote_all=True)


def _moodle_feedback(
    result: SubmissionResult | None,
    rubric: Rubric,
    problem: str | None,
    summaries: Mapping[tuple[str, str], str] | None = None,
) -> str:
    if problem is not None:
        return ""
    if result is None:
        return ""
    if summaries is not None:
        return summaries.get((result.id, result.source), "")
    return feedback_summary(result, rubric)


def render_unmatched(match: RosterMatch) -> str:
    """Submissions that no roster student claims: never dropped silently."""
    header = ["submission", "source", "status", "score", "max_score", "reason"]
    rows = [
        [
            safe_cell(u.result.id),
            safe_cell(u.result.source),
            u.result.status,
            safe_cell(u.result.score),
            safe_cell(u.result.max_score),
            safe_cell(u.reason),
        ]
        for u in match.unmatched
    ]
    return render_csv(header, rows)
