from __future__ import annotations

from grader import load_rubric
from grader.linting import lint_rubric

from .conftest import DATA, DL14_RUBRIC


def test_same_words_in_two_items_are_flagged() -> None:
    warnings = [
        str(w)
        for w in lint_rubric(load_rubric(DATA / "rubrics" / "valid" / "lint-same-words.yaml"))
    ]
    assert any(
        "'dropout slows training'" in w and "'training slows dropout'" in w for w in warnings
    )
    # opposite polarity is what the matcher separates: no warning for the negated phrasing
    assert not any("does not slow training" in w and "same words" in w for w in warnings)


def test_single_phrasing_and_copied_hint_are_flagged(mini) -> None:
    rubric = mini.model_copy(deep=True)
    question = rubric.questions[0]
    kp = question.key_points[0].model_copy(
        update={"phrasings": [question.key_points[0].description]}
    )
    question = question.model_copy(update={"key_points": [kp, *question.key_points[1:]]})
    warnings = [str(w) for w in lint_rubric(rubric.model_copy(update={"questions": [question]}))]
    assert any("single phrasing" in w for w in warnings)
    assert any("repeats the description" in w for w in warnings)


def test_bundled_rubric_is_clean() -> None:
    assert lint_rubric(load_rubric(DL14_RUBRIC)) == []


def test_reference_only_questions_are_pointed_at_rubric_init() -> None:
    raw = load_rubric(DATA / "rubrics" / "valid" / "reference-only.yaml", derive_key_points=False)
    messages = [str(w) for w in lint_rubric(raw)]
    assert messages[0].startswith(
        "questions[0]: question 'q1' has no key points: grading derives them from its reference_answer"
    )
    assert "grader rubric init" in messages[0]


def test_a_complete_rubric_has_no_warning_about_key_points(mini) -> None:
    assert not any("no key points" in str(w) for w in lint_rubric(mini))
