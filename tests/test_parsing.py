from __future__ import annotations

import pytest

from grader.parsing import split_answers


@pytest.mark.parametrize(
    "template",
    [
        pytest.param("### Ans {n}\n{body}\n", id="hash-ans"),
        pytest.param("## Answer {n}\n\n{body}\n", id="hash-answer"),
        pytest.param("Answer {n}: {body}\n", id="answer-colon"),
        pytest.param("Ans-{n}\n{body}\n", id="ans-dash"),
        pytest.param("Q{n}. {body}\n", id="q-dot"),
        pytest.param("Q{n}) {body}\n", id="q-paren"),
        pytest.param("Question {n}\n{body}\n", id="question"),
        pytest.param("**Ans {n}**\n{body}\n", id="bold-ans"),
        pytest.param("{n}. {body}\n\n", id="bare-dot"),
        pytest.param("{n}) {body}\n\n", id="bare-paren"),
        pytest.param("{n}.Ans-- {body}\n", id="n-ans"),
    ],
)
def test_heading_variants(template: str, dl14) -> None:
    text = "".join(template.format(n=n, body=f"body of answer {n}.") for n in range(1, 8))
    parsed = split_answers(text, dl14)
    assert parsed.answers == {f"q{n}": f"body of answer {n}." for n in range(1, 8)}


def test_out_of_order_and_missing_answers(dl14) -> None:
    parsed = split_answers("## Answer 3\nthird\n\n## Answer 1\nfirst\n", dl14)
    assert parsed.answers == {"q3": "third", "q1": "first"}


def test_numbered_lists_inside_answers_are_not_headings(dl14) -> None:
    text = "### Ans 1\nNo.\n1. first reason\n2. second reason\n\n### Ans 2\nYes.\n"
    parsed = split_answers(text, dl14)
    assert parsed.answers["q1"] == "No.\n1. first reason\n2. second reason"
    assert parsed.answers["q2"] == "Yes."


def test_bare_numbers_only_count_up(dl14) -> None:
    text = "1. No, weights differ.\n\n2. Yes, zero is fine:\n\n1. reason one\n\n3. ELU is smooth.\n"
    parsed = split_answers(text, dl14)
    assert set(parsed.answers) == {"q1", "q2", "q3"}
    assert "reason one" in parsed.answers["q2"]


def test_answer_label_after_question_is_dropped(dl14) -> None:
    parsed = split_answers("Q1. Is it okay?\nAns: No, never.\n", dl14)
    assert parsed.answers["q1"] == "Is it okay?\nNo, never."


def test_unknown_and_repeated_numbers_are_noted(dl14) -> None:
    parsed = split_answers("### Ans 9\nx\n### Ans 1\na\n### Ans 1\nb\n", dl14)
    assert parsed.answers == {"q1": "a\n\nb"}
    assert any("question 9" in n for n in parsed.notes)
    assert any("answered twice" in n for n in parsed.notes)


def test_no_headings_is_flagged(dl14) -> None:
    parsed = split_answers("Just some prose without any structure.", dl14)
    assert parsed.answers == {} and parsed.needs_review


def test_single_question_rubric_takes_the_whole_file(mini) -> None:
    parsed = split_answers("Dropout is off at test time.", mini)
    assert parsed.answers == {"q1": "Dropout is off at test time."}
