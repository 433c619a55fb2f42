"""report.json: the whole run, rounded for people and tools alike."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
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
    """report.json as one string (see `report_json_chunks`)."""
    return "".join(report_json_chunks(report))


def report_json_chunks(report: Report) -> Iterator[str]:
    """report.json piece by piece: the run's fields indented, then one submission per line and
    one review-queue entry per line. Each line is encoded by the json module's C encoder, which
    indented output cannot use: a class of 10,000 is written in a second instead of ten, and one
    student's record is one line for grep and diff."""
    head = report.model_dump(mode="json", exclude={"submissions"})
    _round_in_place(head)
    yield "{\n"
    for key, value in head.items():
        yield f"  {json.dumps(key)}: {_line(value)},\n"
    yield from _json_list("submissions", (submission_to_dict(s) for s in report.submissions))
    yield ",\n"
    yield from _json_list("review_queue", review_queue(report))
    yield "\n}\n"


def _json_list(key: str, items: Iterable[Any]) -> Iterator[str]:
    yield f"  {json.dumps(key)}: ["
    separator = "\n    "
    empty = True
    for item in items:
        yield separator + _line(item)
        separator, empty = ",\n    ", False
    yield "]" if empty else "\n  ]"


def _line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


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
