"""Pure rules from matcher evidence to points: credit, penalties, floors, caps, review flags."""

from __future__ import annotations

from grader.matching import AnswerMatch, ItemMatch
from grader.models import (
    Evidence,
    KeyPointResult,
    MisconceptionResult,
    Question,
    QuestionResult,
    ScoringPolicy,
)

DEFAULT_POLICY = ScoringPolicy()


def credit_for(similarity: float, policy: ScoringPolicy) -> float:
    """Partial credit rises linearly from `credit_low` to `credit_high`."""
    span = max(policy.credit_high - policy.credit_low, 1e-9)
    return min(1.0, max(0.0, (similarity - policy.credit_low) / span))


def _evidence(match: ItemMatch) -> Evidence | None:
    if match.evidence is None or match.similarity <= 0:
        return None
    return Evidence(text=match.evidence, similarity=match.similarity, phrasing=match.phrasing)


def score_question(
    question: Question, match: AnswerMatch | None, policy: ScoringPolicy = DEFAULT_POLICY
) -> QuestionResult:
    """Score one answer. `match` is None when the student did not answer the question."""
    max_score = question.max_score
    if match is None:
        return QuestionResult(
            id=question.id,
            score=0.0,
            max_score=max_score,
            answered=False,
            key_points=[
                KeyPointResult(id=kp.id, credit=0.0, points=0.0, bonus=kp.bonus)
                for kp in question.key_points
            ],
            misconceptions=[],
        )
    margins: list[float] = []
    flagged: list[MisconceptionResult] = []
    for misconception in question.misconceptions:
        item = match.misconceptions[misconception.id]
        margins.append(abs(item.similarity - policy.misconception_threshold))
        if item.similarity >= policy.misconception_threshold:
            flagged.append(
                MisconceptionResult(
                    id=misconception.id,
                    penalty=misconception.penalty,
                    evidence=_evidence(item),
                    feedback=misconception.feedback,
                )
            )
    flagged_ids = {m.id for m in flagged}
    # An answer that states a key point and a misconception that contradicts it has not shown
    # which one it believes: the penalty offsets the credit, and a person should look.
    contradicted = {
        target: m.id
        for m in question.misconceptions
        if m.id in flagged_ids
        for target in m.contradicts
    }
    reasons: list[str] = []
    key_points: list[KeyPointResult] = []
    for kp in question.key_points:
        item = match.key_points[kp.id]
        credit = credit_for(item.similarity, policy)
        if credit >= 0.5 and kp.id in contradicted:
            reasons.append(f"states both {kp.id} and {contradicted[kp.id]}, which contradicts it")
        points = 0.0 if kp.bonus else kp.weight * credit
        key_points.append(
            KeyPointResult(
                id=kp.id,
                credit=round(credit, 6),
                points=round(points, 6),
                bonus=kp.bonus,
                evidence=_evidence(item) if credit > 0 else None,
            )
        )
        margins.append(abs(item.similarity - policy.credit_threshold))
    earned = sum(kp.points for kp in key_points)
    penalties = sum(m.penalty for m in flagged)
    score = min(max_score, max(0.0, earned - penalties))
    if match.keyword_list and not question.accepts_lists and earned > 0:
        score = min(score, max_score * policy.keyword_list_cap)
        reasons.append("a list of keywords, not sentences: at most a third of the points")
    if match.pasted_hints:
        reasons.append("copies the rubric's hints rather than answering")
    if match.off_topic_share >= policy.off_topic_share and match.unit_count >= 3:
        reasons.append("mostly off-topic")
    closest = min(margins, default=1.0)
    confidence = min(1.0, closest / max(policy.review_margin * 3, 1e-9))
    if closest < policy.review_margin:
        reasons.append("evidence close to a decision threshold")
    return QuestionResult(
        id=question.id,
        score=round(score, 6),
        max_score=max_score,
        answered=True,
        key_points=key_points,
        misconceptions=flagged,
        confidence=round(confidence, 6),
        needs_review=bool(reasons),
        review_reasons=reasons,
    )
