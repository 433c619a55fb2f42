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
    data = report_to_dict(report)
    data["review_queue"] = review_queue(report)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


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
