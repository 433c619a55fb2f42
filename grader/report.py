"""Writers: report.json and grades.csv. Rounding and escaping happen here, nowhere else."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from grader.models import Report, Rubric, SubmissionResult

SCORE_DECIMALS = 2
SIMILARITY_DECIMALS = 3
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def write_atomic(path: Path, content: str) -> None:
    """Write to a temporary file beside `path`, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def safe_cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not execute (OWASP CSV injection): text starting with
    = + - @ tab or CR gets a leading apostrophe. Numbers, negative ones included, stay numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return format_number(value)
    text = str(value)
    if text.startswith(_FORMULA_STARTS) and not _is_number(text):
        return "'" + text
    return text


def format_number(value: float, decimals: int = SCORE_DECIMALS) -> str:
    """Fixed rounding for outputs; '-0' never appears."""
    rounded = round(float(value), decimals)
    if rounded == 0:
        rounded = 0.0
    text = f"{rounded:.{decimals}f}".rstrip("0").rstrip(".")
    return text or "0"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip() == text


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


def gradebook_rows(report: Report, rubric: Rubric) -> tuple[list[str], list[list[str]]]:
    """The plain gradebook: one row per submission, error rows included."""
    question_ids = [q.id for q in rubric.questions]
    header = [
        "submission",
        "score",
        "max_score",
        *question_ids,
        "status",
        "needs_review",
        "error",
        "name",
        "late",
        "files",
    ]
    rows = []
    for s in report.submissions:
        per_question = {q.id: q.score for q in s.questions}
        rows.append(
            [
                safe_cell(s.id),
                safe_cell(s.score),
                safe_cell(s.max_score),
                *(safe_cell(per_question.get(qid)) for qid in question_ids),
                s.status,
                safe_cell(s.needs_review),
                safe_cell(s.error),
                safe_cell(s.name),
                safe_cell(s.late),
                safe_cell("; ".join(s.files)),
            ]
        )
    return header, rows


def render_csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_reports(report: Report, rubric: Rubric, out_dir: Path) -> list[Path]:
    """Write report.json and grades.csv into `out_dir`; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "report.json"
    csv_path = out_dir / "grades.csv"
    header, rows = gradebook_rows(report, rubric)
    write_atomic(json_path, render_report_json(report))
    write_atomic(csv_path, render_csv(header, rows))
    return [json_path, csv_path]
