"""Re-running into the same folder: never a mix of old and new files, never half a file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader import Rubric, grade_folder
from grader.errors import GraderError, UsageError
from grader.report import write_reports
from grader.report.output import STAGING_PREFIX, publish
from grader.roster import load_roster

from .conftest import DATA, ROOT


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture()
def subs(tmp_path: Path) -> Path:
    folder = tmp_path / "subs"
    folder.mkdir()
    for name in ("alice_excellent.md", "ben_good.txt", "dev_weak.md"):
        shutil.copy(ROOT / "submissions" / name, folder)
    return folder


def test_rerun_removes_what_the_new_run_does_not_write(
    dl14: Rubric, subs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    roster = load_roster(DATA / "rosters" / "dl14.csv")
    write_reports(grade_folder(dl14, subs), dl14, out, gradebook="canvas", roster=roster)
    assert (out / "gradebook_canvas.csv").is_file()
    assert (out / "unmatched_submissions.csv").is_file()
    (out / "notes.txt").write_text("the TA's own file\n")

    (subs / "dev_weak.md").unlink()
    written = write_reports(grade_folder(dl14, subs), dl14, out)

    assert sorted(p.name for p in out.iterdir()) == [
        "feedback",
        "grades.csv",
        "notes.txt",
        "overview.html",
        "report.json",
    ]
    assert sorted(p.name for p in (out / "feedback").iterdir()) == [
        "alice_excellent.html",
        "alice_excellent.md",
        "ben_good.html",
        "ben_good.md",
    ]
    assert (out / "notes.txt").read_text() == "the TA's own file\n"
    assert [p.name for p in written] == ["report.json", "grades.csv", "overview.html", "feedback"]


def test_same_inputs_give_byte_identical_folders(dl14: Rubric, subs: Path, tmp_path: Path) -> None:
    report = grade_folder(dl14, subs)
    write_reports(report, dl14, tmp_path / "a", reveal=True)
    write_reports(report, dl14, tmp_path / "b", reveal=True)
    write_reports(report, dl14, tmp_path / "b", reveal=True)  # a re-run changes nothing
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")


def test_a_failure_while_building_leaves_the_previous_reports_whole(
    dl14: Rubric, subs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    report = grade_folder(dl14, subs)
    write_reports(report, dl14, out)
    before = _tree(out)
    calls = {"n": 0}
    real_open = open

    def failing_open(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 4:
            raise OSError(28, "No space left on device")
        return real_open(*args, **kwargs)

    monkeypatch.setattr("grader.report.output.open", failing_open, raising=False)
    with pytest.raises(GraderError, match=r"No space left.*previous reports there are unchanged"):
        write_reports(report, dl14, out, reveal=True)
    assert _tree(out) == before
    assert not [p for p in out.iterdir() if p.name.startswith(STAGING_PREFIX)]


def test_only_managed_names_can_be_published(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a managed report file"):
        publish(tmp_path, {"../evil.csv": "x"})
    with pytest.raises(ValueError, match="only feedback/<file> may be nested"):
        publish(tmp_path, {"feedback/a/b.md": "x"})
    assert list(tmp_path.iterdir()) == []


def test_an_out_dir_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    target = tmp_path / "reports"
    target.write_text("not a folder\n")
    with pytest.raises(UsageError, match="cannot write the reports there"):
        publish(target, {"report.json": "{}"})
