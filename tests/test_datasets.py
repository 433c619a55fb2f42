from __future__ import annotations

import pytest

from grader.datasets import load_dataset, load_questions
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


DATASETS = DATA / "datasets"


def test_dataset_rows_with_folds_and_protocol_columns() -> None:
    dataset = load_dataset(DATASETS / "folds.csv")
    assert len(dataset.rows) == 24 and dataset.skipped == []
    assert dataset.has_folds
    first = dataset.rows[0]
    assert (first.question_id, first.fold, first.score, first.line) == ("1.1", "1", 5.0, 2)
    # Mohler's alignment-annotated answers train but are not scored.
    assert [r.line for r in dataset.rows if not r.evaluated] == [5]
    # An empty answer is still an answer (worth 0), not a lost row.
    assert dataset.rows[7].answer == "" and dataset.rows[7].score == 0


def test_labels_are_read_lower_case_and_scores_can_stand_in(tmp_path) -> None:
    dataset = load_dataset(DATASETS / "train.csv", target="label")
    assert {r.label for r in dataset.rows} == {"correct", "incorrect"}
    assert not dataset.has_folds
    scores_only = load_dataset(DATASETS / "folds.csv", target="label")
    assert scores_only.rows[0].label == "5" and scores_only.rows[1].label == "4.5"


def test_rows_without_a_usable_grade_are_skipped_and_listed(tmp_path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(
        "question_id,question,reference_answer,student_answer,score\n"
        "q1,What?,A thing.,A thing.,5\n"
        "q1,What?,A thing.,Other.,n/a\n"
        "q1,What?,A thing.,Other.,\n"
        ",What?,A thing.,Other.,3\n",
        encoding="utf-8",
    )
    dataset = load_dataset(path)
    assert len(dataset.rows) == 1
    assert dataset.skipped == [
        f"{path}:3: score 'n/a' is not a number",
        f"{path}:4: no score",
        f"{path}:5: empty question_id",
    ]


def test_a_dataset_without_its_gold_column_names_it() -> None:
    with pytest.raises(DataFileError, match=r"missing column\(s\) student_answer, label"):
        load_dataset(QUESTIONS / "quiz.csv", target="label")
