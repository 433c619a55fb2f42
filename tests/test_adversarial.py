"""Gaming resistance: answers built to earn points without knowing the answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader import Submission

from .conftest import DATA

ADVERSARIAL = DATA / "adversarial"


def grade_one(grader, question_id: str, answer: str):
    submission = Submission(id="x", source="test", answers={question_id: answer})
    result = grader.grade_submission(submission)
    return next(q for q in result.questions if q.id == question_id)


def answer_in(path: Path) -> str:
    return path.read_text(encoding="utf-8").split("\n", 1)[1]


@pytest.mark.parametrize(
    ("name", "question_id"),
    [
        pytest.param("keyword-list-q1.md", "q1", id="keyword-list"),
        pytest.param("restated-question-q5.md", "q5", id="restated-question"),
        pytest.param("padding-q5.md", "q5", id="off-topic-padding"),
        pytest.param("both-claims-q7.md", "q7", id="claim-and-opposite-q7"),
        pytest.param("both-claims-q2.md", "q2", id="claim-and-opposite-q2"),
    ],
)
def test_gaming_earns_at_most_a_third(dl14_grader, name: str, question_id: str) -> None:
    result = grade_one(dl14_grader, question_id, answer_in(ADVERSARIAL / name))
    assert result.score <= result.max_score / 3 + 1e-9


def test_pasted_hints_earn_at_most_a_third(dl14, dl14_grader) -> None:
    for question in dl14.questions:
        pasted = " ".join(kp.description for kp in question.key_points)
        result = grade_one(dl14_grader, question.id, pasted)
        assert result.score <= result.max_score / 3 + 1e-9, question.id
        assert any("hints" in r for r in result.review_reasons), question.id


def test_good_sentence_inside_padding_still_earns(dl14_grader) -> None:
    result = grade_one(dl14_grader, "q5", answer_in(ADVERSARIAL / "padding-q5.md"))
    earned = {kp.id: kp for kp in result.key_points if kp.credit >= 0.5}
    assert set(earned) == {"q5.overshoot"}
    assert earned["q5.overshoot"].credit == 1.0
    assert "shooting past the minimum" in earned["q5.overshoot"].evidence.text


def test_claim_and_opposite_goes_to_review(dl14_grader) -> None:
    result = grade_one(dl14_grader, "q7", answer_in(ADVERSARIAL / "both-claims-q7.md"))
    assert {m.id for m in result.misconceptions} == {"q7.m.slows_inference", "q7.m.speeds_training"}
    assert result.needs_review
    assert any("contradicts" in r for r in result.review_reasons)


def test_keyword_list_is_flagged(dl14_grader) -> None:
    result = grade_one(dl14_grader, "q1", answer_in(ADVERSARIAL / "keyword-list-q1.md"))
    assert result.needs_review and any("keywords" in r for r in result.review_reasons)


def test_restated_question_earns_nothing(dl14_grader) -> None:
    result = grade_one(dl14_grader, "q5", answer_in(ADVERSARIAL / "restated-question-q5.md"))
    assert result.score == 0


_SUBJECTS = st.sampled_from(
    ["It", "it", "They", "Dropout", "ELU (the unit):", "\\gamma:", "$\\beta$", "\\g<0>",
     "\\1", "(a)", "1)", "No,", "Yes.", "Not", "ſ", "\u212a", "É", "😀", "# Q1", "| a | b |", ""]
)  # fmt: skip
_VERBS = st.sampled_from(["slows", "is not", "does not break", "helps", "and it", "- but", ";", ""])
_OBJECTS = st.sampled_from(
    ["inference", "symmetry", "e.g. zero biases", "the \\lambda term", "**x**", "`y`", "\u200b",
     "whereas they do", "(b) noise", "?", ""]
)  # fmt: skip
_SENTENCE = st.builds(
    lambda s, v, o, end: f"{s} {v} {o}{end}",
    _SUBJECTS,
    _VERBS,
    _OBJECTS,
    st.sampled_from([".", ". ", "?", "!", ":", "\n", "\n\n", ""]),
)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(_SENTENCE | st.text(max_size=12), min_size=1, max_size=12).map(" ".join))
def test_no_answer_text_makes_the_matcher_fail(dl14_grader, text: str) -> None:
    """Whatever a student writes (LaTeX such as "\\gamma: it ...", regex-like escapes, emoji,
    stray Markdown), every question is matched: none ends up as an internal-error row."""
    submission = Submission(id="x", source="test", answers={"q1": text, "q7": text})
    result = dl14_grader.grade_submission(submission)
    assert result.status == "graded", result.error
