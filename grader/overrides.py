"""Manual grades: pure rules that put a TA's overrides on top of an automatic report.

Manual beats automatic, always: an override replaces the score of its answer whatever the rubric
says now. When the student's answer text changed since the override (a resubmission), the
override still stands but the answer goes back to the review queue with both grades shown.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from grader.models import Override, QuestionResult, Report, Rubric, SubmissionResult

AnswerKey = tuple[str, str]  # (submission id, question id)


@dataclass(frozen=True)
class ManualGrade:
    """An override as the gradebook stores it."""

    submission: str
    question: str
    points: float
    comment: str = ""
    by: str | None = None
    answer_hash: str | None = None  # the answer the TA read; None when there was none
    auto_score: float | None = None  # the automatic score the TA saw


def hash_answer(text: str) -> str:
    """A fingerprint of an answer that ignores re-saving noise (spacing, line ends)."""
    canonical = " ".join(text.split())
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def answer_hashes(report: Report) -> dict[AnswerKey, str]:
    """The fingerprint of every answer graded in `report` (from the texts it carries)."""
    return {key: value for s in report.submissions for key, value in answer_hashes_of(s).items()}


def answer_hashes_of(result: SubmissionResult) -> dict[AnswerKey, str]:
    """The fingerprint of every answer of one result."""
    return {(result.id, question): hash_answer(text) for question, text in result.answers.items()}


def apply_overrides_to(
    result: SubmissionResult,
    rubric: Rubric,
    grades: Mapping[str, ManualGrade],
    hashes: Mapping[AnswerKey, str],
) -> SubmissionResult:
    """One result with its overrides (question id → the TA's grade) applied."""
    return _apply_to_submission(result, rubric, grades, hashes)


def apply_overrides(
    report: Report,
    rubric: Rubric,
    overrides: Iterable[ManualGrade],
    hashes: Mapping[AnswerKey, str],
) -> Report:
    """`report` with every override applied; `hashes` are the fingerprints of its answers."""
    by_submission: dict[str, dict[str, ManualGrade]] = {}
    for grade in overrides:
        by_submission.setdefault(grade.submission, {})[grade.question] = grade
    if not by_submission:
        return report
    submissions = [
        _apply_to_submission(s, rubric, by_submission[s.id], hashes) if s.id in by_submission else s
        for s in report.submissions
    ]
    return report.model_copy(update={"submissions": submissions})


def _apply_to_submission(
    result: SubmissionResult,
    rubric: Rubric,
    grades: Mapping[str, ManualGrade],
    hashes: Mapping[AnswerKey, str],
) -> SubmissionResult:
    rubric_questions = {q.id for q in rubric.questions}
    notes = list(result.notes)
    for question in sorted(set(grades) - rubric_questions):
        notes.append(
            f"override for {question} not applied: the rubric has no question {question!r} "
            "(clear it with grader override --clear)"
        )
    if result.status == "error":
        return _grade_unreadable(result, rubric, grades, notes)
    parse_review = result.needs_review and not any(q.needs_review for q in result.questions)
    questions = [
        _apply_to_question(q, grades[q.id], hashes.get((result.id, q.id))) if q.id in grades else q
        for q in result.questions
    ]
    return result.model_copy(
        update={
            "questions": questions,
            "score": round(sum(q.score for q in questions), 6),
            "needs_review": parse_review or any(q.needs_review for q in questions),
            "manual": any(q.manual for q in questions),
            "notes": notes,
        }
    )


def _apply_to_question(
    result: QuestionResult, grade: ManualGrade, answer_hash: str | None
) -> QuestionResult:
    changed = (
        grade.answer_hash is not None
        and answer_hash is not None
        and grade.answer_hash != answer_hash
    )
    reasons = []
    if changed:
        reasons.append(
            f"answer changed since the override: manual {_number(grade.points)}, "
            f"automatic now {_number(result.score)}"
        )
    return result.model_copy(
        update={
            "score": grade.points,
            "manual": True,
            "override": _override(grade, result.score, changed),
            # The TA read this answer: the automatic doubts are settled, unless it changed.
            "needs_review": changed,
            "review_reasons": reasons,
        }
    )


def _grade_unreadable(
    result: SubmissionResult,
    rubric: Rubric,
    grades: Mapping[str, ManualGrade],
    notes: list[str],
) -> SubmissionResult:
    """A file grader could not read, graded by hand: it keeps its error, and earns the points
    the TA gave; questions without an override stay at 0 and in the review queue."""
    questions = []
    for question in rubric.questions:
        grade = grades.get(question.id)
        questions.append(
            QuestionResult(
                id=question.id,
                score=grade.points if grade else 0.0,
                max_score=question.max_score,
                answered=grade is not None,
                key_points=[],
                misconceptions=[],
                confidence=1.0 if grade else 0.0,
                needs_review=grade is None,
                review_reasons=[] if grade else ["the file could not be read: grade it by hand"],
                manual=grade is not None,
                override=_override(grade, None, False) if grade else None,
            )
        )
    if not any(q.manual for q in questions):
        return result.model_copy(update={"notes": notes})
    return result.model_copy(
        update={
            "questions": questions,
            "score": round(sum(q.score for q in questions), 6),
            "needs_review": any(q.needs_review for q in questions),
            "manual": True,
            "notes": notes,
        }
    )


def _override(grade: ManualGrade, auto_score: float | None, changed: bool) -> Override:
    return Override(
        points=grade.points,
        comment=grade.comment,
        by=grade.by,
        auto_score=auto_score,
        previous_auto_score=grade.auto_score,
        answer_changed=changed,
    )


def _number(value: float) -> str:
    text = f"{round(value, 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in {"", "-0"} else text
