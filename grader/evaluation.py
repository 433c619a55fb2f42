"""Agreement between grader and a human's labels: gold files, metrics, disagreements.

Pure functions over a `Report` and gold labels; no file format other than the gold files is read
here. Metrics are written out (not imported) so their definitions are visible and dependency-free.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from grader.errors import UsageError
from grader.grading import Grader
from grader.loading import iter_submission_files, load_submission
from grader.matching import AnswerMatch, ItemMatch
from grader.models import Question, Report, Rubric, RubricRef, Submission

#: A key point counts as found when its credit reaches this (the issue's contract).
FOUND_CREDIT = 0.5

GoldLabels = dict[str, dict[str, set[str]]]  # submission → question → item ids present


# --- gold files ------------------------------------------------------------------------------


def load_gold(path: Path) -> GoldLabels:
    """Gold labels from JSON ({submission: {question: [item ids]}}) or CSV
    (submission,question,item,present)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read gold labels ({exc.strerror or exc})") from None
    if path.suffix.lower() == ".csv":
        return _gold_from_csv(text, path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected an object {{submission: {{question: [item ids]}}}}")
    gold: GoldLabels = {}
    for submission, questions in data.items():
        if not isinstance(questions, dict):
            raise UsageError(f"{path}: {submission}: expected {{question: [item ids]}}")
        gold[str(submission)] = {str(q): {str(i) for i in items} for q, items in questions.items()}
    return gold


_TRUE = {"1", "true", "yes", "y", "present", "t"}
_FALSE = {"0", "false", "no", "n", "absent", "f", ""}


def _gold_from_csv(text: str, path: Path) -> GoldLabels:
    reader = csv.DictReader(text.splitlines())
    needed = {"submission", "question", "item", "present"}
    if reader.fieldnames is None or not needed <= set(reader.fieldnames):
        raise UsageError(f"{path}: a gold CSV needs the columns {', '.join(sorted(needed))}")
    gold: GoldLabels = {}
    for line, row in enumerate(reader, start=2):
        present = (row["present"] or "").strip().lower()
        if present not in _TRUE | _FALSE:
            raise UsageError(f"{path}:{line}: present must be 1/0 or true/false, got {present!r}")
        labels = gold.setdefault(row["submission"].strip(), {}).setdefault(
            row["question"].strip(), set()
        )
        if present in _TRUE:
            labels.add(row["item"].strip())
    return gold


def check_gold_ids(gold: GoldLabels, rubric: Rubric, path: Path) -> None:
    """Gold labels must use the rubric's question and item ids."""
    items = {q.id: {i.id for i in [*q.key_points, *q.misconceptions]} for q in rubric.questions}
    for submission, questions in gold.items():
        for question, labels in questions.items():
            if question not in items:
                raise UsageError(f"{path}: {submission}: unknown question {question!r}")
            unknown = labels - items[question]
            if unknown:
                raise UsageError(
                    f"{path}: {submission}.{question}: unknown item(s) {', '.join(sorted(unknown))}"
                )


# --- metrics ----------------------------------------------------------------------------------


class BinaryScores(BaseModel):
    model_config = ConfigDict(frozen=True)

    precision: float
    recall: float
    f1: float
    kappa: float
    support: int = Field(description="Gold positives.")
    predicted: int = Field(description="Predicted positives.")
    total: int


def binary_scores(gold: Sequence[bool], predicted: Sequence[bool]) -> BinaryScores:
    tp = sum(g and p for g, p in zip(gold, predicted, strict=True))
    fp = sum(p and not g for g, p in zip(gold, predicted, strict=True))
    fn = sum(g and not p for g, p in zip(gold, predicted, strict=True))
    n = len(gold)
    precision = tp / (tp + fp) if tp + fp else 1.0 if tp + fn == 0 else 0.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return BinaryScores(
        precision=precision,
        recall=recall,
        f1=f1,
        kappa=cohen_kappa(gold, predicted),
        support=tp + fn,
        predicted=tp + fp,
        total=n,
    )


def cohen_kappa(a: Sequence[bool], b: Sequence[bool]) -> float:
    n = len(a)
    if n == 0:
        return 0.0
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pa, pb = sum(a) / n, sum(b) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    return 1.0 if expected == 1 else (observed - expected) / (1 - expected)


def quadratic_weighted_kappa(a: Sequence[int], b: Sequence[int]) -> float:
    """QWK over integer ratings (here: half points)."""
    if not a:
        return 0.0
    low, high = min(*a, *b), max(*a, *b)
    k = high - low + 1
    if k == 1:
        return 1.0
    observed = [[0.0] * k for _ in range(k)]
    for x, y in zip(a, b, strict=True):
        observed[x - low][y - low] += 1
    n = len(a)
    hist_a = [sum(row) for row in observed]
    hist_b = [sum(observed[i][j] for i in range(k)) for j in range(k)]
    numerator = denominator = 0.0
    for i in range(k):
        for j in range(k):
            weight = (i - j) ** 2 / (k - 1) ** 2
            numerator += weight * observed[i][j]
            denominator += weight * hist_a[i] * hist_b[j] / n
    return 1.0 if denominator == 0 else 1 - numerator / denominator


def pearson(a: Sequence[float], b: Sequence[float]) -> float:
    n = len(a)
    if n < 2:
        return 0.0
    ma, mb = sum(a) / n, sum(b) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b, strict=True))
    va = sum((x - ma) ** 2 for x in a)
    vb = sum((y - mb) ** 2 for y in b)
    return cov / math.sqrt(va * vb) if va > 0 and vb > 0 else 0.0


