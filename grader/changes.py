"""What changed between two grading runs, and why: pure comparison of two reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from grader.models import QuestionResult, Report, SubmissionResult
from grader.overrides import AnswerKey

#: Scores are compared at the precision the reports show (2 decimals).
SCORE_DECIMALS = 2

ChangeKind = Literal["moved", "new", "gone", "now unreadable", "now readable"]


@dataclass(frozen=True)
class QuestionChange:
    """One question whose score moved, with the reasons in rubric terms."""

    question: str
    before: float | None
    after: float | None
    reasons: tuple[str, ...]

    @property
    def delta(self) -> float:
        return round((self.after or 0.0) - (self.before or 0.0), 6)


@dataclass(frozen=True)
class SubmissionChange:
    """One student whose grade moved (or who appeared, disappeared, became unreadable)."""

    submission: str
    kind: ChangeKind
    before: float | None
    after: float | None
    questions: tuple[QuestionChange, ...] = ()

    @property
    def delta(self) -> float:
        return round((self.after or 0.0) - (self.before or 0.0), 6)


@dataclass(frozen=True)
class RunDiff:
    """Every change between a previous run and this one, biggest moves first."""

    changes: list[SubmissionChange] = field(default_factory=list)
    unchanged: int = 0

    @property
    def moved(self) -> list[SubmissionChange]:
        return [c for c in self.changes if c.kind == "moved"]


def diff_reports(
    previous: Report | None,
    current: Report,
    *,
    previous_hashes: Mapping[AnswerKey, str] | None = None,
    current_hashes: Mapping[AnswerKey, str] | None = None,
) -> RunDiff:
    """Compare two runs of one rubric; with the answer fingerprints, text changes are named too."""
    diff = DiffBuilder(first_run=previous is None)
    before = {s.id: s for s in previous.submissions} if previous is not None else {}
    after = {s.id: s for s in current.submissions}
    for sid in sorted(before.keys() | after.keys()):
        old, new = before.get(sid), after.get(sid)
        if new is None:
            diff.gone(sid, old.score if old is not None else None)
        else:
            diff.compare(old, new, previous_hashes or {}, current_hashes or {})
    return diff.result()


class DiffBuilder:
    """The changes of a run, gathered student by student (`diff_reports` over two reports,
    `grader.gradebook.RunRecorder` as results are graded), in the order they are listed."""

    def __init__(self, *, first_run: bool) -> None:
        self.first_run = first_run
        self.changes: list[SubmissionChange] = []
        self.unchanged = 0

    def compare(
        self,
        old: SubmissionResult | None,
        new: SubmissionResult,
        old_hashes: Mapping[AnswerKey, str],
        new_hashes: Mapping[AnswerKey, str],
    ) -> None:
        """A student of this run, and their result in the previous one (None: new)."""
        if old is None:
            self.changes.append(SubmissionChange(new.id, "new", None, new.score))
            return
        change = _compare_submission(old, new, old_hashes, new_hashes)
        if change is None:
            self.unchanged += 1
        else:
            self.changes.append(change)

    def gone(self, submission: str, score: float | None) -> None:
        """A student of the previous run with no result in this one."""
        self.changes.append(SubmissionChange(submission, "gone", score, None))

    def result(self) -> RunDiff:
        """A first run lists its students by id; a later one, moves first (`change_order`)."""
        key = (lambda c: c.submission) if self.first_run else change_order
        return RunDiff(changes=sorted(self.changes, key=key), unchanged=self.unchanged)


_KIND_ORDER = {"moved": 0, "now unreadable": 1, "now readable": 1, "new": 2, "gone": 3}


def change_order(change: SubmissionChange) -> tuple[int, float, str]:
    """How a run's changes are listed: moves first, biggest first, then by student."""
    return (_KIND_ORDER[change.kind], -abs(change.delta), change.submission)


def _compare_submission(
    old: SubmissionResult,
    new: SubmissionResult,
    old_hashes: Mapping[AnswerKey, str],
    new_hashes: Mapping[AnswerKey, str],
) -> SubmissionChange | None:
    if old.status != new.status:
        kind: ChangeKind = "now unreadable" if new.status == "error" else "now readable"
        return SubmissionChange(new.id, kind, old.score, new.score)
    old_questions = {q.id: q for q in old.questions}
    moved = []
    for question in new.questions:
        before = old_questions.get(question.id)
        key = (new.id, question.id)
        text_changed = (
            key in old_hashes and key in new_hashes and old_hashes[key] != new_hashes[key]
        )
        change = _compare_question(before, question, text_changed)
        if change is not None:
            moved.append(change)
    for qid in sorted(old_questions.keys() - {q.id for q in new.questions}):
        moved.append(
            QuestionChange(qid, old_questions[qid].score, None, ("question removed from rubric",))
        )
    if not moved and _same(old.score, new.score):
        return None
    return SubmissionChange(new.id, "moved", old.score, new.score, tuple(moved))


