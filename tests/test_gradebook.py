from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from grader import Rubric, grade_folder, load_rubric
from grader.errors import GradebookError
from grader.gradebook import (
    SCHEMA_VERSION,
    Gradebook,
    make_override,
    open_gradebook,
    pseudonymize_report,
    record_grading,
)

from .builders import IDENTIFYING, write_lms_download
from .conftest import DATA

FIXTURE = DATA / "gradebook"
RUBRIC = FIXTURE / "rubric.yaml"


@pytest.fixture(scope="module")
def nets() -> Rubric:
    return load_rubric(RUBRIC)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "submissions"
    shutil.copytree(FIXTURE / "submissions", target)
    return target


def fixture_answers() -> dict[str, str]:
    return {p.stem: p.read_text() for p in (FIXTURE / "submissions").glob("*.md")}


def run(book: Gradebook, rubric: Rubric, folder: Path, **options):
    report = grade_folder(rubric, folder)
    with book.transaction():
        return record_grading(book, rubric, report, source=str(folder), **options)


def with_weight(rubric: Rubric, key_point: str, weight: float) -> Rubric:
    data = rubric.model_dump()
    for question in data["questions"]:
        for kp in question["key_points"]:
            if kp["id"] == key_point:
                kp["weight"] = weight
    return Rubric.model_validate(data)


def question(report, submission: str, qid: str):
    result = next(s for s in report.submissions if s.id == submission)
    return next(q for q in result.questions if q.id == qid)


def test_a_new_gradebook_records_runs_and_answers(tmp_path: Path, nets, folder) -> None:
    with open_gradebook(tmp_path / "g.db") as book:
        first = run(book, nets, folder)
        assert first.previous is None and first.run_id == 1
        assert [c.kind for c in first.diff.changes] == ["new"] * 6
        second = run(book, nets, folder)
        assert second.previous is not None and second.previous.id == 1
        assert second.diff.changes == [] and second.diff.unchanged == 6
        latest = book.latest_run("nets")
        assert latest is not None
        assert book.run_answers(latest, "q2")["cai"] == (
            "With batch norm we can use a much larger learning rate."
        )
        assert book.run_report(latest).model_dump() == second.report.model_dump()


def test_override_survives_a_rubric_change(tmp_path: Path, nets, folder) -> None:
    with open_gradebook(tmp_path / "g.db") as book:
        run(book, nets, folder)
        latest = book.latest_run("nets")
        assert latest is not None
        with book.transaction():
            make_override(book, latest, "ben", "q2", 2.5, comment="names two effects", by="ta")
        changed = with_weight(nets, "q2.standardize", 3)  # ben's q2 would earn 3 now
        outcome = run(book, changed, folder)
    q2 = question(outcome.report, "ben", "q2")
    assert q2.score == 2.5 and q2.manual
    assert q2.override is not None
    assert q2.override.auto_score == 3 and q2.override.previous_auto_score == 1
    assert q2.override.comment == "names two effects" and not q2.override.answer_changed
    assert outcome.rubric_changed
    ben = next(c for c in outcome.diff.changes if c.submission == "ben")
    assert ben.delta == 1.5  # 4 → 5.5: the override moved q2, the rubric moved nothing else


def test_resubmission_keeps_the_override_and_flags_it(tmp_path: Path, nets, folder) -> None:
    with open_gradebook(tmp_path / "g.db") as book:
        run(book, nets, folder)
        latest = book.latest_run("nets")
        assert latest is not None
        with book.transaction():
            make_override(book, latest, "cai", "q2", 0.5, comment="too short", by=None)
        (folder / "cai.md").write_text(
            "### Ans 1\nDropout slows down training.\n\n### Ans 2\n"
            "Batch normalization standardizes the inputs of each layer, so we can use a much"
            " larger learning rate.\n"
        )
        outcome = run(book, nets, folder)
    q2 = question(outcome.report, "cai", "q2")
    assert q2.score == 0.5 and q2.manual and q2.needs_review
    assert q2.override is not None and q2.override.answer_changed
    assert q2.override.auto_score == 2 and q2.override.previous_auto_score == 1
    assert q2.review_reasons == ["answer changed since the override: manual 0.5, automatic now 2"]
    cai = next(c for c in outcome.diff.changes if c.submission == "cai")
    reasons = next(q for q in cai.questions if q.question == "q2").reasons
    assert any("answer changed since the TA override" in r for r in reasons)


