"""report.json: the whole run, rounded for people and tools alike."""

from __future__ import annotations

import json
from typing import Any

from grader.models import Report, SubmissionResult
from grader.report.common import SCORE_DECIMALS, SIMILARITY_DECIMALS


def report_to_dict(report: Report) -> dict[str, Any]:
    """The JSON form of a report, with scores rounded for people and tools alike."""
    data = report.model_dump(mode="json")
    _round_in_place(data)
    return data


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
            else:
                _round_in_place(value)
    elif isinstance(node, list):
        for item in node:
            _round_in_place(item)


def render_report_json(report: Report) -> str:
    """report.json as one string: the run's fields indented, then one submission per line and
    one review-queue entry per line. Each line is encoded by the json module's C encoder, which
    indented output cannot use (ten times faster for a class), and one student's record is one
    line for grep and diff. `grader.report.writer` writes the same text a line at a time."""
    lines = [submission_line(s) for s in report.submissions]
    queue = [json.dumps(row, ensure_ascii=False) for row in review_queue(report)]
    return (
        report_head(report)
        + json_list("submissions", lines)
        + ",\n"
        + json_list("review_queue", queue)
        + "\n}\n"
    )


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


def review_queue(report: Report) -> list[dict[str, Any]]:
    """Answers that need a human look, most doubtful first (then by id, for stable output)."""
    queue = [
        {
            "submission": s.id,
            "question": q.id,
            "confidence": round(q.confidence, SIMILARITY_DECIMALS),
            "reasons": q.review_reasons,
        }
        for s in report.submissions
        for q in s.questions
        if q.needs_review
    ]
    return sorted(queue, key=lambda row: (row["confidence"], row["submission"], row["question"]))
