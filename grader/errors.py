"""Errors the library raises. Each knows where the problem is, so the CLI can say it plainly."""

from __future__ import annotations

from pathlib import Path


class GraderError(Exception):
    """Base class: anything a user can fix. The CLI prints the message, never a traceback."""

    exit_code = 1


class UsageError(GraderError):
    """The command was called with paths or options that cannot work."""

    exit_code = 2


class RubricError(GraderError):
    """A rubric file is missing, not YAML, or does not follow the rubric format."""

    exit_code = 2

    def __init__(
        self,
        path: Path | str,
        message: str,
        *,
        location: str | None = None,
        line: int | None = None,
    ) -> None:
        self.path = str(path)
        self.location = location
        self.line = line
        self.detail = message
        where = self.path + (f":{line}" if line is not None else "")
        if location:
            where += f": {location}"
        super().__init__(f"{where}: {message}")


class SubmissionError(GraderError):
    """A submission file could not be read or parsed into answers."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class _DataFileProblem(GraderError):
    """A user's data file (roster, questions, dataset) is wrong at a file and line."""

    exit_code = 2

    def __init__(self, path: Path | str, message: str, *, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.detail = message
        where = self.path + (f":{line}" if line is not None else "")
        super().__init__(f"{where}: {message}")


class RosterError(_DataFileProblem):
    """A roster CSV is missing, unreadable, or lacks what the chosen gradebook format needs."""


class DataFileError(_DataFileProblem):
    """A questions file or a dataset CSV does not follow its format."""


class GradebookError(GraderError):
    """The gradebook database cannot be opened, upgraded or updated as asked."""

    exit_code = 2


def internal_failure(step: str, exc: Exception) -> str:
    """The error row of a submission on which grader itself failed (`step`: "read", "graded"):
    it names the failure and asks for a report, since the file is what reproduces it."""
    return (
        f"could not be {step}: internal error ({type(exc).__name__}: {exc}); "
        "please report it to the grader's developers with this file"
    )
