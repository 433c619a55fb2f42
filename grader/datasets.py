"""Files of questions with reference answers, and of graded answers: the inputs of
`grader rubric init` (a questions file) and `grader eval --dataset` (a benchmark CSV).

Reading only; every problem names the file, the line and the fix.
"""

from __future__ import annotations

import csv
import math
import re
import sys
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from grader.errors import DataFileError, SubmissionError
from grader.loading import decode_bytes
from grader.models import Identifier
from grader.text import normalize_text

#: Files larger than this are refused: the public benchmarks are a few MB.
MAX_TABLE_BYTES = 200_000_000

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class ReferenceQuestion(BaseModel):
    """A question with its model answer, as an instructor writes it."""

    model_config = ConfigDict(frozen=True)

    id: Identifier
    text: str
    reference_answer: str
    line: int | None = None


class QuestionsFile(BaseModel):
    model_config = ConfigDict(frozen=True)

    title: str | None
    questions: list[ReferenceQuestion]


class GradedAnswer(BaseModel):
    """One row of a dataset: a student's answer with its human grade."""

    model_config = ConfigDict(frozen=True)

    question_id: str
    question: str
    reference_answer: str
    answer: str
    score: float | None = None
    label: str | None = None
    fold: str | None = None
    #: False for rows a protocol leaves out of its figures (Mohler's alignment-annotated answers).
    evaluated: bool = True
    line: int