# --- evaluation -------------------------------------------------------------------------------


class Disagreement(BaseModel):
    model_config = ConfigDict(frozen=True)

    submission: str
    question: str
    item: str
    kind: str  # "key_point" or "misconception"
    gold: bool
    predicted: bool
    similarity: float
    evidence: str | None
    in_review: bool


class QuestionScores(BaseModel):
    model_config = ConfigDict(frozen=True)

    mae: float
    qwk: float
    pearson: float
    count: int


class ItemScores(BaseModel):
    model_config = ConfigDict(frozen=True)

    item: str
    precision: float
    recall: float
    f1: float
    kappa: float
    support: int
    predicted: int


class Evaluation(BaseModel):
    """What `grader eval --json` prints (the first three names are a contract)."""

    model_config = ConfigDict(frozen=True)

    key_points: BinaryScores
    misconceptions: BinaryScores
    questions: QuestionScores
    per_item: list[ItemScores]
    disagreements: list[Disagreement]
    review_share: float = Field(description="Answers flagged for review, as a share of all.")
    disagreements_in_review: float = Field(
        description="Share of disagreements inside answers flagged for review."
    )
    submissions: int
    answers: int


def gold_score(question: Question, labels: set[str]) -> float:
    earned = sum(kp.weight for kp in question.key_points if kp.id in labels and not kp.bonus)
    penalties = sum(m.penalty for m in question.misconceptions if m.id in labels)
    return min(question.max_score, max(0.0, earned - penalties))


MatchLookup = Callable[[str, str], AnswerMatch | None]


def evaluate(
    report: Report, rubric: Rubric, gold: GoldLabels, matches: MatchLookup | None = None
) -> Evaluation:
    """Compare a report with gold labels on the submissions both know. `matches` gives the
    matcher's raw output per (submission, question), so that a missed item still shows the
    sentence that came closest."""
    results = {s.id: s for s in report.submissions if s.status == "graded"}
    kp_gold: list[bool] = []
    kp_pred: list[bool] = []
    mc_gold: list[bool] = []
    mc_pred: list[bool] = []
    per_item: dict[str, tuple[list[bool], list[bool]]] = {}
    gold_scores: list[float] = []
    pred_scores: list[float] = []
    disagreements: list[Disagreement] = []
    answers = reviewed = 0
    for submission_id in sorted(gold):
        result = results.get(submission_id)
        if result is None:
            continue
        for question in rubric.questions:
            if question.id not in gold[submission_id]:
                continue
            labels = gold[submission_id][question.id]
            qr = next(q for q in result.questions if q.id == question.id)
            answers += 1
            reviewed += qr.needs_review
            gold_scores.append(gold_score(question, labels))
            pred_scores.append(qr.score)
            credits = {kp.id: kp.credit for kp in qr.key_points}
            flagged = {m.id for m in qr.misconceptions}
            decisions = [
                ("key_point", kp.id, credits[kp.id] >= FOUND_CREDIT, kp_gold, kp_pred)
                for kp in question.key_points
            ] + [
                ("misconception", m.id, m.id in flagged, mc_gold, mc_pred)
                for m in question.misconceptions
            ]
            for kind, item, found, golds, predictions in decisions:
                truth = item in labels
                golds.append(truth)
                predictions.append(found)
                _tally(per_item, item, truth, found)
                if found != truth:
                    disagreements.append(
                        _disagreement(
                            result.id,
                            qr.id,
                            item,
                            kind,
                            truth,
                            found,
                            _closest(matches, result.id, qr.id, item),
                            qr.needs_review,
                        )
                    )
    half_gold = [round(s * 2) for s in gold_scores]
    half_pred = [round(s * 2) for s in pred_scores]
    n = len(gold_scores)
    return Evaluation(
        key_points=binary_scores(kp_gold, kp_pred),
        misconceptions=binary_scores(mc_gold, mc_pred),
        questions=QuestionScores(
            mae=sum(abs(g - p) for g, p in zip(gold_scores, pred_scores, strict=True)) / n
            if n
            else 0,
            qwk=quadratic_weighted_kappa(half_gold, half_pred),
            pearson=pearson(gold_scores, pred_scores),
            count=n,
        ),
        per_item=[
            ItemScores(item=item, **_item_scores(g, p)) for item, (g, p) in sorted(per_item.items())
        ],
        disagreements=disagreements,
        review_share=reviewed / answers if answers else 0.0,
        disagreements_in_review=(
            sum(d.in_review for d in disagreements) / len(disagreements) if disagreements else 1.0
        ),
        submissions=len({d for d in gold if d in results}),
        answers=answers,
    )


