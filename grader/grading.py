"""Orchestration: rubric + submissions → Report. No printing, no exiting."""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.collecting import StudentFiles, readable_anywhere
from grader.errors import internal_failure
from grader.loading import (
    DEFAULT_MAX_BYTES,
    SubmissionBatch,
    load_student,
    load_submission,
    open_batch,
)
from grader.matching import AnswerMatch, RubricMatcher, align_answers
from grader.models import Report, Rubric, RubricRef, ScoringPolicy, Submission, SubmissionResult
from grader.scoring import DEFAULT_POLICY, score_question

#: Submissions graded together: large enough to share the matcher's per-call costs, small
#: enough that memory stays flat however large the class.
CHUNK = 128

#: Answers longer than this are cut before matching, so one pasted book cannot stall a batch.
MAX_ANSWER_CHARS = 20_000
#: Batches smaller than this are graded in this process: starting workers costs about 1.5 s
#: (the forkserver imports scikit-learn once), which 2 workers win back only after ~100 files at
#: ~26 ms each (docs/performance.md).
MIN_FILES_FOR_WORKERS = 100
#: Submissions sent to a worker at a time: large enough to share the matcher's per-call costs
#: (one TF-IDF transform and one fuzzy word table per question and chunk), small enough to keep
#: both cores busy to the end and the progress bar moving.
WORKER_CHUNK = 64
#: Chunks given to each worker ahead of the one it is grading.
IN_FLIGHT_PER_WORKER = 3


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
        return [result for result, _ in self.grade_with_matches(submissions)]

    def grade_with_matches(
        self, submissions: Sequence[Submission]
    ) -> list[tuple[SubmissionResult, dict[str, AnswerMatch | None]]]:
        """`grade_submissions`, also returning the matcher's view of each answer (what `eval`
        shows for disagreements), so that nothing is matched twice. A submission that makes
        grading fail (a bug of ours) gets an error row; the others are graded as usual."""
        try:
            return self._grade_together(submissions)
        except Exception as exc:  # one student's text must not stop the batch
            if len(submissions) > 1:  # find the culprit: each result is the one it gets alone
                return [pair for s in submissions for pair in self.grade_with_matches([s])]
            failed = submissions[0].model_copy(update={"error": internal_failure("graded", exc)})
            no_matches = dict.fromkeys((q.id for q in self.rubric.questions), None)
            return [(self._result(failed, False, list(failed.notes), no_matches), no_matches)]

    def _grade_together(
        self, submissions: Sequence[Submission]
    ) -> list[tuple[SubmissionResult, dict[str, AnswerMatch | None]]]:
        notes = [list(s.notes) for s in submissions]
        prepared: list[tuple[Submission, bool]] = [
            self._align(s, n) if s.error is None else (s, False)
            for s, n in zip(submissions, notes, strict=True)
        ]
        matches = self._match_many([s for s, _ in prepared], notes)
        return [
            (self._result(submission, aligned, note, match), match)
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


@dataclass(frozen=True)
class _LoadPath:
    """Read one file into a submission (picklable: a worker can do it)."""

    path: Path
    max_bytes: int
    portable: bool = True

    def __call__(self, rubric: Rubric) -> Submission:
        return load_submission(self.path, rubric, max_bytes=self.max_bytes)


@dataclass(frozen=True)
class _LoadStudent:
    """Read one student's files into a submission; `portable` when a worker can read them."""

    student: StudentFiles
    max_bytes: int
    portable: bool

    def __call__(self, rubric: Rubric) -> Submission:
        return load_student(self.student, rubric, max_bytes=self.max_bytes)


_Load = _LoadPath | _LoadStudent


def default_jobs() -> int:
    """The cores this process may run on (its CPU affinity where the OS tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _grade_in_workers(
    grader: Grader, chunks: Sequence[Sequence[_Load]], *, jobs: int
) -> Iterator[list[SubmissionResult]]:
    """Grade chunks in worker processes, in order. Plain files are read by the workers; files
    inside a zip are read here and sent as parsed submissions, since the archive stays open in
    this process."""
    # forkserver, not fork: the parent may run threads (a progress bar) and a forked child could
    # inherit a lock one of them holds. The server imports grader once; each worker then gets
    # the parent's fitted grader, so every process grades with the very same state.
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(["grader.grading"])
    # The pool feeds tasks from a thread as fast as the generator gives them; a semaphore keeps
    # at most a few chunks per worker in flight, so files read here (zip members) and results
    # waiting to be collected never pile up in memory.
    in_flight = threading.BoundedSemaphore(IN_FLIGHT_PER_WORKER * jobs)
    stopped = threading.Event()  # the caller stopped early: let the feeding thread end

    def tasks() -> Iterator[list[_Load | Submission]]:
        for chunk in chunks:
            while not in_flight.acquire(timeout=0.1):
                if stopped.is_set():
                    return
            yield [load if load.portable else load(grader.rubric) for load in chunk]

    with context.Pool(
        min(jobs, len(chunks)), initializer=_start_worker, initargs=(grader,)
    ) as pool:
        try:
            for results in pool.imap(_grade_in_worker, tasks()):
                in_flight.release()
                yield [_from_wire(result) for result in results]
        finally:
            stopped.set()


_worker_grader: Grader | None = None


def _start_worker(grader: Grader) -> None:
    global _worker_grader
    _worker_grader = grader


def _grade_in_worker(tasks: list[_Load | Submission]) -> list[_WireResult]:
    grader = _worker_grader
    assert grader is not None, "worker used before _start_worker"
    results = grader.grade_submissions(
        [t if isinstance(t, Submission) else t(grader.rubric) for t in tasks]
    )
    return [_to_wire(result) for result in results]


#: A result on its way from a worker: its JSON and the fields JSON leaves out. Pydantic's JSON
#: is three times cheaper to make and twice cheaper to read back than a pickled model, and
#: gives back equal results (floats round-trip exactly).
_WireResult = tuple[str, dict[str, str], str | None]


def _to_wire(result: SubmissionResult) -> _WireResult:
    return result.model_dump_json(), result.answers, result.superseded_by


def _from_wire(wire: _WireResult) -> SubmissionResult:
    text, answers, superseded_by = wire
    result = SubmissionResult.model_validate_json(text)
    if answers or superseded_by is not None:
        result = result.model_copy(update={"answers": answers, "superseded_by": superseded_by})
    return result


def grade_paths(
    rubric: Rubric,
    paths: Iterable[Path],
    *,
    grader: Grader | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    on_progress: Callable[[SubmissionResult], None] | None = None,
    jobs: int = 1,
) -> Report:
    """Grade files into a report, sorted by submission id so that input order changes nothing."""
    pending = list(paths)
    return _grade_in_chunks(
        rubric,
        grader or Grader(rubric),
        [_LoadPath(path, max_bytes) for path in pending],
        on_progress,
        jobs=jobs,
    )


def grade_batch(
    rubric: Rubric,
    batch: SubmissionBatch,
    *,
    grader: Grader | None = None,
    on_progress: Callable[[SubmissionResult], None] | None = None,
    jobs: int = 1,
) -> Report:
    """Grade every submission of a batch (see `open_batch`), a chunk of students at a time so
    that each question's answers are matched together; with `jobs` > 1, in worker processes
    (the same results)."""
    return _grade_in_chunks(
        rubric,
        grader or Grader(rubric),
        [
            _LoadStudent(student, batch.max_bytes, readable_anywhere(student))
            for student in batch.students
        ],
        on_progress,
        jobs=jobs,
    )


def iter_batch(
    rubric: Rubric,
    batch: SubmissionBatch,
    *,
    grader: Grader | None = None,
    jobs: int = 1,
    key: Callable[[StudentFiles], tuple[str, str]] | None = None,
) -> Iterator[SubmissionResult]:
    """Grade every submission of a batch and yield the results one at a time, in the order of
    `key` (default: student id, then source: the report's order), so that a caller can write
    each one away and hold none (`grader grade` does)."""
    students = sorted(batch.students, key=key or (lambda s: (s.id, s.source)))
    loaders = [
        _LoadStudent(student, batch.max_bytes, readable_anywhere(student)) for student in students
    ]
    for chunk in _graded_chunks(rubric, grader or Grader(rubric), loaders, jobs=jobs):
        yield from chunk


def _graded_chunks(
    rubric: Rubric, grader: Grader, loaders: Sequence[_Load], *, jobs: int
) -> Iterator[list[SubmissionResult]]:
    """Load and grade CHUNK submissions at a time (WORKER_CHUNK per task in workers), in the
    order of `loaders`."""
    size = CHUNK if jobs <= 1 else WORKER_CHUNK
    chunks = [loaders[start : start + size] for start in range(0, len(loaders), size)]
    if jobs > 1 and len(loaders) >= MIN_FILES_FOR_WORKERS:
        yield from _grade_in_workers(grader, chunks, jobs=jobs)
    else:
        for chunk in chunks:
            yield grader.grade_submissions([load(rubric) for load in chunk])


def _grade_in_chunks(
    rubric: Rubric,
    grader: Grader,
    loaders: Sequence[_Load],
    on_progress: Callable[[SubmissionResult], None] | None,
    *,
    jobs: int = 1,
) -> Report:
    """Every result in a report sorted by submission id, so that input order changes nothing."""
    results = []
    for chunk_results in _graded_chunks(rubric, grader, loaders, jobs=jobs):
        for result in chunk_results:
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
    jobs: int = 1,
) -> Report:
    """Grade every submission in a folder or a zip (an LMS download)."""
    with open_batch(folder, max_bytes=max_bytes) as batch:
        return grade_batch(rubric, batch, grader=grader, on_progress=on_progress, jobs=jobs)
