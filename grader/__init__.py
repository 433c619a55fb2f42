"""grader: explainable auto-grading of free-text answers against a rubric."""

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
