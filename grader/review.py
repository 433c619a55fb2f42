"""Review by groups: read one answer per group of similar answers, decide once for the group."""

from __future__ import annotations

from dataclasses import dataclass

from grader.errors import GradebookError
from grader.gradebook import Gradebook, RunInfo, make_override
from grader.models import QuestionResult
from grader.overrides import ManualGrade
from grader.similarity import BLANK_LABEL, GROUP_THRESHOLD, group_answers, item_features


@dataclass(frozen=True)
class GroupMember:
    submission: str
    score: float | None
    needs_review: bool
    manual: bool
    answer: str


@dataclass(frozen=True)
class ReviewGroup:
    """A group as `grader review` shows it: flagged groups first."""

    label: str
    members: tuple[GroupMember, ...]  # representative first
    cohesion: float

    @property
    def representative(self) -> GroupMember:
        return self.members[0]

    @property
    def flagged(self) -> int:
        return sum(m.needs_review for m in self.members)


def review_question(
    book: Gradebook, run: RunInfo, question: str, *, threshold: float = GROUP_THRESHOLD
) -> list[ReviewGroup]:
    """Group the answers to `question` in `run` and remember the groups for `override --group`.

    Groups with answers that need review come first (most flagged first), then the biggest;
    they are labelled G1, G2, ... in that order; blank answers are G0, last.
    """
    rubric = book.run_rubric(run)
    if question not in {q.id for q in rubric.questions}:
        known = ", ".join(q.id for q in rubric.questions)
        raise GradebookError(
            f"no question {question!r} in rubric {rubric.id!r}; use one of: {known}"
        )
    answers = book.run_answers(run, question)
    results: dict[str, QuestionResult] = {}
    for s in book.current_report(run).submissions:
        for q in s.questions:
            if q.id == question:
                results[s.id] = q
    written = {sid: text for sid, text in answers.items() if text.strip()}
    groups = group_answers(
        answers, features=item_features(rubric, question, written), threshold=threshold
    )

    def member(sid: str) -> GroupMember:
        result = results.get(sid)
        return GroupMember(
            submission=sid,
            score=result.score if result else None,
            needs_review=bool(result and result.needs_review),
            manual=bool(result and result.manual),
            answer=answers.get(sid, ""),
        )

    built = [
        ReviewGroup(g.label, tuple(member(sid) for sid in g.members), g.cohesion) for g in groups
    ]
    blank = [g for g in built if g.label == BLANK_LABEL]
    written_groups = [g for g in built if g.label != BLANK_LABEL]
    written_groups.sort(key=lambda g: (-g.flagged, -len(g.members), g.representative.submission))
    ordered = [
        ReviewGroup(f"G{i}", g.members, g.cohesion) for i, g in enumerate(written_groups, start=1)
    ] + blank
    book.save_review_groups(
        run.rubric_id,
        question,
        run.id,
        [(g.label, [m.submission for m in g.members]) for g in ordered],
    )
    return ordered


def override_group(
    book: Gradebook,
    run: RunInfo,
    question: str,
    label: str,
    points: float,
    *,
    comment: str,
    by: str | None,
) -> list[ManualGrade]:
    """Give every answer of a review group the same grade."""
    group_run, members = book.review_group(run.rubric_id, question, label)
    if group_run != run.id:
        raise GradebookError(
            f"the answers were graded again (run {run.id}) since the groups were made "
            f"(run {group_run}); run `grader review {question}` again and check the groups"
        )
    return [
        make_override(book, run, sid, question, points, comment=comment, by=by) for sid in members
    ]


def clear_group(
    book: Gradebook, run: RunInfo, question: str, label: str, *, by: str | None
) -> list[str]:
    """Remove the overrides of every answer of a review group; returns whose were removed."""
    _, members = book.review_group(run.rubric_id, question, label)
    return [sid for sid in members if book.clear_override(run.rubric_id, sid, question, by=by)]
