"""Calibration from a TA's labels: learn the blend of similarity features and the thresholds
that best reproduce hand-graded answers, and keep them in a file beside the rubric.

The fit is deliberately small (a logistic regression over four features, then a threshold scan),
so ten hand-graded submissions are enough and `grader eval --cv K` can show how well it carries
over to answers it has not seen.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.evaluation import Evaluation, GoldLabels, cohen_kappa, evaluate_submissions, folds
from grader.grading import Grader
from grader.loading import load_calibration, load_rubric
from grader.matching import RubricMatcher
from grader.models import Calibration, Rubric, Submission
from grader.scoring import DEFAULT_POLICY

CALIBRATION_SUFFIX = ".calibration.json"
#: Credit rises over this span around the learned threshold (the default policy's span).
CREDIT_SPAN = DEFAULT_POLICY.credit_high - DEFAULT_POLICY.credit_low
#: Misconceptions cost points: prefer thresholds that keep precision at least this high.
MISCONCEPTION_PRECISION = 0.9


def calibration_path(rubric_path: Path) -> Path:
    """`rubrics/dl14.yaml` → `rubrics/dl14.calibration.json`."""
    return rubric_path.with_name(rubric_path.stem + CALIBRATION_SUFFIX)


def rubric_fingerprint(rubric: Rubric) -> str:
    """A hash of what the rubric says (not of its comments or layout)."""
    return hashlib.sha256(rubric.model_dump_json().encode("utf-8")).hexdigest()


def cross_validate(
    rubric: Rubric, submissions: Sequence[Submission], gold: GoldLabels, k: int
) -> Evaluation:
    """K-fold cross-validated agreement: each fold is graded with a calibration fitted on the
    other folds only, then all folds are scored together."""
    labelled = [s for s in submissions if s.id in gold]
    graders: dict[str, Grader] = {}
    for held_out in folds([s.id for s in labelled], k):
        training = [s for s in labelled if s.id not in held_out]
        grader = calibrated_grader(rubric, fit_calibration(rubric, training, gold))
        graders.update(dict.fromkeys(held_out, grader))
    return evaluate_submissions(rubric, labelled, gold, lambda s: graders[s.id])


def calibrated_grader(rubric: Rubric, calibration: Calibration | None) -> Grader:
    if calibration is None:
        return Grader(rubric)
    matcher = RubricMatcher(feature_weights=calibration.feature_weights)
    return Grader(rubric, matcher=matcher, policy=calibration.policy)


@dataclass(frozen=True)
class _Example:
    is_misconception: bool
    label: bool
    features: tuple[float, ...]


def _examples(
    grader: Grader, submissions: Sequence[Submission], gold: GoldLabels
) -> list[_Example]:
    examples: list[_Example] = []
    for submission in submissions:
        if submission.error is not None or submission.id not in gold:
            continue
        matches = grader.match_submission(submission)
        for question in grader.rubric.questions:
            if question.id not in gold[submission.id]:
                continue
            labels = gold[submission.id][question.id]
            match = matches[question.id]
            for kp in question.key_points:
                item = match.key_points[kp.id] if match else None
                examples.append(_Example(False, kp.id in labels, _features_of(item)))
            for m in question.misconceptions:
                item = match.misconceptions[m.id] if match else None
                examples.append(_Example(True, m.id in labels, _features_of(item)))
    return examples


def _features_of(item: object) -> tuple[float, ...]:
    features = getattr(item, "features", ())
    return tuple(features) if features else (0.0, 0.0, 0.0, 0.0, 0.0)


def fit_calibration(
    rubric: Rubric, submissions: Sequence[Submission], gold: GoldLabels
) -> Calibration:
    """Learn feature weights (logistic regression, non-negative) and thresholds from labels."""
    from sklearn.linear_model import LogisticRegression  # only calibration needs it

    labelled = [s for s in submissions if s.id in gold and s.error is None]
    examples = _examples(Grader(rubric), labelled, gold)
    x = np.array([e.features[:4] for e in examples])
    y = np.array([e.label for e in examples])
    weights = DEFAULT_WEIGHTS
    if len(set(y.tolist())) == 2:
        model = LogisticRegression(class_weight="balanced", C=1.0, max_iter=1000).fit(x, y)
        learned = np.clip(model.coef_[0], 0.0, None)
        if learned.sum() > 0:
            weights = tuple(float(round(w / learned.sum(), 4)) for w in learned)  # type: ignore[assignment]
    refit = Grader(rubric, matcher=RubricMatcher(feature_weights=weights))
    rescored = _examples(refit, labelled, gold)
    matcher = refit.matcher
    key_points = [
        (float(matcher.blend(np.array(e.features))), e.label)
        for e in rescored
        if not e.is_misconception
    ]
    claims = [
        (float(matcher.blend(np.array(e.features))), e.label)
        for e in rescored
        if e.is_misconception
    ]
    found_at = _best_key_point_threshold(key_points)
    low = max(0.0, found_at - CREDIT_SPAN / 2)
    policy = DEFAULT_POLICY.model_copy(
        update={
            "credit_low": round(low, 4),
            "credit_high": round(min(1.0, low + CREDIT_SPAN), 4),
            "misconception_threshold": round(_best_misconception_threshold(claims), 4),
        }
    )
    return Calibration(
        rubric_id=rubric.id,
        rubric_fingerprint=rubric_fingerprint(rubric),
        feature_weights=weights,
        policy=policy,
        submissions=len(labelled),
        answers=sum(len(gold[s.id]) for s in labelled),
    )


DEFAULT_WEIGHTS: tuple[float, float, float, float] = RubricMatcher().feature_weights

_GRID = [round(t, 2) for t in np.arange(0.05, 0.96, 0.01)]


def _best_key_point_threshold(rows: list[tuple[float, bool]]) -> float:
    """The similarity threshold that maximises F1 + Cohen's kappa (ties: the lowest)."""
    if not rows:
        return DEFAULT_POLICY.credit_threshold
    best_score, best_t = -np.inf, DEFAULT_POLICY.credit_threshold
    labels = [label for _, label in rows]
    for t in _GRID:
        predicted = [sim >= t for sim, _ in rows]
        score = _f1(labels, predicted) + cohen_kappa(labels, predicted)
        if score > best_score + 1e-12:
            best_score, best_t = score, t
    return float(best_t)