def _tally(
    per_item: dict[str, tuple[list[bool], list[bool]]], item: str, truth: bool, found: bool
) -> None:
    gold, predicted = per_item.setdefault(item, ([], []))
    gold.append(truth)
    predicted.append(found)


def _item_scores(gold: list[bool], predicted: list[bool]) -> dict[str, float | int]:
    scores = binary_scores(gold, predicted)
    return {
        "precision": scores.precision,
        "recall": scores.recall,
        "f1": scores.f1,
        "kappa": scores.kappa,
        "support": scores.support,
        "predicted": scores.predicted,
    }


def _closest(matches: MatchLookup | None, submission: str, question: str, item: str) -> ItemMatch:
    match = matches(submission, question) if matches else None
    if match is None:
        return ItemMatch(item, 0.0)
    return match.key_points.get(item) or match.misconceptions.get(item) or ItemMatch(item, 0.0)


def _disagreement(
    submission: str,
    question: str,
    item: str,
    kind: str,
    truth: bool,
    found: bool,
    closest: ItemMatch,
    in_review: bool,
) -> Disagreement:
    return Disagreement(
        submission=submission,
        question=question,
        item=item,
        kind=kind,
        gold=truth,
        predicted=found,
        similarity=closest.similarity,
        evidence=closest.evidence,
        in_review=in_review,
    )


def folds(ids: Iterable[str], k: int) -> list[list[str]]:
    """Deterministic K folds of submission ids (sorted, dealt round-robin)."""
    ordered = sorted(ids)
    if k < 2 or k > len(ordered):
        raise UsageError(f"--cv needs 2 <= K <= {len(ordered)} (the labelled submissions)")
    return [ordered[i::k] for i in range(k)]


def load_labelled(folder: Path, rubric: Rubric, gold: GoldLabels) -> list[Submission]:
    """The submissions in `folder` that have gold labels, parsed, in id order."""
    paths = [p for p in iter_submission_files(folder) if p.stem in gold]
    if not paths:
        raise UsageError(f"{folder}: none of the labelled submissions ({len(gold)}) is there")
    return sorted((load_submission(p, rubric) for p in paths), key=lambda s: s.id)


def evaluate_submissions(
    rubric: Rubric,
    submissions: Sequence[Submission],
    gold: GoldLabels,
    grader_for: Callable[[Submission], Grader],
) -> Evaluation:
    """Grade each submission with the grader `grader_for` picks (one for all, or one per
    cross-validation fold) and compare with `gold`."""
    results = []
    matches: dict[str, dict[str, AnswerMatch | None]] = {}
    for submission in submissions:
        [(result, matched)] = grader_for(submission).grade_with_matches([submission])
        results.append(result)
        if submission.error is None:
            matches[submission.id] = matched
    report = Report(
        rubric=RubricRef(id=rubric.id, title=rubric.title),
        max_score=rubric.max_score,
        submissions=sorted(results, key=lambda r: r.id),
    )
    return evaluate(report, rubric, gold, lambda s, q: matches.get(s, {}).get(q))