class Interrupt(KeyboardInterrupt):
    pass


def test_an_interrupted_run_leaves_the_previous_state(
    tmp_path: Path, nets, folder, monkeypatch
) -> None:
    path = tmp_path / "g.db"
    with open_gradebook(path) as book:
        run(book, nets, folder)
    before = sqlite3.connect(path).execute("SELECT count(*) FROM answers").fetchone()[0]
    (folder / "ana.md").write_text("### Ans 1\nNo idea.\n")
    calls = {"n": 0}
    original = Gradebook._execute_many

    def flaky(self, sql, rows):
        if sql.startswith("INSERT INTO answers"):
            calls["n"] += 1
            if calls["n"] == 3:  # Ctrl-C in the middle of storing the answers
                raise Interrupt
        return original(self, sql, rows)

    monkeypatch.setattr(Gradebook, "_execute_many", flaky)
    with open_gradebook(path) as book, pytest.raises(Interrupt):
        run(book, nets, folder)
    assert calls["n"] == 3
    check = sqlite3.connect(path)
    assert check.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
    assert check.execute("SELECT count(*) FROM answers").fetchone()[0] == before
    with open_gradebook(path) as book:
        latest = book.latest_run("nets")
        assert latest is not None and latest.id == 1
        assert question(book.run_report(latest), "ana", "q1").score == 3


CRASH = """
import os, sys
from pathlib import Path
from grader import grade_folder, load_rubric
from grader.gradebook import Gradebook, open_gradebook, record_grading
rubric = load_rubric(sys.argv[1])
report = grade_folder(rubric, Path(sys.argv[2]))
book = open_gradebook(sys.argv[3])
original = Gradebook.add_result
def record_then_die(self, *args, **kwargs):
    original(self, *args, **kwargs)
    os._exit(9)  # dies after recording one result, before the commit: no cleanup, no rollback
Gradebook.add_result = record_then_die
with book.transaction():
    record_grading(book, rubric, report, source="x")
"""


