"""Writers: report.json, gradebook CSVs, per-student feedback and the class overview.
Rounding and escaping happen here, nowhere else.

One module per output: `json_report` (report.json), `gradebooks` (grades.csv and the Canvas,
Moodle and Blackboard import files), `feedback` (feedback/<submission>.md and .html), `overview`
(overview.html) with `charts` (inline SVG), `page` (the HTML shell) and `output` (publishing the
whole set into OUT_DIR without ever leaving a mix of old and new files).
"""

from __future__ import annotations

from pathlib import Path

from grader.errors import UsageError
from grader.models import Report, Rubric
from grader.report.common import (
    SCORE_DECIMALS,
    SIMILARITY_DECIMALS,
    feedback_stem_map,
    feedback_stems,
    format_number,
    render_csv,
    safe_cell,
    safe_stem,
    write_atomic,
)
from grader.report.feedback import feedback_summary, render_feedback_html, render_feedback_md
from grader.report.gradebooks import (
    GRADEBOOK_FORMATS,
    LMS_FORMATS,
    UNMATCHED_FILE,
    Assignment,
    GradebookFormat,
    check_assignment,
    check_roster_for,
    gradebook_file,
    plain_gradebook,
    render_gradebook,
    render_unmatched,
)
from grader.report.json_report import (
    review_queue,
    submission_to_dict,
)
from grader.report.output import MANAGED_FILES, Staging, publish
from grader.report.overview import render_overview
from grader.report.writer import MemorySink, ReportWriter, Sink
from grader.roster import Roster

#: Kept for callers of the first release.
gradebook_rows = plain_gradebook

__all__ = [
    "GRADEBOOK_FORMATS",
    "LMS_FORMATS",
    "MANAGED_FILES",
    "SCORE_DECIMALS",
    "SIMILARITY_DECIMALS",
    "UNMATCHED_FILE",
    "Assignment",
    "GradebookFormat",
    "ReportWriter",
    "Staging",
    "build_reports",
    "check_assignment",
    "check_gradebook",
    "check_roster_for",
    "feedback_stem_map",
    "feedback_stems",
    "feedback_summary",
    "format_number",
    "gradebook_file",
    "gradebook_rows",
    "plain_gradebook",
    "publish",
    "render_csv",
    "render_feedback_html",
    "render_feedback_md",
    "render_gradebook",
    "render_overview",
    "render_unmatched",
    "review_queue",
    "safe_cell",
    "safe_stem",
    "submission_to_dict",
    "write_atomic",
    "write_reports",
]


def build_reports(
    report: Report,
    rubric: Rubric,
    *,
    gradebook: GradebookFormat = "plain",
    roster: Roster | None = None,
    assignment: Assignment | None = None,
    reveal: bool = False,
) -> dict[str, str]:
    """Every output file of a run, as relative path → text, without touching the disk."""
    check_gradebook(gradebook, roster, assignment)
    sink = MemorySink()
    _write_all(sink, report, rubric, gradebook, roster, assignment, reveal)
    return sink.files


def write_reports(
    report: Report,
    rubric: Rubric,
    out_dir: Path,
    *,
    gradebook: GradebookFormat = "plain",
    roster: Roster | None = None,
    assignment: Assignment | None = None,
    reveal: bool = False,
) -> list[Path]:
    """Write report.json, grades.csv, the LMS gradebook (with `gradebook` and a `roster`),
    unmatched_submissions.csv (with a roster), feedback/ and overview.html into `out_dir`.

    Each file is written into a staging folder as soon as it is made, then the whole set is
    swapped in file by file with atomic renames; files an earlier run wrote and this one does not
    are removed (see `grader.report.output`). Returns the top-level paths written, report.json
    first and the feedback folder last. `grader grade` streams its results through the same
    `ReportWriter` as they are graded."""
    check_gradebook(gradebook, roster, assignment)  # before anything is created on disk
    with Staging(out_dir) as staging:
        _write_all(staging, report, rubric, gradebook, roster, assignment, reveal)
        return staging.commit()


def _write_all(
    sink: Sink,
    report: Report,
    rubric: Rubric,
    gradebook: GradebookFormat,
    roster: Roster | None,
    assignment: Assignment | None,
    reveal: bool,
) -> None:
    stems = feedback_stem_map((s.id, s.source) for s in report.submissions)
    writer = ReportWriter(
        sink,
        rubric,
        stems,
        gradebook=gradebook,
        roster=roster,
        assignment=assignment,
        reveal=reveal,
    )
    try:
        for result in report.submissions:
            writer.add(result)
        writer.finish()
    finally:
        writer.close()


def check_gradebook(
    gradebook: GradebookFormat, roster: Roster | None, assignment: Assignment | None
) -> None:
    """Fail before grading when the gradebook options cannot produce an importable file."""
    if gradebook == "plain":
        return
    if roster is None:
        raise UsageError(
            f"--gradebook {gradebook} needs --roster ROSTER.csv: a CSV with a 'submission' "
            "column and the students' LMS identifiers (see docs/gradebooks.md)"
        )
    check_roster_for(gradebook, roster)
    if assignment is not None:
        check_assignment(gradebook, assignment)
