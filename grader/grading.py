"""Orchestration: rubric + submissions → Report. No printing, no exiting."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from grader.loading import DEFAULT_MAX_BYTES, iter_submission_files, load_submission
from grader.matching import RubricMatcher
from grader.models import Report, Rubric, RubricRef, Submission, SubmissionResult
from grader.scoring import DEFAULT_POLICY, ScoringPolicy, score_question

#: Answers longer than this are cut before matching, so one pasted book cannot stall a batch.
MAX_ANSWER_CHARS = 20_000
#: Batches smaller than this are graded in this process: starting workers costs about 1.5 s
#: (the forkserver imports scikit-learn once), which 2 workers win back only after ~100 files at
#: ~26 ms each (docs/performance.md).
MIN_FILES_FOR_WORKERS = 100
#: Files sent to a worker at a time: large enough to amortise the messages, small enough to keep
#: both cores busy to the end and the progress bar moving.
WORKER_CHUNK = 8


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
        if submission.error is not None:
            return SubmissionResult(
                id=submission.id,
                source=submission.source,
                status="error",
                error=submission.error,
                max_score=max_score,
                notes=submission.notes,
            )
        notes = list(submission.notes)
        results = []
        for question in self.rubric.questions:
            answer = submission.answers.get(question.id, "").strip()
            if len(answer) > MAX_ANSWER_CHARS:
                notes.append(
                    f"answer to {question.id} cut to its first {MAX_ANSWER_CHARS:,} characters"
                )
                answer = answer[:MAX_ANSWER_CHARS]
            match = self.matcher.match_answer(question.id, answer) if answer else None
            results.append(score_question(question, match, self.policy))
        return SubmissionResult(
            id=submission.id,
            source=submission.source,
            status="graded",
            score=round(sum(r.score for r in results), 6),
            max_score=max_score,
            needs_review=submission.needs_review or any(r.needs_review for r in results),
            notes=notes,
            questions=results,
        )

    def grade_file(self, path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> SubmissionResult:
        return self.grade_submission(load_submission(path, self.rubric, max_bytes=max_bytes))


def default_jobs() -> int:
    """The cores this process may run on (its CPU affinity where the OS tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def iter_results(
    rubric: Rubric,
    paths: Iterable[Path],
    *,
    grader: Grader | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    jobs: int = 1,
) -> Iterator[SubmissionResult]:
    """Grade files one at a time, in the report's order (by submission id, then path), with up
    to `jobs` worker processes. Results are the same for any `jobs`; only one file's text is
    held at a time, so a caller that writes each result as it comes keeps memory flat."""
    ordered = sorted(paths, key=lambda p: (p.stem, str(p)))
    grader = grader or Grader(rubric)
    if jobs <= 1 or len(ordered) < MIN_FILES_FOR_WORKERS:
        for path in ordered:
            yield grader.grade_file(path, max_bytes=max_bytes)
        return
    yield from _grade_in_workers(grader, ordered, max_bytes=max_bytes, jobs=jobs)


def _grade_in_workers(
    grader: Grader, paths: Sequence[Path], *, max_bytes: int, jobs: int
) -> Iterator[SubmissionResult]:
    # forkserver, not fork: the parent may run threads (a progress bar) and a forked child could
    # inherit a lock one of them holds. The server imports grader once; each worker then gets
    # the parent's fitted grader, so every process grades with the very same state.
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(["grader.grading"])
    workers = min(jobs, -(-len(paths) // WORKER_CHUNK))
    with context.Pool(workers, initializer=_start_worker, initargs=(grader, max_bytes)) as pool:
        yield from pool.imap(_grade_in_worker, paths, chunksize=WORKER_CHUNK)


_worker_state: tuple[Grader, int] | None = None


def _start_worker(grader: Grader, max_bytes: int) -> None:
    global _worker_state
    _worker_state = (grader, max_bytes)


def _grade_in_worker(path: Path) -> SubmissionResult:
    assert _worker_state is not None, "worker used before _start_worker"
    grader, max_bytes = _worker_state
    return grader.grade_file(path, max_bytes=max_bytes)


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
    results = []
    for result in iter_results(rubric, paths, grader=grader, max_bytes=max_bytes, jobs=jobs):
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
    """Grade every file below `folder`."""
    return grade_paths(
        rubric,
        list(iter_submission_files(folder)),
        grader=grader,
        max_bytes=max_bytes,
        on_progress=on_progress,
        jobs=jobs,
    )
