"""Orchestration: rubric + submissions → Report. No printing, no exiting."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path

from grader.loading import DEFAULT_MAX_BYTES, SubmissionBatch, load_submission, open_batch
from grader.matching import AnswerMatch, RubricMatcher, align_answers
from grader.models import Report, Rubric, RubricRef, ScoringPolicy, Submission, SubmissionResult
from grader.scoring import DEFAULT_POLICY, score_question

#: Submissions graded together: large enough to share the matcher's per-call costs, small
#: enough that memory stays flat however large the class.
CHUNK = 128

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
        return self.grade_submissions([submission])[0]

    def grade_submissions(self, submissions: Sequence[Submission]) -> list[SubmissionResult]:
        """Grade several submissions, matching each question's answers together (faster for a
        class; every result is the one the submission gets alone)."""
        notes = [list(s.notes) for s in submissions]
        prepared: list[tuple[Submission, bool]] = [
            self._align(s, n) if s.error is None else (s, False)
            for s, n in zip(submissions, notes, strict=True)
        ]
        matches = self._match_many([s for s, _ in prepared], notes)
        return [
            self._result(submission, aligned, note, match)
            for (submission, aligned), note, match in zip(prepared, notes, matches, strict=True)
        ]

    def _result(
        self,
        submission: Submission,
        aligned: bool,
        notes: list[str],
        matches: dict[str, AnswerMatch | None],
    ) -> SubmissionResult:
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
        notes = [] if notes is None else notes
        submission, _ = self._align(submission, notes)
        return self._match_many([submission], [notes])[0]

    def _match_many(
        self, submissions: Sequence[Submission], notes: Sequence[list[str]]
    ) -> list[dict[str, AnswerMatch | None]]:
        """Per submission, the matcher's view of each answer; errors and blanks get None."""
        matches: list[dict[str, AnswerMatch | None]] = [
            dict.fromkeys((q.id for q in self.rubric.questions), None) for _ in submissions
        ]
        for question in self.rubric.questions:
            owners: list[int] = []
            texts: list[str] = []
            for position, submission in enumerate(submissions):
                answer = submission.answers.get(question.id, "").strip()
                if submission.error is not None or not answer:
                    continue
                if len(answer) > MAX_ANSWER_CHARS:
                    notes[position].append(
                        f"answer to {question.id} cut to its first {MAX_ANSWER_CHARS:,} characters"
                    )
                    answer = answer[:MAX_ANSWER_CHARS]
                owners.append(position)
                texts.append(answer)
            for position, match in zip(
                owners, self.matcher.match_answers(question.id, texts), strict=True
            ):
                matches[position][question.id] = match
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
    pending = list(paths)
    return _grade_in_chunks(
        rubric,
        grader or Grader(rubric),
        [partial(load_submission, path, rubric, max_bytes=max_bytes) for path in pending],
        on_progress,
    )


def grade_batch(
    rubric: Rubric,
    batch: SubmissionBatch,
    *,
    grader: Grader | None = None,
    on_progress: Callable[[SubmissionResult], None] | None = None,
) -> Report:
    """Grade every submission of a batch (see `open_batch`), a chunk of students at a time so
    that each question's answers are matched together."""
    return _grade_in_chunks(
        rubric,
        grader or Grader(rubric),
        [partial(batch.load, student, rubric) for student in batch.students],
        on_progress,
    )


def _grade_in_chunks(
    rubric: Rubric,
    grader: Grader,
    loaders: Sequence[Callable[[], Submission]],
    on_progress: Callable[[SubmissionResult], None] | None,
) -> Report:
    """Load and grade CHUNK submissions at a time; the report is sorted by submission id so
    that input order changes nothing."""
    results = []
    for start in range(0, len(loaders), CHUNK):
        chunk = [load() for load in loaders[start : start + CHUNK]]
        for result in grader.grade_submissions(chunk):
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
