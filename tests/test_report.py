from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest

from grader import grade_folder
from grader.report import format_number, safe_cell, write_atomic, write_reports

from .conftest import ROOT

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("GRADER_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def written(tmp_path_factory, dl14) -> Path:
    out = tmp_path_factory.mktemp("reports")
    cwd = Path.cwd()
    os.chdir(ROOT)  # sources in the report are the paths as the user typed them
    try:
        report = grade_folder(dl14, Path("submissions"))
    finally:
        os.chdir(cwd)
    write_reports(report, dl14, out)
    return out


@pytest.mark.parametrize("name", ["report.json", "grades.csv"])
def test_outputs_match_golden_files(written: Path, name: str) -> None:
    """Refresh on purpose with GRADER_UPDATE_GOLDEN=1 pytest tests/test_report.py."""
    actual = (written / name).read_text(encoding="utf-8")
    golden = GOLDEN / name
    if UPDATE:
        golden.write_text(actual, encoding="utf-8")
    assert actual == golden.read_text(encoding="utf-8")


def test_report_json_keeps_the_contracted_names(written: Path) -> None:
    data = json.loads((written / "report.json").read_text())
    assert data["schema_version"] == 1
    assert set(data["rubric"]) >= {"id", "title"}
    submission = data["submissions"][0]
    assert set(submission) >= {"id", "source", "status", "error", "score", "max_score", "questions"}
    question = submission["questions"][0]
    assert set(question) >= {"id", "score", "max_score", "key_points", "misconceptions"}
    assert set(question["key_points"][0]) >= {"id", "credit", "points", "evidence"}
    flagged = [m for s in data["submissions"] for q in s["questions"] for m in q["misconceptions"]]
    assert flagged and set(flagged[0]) >= {"id", "penalty", "evidence"}


def test_grades_csv_has_one_row_per_submission(written: Path) -> None:
    rows = list(csv.DictReader(io.StringIO((written / "grades.csv").read_text())))
    assert [r["submission"] for r in rows] == sorted(
        p.stem for p in (ROOT / "submissions").iterdir()
    )
    assert list(rows[0])[:3] == ["submission", "score", "max_score"]
    assert [c for c in rows[0] if c.startswith("q")] == [f"q{n}" for n in range(1, 8)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+2", "'+1+2"),
        ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-3.5", "-3.5"),
        (-3.5, "-3.5"),
        ("alice", "alice"),
        (None, ""),
    ],
)
def test_csv_cells_neutralise_formulas(value, expected) -> None:
    assert safe_cell(value) == expected


def test_numbers_are_rounded_once_and_never_negative_zero() -> None:
    assert format_number(2.0) == "2"
    assert format_number(1.23456) == "1.23"
    assert format_number(-0.0001) == "0"


def test_atomic_write_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "grades.csv"
    target.write_text("old\n")
    write_atomic(target, "new\n")
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["grades.csv"]
