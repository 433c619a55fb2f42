"""The gradebook commands end to end: grade, override, history, review, similarity, export."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.gradebook import SCHEMA_VERSION
from grader.report import format_number

from .builders import IDENTIFYING, write_lms_download
from .conftest import DATA

runner = CliRunner()
FIXTURE = DATA / "gradebook"
COMMANDS = [["override"], ["history"], ["review"], ["similarity"], ["export"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_gradebook_command_has_help_with_an_example(command) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example: grader" in result.output


@pytest.fixture
def course(tmp_path: Path, monkeypatch) -> Path:
    shutil.copytree(FIXTURE / "submissions", tmp_path / "submissions")
    (tmp_path / "rubrics").mkdir()
    shutil.copy(FIXTURE / "rubric.yaml", tmp_path / "rubrics" / "nets.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def grades() -> dict[str, dict[str, str]]:
    rows = csv.DictReader(io.StringIO(Path("reports/grades.csv").read_text()))
    return {row["submission"]: row for row in rows}


def score(submission: str) -> float:
    report = json.loads(Path("reports/report.json").read_text())
    return next(s["score"] for s in report["submissions"] if s["id"] == submission)


def test_override_survives_a_rubric_change_end_to_end(course: Path) -> None:
    assert "first run of nets" in invoke("grade")
    before = score("ana")
    said = invoke("override", "ben", "q2", "2.5", "--comment", "names two effects", "--by", "ta")
    assert "ben q2: manual 2.5 (automatic 1)" in said
    rubric = course / "rubrics" / "nets.yaml"
    rubric.write_text(rubric.read_text().replace("weight: 2", "weight: 3"))  # q1.inference
    output = invoke("grade")
    assert "rubric changed" in output
    after = score("ana")
    assert after == pytest.approx(before + 1)  # ana states q1.inference: its extra point
    assert f"ana: {format_number(before)} → {format_number(after)} (+1)" in output
    assert "q1.inference weight 2 → 3 (+1)" in output
    row = grades()["ben"]
    assert (row["q2"], row["manual"], row["q1"]) == ("2.5", "q2", "4")
    report = json.loads(Path("reports/report.json").read_text())
    ben = next(s for s in report["submissions"] if s["id"] == "ben")
    assert ben["manual"] and ben["questions"][1]["override"]["comment"] == "names two effects"
    history = invoke("history", "ben")
    assert "override q2 = 2.5 by ta (automatic 1): names two effects" in history
    assert history.count(" run ") == 2 and "q2 2.5 manual" in history


def test_a_resubmission_is_flagged_in_the_diff(course: Path) -> None:
    invoke("grade")
    invoke("override", "cai", "q2", "0.5", "-m", "too short")
    (course / "submissions" / "cai.md").write_text(
        "### Ans 1\nDropout slows down training.\n\n### Ans 2\nWe can use a much larger"
        " learning rate, and batch normalization acts as a regularizer.\n"
    )
    output = invoke("grade")
    assert "answer changed since the TA override: kept 0.5, automatic now 2; review it" in output
    assert grades()["cai"]["needs_review"] == "true"


def test_dry_run_saves_nothing(course: Path) -> None:
    invoke("grade")
    db = Path("reports/gradebook.db").read_bytes()
    csv_before = Path("reports/grades.csv").read_text()
    (course / "submissions" / "dee.md").write_text(
        "### Ans 2\nThanks to batch norm we can use a much larger learning rate.\n"
    )
    output = invoke("grade", "--dry-run")
    assert "dry run: nothing saved" in output
    assert "dee: 0 → 1 (+1)" in output and "q2.learning_rate now found (+1)" in output
    assert Path("reports/gradebook.db").read_bytes() == db
    assert Path("reports/grades.csv").read_text() == csv_before


def test_anonymous_grading_until_export(course: Path) -> None:
    invoke("grade", "--anonymous")
    shown = grades()
    assert all(sid.startswith("anon-") for sid in shown)
    report = Path("reports/report.json").read_text()
    for student in ("ana", "ben", "cai", "dee", "eli", "fay"):
        assert f'"{student}' not in report and f"{student}.md" not in report
    invoke("grade", "--anonymous")
    assert set(grades()) == set(shown)  # the same pseudonyms run after run
    alias = next(sid for sid, row in shown.items() if row["score"] == "4")  # ben
    assert "manual 3" in invoke("override", alias, "q2", "3", "-m", "fine")
    review = invoke("review", "q2")
    assert alias in review and "ben" not in review
    assert invoke("history", alias).startswith(alias)
    invoke("export", "final")
    rows = csv.DictReader(io.StringIO(Path("final/grades.csv").read_text()))
    exported = {row["submission"]: row for row in rows}
    assert set(exported) == {"ana", "ben", "cai", "dee", "eli", "fay"}
    assert exported["ben"]["q2"] == "3" and exported["ben"]["manual"] == "q2"


def test_anonymous_grades_reach_the_lms_through_export(course: Path) -> None:
    roster = course / "roster.csv"
    roster.write_text(
        "submission,name,id\n"
        + "".join(f"{sid},{sid.title()} Doe,{n}\n" for n, sid in enumerate(["ana", "ben"], 1))
    )
    lms = ["--gradebook", "canvas", "--roster", str(roster)]
    refused = invoke("grade", "--anonymous", *lms, code=2)
    assert "--anonymous hides who is who" in refused and "grader export" in refused
    assert not Path("reports").exists()
    invoke("grade", "--anonymous")
    alias = next(sid for sid, row in grades().items() if row["score"] == "4")  # ben
    invoke("override", alias, "q2", "2", "-m", "two effects")
    said = invoke("export", "final", *lms, "--assignment", "Nets", "--assignment-id", "77")
    assert "gradebook_canvas.csv" in said
    rows = list(csv.reader(io.StringIO(Path("final/gradebook_canvas.csv").read_text())))
    assert rows[0][-1] == "Nets (77)"
    ben = next(row for row in rows if row[0] == "Ben Doe")
    assert ben[1] == "2" and ben[-1] == "5"  # q1 3 + the override


def test_anonymous_outputs_never_name_a_student(course: Path) -> None:
    answers = {p.stem: p.read_text() for p in (FIXTURE / "submissions").glob("*.md")}
    download = write_lms_download(course / "downloads", answers)
    printed = invoke("grade", str(download), "--anonymous", code=3)  # one file is unreadable
    outputs = [p for p in Path("reports").rglob("*") if p.is_file() and p.suffix != ".db"]
    assert {p.name for p in outputs} >= {"report.json", "grades.csv", "overview.html"}
    for text in [printed, *(p.read_text() for p in outputs)]:
        assert not [name for name in IDENTIFYING if name in text]
    shown = grades()
    late = next(sid for sid, row in shown.items() if row["late"] == "true")  # okaforben
    failed = next(sid for sid, row in shown.items() if row["error"].startswith("not a text"))
    assert late.startswith("anon-") and failed.startswith("anon-")
    for alias in shown:
        assert not [name for name in IDENTIFYING if name in invoke("history", alias)]
    invoke("export", "final")
    rows = csv.DictReader(io.StringIO(Path("final/grades.csv").read_text()))
    exported = {row["submission"]: row for row in rows}
    assert exported["2222"]["name"] == "okaforben" and exported["2222"]["late"] == "true"
    assert "smithjane_1234_5679_part2.md" in exported["1234"]["files"]


def test_review_then_grade_a_whole_group(course: Path) -> None:
    invoke("grade")
    output = invoke("review", "q1")
    assert output.startswith("q1 — nets, run 1: 5 answer(s) in")
    assert "G0: 1 answer(s)" in output  # dee left q1 blank
    group = invoke("review", "q1", "--group", "G0")
    assert "dee (0): (blank)" in group
    said = invoke("override", "--group", "G0", "q1", "0", "-m", "no answer")
    assert "for the 1 answer(s) of group G0: dee" in said
    assert "cleared 1 override(s)" in invoke("override", "--group", "G0", "--clear", "q1")
    invoke("grade")
    stale = invoke("override", "--group", "G1", "q1", "1", "-m", "x", code=2)
    assert "run `grader review q1` again" in stale


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["override", "ben", "q2", "1"], "say why with --comment", id="no-comment"),
        pytest.param(["override", "ben", "q2"], "expected SUBMISSION QUESTION POINTS", id="short"),
        pytest.param(["override", "ben", "q2", "x", "-m", "y"], "must be a number", id="nan"),
        pytest.param(["override", "--clear", "ben", "q2"], "no override to clear", id="clear"),
        pytest.param(["override", "bem", "q2", "1", "-m", "y"], "did you mean 'ben'", id="typo"),
        pytest.param(["review", "q9"], "no question 'q9'", id="question"),
        pytest.param(["history", "ben", "--rubric-id", "x"], "no runs of rubric 'x'", id="rid"),
    ],
)
def test_usage_errors_are_plain_messages(course: Path, args, message) -> None:
    invoke("grade", "-q")
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_commands_without_a_gradebook_say_how_to_make_one(course: Path) -> None:
    result = runner.invoke(app, ["history", "ben"])
    assert result.exit_code == 2
    assert "no gradebook here; run `grader grade` first" in result.output


def test_a_gradebook_from_a_newer_grader_is_refused(course: Path) -> None:
    invoke("grade", "-q")
    connection = sqlite3.connect("reports/gradebook.db")
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()
    result = runner.invoke(app, ["grade"])
    assert result.exit_code == 2
    assert "written by a newer grader" in result.output


def test_similarity_shows_shared_passages_side_by_side() -> None:
    args = [
        "similarity",
        str(DATA / "similarity" / "submissions"),
        "-r",
        str(FIXTURE / "rubric.yaml"),
    ]
    output = invoke(*args)
    assert output.startswith("7 submission(s), 2 suspicious pair(s)")
    assert "lee ~ max: overall 0.89" in output and "gus ~ hal: overall 0.37" in output
    assert "convolutional model, the loss" in output
    data = json.loads(invoke(*args, "--json"))
    assert [(p["a"], p["b"]) for p in data["pairs"]] == [("lee", "max"), ("gus", "hal")]
