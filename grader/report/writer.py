"""Every report file of a run, written while the results arrive.

`ReportWriter.add` takes one result at a time, in report order, and writes what it can at once:
its line of report.json, its row of grades.csv, its two feedback pages. What needs the whole
class (the overview, the review queue, an LMS gradebook in roster order) is kept as counts and
short rows (`Overview`) or light copies, and written by `finish`. Memory therefore hardly grows
with the class (a few KB per student), and the same writer serves a class of five and one of a
hundred thousand.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Protocol, TextIO

from grader.models import Report, Rubric, RubricRef, SubmissionResult
from grader.report.feedback import (
    feedback_summary,
    question_feedback,
    render_feedback_html,
    render_feedback_md,
)
from grader.report.gradebooks import (
    UNMATCHED_FILE,
    Assignment,
    GradebookFormat,
    gradebook_file,
    plain_header,
    plain_row,
    render_gradebook,
    render_unmatched,
)
from grader.report.json_report import json_list, report_head, submission_line
from grader.report.overview import Overview
from grader.roster import Roster, RosterMatch, match_roster


class Sink(Protocol):
    """Where report files go: the staging folder of a run, or memory."""

    def open(self, name: str) -> AbstractContextManager[TextIO]: ...


class MemorySink:
    """Report files kept as strings (for `build_reports`, tests and previews)."""

    def __init__(self) -> None:
        self.files: dict[str, str] = {}

    @contextmanager
    def open(self, name: str) -> Iterator[TextIO]:
        buffer = io.StringIO(newline="")
        yield buffer
        self.files[name] = buffer.getvalue()


class ReportWriter:
    """Writes report.json, grades.csv, feedback/, overview.html and, with a roster, the LMS
    gradebook and unmatched_submissions.csv, from results given one at a time in report order.

    `stems` maps each (submission id, source) to its feedback file stem, decided before the
    first result (two files of one id are told apart by their source). With `files=False` only
    the class summary is kept (a dry run writes nothing)."""

    def __init__(
        self,
        sink: Sink,
        rubric: Rubric,
        stems: Mapping[tuple[str, str], str],
        *,
        gradebook: GradebookFormat = "plain",
        roster: Roster | None = None,
        assignment: Assignment | None = None,
        reveal: bool = False,
        files: bool = True,
    ) -> None:
        self.sink = sink
        self.rubric = rubric
        self.stems = stems
        self.gradebook = gradebook
        self.roster = roster
        self.assignment = assignment
        self.reveal = reveal
        self.files = files
        self.overview = Overview(rubric)
        self.match: RosterMatch | None = None
        self._question_ids = [q.id for q in rubric.questions]
        self._light: list[SubmissionResult] = []  # what the roster match needs of each result
        self._summaries: dict[tuple[str, str], str] = {}  # Moodle's feedback column
        self._open_files = ExitStack()  # report.json and grades.csv, written line by line
        self._count = 0
        if files:
            self._json = self._open_files.enter_context(sink.open("report.json"))
            self._json.write(report_head(_empty_report(rubric)) + '  "submissions": [')
            self._csv = csv.writer(
                self._open_files.enter_context(sink.open("grades.csv")), lineterminator="\n"
            )
            self._csv.writerow(plain_header(rubric))

    def add(self, result: SubmissionResult) -> None:
        """One result, after the one before it in report order."""
        stem = self.stems[(result.id, result.source)]
        self.overview.add(result, stem)
        if self.roster is not None:
            self._light.append(
                result.model_copy(update={"questions": [], "answers": {}, "notes": []})
            )
            if self.gradebook == "moodle":
                self._summaries[(result.id, result.source)] = feedback_summary(result, self.rubric)
        if not self.files:
            return
        self._json.write(("\n    " if self._count == 0 else ",\n    ") + submission_line(result))
        self._count += 1
        self._csv.writerow(plain_row(result, self._question_ids))
        feedback = question_feedback(result, self.rubric)  # sorted once for both pages
        for suffix, render in (("md", render_feedback_md), ("html", render_feedback_html)):
            with self.sink.open(f"feedback/{stem}.{suffix}") as handle:
                handle.write(render(result, self.rubric, reveal=self.reveal, feedback=feedback))

    def finish(self) -> None:
        """Write what needs the whole class: the review queue, the roster files, the
        overview. Call once, after the last `add`."""
        if self.roster is not None:
            self.match = match_roster(self._light, self.roster)
        if not self.files:
            return
        self._json.write("\n  ]" if self._count else "]")
        queue = [json.dumps(row, ensure_ascii=False) for row in self.overview.review_queue()]
        self._json.write(",\n" + json_list("review_queue", queue) + "\n}\n")
        self.close()  # report.json and grades.csv are complete
        if self.match is not None:
            if self.gradebook != "plain":
                with self.sink.open(gradebook_file(self.gradebook)) as handle:
                    handle.write(
                        render_gradebook(
                            self.gradebook,
                            _empty_report(self.rubric),
                            self.rubric,
                            match=self.match,
                            assignment=self.assignment,
                            summaries=self._summaries,
                        )
                    )
            with self.sink.open(UNMATCHED_FILE) as handle:
                handle.write(render_unmatched(self.match))
        with self.sink.open("overview.html") as handle:
            handle.write(self.overview.render(match=self.match))

    def close(self) -> None:
        """Close the files still open (after an error: nothing is committed)."""
        self._open_files.close()


def _empty_report(rubric: Rubric) -> Report:
    """The run's fields without its submissions (the head of report.json)."""
    return Report(
        rubric=RubricRef(id=rubric.id, title=rubric.title),
        max_score=rubric.max_score,
        submissions=[],
    )
