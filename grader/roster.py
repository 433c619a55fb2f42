"""Rosters: which LMS student each submission belongs to.

A roster is a CSV with a `submission` column (the submission id: the file name without its
extension) and whichever LMS identifiers the gradebook format needs: `name`, `id`, `sis_user_id`,
`login_id`, `email`, `section`. Reading it lives here, beside the matching, because nothing else
reads rosters; the gradebook writers only see the matched result.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from grader.errors import RosterError
from grader.models import Report, SubmissionResult

ROSTER_COLUMNS = ("submission", "name", "id", "sis_user_id", "login_id", "email", "section")
#: Columns that identify a student in an LMS: two students may not share a value.
IDENTIFIER_COLUMNS = ("id", "sis_user_id", "login_id", "email")
#: Headers as LMS exports spell them, so that an export with a `submission` column added works.
_ALIASES = {
    "student": "name",
    "full_name": "name",
    "sis_login_id": "login_id",
    "username": "login_id",
    "email_address": "email",
    "id_number": "sis_user_id",
    "submission_id": "submission",
}


class RosterEntry(BaseModel):
    """One student of the roster; empty strings where the roster has no value."""

    model_config = ConfigDict(frozen=True)

    line: int
    submission: str
    name: str = ""
    id: str = ""
    sis_user_id: str = ""
    login_id: str = ""
    email: str = ""
    section: str = ""

    def value(self, column: str) -> str:
        text: str = getattr(self, column)
        return text


class Roster(BaseModel):
    """A validated roster, in the file's order (the LMS's order)."""

    model_config = ConfigDict(frozen=True)

    source: str
    columns: tuple[str, ...]
    ignored_columns: tuple[str, ...] = ()
    entries: tuple[RosterEntry, ...]

    def missing_column_hint(self, column: str) -> str:
        """' (did you mean ...?)' when an ignored header looks like `column`."""
        close = difflib.get_close_matches(column, self.ignored_columns, n=1, cutoff=0.6)
        return f" (did you mean {close[0]!r}?)" if close else ""


def load_roster(path: Path | str) -> Roster:
    """Read and validate a roster CSV (UTF-8 with or without BOM, or Windows-1252; comma,
    semicolon or tab separated). Every problem is a `RosterError` naming the file and line."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise RosterError(path, "file not found; pass the path of a roster .csv") from None
    except OSError as exc:
        raise RosterError(path, f"cannot read the file ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    return parse_roster(text, path)


def _normalise_header(header: str) -> str:
    key = re.sub(r"[\s\-]+", "_", header.strip().lower())
    return _ALIASES.get(key, key)


def _sniff_delimiter(text: str) -> str:
    first_line = text.split("\n", 1)[0]
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def parse_roster(text: str, path: Path | str = "<roster>") -> Roster:
    """Validate roster CSV text. `path` is only used in messages."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise RosterError(path, f"not a valid CSV file ({exc})") from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise RosterError(
            path, f"empty roster; the first line names the columns: {', '.join(ROSTER_COLUMNS)}"
        )
    headers = [_normalise_header(h) for h in rows[0]]
    known = [h for h in headers if h in ROSTER_COLUMNS]
    for column in known:
        if headers.count(column) > 1:
            raise RosterError(path, f"column {column!r} appears twice; keep one", line=1)
    ignored = tuple(rows[0][i].strip() for i, h in enumerate(headers) if h not in ROSTER_COLUMNS)
    if "submission" not in headers:
        close = difflib.get_close_matches("submission", ignored, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise RosterError(
            path,
            "no 'submission' column" + hint + ": add one with each student's submission id "
            "(the submission file name without its extension)",
            line=1,
        )
    entries: list[RosterEntry] = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        values = {
            header: row[index].strip() if index < len(row) else ""
            for index, header in enumerate(headers)
            if header in ROSTER_COLUMNS
        }
        if _is_canvas_points_row(values):
            continue
        entries.append(RosterEntry(line=number, **values))
    if not entries:
        raise RosterError(path, "the roster has a header but no students")
    _reject_duplicates(entries, path)
    return Roster(
        source=str(path), columns=tuple(known), ignored_columns=ignored, entries=tuple(entries)
    )


def _is_canvas_points_row(values: dict[str, str]) -> bool:
    """The '    Points Possible' row of a Canvas gradebook export is not a student."""
    return values.get("name", "") == "Points Possible" and not any(
        values.get(column) for column in (*IDENTIFIER_COLUMNS, "submission")
    )


def _reject_duplicates(entries: list[RosterEntry], path: Path | str) -> None:
    for column in ("submission", *IDENTIFIER_COLUMNS):
        first_line: dict[str, int] = {}
        for entry in entries:
            value = entry.value(column)
            if not value:
                continue
            key = value.casefold() if column in {"submission", "email"} else value
            if key in first_line:
                raise RosterError(
                    path,
                    f"{column} {value!r} is given to two students (lines {first_line[key]} and "
                    f"{entry.line}); each student needs their own",
                    line=entry.line,
                )
            first_line[key] = entry.line


# --- matching a report against a roster -------------------------------------------------------


@dataclass(frozen=True)
class RosterRow:
    """A roster student and their graded submission (None: no submission, or no single one)."""

    entry: RosterEntry
    result: SubmissionResult | None
    problem: str | None = None


@dataclass(frozen=True)
class UnmatchedSubmission:
    """A submission that no roster student claims, and why."""

    result: SubmissionResult
    reason: str


@dataclass(frozen=True)
class RosterMatch:
    rows: tuple[RosterRow, ...]
    unmatched: tuple[UnmatchedSubmission, ...]

    @property
    def missing(self) -> tuple[RosterEntry, ...]:
        """Roster students with no submission: they get an empty grade, never a 0."""
        return tuple(row.entry for row in self.rows if row.result is None and row.problem is None)

    @property
    def ambiguous(self) -> tuple[RosterRow, ...]:
        return tuple(row for row in self.rows if row.problem is not None)


def match_roster(report: Report | Sequence[SubmissionResult], roster: Roster) -> RosterMatch:
    """Pair every roster student with their submission: by exact id, else by id ignoring case
    when that is unique. Nothing is dropped: a submission no student claims is `unmatched`, and a
    student with two files of the same id gets no grade and both files are listed."""
    results = report.submissions if isinstance(report, Report) else report
    by_id: dict[str, list[SubmissionResult]] = {}
    by_folded: dict[str, list[SubmissionResult]] = {}
    for result in results:
        by_id.setdefault(result.id, []).append(result)
        by_folded.setdefault(result.id.casefold(), []).append(result)
    claimed: dict[int, str] = {}
    unmatched: list[UnmatchedSubmission] = []
    rows: list[RosterRow] = []
    for entry in roster.entries:
        if not entry.submission:
            rows.append(RosterRow(entry, None))
            continue
        candidates = by_id.get(entry.submission) or by_folded.get(entry.submission.casefold(), [])
        if len(candidates) == 1:
            rows.append(RosterRow(entry, candidates[0]))
            claimed[id(candidates[0])] = entry.submission
        elif not candidates:
            rows.append(RosterRow(entry, None))
        else:
            sources = ", ".join(c.source for c in candidates)
            rows.append(RosterRow(entry, None, f"several files for this student: {sources}"))
            for candidate in candidates:
                claimed[id(candidate)] = entry.submission
                unmatched.append(
                    UnmatchedSubmission(
                        candidate,
                        f"roster line {entry.line} matches {len(candidates)} files; keep one "
                        "and grade again, or enter the grade by hand",
                    )
                )
    for result in results:
        if id(result) not in claimed:
            unmatched.append(UnmatchedSubmission(result, "not in the roster"))
    unmatched.sort(key=lambda u: (u.result.id, u.result.source))
    return RosterMatch(rows=tuple(rows), unmatched=tuple(unmatched))
