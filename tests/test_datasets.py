from __future__ import annotations

import pytest

from grader.datasets import load_questions
from grader.errors import DataFileError

from .conftest import DATA

QUESTIONS = DATA / "questions"


def test_markdown_questions_with_reference_blocks() -> None:
    parsed = load_questions(QUESTIONS / "quiz.md")
    assert parsed.title == "Data structures quiz"
    assert [q.id for q in parsed.questions] == ["q1", "q2", "q3"]
    first, second, _ = parsed.questions
    assert first.text == "What is a stack, and how does it differ from a queue?"
    assert first.reference_answer.startswith("A stack is a last-in first-out structure;")
    # The question may sit on the heading line; the reference may follow a bold label.
    assert second.text == "Why does dropout not slow down inference?"
    assert second.reference_answer.startswith("Dropout is only active during training.")
    assert second.line == 8


def test_csv_questions_ignore_extra_columns_and_identical_repeats() -> None:
    parsed = load_questions(QUESTIONS / "quiz.csv")
    assert parsed.title is None
    assert [q.id for q in parsed.questions] == ["q1", "q2"]
    assert parsed.questions[1].text == "Why does dropout not slow down inference?"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param(
            "missing-reference.md",
            r"missing-reference\.md:6: question 'Q2' has no reference answer; add a line 'Reference: ...'",
            id="missing-reference",
        ),
        pytest.param(
            "conflicting-ids.csv",
            r"conflicting-ids\.csv:3: question id 'q1' appears with different text on lines 2 and 3",
            id="conflicting-ids",
        ),
        pytest.param(
            "missing-column.csv",
            r"missing-column\.csv:1: missing column\(s\) reference_answer",
            id="missing-column",
        ),
        pytest.param("no-questions.md", r"no questions found: write each as a heading", id="none"),
        pytest.param("absent.md", r"absent\.md: file not found", id="absent"),
    ],
)
def test_bad_questions_files_name_file_line_and_fix(name: str, message: str) -> None:
    with pytest.raises(DataFileError, match=message):
        load_questions(QUESTIONS / name)


def test_binary_questions_file_is_refused(tmp_path) -> None:
    path = tmp_path / "q.md"
    path.write_bytes(b"\x00\x01\x02")
    with pytest.raises(DataFileError, match="binary"):
        load_questions(path)
