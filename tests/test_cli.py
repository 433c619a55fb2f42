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


# --- reports: feedback, overview, LMS gradebooks ------------------------------------------------

ROSTER = DATA / "rosters" / "dl14.csv"


def test_grade_writes_feedback_overview_and_an_lms_gradebook(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "grade",
            str(ROOT / "submissions"),
            "-r",
            str(DL14_RUBRIC),
            "--out",
            str(out),
            "--gradebook",
            "canvas",
            "--roster",
            str(ROSTER),
            "--assignment",
            "DL 14",
            "--assignment-id",
            "4242",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (out / "gradebook_canvas.csv").read_text().splitlines()[0].endswith(",DL 14 (4242)")
    assert (out / "overview.html").is_file() and (out / "feedback" / "ben_good.html").is_file()
    assert "5 student(s), 4 with a submission, 1 without" in result.output
    assert "no submission: Farouk, Farid" in result.output
    assert "1 submission(s) not matched to the roster" in result.output
    assert "emma_poor (" in result.output and "unmatched_submissions.csv" in result.output
    assert "feedback/ (10 files)" in result.output


def test_lms_gradebook_without_roster_exits_2_before_grading(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["grade", str(ROOT / "submissions"), "-r", str(DL14_RUBRIC), "--out", str(tmp_path / "o"),
         "--gradebook", "moodle"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--gradebook moodle needs --roster" in result.output
    assert not (tmp_path / "o").exists()


def test_roster_missing_what_the_format_needs_exits_2(tmp_path: Path) -> None:
    bad = DATA / "rosters" / "invalid" / "missing-login-id.csv"
    result = runner.invoke(
        app,
        ["grade", str(ROOT / "submissions"), "-r", str(DL14_RUBRIC), "--out", str(tmp_path),
         "--gradebook", "blackboard", "--roster", str(bad)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert f"{bad}:3: --gradebook blackboard needs login_id" in result.output
    assert "Traceback" not in result.output


def test_reveal_puts_reference_answers_in_feedback(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(ROOT / "submissions" / "dev_weak.md", subs)
    for flag, expected in (([], False), (["--reveal"], True)):
        out = tmp_path / f"out{len(flag)}"
        result = runner.invoke(
            app, ["grade", str(subs), "-r", str(DL14_RUBRIC), "--out", str(out), "-q", *flag]
        )
        assert result.exit_code == 0 and result.output == ""
        page = (out / "feedback" / "dev_weak.md").read_text()
        assert ("Reference answer:" in page) is expected


def test_grade_accepts_an_lms_zip_and_exits_3_with_reasons(tmp_path: Path) -> None:
    import zipfile

    archive = tmp_path / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(ROOT / "submissions" / "ben_good.txt", "okaforben_LATE_2222_3333_hw.txt")
        zf.writestr("doejohn_4444_5555_scan.pdf", b"%PDF-1.4\n" + bytes(64))
    out = tmp_path / "o"
    result = runner.invoke(app, ["grade", str(archive), "-r", str(DL14_RUBRIC), "--out", str(out)])
    assert result.exit_code == 3, result.output
    assert "1 graded, 1 error(s)" in result.output
    assert "4444" in result.output and "PDF" in result.output
    report = json.loads((out / "report.json").read_text())
    rows = {s["id"]: s for s in report["submissions"]}
    assert rows["2222"]["late"] is True and rows["2222"]["status"] == "graded"
    assert rows["4444"]["status"] == "error"
    import csv
    import io

    grades = list(csv.DictReader(io.StringIO((out / "grades.csv").read_text())))
    assert {g["files"] for g in grades} == {
        f"{archive}!okaforben_LATE_2222_3333_hw.txt",
        f"{archive}!doejohn_4444_5555_scan.pdf",
    }
    assert {g["submission"]: g["late"] for g in grades} == {"2222": "true", "4444": "false"}


def test_grade_exits_2_on_a_corrupt_zip(tmp_path: Path) -> None:
    archive = tmp_path / "class.zip"
    archive.write_bytes(b"PK\x03\x04 truncated download")
    result = runner.invoke(
        app, ["grade", str(archive), "-r", str(DL14_RUBRIC), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "corrupt archive" in result.output and "Traceback" not in result.output


def test_check_reads_a_word_file(tmp_path: Path) -> None:
    from .builders import markdown_to_docx

    path = tmp_path / "mine.docx"
    path.write_bytes(markdown_to_docx((ROOT / "submissions" / "dev_weak.md").read_text()))
    result = runner.invoke(app, ["check", str(path), "-r", str(DL14_RUBRIC)])
    assert result.exit_code == 0, result.output
    assert "misconception: q7.m.slows_inference" in result.output


def test_grade_jobs_1_and_2_write_identical_reports(tmp_path: Path, monkeypatch) -> None:
    from benchmarks.generate import generate_folder
    from grader import grading

    monkeypatch.setattr(grading, "MIN_FILES_FOR_WORKERS", 10)  # workers for a small class
    subs = tmp_path / "subs"
    generate_folder(DL14_RUBRIC, subs, 24, seed=5)
    outputs = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        result = runner.invoke(
            app, ["grade", str(subs), "-r", str(DL14_RUBRIC), "--out", str(out), "--jobs", jobs]
        )
        assert result.exit_code in (0, 3), result.output
        outputs[jobs] = ((out / "report.json").read_bytes(), (out / "grades.csv").read_bytes())
    assert outputs["1"] == outputs["2"]
    assert outputs["1"][0].count(b'"source"') == 24


def test_grade_rejects_zero_jobs(tmp_path: Path) -> None:
    result = runner.invoke(app, ["grade", str(ROOT / "submissions"), "--jobs", "0"])
    assert result.exit_code == 2
    assert "--jobs" in result.output


HEAVY = ("sklearn", "scipy", "numpy", "rapidfuzz")


@pytest.mark.parametrize(
    "command",
    [["--help"], ["--version"], ["rubric", "schema"], ["grade", "--help"], ["check", "--help"]],
    ids=" ".join,
)
def test_commands_that_do_not_match_import_no_numeric_stack(command) -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from grader.cli import app\n"
        f"result = CliRunner().invoke(app, {command!r})\n"
        "assert result.exit_code == 0, result.output\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_check_of_a_markdown_file_loads_no_sklearn_nor_word_or_pdf_reader() -> None:
    """A self-check must start fast: scikit-learn, python-docx and pypdf are only for the
    commands and files that need them."""
    import subprocess
    import sys

    answer = ROOT / "submissions" / "alice_excellent.md"
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from grader.cli import app\n"
        f"result = CliRunner().invoke(app, ['check', {str(answer)!r}, '-r', {str(DL14_RUBRIC)!r}])\n"
        "assert result.exit_code in (0, 1), result.output\n"
        "assert ': 19 / 19' in result.output, result.output\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'docx', 'pypdf'}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_import_grader_is_lazy_but_complete() -> None:
    import subprocess
    import sys

    code = (
        "import sys, grader\n"
        "assert 'sklearn' not in sys.modules and 'grader.matching' not in sys.modules\n"
        "missing = [n for n in grader.__all__ if not hasattr(grader, n)]\n"
        "assert not missing, missing\n"
        "assert grader.Grader.__module__ == 'grader.grading'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


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
        pytest.param([], "pass SUBMISSIONS --gold GOLD.json, --dataset DATA.csv", id="nothing"),
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


def test_streamed_grading_writes_what_the_in_memory_report_gives(
    tmp_path: Path, monkeypatch
) -> None:
    """`grade` records and writes each result as it is graded (in workers, from a zip whose
    members the parent reads); its files must be the ones `build_reports` makes from the whole
    report at once."""
    import zipfile

    from benchmarks.generate import generate_folder
    from grader import grading
    from grader.grading import grade_folder
    from grader.loading import load_rubric
    from grader.report import build_reports

    monkeypatch.setattr(grading, "MIN_FILES_FOR_WORKERS", 10)
    monkeypatch.setattr(grading, "WORKER_CHUNK", 4)  # several chunks in flight
    subs = tmp_path / "subs"
    generate_folder(DL14_RUBRIC, subs, 30, seed=11)
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(subs.iterdir()):
            if not path.name.startswith("."):
                handle.write(path, path.name)
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["grade", str(archive), "-r", str(DL14_RUBRIC), "-o", str(out), "--jobs", "2"]
    )
    assert result.exit_code in (0, 3), result.output
    rubric = load_rubric(DL14_RUBRIC)
    expected = build_reports(grade_folder(rubric, archive), rubric)
    written = {
        str(path.relative_to(out)): path.read_text(encoding="utf-8")
        for path in out.rglob("*")
        if path.is_file() and path.name != "gradebook.db"
    }
    assert written.keys() == expected.keys()
    for name, text in expected.items():
        assert written[name] == text, name
    assert len([n for n in written if n.startswith("feedback/")]) == 60