def test_a_crash_mid_run_leaves_the_previous_state(tmp_path: Path, nets, folder) -> None:
    path = tmp_path / "g.db"
    with open_gradebook(path) as book:
        run(book, nets, folder)
    done = subprocess.run(
        [sys.executable, "-c", CRASH, str(RUBRIC), str(folder), str(path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 9, done.stderr
    with open_gradebook(path) as book:
        assert [r.id for r in book.runs("nets")] == [1]
        assert len(book.run_report(book.runs("nets")[0]).submissions) == 6


def make_v1(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.executescript((FIXTURE / "schema-v1.sql").read_text())
    connection.close()


def test_an_older_gradebook_is_upgraded_after_a_backup(tmp_path: Path, nets, folder) -> None:
    path = tmp_path / "g.db"
    make_v1(path)
    with open_gradebook(path) as book:
        assert book.upgraded_from == 1
        assert book.backup_path == tmp_path / "g.db.v1.bak"
        old = book.latest_run("nets")
        assert old is not None and not old.anonymous
        assert book.run_report(old) == book.run_report(old, final=False)
        assert question(book.run_report(old), "cai", "q1").misconceptions[0].id == (
            "q1.m.slows_inference"
        )
        with book.transaction():
            make_override(book, old, "ana", "q2", 3, comment="full marks", by="ta")
        outcome = run(book, nets, folder)
    assert question(outcome.report, "ana", "q2").manual
    assert {c.submission for c in outcome.diff.changes if c.kind == "new"} == {
        "ben",
        "dee",
        "eli",
        "fay",
    }
    backup = sqlite3.connect(tmp_path / "g.db.v1.bak")
    assert backup.execute("PRAGMA user_version").fetchone()[0] == 1
    assert backup.execute("SELECT count(*) FROM results").fetchone()[0] == 2
    upgraded = sqlite3.connect(path)
    assert upgraded.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_second_upgrade_keeps_the_first_backup(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    make_v1(path)
    open_gradebook(path).close()
    path.unlink()
    make_v1(path)
    with open_gradebook(path) as book:
        assert book.backup_path == tmp_path / "g.db.v1.2.bak"
    assert (tmp_path / "g.db.v1.bak").is_file()


def test_a_newer_gradebook_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    open_gradebook(path).close()
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()
    before = path.read_bytes()
    with pytest.raises(GradebookError, match=r"newer grader .*Upgrade grader"):
        open_gradebook(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"grades, not a database\n" * 50, "not a readable gradebook", id="text"),
        pytest.param(None, "not a grader gradebook", id="other-sqlite"),
    ],
)
def test_other_files_are_refused(tmp_path: Path, content, message) -> None:
    path = tmp_path / "g.db"
    if content is None:
        sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    else:
        path.write_bytes(content)
    with pytest.raises(GradebookError, match=message):
        open_gradebook(path)


def test_missing_gradebook_is_not_created_by_readers(tmp_path: Path) -> None:
    with pytest.raises(GradebookError, match="run `grader grade` first"):
        open_gradebook(tmp_path / "none.db", create=False)
    assert not (tmp_path / "none.db").exists()


def test_dry_run_copy_never_writes(tmp_path: Path, nets, folder) -> None:
    path = tmp_path / "g.db"
    with open_gradebook(path, in_memory_copy=True) as book:
        run(book, nets, folder)
    assert not path.exists()
    with open_gradebook(path) as book:
        run(book, nets, folder)
    before = path.read_bytes()
    with open_gradebook(path, in_memory_copy=True) as book:
        outcome = run(book, nets, folder)
        assert outcome.run_id == 2 and outcome.previous is not None
    assert path.read_bytes() == before


def test_pseudonyms_are_stable_and_reversible(tmp_path: Path, nets, folder) -> None:
    path = tmp_path / "g.db"
    with open_gradebook(path) as book:
        first = run(book, nets, folder, anonymous=True).pseudonyms
    with open_gradebook(path) as book:
        second = run(book, nets, folder, anonymous=True).pseudonyms
        assert first == second and len(set(first.values())) == 6
        assert all(alias.startswith("anon-") for alias in first.values())
        assert book.resolve_student(first["ana"]) == "ana"
        assert book.resolve_student("ana") == "ana"
        latest = book.latest_run("nets")
        assert latest is not None and latest.anonymous
        shown = pseudonymize_report(book.run_report(latest), first)
    ids = {s.id for s in shown.submissions}
    assert ids == set(first.values())
    assert all(s.source == s.id + ".md" for s in shown.submissions)


def test_pseudonyms_hide_file_names_lms_names_and_duplicates(tmp_path: Path, nets) -> None:
    report = grade_folder(nets, write_lms_download(tmp_path / "downloads", fixture_answers()))
    real = report.model_dump_json()
    assert all(name in real for name in IDENTIFYING)  # the test would see a leak
    rows = {s.id: s for s in report.submissions}
    assert rows["1234"].name == "smithjane" and len(rows["1234"].files) == 2
    assert any("figure.png not read" in note for note in rows["3333"].notes)
    assert rows["4444"].status == "error"
    assert [s.status for s in report.submissions if s.id == "alvarezfay"] == ["error", "graded"]
    aliases = {sid: f"anon-{n}" for n, sid in enumerate(sorted(rows))}
    shown = pseudonymize_report(report, aliases)
    text = shown.model_dump_json()
    assert not [name for name in IDENTIFYING if name in text]
    for s in shown.submissions:
        assert s.id in aliases.values() and s.name is None
        for field in (s.source, s.error or "", *s.files, *s.duplicates, *s.notes):
            assert not any(sid in field for sid in aliases), field
    # what a grader still needs to know survives, under the pseudonym
    jane = next(s for s in shown.submissions if s.id == aliases["1234"])
    assert jane.files == [f"{jane.id}/file1.md", f"{jane.id}/file2.md"]
    assert f"in this order: {jane.id}/file1.md, {jane.id}/file2.md" not in " ".join(jane.notes)
    assert any("in this order: file1.md, file2.md" in note for note in jane.notes)
    chloe = next(s for s in shown.submissions if s.id == aliases["3333"])
    assert any(note.startswith("file2.png not read") for note in chloe.notes)
    fay = [s for s in shown.submissions if s.id == aliases["alvarezfay"]]
    older, newer = (next(s for s in fay if s.status == status) for status in ("error", "graded"))
    assert {older.source, newer.source} == {f"{older.id}-1.md", f"{older.id}-2.md"}
    assert newer.duplicates == [older.source] and older.duplicates == [newer.source]
    assert older.error is not None and f"also handed in {newer.source}," in older.error
    assert any(older.source in note for note in newer.notes)
    assert [s.score for s in shown.submissions] == [
        s.score for s in sorted(report.submissions, key=lambda s: (aliases[s.id], s.source))
    ]


def test_a_student_who_handed_in_twice_has_one_result(tmp_path: Path, nets) -> None:
    downloads = write_lms_download(tmp_path / "downloads", fixture_answers())
    with open_gradebook(tmp_path / "g.db") as book:
        first = run(book, nets, downloads)
        rows = [s for s in first.report.submissions if s.id == "alvarezfay"]
        assert [s.status for s in rows] == ["error", "graded"]  # the older one says why
        assert [c.submission for c in first.diff.changes].count("alvarezfay") == 1
        latest = book.latest_run("nets")
        assert latest is not None
        stored = book.run_result(latest, "alvarezfay")
        assert stored is not None and stored.status == "graded"
        with book.transaction():
            make_override(book, latest, "alvarezfay", "q2", 3, comment="fine", by=None)
        second = run(book, nets, downloads)
    rows = [s for s in second.report.submissions if s.id == "alvarezfay"]
    assert [(s.status, s.manual) for s in rows] == [("error", False), ("graded", True)]
    assert [c.submission for c in second.diff.changes] == ["alvarezfay"]


def test_override_checks_question_points_and_student(tmp_path: Path, nets, folder) -> None:
    with open_gradebook(tmp_path / "g.db") as book:
        run(book, nets, folder)
        latest = book.latest_run("nets")
        assert latest is not None
        with pytest.raises(GradebookError, match=r"no question 'q9'.*use one of: q1, q2"):
            make_override(book, latest, "ana", "q9", 1, comment="x", by=None)
        with pytest.raises(GradebookError, match=r"outside 0\.\.3"):
            make_override(book, latest, "ana", "q1", 4, comment="x", by=None)
        with pytest.raises(GradebookError, match="did you mean 'ana'"):
            make_override(book, latest, "anna", "q1", 1, comment="x", by=None)
        assert book.overrides("nets") == []


def test_clearing_an_override_restores_the_automatic_grade(tmp_path: Path, nets, folder) -> None:
    with open_gradebook(tmp_path / "g.db") as book:
        run(book, nets, folder)
        latest = book.latest_run("nets")
        assert latest is not None
        with book.transaction():
            make_override(book, latest, "fay", "q1", 1, comment="half right", by="ta")
        assert question(run(book, nets, folder).report, "fay", "q1").score == 1
        with book.transaction():
            assert book.clear_override("nets", "fay", "q1", by="ta")
            assert not book.clear_override("nets", "fay", "q1", by="ta")
        outcome = run(book, nets, folder)
        events = book.override_events("nets", "fay")
    assert question(outcome.report, "fay", "q1").score == 0
    assert [e.action for e in events] == ["set", "clear"]
    fay = next(c for c in outcome.diff.changes if c.submission == "fay")
    assert fay.questions[0].reasons[0] == "TA override 1 cleared"
