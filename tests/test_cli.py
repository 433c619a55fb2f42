from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.cli import app

from .conftest import DATA, DL14_RUBRIC, ROOT

runner = CliRunner()
COMMANDS = [
    ["grade"],
    ["check"],
    ["eval"],
    ["rubric", "lint"],
    ["rubric", "schema"],
    ["rubric", "init"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(command) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example: grader" in result.output


def test_grade_writes_reports_and_summary(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["grade", str(ROOT / "submissions"), "-r", str(DL14_RUBRIC), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert (out / "report.json").is_file() and (out / "grades.csv").is_file()
    assert "5 graded, 0 error(s)" in result.output
    assert "q7" in result.output


def test_grade_defaults_to_the_bundled_example(tmp_path: Path, monkeypatch) -> None:
    shutil.copytree(ROOT / "submissions", tmp_path / "submissions")
    shutil.copytree(ROOT / "rubrics", tmp_path / "rubrics")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["grade", "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.output == ""
    assert (tmp_path / "reports" / "grades.csv").is_file()


def test_grade_exits_3_when_some_submissions_fail(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(ROOT / "submissions" / "ben_good.txt", subs)
    (subs / "broken.md").write_bytes(b"\x00\x00binary")
    result = runner.invoke(
        app, ["grade", str(subs), "-r", str(DL14_RUBRIC), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 3
    assert "broken" in result.output and "not a text file" in result.output
    grades = (tmp_path / "o" / "grades.csv").read_text()
    assert "broken," in grades and "ben_good," in grades


def test_bad_rubric_exits_2_without_traceback(tmp_path: Path) -> None:
    bad = DATA / "rubrics" / "invalid" / "misspelt-key.yaml"
    result = runner.invoke(
        app, ["grade", str(ROOT / "submissions"), "-r", str(bad), "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "did you mean 'weight'?" in result.output
    assert "Traceback" not in result.output


def test_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["grade", str(tmp_path / "nope"), "-r", str(DL14_RUBRIC)])
    assert result.exit_code == 2
    assert "no such folder" in result.output


def test_check_shows_found_missing_and_misconceptions() -> None:
    result = runner.invoke(
        app, ["check", str(ROOT / "submissions" / "dev_weak.md"), "-r", str(DL14_RUBRIC)]
    )
    assert result.exit_code == 0, result.output
    assert "misconception: q7.m.slows_inference" in result.output
    assert "Standard dropout is switched off at inference" in result.output
    assert "missing: q7.inference" in result.output
    assert 'found: q7.training - "Dropout slows down training' in result.output


def test_check_json_is_one_submission() -> None:
    result = runner.invoke(
        app,
        [
            "check",
            str(ROOT / "submissions" / "alice_excellent.md"),
            "-r",
            str(DL14_RUBRIC),
            "--json",
        ],
    )
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["id"] == "alice_excellent" and data["status"] == "graded"
    assert [q["id"] for q in data["questions"]] == [f"q{n}" for n in range(1, 8)]


def test_rubric_lint_reports_validity_and_warnings() -> None:
    result = runner.invoke(
        app, ["rubric", "lint", str(DATA / "rubrics" / "valid" / "minimal.yaml")]
    )
    assert result.exit_code == 0
    assert "valid: 1 questions, 4 items, max score 3" in result.output


def test_rubric_lint_flags_single_phrasing(tmp_path: Path) -> None:
    rubric = tmp_path / "r.yaml"
    rubric.write_text(
        "id: r\ntitle: R\nquestions:\n  - id: q1\n    text: Why?\n    key_points:\n"
        "      - id: q1.a\n        description: A.\n        weight: 1\n        phrasings: [because of gravity]\n"
    )
    result = runner.invoke(app, ["rubric", "lint", "--strict", str(rubric)])
    assert result.exit_code == 1
    assert "has a single phrasing" in result.output


def test_rubric_schema_is_json() -> None:
    result = runner.invoke(app, ["rubric", "schema"])
    assert result.exit_code == 0
    assert json.loads(result.output)["title"] == "grader rubric"


def test_python_dash_m_works() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "grader", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.startswith("grader ")


def test_rubric_init_writes_a_rubric_that_lints_and_grades(tmp_path: Path) -> None:
    target = tmp_path / "quiz.yaml"
    result = runner.invoke(
        app, ["rubric", "init", str(DATA / "questions" / "quiz.md"), "-o", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert f"wrote {target}: 3 questions" in result.output
    assert "# TODO" in target.read_text()
    lint = runner.invoke(app, ["rubric", "lint", str(target), "--strict"])
    assert lint.exit_code == 0, lint.output
    assert "valid: 3 questions" in lint.output and "0 warning(s)" in lint.output
    again = runner.invoke(
        app, ["rubric", "init", str(DATA / "questions" / "quiz.csv"), "-o", str(target)]
    )
    assert again.exit_code == 2 and "already exists; pass --force" in again.output
    forced = runner.invoke(
        app, ["rubric", "init", str(DATA / "questions" / "quiz.csv"), "-o", str(target), "--force"]
    )
    assert forced.exit_code == 0 and "2 questions" in forced.output


def test_rubric_init_prints_to_stdout_without_output() -> None:
    result = runner.invoke(app, ["rubric", "init", str(DATA / "questions" / "quiz.csv")])
    assert result.exit_code == 0
    assert result.output.startswith(
        "# Starter rubric drafted by `grader rubric init` from quiz.csv"
    )
    assert "id: quiz\n" in result.output


def test_rubric_init_reports_a_bad_questions_file_without_traceback() -> None:
    result = runner.invoke(
        app, ["rubric", "init", str(DATA / "questions" / "missing-reference.md")]
    )
    assert result.exit_code == 2
    assert "missing-reference.md:6: question 'Q2' has no reference answer" in result.output
    assert "Traceback" not in result.output


def test_lint_explains_reference_only_questions() -> None:
    path = DATA / "rubrics" / "valid" / "reference-only.yaml"
    result = runner.invoke(app, ["rubric", "lint", str(path)])
    assert result.exit_code == 0
    assert "has no key points: grading derives them" in result.output
    assert "valid: 2 questions, 4 items, max score 3" in result.output


def test_eval_dataset_mode_prints_mohler_figures_as_json() -> None:
    result = runner.invoke(
        app,
        [
            "eval",
            "--dataset",
            str(DATA / "datasets" / "folds.csv"),
            "--protocol",
            "mohler",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert {"pearson", "rmse", "median_question_rmse"} <= set(figures)
    assert figures["answers"] == 23 and figures["folds"] == 3


def test_eval_train_test_mode_prints_semeval_figures(tmp_path: Path) -> None:
    args = ["eval", "--train", str(DATA / "datasets" / "train.csv")]
    args += ["--test", str(DATA / "datasets" / "test.csv")]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert {"accuracy", "macro_f1", "weighted_f1"} <= set(json.loads(result.output))
    text = runner.invoke(app, args)
    assert text.exit_code == 0
    assert "weighted-F1" in text.output and "50% to questions seen in training" in text.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param([], "pass --dataset DATA.csv, or both --train", id="nothing"),
        pytest.param(
            ["--train", "a.csv"], "pass --dataset DATA.csv, or both --train", id="no-test"
        ),
        pytest.param(
            ["--dataset", "a.csv", "--train", "b.csv"], "either --dataset or --train", id="both"
        ),
        pytest.param(["--dataset", "absent.csv"], "absent.csv: file not found", id="absent"),
        pytest.param(
            ["--dataset", str(DATA / "datasets" / "folds.csv"), "--protocol", "x"],
            "unknown protocol 'x'",
            id="protocol",
        ),
    ],
)
def test_eval_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["eval", *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
