"""Publishing a whole set of report files into OUT_DIR, so that a re-run never leaves a mix of
old and new files or a half-written file.

1. Everything is written into a fresh staging folder inside OUT_DIR (same file system, so the
   moves below are renames). A failure here leaves the previous reports untouched.
2. Then each file is moved over its old version with an atomic rename, `report.json` last, and the
   `feedback/` folder is swapped as a whole. Readers see either the old or the new version of a
   file, never a part of one.
3. Files that an earlier run wrote and this one does not (a gradebook of another format, the
   feedback of a student who is gone) are removed. Only names in `MANAGED_FILES` and the
   `feedback/` folder are ever touched: other files in OUT_DIR are left alone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from grader.errors import GraderError, UsageError

STAGING_PREFIX = ".grader-staging-"
FEEDBACK_DIR = "feedback"
#: Every top-level file any run may write; one that this run does not write is stale.
MANAGED_FILES = (
    "grades.csv",
    "gradebook_canvas.csv",
    "gradebook_moodle.csv",
    "gradebook_blackboard.csv",
    "unmatched_submissions.csv",
    "overview.html",
    "report.json",
)
#: Written last, so that a tool that waits for report.json finds the rest in place.
LAST = "report.json"


#: A report file's content: text, or pieces of text written one after another (so that a large
#: report.json is never held whole).
Content = str | Iterable[str]


def publish(
    out_dir: Path, files: Mapping[str, Content] | Iterable[tuple[str, Content]]
) -> list[Path]:
    """Write `files` (relative path → text, a mapping or pairs produced one at a time) into
    `out_dir` as described above; returns the top-level paths written (the feedback folder
    once). Pairs are written as they come, so a class's feedback is never all in memory."""
    pairs = files.items() if isinstance(files, Mapping) else files
    with Staging(out_dir) as staging:
        for name, content in pairs:
            staging.write(name, content)
        return staging.commit()


class Staging:
    """The staging folder of one run's reports (step 1 above): files are written into it one by
    one, then `commit` swaps them into OUT_DIR (step 2). Leaving the `with` block without
    committing leaves OUT_DIR as it was."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.names: list[str] = []
        self._folders: set[Path] = set()  # made already: no mkdir call per feedback file
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            self.path = Path(tempfile.mkdtemp(dir=out_dir, prefix=STAGING_PREFIX))
        except OSError as exc:
            raise UsageError(
                f"{out_dir}: cannot write the reports there ({exc.strerror or exc}); "
                "pass --out with a folder you can write to"
            ) from None

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc_info: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    @contextmanager
    def open(self, name: str) -> Iterator[TextIO]:
        """A text file of the run to write into, e.g. ``report.json`` line by line."""
        _check_name(name)
        self.names.append(name)
        try:
            target = self.path / name
            if target.parent not in self._folders:
                target.parent.mkdir(parents=True, exist_ok=True)
                self._folders.add(target.parent)
            with open(target, "w", encoding="utf-8", newline="") as handle:
                yield handle
        except OSError as exc:
            raise GraderError(
                f"{self.out_dir}: could not write the reports ({exc.strerror or exc}); "
                "the previous reports there are unchanged"
            ) from None

    def write(self, name: str, content: Content) -> None:
        with self.open(name) as handle:
            if isinstance(content, str):
                handle.write(content)
            else:
                handle.writelines(content)

    def commit(self) -> list[Path]:
        """Move every file written into OUT_DIR; returns the top-level paths."""
        try:
            return _swap(self.path, self.out_dir, self.names)
        except OSError as exc:
            raise GraderError(
                f"{self.out_dir}: could not move the new reports into place "
                f"({exc.strerror or exc}); run again to replace every file"
            ) from None


def _check_name(name: str) -> None:
    top = name.split("/", 1)[0]
    if top != FEEDBACK_DIR and top not in MANAGED_FILES:
        raise ValueError(f"{name!r} is not a managed report file")
    if "/" in name and (top != FEEDBACK_DIR or name.count("/") != 1 or "\\" in name):
        raise ValueError(f"{name!r}: only feedback/<file> may be nested")


def _swap(staging: Path, out_dir: Path, files: Collection[str]) -> list[Path]:
    top_level = sorted(
        (name for name in files if "/" not in name), key=lambda name: (name == LAST, name)
    )
    written: list[Path] = []
    has_feedback = any(name.startswith(FEEDBACK_DIR + "/") for name in files)
    old_feedback = out_dir / FEEDBACK_DIR
    if has_feedback or old_feedback.exists():
        if old_feedback.is_dir() and not old_feedback.is_symlink():
            os.replace(old_feedback, staging / ".previous-feedback")
        elif old_feedback.exists() or old_feedback.is_symlink():
            old_feedback.unlink()
        if has_feedback:
            os.replace(staging / FEEDBACK_DIR, old_feedback)
            written.append(old_feedback)
    for name in top_level:
        if name == LAST:
            _remove_stale(out_dir, files)
        os.replace(staging / name, out_dir / name)
        written.append(out_dir / name)
    if LAST not in files:
        _remove_stale(out_dir, files)
    return sorted(written, key=lambda p: (p.name != LAST, p.name == FEEDBACK_DIR, p.name))


def _remove_stale(out_dir: Path, files: Collection[str]) -> None:
    for name in MANAGED_FILES:
        if name not in files:
            (out_dir / name).unlink(missing_ok=True)
