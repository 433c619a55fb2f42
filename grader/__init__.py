"""grader: explainable auto-grading of free-text answers against a rubric."""

# Names are imported on first use (PEP 562), so that `import grader` stays cheap: the CLI's
# `--help`, `rubric lint` and `rubric schema` must not pay for scikit-learn, which only
# matching needs (see docs/performance.md).
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.errors import GraderError, RubricError, SubmissionError, UsageError
    from grader.grading import Grader, grade_batch, grade_folder, grade_paths
    from grader.loading import load_rubric, load_submission, open_batch, parse_rubric
    from grader.matching import AnswerMatch, ItemMatch, RubricMatcher
    from grader.models import (
        Calibration,
        Evidence,
        KeyPoint,
        KeyPointResult,
        Misconception,
        MisconceptionResult,
        Question,
        QuestionResult,
        Report,
        Rubric,
        ScoringPolicy,
        Submission,
        SubmissionResult,
    )
    from grader.scoring import score_question

__version__ = "0.1.0"

_HOMES = {
    "grader.errors": ["GraderError", "RubricError", "SubmissionError", "UsageError"],
    "grader.grading": ["Grader", "grade_batch", "grade_folder", "grade_paths"],
    "grader.loading": ["load_rubric", "load_submission", "open_batch", "parse_rubric"],
    "grader.matching": ["AnswerMatch", "ItemMatch", "RubricMatcher"],
    "grader.models": [
        "Calibration",
        "Evidence",
        "KeyPoint",
        "KeyPointResult",
        "Misconception",
        "MisconceptionResult",
        "Question",
        "QuestionResult",
        "Report",
        "Rubric",
        "ScoringPolicy",
        "Submission",
        "SubmissionResult",
    ],
    "grader.scoring": ["score_question"],
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "AnswerMatch",
    "Calibration",
    "Evidence",
    "Grader",
    "GraderError",
    "ItemMatch",
    "KeyPoint",
    "KeyPointResult",
    "Misconception",
    "MisconceptionResult",
    "Question",
    "QuestionResult",
    "Report",
    "Rubric",
    "RubricError",
    "RubricMatcher",
    "ScoringPolicy",
    "Submission",
    "SubmissionError",
    "SubmissionResult",
    "UsageError",
    "__version__",
    "grade_batch",
    "grade_folder",
    "grade_paths",
    "load_rubric",
    "load_submission",
    "open_batch",
    "parse_rubric",
    "score_question",
]


def __getattr__(name: str) -> object:
    home = _HOME_OF.get(name)
    if home is None:
        raise AttributeError(f"module 'grader' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOME_OF])