class Dataset(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    rows: list[GradedAnswer]
    #: Rows that could not be used, one message each (file:line: reason).
    skipped: list[str] = []

    @property
    def has_folds(self) -> bool:
        return all(r.fold is not None for r in self.rows)


# --- questions files ------------------------------------------------------------------------

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t#]*$", re.MULTILINE)
_QUESTION_NUMBER = re.compile(
    r"^(?:\*\*)?(?:q(?:uestion)?|ex(?:ercise)?)?[ \t]*[-.#]?[ \t]*(\d+(?:\.\d+)*[a-z]?)\b[ \t]*[.:)\-]*[ \t]*",
    re.IGNORECASE,
)
_REFERENCE_LABEL = re.compile(
    r"^[ \t]*(?:[*_]{1,2})?(?:reference(?:[ \t]+answer)?|model[ \t]+answer|answer[ \t]+key)"
    r"(?:[*_]{1,2})?[ \t]*:(?:[*_]{1,2})?[ \t]*",
    re.IGNORECASE | re.MULTILINE,
)


def load_questions(path: Path | str) -> QuestionsFile:
    """Questions and model answers from Markdown (`### Q1` headings, a `Reference:` block each)
    or CSV (columns `id`, `question`, `reference_answer`; `question_id` is read as `id`)."""
    path = Path(path)
    text = _read(path)
    if path.suffix.lower() in {".csv", ".tsv"}:
        return _questions_from_table(path, text)
    return _questions_from_markdown(path, text)


def _read(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_TABLE_BYTES:
            raise DataFileError(
                path, f"too large ({size:,} bytes; the limit is {MAX_TABLE_BYTES:,})"
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataFileError(path, "file not found") from None
    except IsADirectoryError:
        raise DataFileError(path, "is a folder; pass a file") from None
    except OSError as exc:
        raise DataFileError(path, f"cannot read the file ({exc.strerror or exc})") from None
    try:
        return normalize_text(decode_bytes(raw, path))
    except SubmissionError as exc:
        raise DataFileError(path, exc.reason) from None


def _questions_from_markdown(path: Path, text: str) -> QuestionsFile:
    headings = list(_HEADING.finditer(text))
    title: str | None = None
    questions: list[ReferenceQuestion] = []
    seen: dict[str, int] = {}
    for index, heading in enumerate(headings):
        level, label = len(heading.group(1)), heading.group(2).strip()
        line = text.count("\n", 0, heading.start()) + 1
        body = text[
            heading.end() : headings[index + 1].start() if index + 1 < len(headings) else len(text)
        ]
        number = _QUESTION_NUMBER.match(label)
        if level == 1 and not number and not questions and title is None:
            title = label
            continue
        if number:
            qid = "q" + number.group(1).lower()
            lead = label[number.end() :].strip()
        else:
            qid = f"q{len(questions) + 1}"
            lead = label
        reference_label = _REFERENCE_LABEL.search(body)
        if reference_label is None:
            raise DataFileError(
                path,
                f"question {label!r} has no reference answer; add a line 'Reference: ...' "
                "with the model answer below the question",
                line=line,
            )
        question_text = " ".join(
            part for part in (lead, _squash(body[: reference_label.start()])) if part
        )
        reference = body[reference_label.end() :].strip()
        if not question_text:
            raise DataFileError(
                path, f"question {label!r} has no text; write it below the heading", line=line
            )
        if not reference.strip():
            raise DataFileError(
                path, f"question {label!r} has an empty reference answer", line=line
            )
        if qid in seen:
            raise DataFileError(
                path,
                f"question id {qid!r} is used twice (lines {seen[qid]} and {line}); renumber one",
                line=line,
            )
        seen[qid] = line
        questions.append(
            ReferenceQuestion(id=qid, text=question_text, reference_answer=reference, line=line)
        )
    if not questions:
        raise DataFileError(
            path,
            "no questions found: write each as a heading ('### Q1'), the question below it, "
            "then a line 'Reference: ...' with the model answer",
        )
    return QuestionsFile(title=title, questions=questions)


def _squash(text: str) -> str:
    return " ".join(text.split())


def _read_table(
    path: Path, text: str, required: dict[str, tuple[str, ...]]
) -> tuple[dict[str, str], list[tuple[int, dict[str, str]]]]:
    """Rows of a CSV as (line, {column: value}); `required` maps each needed column to the
    names it may go by. Returns the column chosen for each and the rows."""
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.reader(text.splitlines(keepends=True), delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise DataFileError(path, "empty file; the first line must name the columns") from None
    except csv.Error as exc:
        raise DataFileError(path, f"not a readable CSV ({exc})", line=1) from None
    lowered = {h.lower(): h for h in header}
    chosen: dict[str, str] = {}
    for name, aliases in required.items():
        found = next((lowered[a] for a in aliases if a in lowered), None)
        if found is not None:
            chosen[name] = found
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            rows.append((reader.line_num, dict(zip(header, record, strict=False))))
    except csv.Error as exc:
        raise DataFileError(path, f"not a readable CSV ({exc})", line=reader.line_num) from None
    return chosen, rows


def _missing_columns(
    path: Path, chosen: dict[str, str], needed: tuple[str, ...], header_hint: str
) -> None:
    missing = [name for name in needed if name not in chosen]
    if missing:
        raise DataFileError(
            path,
            f"missing column(s) {', '.join(missing)}; the first line must name {header_hint}",
            line=1,
        )


def _questions_from_table(path: Path, text: str) -> QuestionsFile:
    chosen, rows = _read_table(
        path,
        text,
        {
            "id": ("id", "question_id"),
            "question": ("question", "question_text", "text"),
            "reference_answer": ("reference_answer", "reference", "model_answer"),
        },
    )
    _missing_columns(
        path, chosen, ("id", "question", "reference_answer"), "id,question,reference_answer"
    )
    questions: list[ReferenceQuestion] = []
    by_id: dict[str, ReferenceQuestion] = {}
    for line, row in rows:
        qid = row.get(chosen["id"], "").strip()
        question = _squash(row.get(chosen["question"], ""))
        reference = row.get(chosen["reference_answer"], "").strip()
        if not qid:
            raise DataFileError(path, "empty id; give every question an id", line=line)
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+", qid):
            raise DataFileError(
                path, f"id {qid!r} may contain only letters, digits, '.', '_' and '-'", line=line
            )
        if not question or not reference:
            missing = "question" if not question else "reference_answer"
            raise DataFileError(path, f"question {qid!r} has an empty {missing}", line=line)
        if qid in by_id:
            # A dataset CSV repeats each question on every answer row: identical repeats are fine.
            first = by_id[qid]
            if first.text != question or first.reference_answer != reference:
                raise DataFileError(
                    path,
                    f"question id {qid!r} appears with different text on lines {first.line} "
                    f"and {line}; give each question its own id",
                    line=line,
                )
            continue
        by_id[qid] = ReferenceQuestion(id=qid, text=question, reference_answer=reference, line=line)
        questions.append(by_id[qid])
    if not questions:
        raise DataFileError(path, "no questions: the file has a header but no rows")
    return QuestionsFile(title=None, questions=questions)


# --- datasets -------------------------------------------------------------------------------

_DATASET_COLUMNS: dict[str, tuple[str, ...]] = {
    "question_id": ("question_id", "qid", "id"),
    "question": ("question", "question_text"),
    "reference_answer": ("reference_answer", "reference", "model_answer"),
    "student_answer": ("student_answer", "answer"),
    "score": ("score",),
    "label": ("label",),
    "fold": ("cv_fold", "fold"),
    "alignment_annotated": ("alignment_annotated",),
}
_TRUE = {"true", "1", "yes"}


def load_dataset(path: Path | str, *, target: str = "score") -> Dataset:
    """Graded answers from a CSV with columns `question_id`, `question`, `reference_answer`,
    `student_answer` and the gold column `target` (`score` or `label`); optional `cv_fold`.
    Other columns are ignored. Rows without a usable gold value are skipped and listed."""
    if target not in {"score", "label"}:
        raise ValueError(f"target must be 'score' or 'label', not {target!r}")
    path = Path(path)
    chosen, rows = _read_table(path, _read(path), _DATASET_COLUMNS)
    if target == "label" and "label" not in chosen and "score" in chosen:
        target = "score_as_label"
    needed = ("question_id", "question", "reference_answer", "student_answer")
    gold_column = "label" if target == "label" else "score"
    _missing_columns(
        path,
        chosen,
        (*needed, gold_column),
        f"question_id,question,reference_answer,student_answer,{gold_column}",
    )
    answers: list[GradedAnswer] = []
    skipped: list[str] = []
    for line, row in rows:
        values = {name: row.get(column, "") for name, column in chosen.items()}
        qid = values["question_id"].strip()
        if not qid:
            skipped.append(f"{path}:{line}: empty question_id")
            continue
        if not values["reference_answer"].strip():
            skipped.append(f"{path}:{line}: empty reference_answer")
            continue
        score: float | None = None
        label: str | None = None
        raw_gold = values[gold_column].strip()
        if not raw_gold:
            skipped.append(f"{path}:{line}: no {gold_column}")
            continue
        if target == "label":
            label = raw_gold.lower()
        else:
            try:
                score = float(raw_gold)
            except ValueError:
                score = math.nan
            if not math.isfinite(score):
                skipped.append(f"{path}:{line}: {gold_column} {raw_gold!r} is not a number")
                continue
            if target == "score_as_label":
                label = _format_label(score)
        fold = values["fold"].strip() or None if "fold" in chosen else None
        annotated = values.get("alignment_annotated", "").strip().lower() in _TRUE
        answers.append(
            GradedAnswer(
                question_id=qid,
                question=_squash(values["question"]),
                reference_answer=values["reference_answer"].strip(),
                answer=values["student_answer"],
                score=score,
                label=label,
                fold=fold,
                evaluated=not annotated,
                line=line,
            )
        )
    if not answers:
        raise DataFileError(path, "no usable rows" + (f": {skipped[0]}" if skipped else ""))
    return Dataset(path=str(path), rows=answers, skipped=skipped)


def _format_label(score: float) -> str:
    return str(int(score)) if score.is_integer() else str(score)
