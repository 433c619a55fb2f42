"""Pydantic models for what users write (rubrics) and read (results, reports). No I/O here."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

REPORT_SCHEMA_VERSION = 1

Identifier = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$"),
]
NonEmptyText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Phrasings = Annotated[list[NonEmptyText], Field(min_length=1)]


class _UserModel(BaseModel):
    """Models that people write by hand: a mistyped key must fail loudly."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RubricItem(_UserModel):
    """What key points and misconceptions share: an id, a description and phrasings."""

    id: Identifier
    description: NonEmptyText = Field(description="Shown to students (as a hint when missing).")
    phrasings: Phrasings = Field(description="Several ways students say it, plain and technical.")


class KeyPoint(RubricItem):
    """An idea a full answer must contain."""

    weight: float = Field(gt=0, description="Points this key point is worth.")
    bonus: bool = Field(
        default=False,
        description="A bonus key point earns no points; it is reported as a strength.",
    )


class Misconception(RubricItem):
    """A known wrong claim that costs points when an answer makes it."""

    penalty: float = Field(gt=0, description="Points deducted when the claim is made.")
    feedback: NonEmptyText = Field(description="What to tell the student, and why it is wrong.")
    contradicts: list[Identifier] = Field(
        default_factory=list,
        description="Key points this claim contradicts; an answer matching both is sent to review.",
    )
    excused_by: list[Identifier] = Field(
        default_factory=list,
        description="Key points that, stated in the same sentence, explain the wording away "
        '("MC Dropout ... so inference is slower" is not the claim that dropout slows inference).',
    )


class Question(_UserModel):
    """One question of an assignment, with what a good answer says and what a bad one claims."""

    id: Identifier
    text: NonEmptyText
    reference_answer: str | None = None
    accepts_lists: bool = Field(
        default=False,
        description='Bare lists are proper answers here ("Name three ways..."): they are not '
        "capped as keyword lists.",
    )
    key_points: list[KeyPoint] = Field(default_factory=list)
    misconceptions: list[Misconception] = Field(default_factory=list)

    @property
    def max_score(self) -> float:
        """Sum of the weights of the non-bonus key points."""
        return sum(kp.weight for kp in self.key_points if not kp.bonus)

    @model_validator(mode="after")
    def _unique_item_ids(self) -> Question:
        seen: set[str] = set()
        items: list[RubricItem] = [*self.key_points, *self.misconceptions]
        for item in items:
            if item.id in seen:
                raise ValueError(
                    f"duplicate item id {item.id!r} in question {self.id!r}: "
                    "give every key point and misconception its own id"
                )
            seen.add(item.id)
        key_point_ids = {kp.id for kp in self.key_points}
        for misconception in self.misconceptions:
            for field, targets in (
                ("contradicts", misconception.contradicts),
                ("excused_by", misconception.excused_by),
            ):
                for target in targets:
                    if target not in key_point_ids:
                        raise ValueError(
                            f"misconception {misconception.id!r}: {field} names unknown key point "
                            f"{target!r}; use one of: {', '.join(sorted(key_point_ids))}"
                        )
        return self


class Rubric(_UserModel):
    """A grading rubric for one assignment."""

    id: Identifier
    title: NonEmptyText
    questions: Annotated[list[Question], Field(min_length=1)]

    @property
    def max_score(self) -> float:
        return sum(q.max_score for q in self.questions)

    def question(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)

    @model_validator(mode="after")
    def _unique_ids(self) -> Rubric:
        seen_questions: set[str] = set()
        seen_items: dict[str, str] = {}
        for question in self.questions:
            if question.id in seen_questions:
                raise ValueError(
                    f"duplicate question id {question.id!r}: give every question its own id"
                )
            seen_questions.add(question.id)
            items: list[RubricItem] = [*question.key_points, *question.misconceptions]
            for item in items:
                if item.id in seen_items and seen_items[item.id] != question.id:
                    raise ValueError(
                        f"item id {item.id!r} is used in questions {seen_items[item.id]!r} and "
                        f"{question.id!r}: item ids must be unique across the rubric"
                    )
                seen_items[item.id] = question.id
        return self


class ScoringPolicy(_UserModel):
    """Thresholds that turn similarities into decisions. Defaults were tuned on the
    DL_Assignment_14 dev labels (see docs/accuracy.md); a calibration file can replace them."""

    credit_low: float = Field(0.30, ge=0, le=1, description="Similarity that earns no credit.")
    credit_high: float = Field(0.50, ge=0, le=1, description="Similarity that earns full credit.")
    misconception_threshold: float = Field(0.65, ge=0, le=1)
    # 0.08: on the DL_Assignment_14 dev labels about a third of the answers are flagged and they
    # hold about two thirds of the disagreements with the TA (0.05 caught 41% when measured).
    review_margin: float = Field(
        0.08, ge=0, le=1, description="Evidence this close to a threshold is sent to review."
    )
    keyword_list_cap: float = Field(
        1 / 3, ge=0, le=1, description="Share of a question's points a bare keyword list can earn."
    )
    off_topic_share: float = Field(0.8, ge=0, le=1)

    @property
    def credit_threshold(self) -> float:
        """The similarity at which a key point counts as found (credit 0.5)."""
        return (self.credit_low + self.credit_high) / 2


