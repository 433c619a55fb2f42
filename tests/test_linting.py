from __future__ import annotations

from grader import load_rubric
from grader.linting import lint_rubric

from .conftest import DATA


def test_reference_only_questions_are_pointed_at_rubric_init() -> None:
    raw = load_rubric(DATA / "rubrics" / "valid" / "reference-only.yaml", derive_key_points=False)
    messages = [str(w) for w in lint_rubric(raw)]
    assert messages[0].startswith(
        "questions[0]: question 'q1' has no key points: grading derives them from its reference_answer"
    )
    assert "grader rubric init" in messages[0]


def test_a_complete_rubric_has_no_warning_about_key_points(mini) -> None:
    assert not any("no key points" in str(w) for w in lint_rubric(mini))