def _best_misconception_threshold(rows: list[tuple[float, bool]]) -> float:
    """The lowest threshold reaching the best F1 among those with precision ≥ 0.9 (or the best
    F1 outright when none does)."""
    if not rows or not any(label for _, label in rows):
        return DEFAULT_POLICY.misconception_threshold
    labels = [label for _, label in rows]
    candidates = []
    for t in _GRID:
        predicted = [sim >= t for sim, _ in rows]
        tp = sum(p and g for p, g in zip(predicted, labels, strict=True))
        precision = tp / sum(predicted) if any(predicted) else 0.0
        candidates.append((precision >= MISCONCEPTION_PRECISION, _f1(labels, predicted), -t))
    _, _, negative_t = max(candidates)
    return float(-negative_t)


def _f1(gold: list[bool], predicted: list[bool]) -> float:
    tp = sum(g and p for g, p in zip(gold, predicted, strict=True))
    fp = sum(p and not g for g, p in zip(gold, predicted, strict=True))
    fn = sum(g and not p for g, p in zip(gold, predicted, strict=True))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def load_grader(
    rubric_path: Path, *, use_calibration: bool = True
) -> tuple[Rubric, Grader, list[str]]:
    """The rubric and a grader for it, calibrated when a calibration file for this very rubric
    lies beside it. Returns notes for the user (which calibration is used, or why not)."""
    rubric = load_rubric(rubric_path)
    notes: list[str] = []
    calibration = None
    path = calibration_path(rubric_path)
    if use_calibration and path.is_file():
        calibration = load_calibration(path)
        if calibration.rubric_fingerprint != rubric_fingerprint(rubric):
            notes.append(
                f"{path} was fitted on another version of the rubric and is ignored; "
                "re-run `grader calibrate`"
            )
            calibration = None
        else:
            notes.append(f"using {path} (fitted on {calibration.submissions} labelled submissions)")
    from grader.caching import cached_grader  # keeps the fitted grader for the next check

    grader = cached_grader(rubric, calibration, lambda: calibrated_grader(rubric, calibration))
    return rubric, grader, notes