def _compare_question(
    old: QuestionResult | None, new: QuestionResult, text_changed: bool
) -> QuestionChange | None:
    if old is None:
        return QuestionChange(new.id, None, new.score, ("question added to rubric",))
    newly_changed = (
        new.override is not None
        and new.override.answer_changed
        and not (old.override is not None and old.override.answer_changed)
    )
    if _same(old.score, new.score) and old.manual == new.manual and not newly_changed:
        return None
    reasons: list[str] = []
    reasons.extend(_override_reasons(old, new))
    if newly_changed and new.override is not None:
        auto = "-" if new.override.auto_score is None else _number(new.override.auto_score)
        reasons.append(
            f"answer changed since the TA override: kept {_number(new.override.points)}, "
            f"automatic now {auto}; review it"
        )
    elif text_changed:
        reasons.append("answer text changed")
    if not new.manual or not old.manual:
        reasons.extend(_rubric_reasons(old, new))
    if not reasons:
        reasons.append("scoring changed")
    return QuestionChange(new.id, old.score, new.score, tuple(reasons))


def _override_reasons(old: QuestionResult, new: QuestionResult) -> list[str]:
    if new.override is not None and old.override is None:
        comment = f": {new.override.comment}" if new.override.comment else ""
        return [f"TA override {_number(new.override.points)}{comment}"]
    if new.override is None and old.override is not None:
        return [f"TA override {_number(old.override.points)} cleared"]
    if (
        new.override is not None
        and old.override is not None
        and not _same(new.override.points, old.override.points)
    ):
        comment = f": {new.override.comment}" if new.override.comment else ""
        return [
            f"TA override {_number(old.override.points)} → {_number(new.override.points)}{comment}"
        ]
    return []


def _rubric_reasons(old: QuestionResult, new: QuestionResult) -> list[str]:
    """Key points and misconceptions whose contribution changed, in rubric order."""
    reasons: list[str] = []
    if not _same(old.max_score, new.max_score):
        reasons.append(f"max score {_number(old.max_score)} → {_number(new.max_score)}")
    old_points = {kp.id: kp for kp in old.key_points}
    for kp in new.key_points:
        previous = old_points.pop(kp.id, None)
        if previous is None:
            if kp.points > 0:
                reasons.append(f"{kp.id} added to rubric, found (+{_number(kp.points)})")
            continue
        delta = kp.points - previous.points
        if _same(kp.points, previous.points):
            continue
        was_found, is_found = previous.credit >= 0.5, kp.credit >= 0.5
        if _same(kp.credit, previous.credit) and kp.credit > 0:
            what = (
                f"weight {_number(previous.points / kp.credit)} → {_number(kp.points / kp.credit)}"
            )
        elif is_found and not was_found:
            what = "now found"
        elif was_found and not is_found:
            what = "no longer found"
        else:
            what = f"credit {_number(previous.credit)} → {_number(kp.credit)}"
        reasons.append(f"{kp.id} {what} ({_signed(delta)})")
    for kp_id, previous in old_points.items():
        if previous.points > 0:
            reasons.append(f"{kp_id} removed from rubric ({_signed(-previous.points)})")
    old_flags = {m.id: m for m in old.misconceptions}
    new_flags = {m.id: m for m in new.misconceptions}
    for mid, m in new_flags.items():
        if mid not in old_flags:
            reasons.append(f"misconception {mid} now flagged ({_signed(-m.penalty)})")
        elif not _same(m.penalty, old_flags[mid].penalty):
            reasons.append(
                f"misconception {mid} penalty {_number(old_flags[mid].penalty)} → "
                f"{_number(m.penalty)}"
            )
    for mid, m in old_flags.items():
        if mid not in new_flags:
            reasons.append(f"misconception {mid} no longer flagged ({_signed(m.penalty)})")
    old_caps = {r for r in old.review_reasons if "capped" in r}
    for reason in new.review_reasons:
        if "capped" in reason and reason not in old_caps:
            reasons.append(reason)
    return reasons


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return round(a, SCORE_DECIMALS) == round(b, SCORE_DECIMALS)


def _number(value: float) -> str:
    text = f"{round(value, SCORE_DECIMALS):.{SCORE_DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in {"", "-0"} else text


def _signed(value: float) -> str:
    text = _number(value)
    return text if text.startswith("-") or text == "0" else f"+{text}"
