"""Orchestration: rubric + submissions → Report. No printing, no exiting."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from grader.loading import DEFAULT_MAX_BYTES, SubmissionBatch, load_submission, open_batch
from grader.matching import AnswerMatch, RubricMatcher, align_answers
from grader.models import Report, Rubric, RubricRef, ScoringPolicy, Submission, SubmissionResult
from grader.scoring import DEFAULT_POLICY, score_question

#: Answers longer than this are cut before matching, so one pasted book cannot stall a batch.
MAX_ANSWER_CHARS = 20_000


class Grader:
    """A rubric with its fitted matcher and scoring policy: grade one submission at a time."""

    def __init__(
        self,
        rubric: Rubric,
        *,
        matcher: RubricMatcher | None = None,
        policy: ScoringPolicy = DEFAULT_POLICY,
    ) -> None:
        self.rubric = rubric
        self.matcher = (matcher or RubricMatcher()).fit(rubric)
        self.policy = policy

    def grade_submission(self, submission: Submission) -> SubmissionResult:
        """Score every question of one submission; errors become an error row, not an exception."""
        max_score = self.rubric.max_score
        origin = {
            "name": submission.name,
            "late": submission.late,
            "files": submission.files,
            "duplicates": submission.duplicates,
        }
        if submission.error is not None:
            return SubmissionResult(
                id=submission.id,
                source=submission.source,
                status="error",
                error=submission.error,
                max_score=max_score,
                notes=submission.notes,
                superseded_by=submission.superseded_by,
                **origin,
            )
        notes = list(submission.notes)
        submission, aligned = self._align(submission, notes)
        matches = self.match_submission(submission, notes=notes)
        answers = {
            q.id: submission.answers.get(q.id, "").strip()[:MAX_ANSWER_CHARS]
            for q in self.rubric.questions
        }
        results = []
        for question in self.rubric.questions:
            result = score_question(question, matches[question.id], self.policy)
            if aligned and result.answered:
                result = result.model_copy(
                    update={
                        "needs_review": True,
                        "review_reasons": [
                            *result.review_reasons,
                            "answer found by matching paragraphs to questions, not by a heading",
                        ],
                    }
                )
            results.append(result)
        return SubmissionResult(
            id=submission.id,
            source=submission.source,
            status="graded",
            score=round(sum(r.score for r in results), 6),
            max_score=max_score,
            needs_review=submission.needs_review or any(r.needs_review for r in results),
            notes=notes,
            questions=results,
            answers=answers,
            **origin,
        )

    def _align(self, submission: Submission, notes: list[str]) -> tuple[Submission, bool]:
        """A text with no question headings is split by matching its paragraphs to the
        questions; the caller marks the result for review."""
        if submission.unsplit_text is None or submission.answers:
            return submission, False
        text = submission.unsplit_text
        limit = MAX_ANSWER_CHARS * len(self.rubric.questions)
        if len(text) > limit:
            notes.append(f"text cut to its first {limit:,} characters before alignment")
            text = text[:limit]
        alignment = align_answers(self.matcher, self.rubric, text)
        notes.append(
            "no question headings: paragraphs were matched to questions by their wording "
            f"(confidence {alignment.confidence:.2f}); check the split"
        )
        return submission.model_copy(update={"answers": alignment.answers}), True

    def match_submission(
        self, submission: Submission, *, notes: list[str] | None = None
    ) -> dict[str, AnswerMatch | None]:
        """The matcher's view of each answer (None where the question was not answered)."""
        submission, _ = self._align(submission, [] if notes is None else notes)
        matches: dict[str, AnswerMatch | None] = {}
        for question in self.rubric.questions:
            answer = submission.answers.get(question.id, "").strip()
            if len(answer) > MAX_ANSWER_CHARS:
                if notes is not None:
                    notes.append(
                        f"answer to {question.id} cut to its first {MAX_ANSWER_CHARS:,} characters"
                    )
                answer = answer[:MAX_ANSWER_CHARS]
            matches[question.id] = (
                self.matcher.match_answer(question.id, answer) if answer else None
            )
        return matches

    def grade_file(self, path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> SubmissionResult:
        return self.grade_submission(load_submission(path, self.rubric, max_bytes=max_bytes))


def grade_paths(
    rubric: Rubric,
    paths: Iterable[Path],
    *,
    grader: Grader | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    on_progress: Callable[[SubmissionResult], None] | None = None,
) -> Report:
    """Grade files into a report, sorted by submission id so that input order changes nothing."""
    grader = grader or Grader(rubric)
    results = []
    for path in paths:
        result = grader.grade_file(path, max_bytes=max_bytes)
        results.append(result)
        if on_progress is not None:
            on_progress(result)
    results.sort(key=lambda r: (r.id, r.source))
    return Report(
        rubric=RubricRef(id=rubric.id, title=rubric.title),
        max_score=rubric.max_score,
        submissions=results,
    )


def grade_batch(
    rubric: Rubric,
    batch: SubmissionBatch,
    *,
    grader: Grader | None = None,
    on_progress: Callable[[SubmissionResult], None] | None = None,
) -> Report:
    """Grade every submission of a batch (see `open_batch`), one student at a time."""
    grader = grader or Grader(rubric)
    results = []
    for student in batch.students:
        result = grader.grade_submission(batch.load(student, rubric))
        results.append(result)
        if on_progress is not None:
            on_progress(result)
    results.sort(key=lambda r: (r.id, r.source))
    return Report(
        rubric=RubricRef(id=rubric.id, title=rubric.title),
        max_score=rubric.max_score,
        submissions=results,
    )


def grade_folder(
    rubric: Rubric,
    folder: Path,
    *,
    grader: Grader | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    on_progress: Callable[[SubmissionResult], None] | None = None,
) -> Report:
    """Grade every submission in a folder or a zip (an LMS download)."""
    with open_batch(folder, max_bytes=max_bytes) as batch:
        return grade_batch(rubric, batch, grader=grader, on_progress=on_progress)