class Calibration(_UserModel):
    """What `grader calibrate` writes beside the rubric; `grade`, `check` and `eval` read it."""

    rubric_id: str
    rubric_fingerprint: str = Field(description="sha256 of the rubric content it was fitted on.")
    feature_weights: tuple[float, float, float, float]
    policy: ScoringPolicy
    submissions: int = Field(ge=0, description="Labelled submissions it was fitted on.")
    answers: int = Field(ge=0)


# --- what the library reads from submission files ---------------------------------------------


class Submission(BaseModel):
    """One student's answers, keyed by question id, as parsed from their file(s)."""

    model_config = ConfigDict(frozen=True)

    id: str
    source: str
    answers: dict[str, str] = Field(default_factory=dict)
    error: str | None = None
    notes: list[str] = Field(default_factory=list)
    needs_review: bool = False
    name: str | None = Field(default=None, description="The student's name or login, from the LMS.")
    late: bool = Field(default=False, description="Marked late by the LMS (Canvas's _LATE_).")
    files: list[str] = Field(default_factory=list, description="Every input file of it.")
    duplicates: list[str] = Field(
        default_factory=list, description="Other submissions with the same student id."
    )
    superseded_by: str | None = Field(
        default=None, description="The newer submission of the same student id, graded instead."
    )
    unsplit_text: str | None = Field(
        default=None,
        description="The text when it has no question headings; the grader aligns its "
        "paragraphs to the questions.",
    )


# --- what the library returns ----------------------------------------------------------------


class Evidence(BaseModel):
    """The part of an answer that earned (or triggered) an item, and how similar it was."""

    model_config = ConfigDict(frozen=True)

    text: str
    similarity: float = Field(ge=0, le=1)
    phrasing: str | None = Field(default=None, description="The rubric phrasing it matched best.")


class KeyPointResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    credit: float = Field(ge=0, le=1)
    points: float
    bonus: bool = False
    evidence: Evidence | None = None


class MisconceptionResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    penalty: float
    evidence: Evidence | None = None
    feedback: str = ""


class Override(BaseModel):
    """A TA's grade for one answer. It replaces the automatic score, whatever the rubric says."""

    model_config = ConfigDict(frozen=True)

    points: float = Field(ge=0)
    comment: str = ""
    by: str | None = Field(default=None, description="Who decided it.")
    auto_score: float | None = Field(
        default=None, description="What the rubric gives this answer now (None: not gradable)."
    )
    previous_auto_score: float | None = Field(
        default=None, description="The automatic score when the override was made."
    )
    answer_changed: bool = Field(
        default=False,
        description="The answer text changed since the override (a resubmission): review it.",
    )


class QuestionResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    score: float
    max_score: float
    answered: bool
    key_points: list[KeyPointResult]
    misconceptions: list[MisconceptionResult]
    confidence: float = Field(ge=0, le=1, default=1.0)
    needs_review: bool = False
    review_reasons: list[str] = Field(default_factory=list)
    manual: bool = Field(default=False, description="The score is a TA's override.")
    override: Override | None = None


SubmissionStatus = Literal["graded", "error"]


class SubmissionResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    source: str
    status: SubmissionStatus
    error: str | None = None
    score: float | None = None
    max_score: float
    needs_review: bool = False
    notes: list[str] = Field(default_factory=list)
    questions: list[QuestionResult] = Field(default_factory=list)
    manual: bool = Field(default=False, description="At least one question has a TA's override.")
    # The answer text graded per question, for the gradebook (hashes, review groups); never
    # written to report.json.
    answers: dict[str, str] = Field(default_factory=dict, exclude=True, repr=False)
    name: str | None = None
    late: bool = False
    files: list[str] = Field(default_factory=list)
    duplicates: list[str] = Field(default_factory=list)
    # Set on an older hand-in of a student id that also handed in a newer one (its error says
    # so): the gradebook keeps one result per student. Not written to report.json.
    superseded_by: str | None = Field(default=None, exclude=True, repr=False)


class RubricRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    title: str


class Report(BaseModel):
    """Everything one grading run produced; `report.json` is this model, serialised."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = REPORT_SCHEMA_VERSION
    rubric: RubricRef
    max_score: float
    submissions: list[SubmissionResult]

    @property
    def error_count(self) -> int:
        return sum(1 for s in self.submissions if s.status == "error")
