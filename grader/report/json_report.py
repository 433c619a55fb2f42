"""report.json: the whole run, rounded for people and tools alike.

The file is written by `grader.report.writer.ReportWriter` from the pieces here: the run's
fields indented, then one submission per line and one review-queue entry per line, each encoded
by the json module's C encoder (which indented output cannot use: ten times faster for a class),
so that one student's record is one line for grep and diff."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from grader.models import QuestionResult, Report, SubmissionResult
from grader.report.common import SCORE_DECIMALS, SIMILARITY_DECIMALS


def submission_to_dict(result: SubmissionResult) -> dict[str, Any]:
    data = result.model_dump(mode="json")
    _round_in_place(data)
    return data


def _round_in_place(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, float):
                decimals = (
                    SIMILARITY_DECIMALS
                    if key in {"similarity", "credit", "confidence"}
                    else SCORE_DECIMALS
                )
                node[key] = round(value, decimals) + 0.0
            elif isinstance(value, dict | list):
                _round_in_place(value)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, dict | list):  # a float in a list stays as it is
                _round_in_place(item)


def report_head(report: Report) -> str:
    """The opening of report.json: every field of the run but its submissions."""
    head = report.model_dump(mode="json", exclude={"submissions"})
    _round_in_place(head)
    return "{\n" + "".join(
        f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},\n"
        for key, value in head.items()
    )


def submission_line(result: SubmissionResult) -> str:
    """One submission of report.json, on one line."""
    return json.dumps(submission_to_dict(result), ensure_ascii=False)


def json_list(key: str, lines: list[str]) -> str:
    """A key of report.json whose list has one item per line."""
    if not lines:
        return f"  {json.dumps(key)}: []"
    return f"  {json.dumps(key)}: [\n    " + ",\n    ".join(lines) + "\n  ]"


#: One answer of the review queue: confidence (rounded as shown), submission, question, reasons.
ReviewEntry = tuple[float, str, str, tuple[str, ...]]


def review_entry(submission: str, question: QuestionResult) -> ReviewEntry:
    return (
        round(question.confidence, SIMILARITY_DECIMALS),
        submission,
        question.id,
        tuple(question.review_reasons),
    )


def review_rows(entries: Iterable[ReviewEntry]) -> list[dict[str, Any]]:
    """report.json's `review_queue`: most doubtful first, then by id, for stable output."""
    return [
        {
            "submission": submission,
            "question": question,
            "confidence": confidence,
            "reasons": list(why),
        }
        for confidence, submission, question, why in sorted(entries, key=lambda e: e[:3])
    ]


def review_queue(report: Report) -> list[dict[str, Any]]:
    """Answers of `report` that need a human look (see `review_rows`)."""
    return review_rows(
        review_entry(s.id, q) for s in report.submissions for q in s.questions if q.needs_review
    )
