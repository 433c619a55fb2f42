"""The benchmark's sentence-embedding features, with a fake encoder (no extra needed)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
import pytest

from grader.benchmarking import (
    SEMANTIC_FEATURES,
    evaluate_folds,
    evaluate_split,
    peer_features,
    predict_folds,
    predict_split,
    semantic_answer_model,
    semantic_features,
)
from grader.datasets import Dataset
from grader.semantic import EmbeddingCache

from .conftest import DATA

DATASETS = DATA / "datasets"


class HashingEncoder:
    """Bag of words hashed into 32 dimensions, unit length: texts that share words are close."""

    dimensions = 32

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, zlib.crc32(word.strip(".,").encode()) % self.dimensions] += 1.0
            out[row, -1] += 0.1  # never all zeros
        vectors: np.ndarray = out / np.linalg.norm(out, axis=1, keepdims=True)
        return vectors


def test_each_distinct_text_is_encoded_once() -> None:
    encoder = HashingEncoder()
    embed = EmbeddingCache(encoder)
    first = embed(["a stack", "a queue", "a stack"])
    again = embed(["a queue", "a heap"])
    assert np.array_equal(first[1], again[0]) and np.array_equal(first[0], first[2])
    assert encoder.calls == [["a queue", "a stack"], ["a heap"]]
    assert embed.similarity(["a stack"], ["a stack", "a heap"]).shape == (1, 2)
    assert embed([]).shape == (0, 32)


def test_semantic_features_compare_answer_reference_question_and_ideas(folds: Dataset) -> None:
    row = folds.rows[0]
    copy = row.model_copy(update={"answer": row.reference_answer})
    table = semantic_features([row, copy], EmbeddingCache(HashingEncoder()))
    assert table.shape == (2, len(SEMANTIC_FEATURES))
    named = dict(zip(SEMANTIC_FEATURES, table[1], strict=True))
    assert named["sem_reference"] == pytest.approx(1.0, abs=1e-5)
    assert named["sem_idea_worst"] > 0.5 and named["sem_idea_best"] <= 1.0 + 1e-6
    assert table[0, 0] <= table[1, 0] + 1e-6


def test_semantic_answer_model_predicts_each_part_without_its_grades(folds: Dataset) -> None:
    rows = folds.rows
    embed = EmbeddingCache(HashingEncoder())
    train = np.array([r.fold != "3" for r in rows])
    train_folds = np.array([r.fold for r in rows])[train]
    splits = [(np.flatnonzero(train_folds != f), np.flatnonzero(train_folds == f)) for f in "12"]
    before = semantic_answer_model(rows, train, splits, embed)[:, 0]
    changed = [r.model_copy(update={"score": 5 - r.score}) if r.fold == "2" else r for r in rows]
    after = semantic_answer_model(changed, train, splits, embed)[:, 0]
    fold = np.array([r.fold for r in rows])
    assert np.allclose(before[fold == "2"], after[fold == "2"])
    assert not np.allclose(before[fold == "1"], after[fold == "1"])
    # The held-out fold's own grades are never read.
    unseen = [r.model_copy(update={"score": 0.0}) if r.fold == "3" else r for r in rows]
    assert np.array_equal(before, semantic_answer_model(unseen, train, splits, embed)[:, 0])


def test_folds_with_semantic_features_stay_blind_to_their_own_grades(folds: Dataset) -> None:
    encoder = HashingEncoder()
    result = evaluate_folds(folds, encoder=encoder)
    assert result.semantic and not evaluate_folds(folds).semantic
    assert evaluate_folds(folds, encoder=HashingEncoder()) == result  # deterministic
    before = predict_folds(folds, encoder=encoder).values
    changed = Dataset(
        path=folds.path,
        rows=[
            r.model_copy(update={"score": 5 - r.score}) if r.fold == "2" else r for r in folds.rows
        ],
    )
    after = predict_folds(changed, encoder=encoder).values
    for row, old, new in zip(folds.rows, before, after, strict=True):
        if row.fold == "2":
            assert old == new


def test_split_with_semantic_features_never_reads_test_labels(
    split: tuple[Dataset, Dataset],
) -> None:
    train, test = split
    encoder = HashingEncoder()
    flipped = Dataset(
        path=test.path,
        rows=[
            r.model_copy(update={"label": "correct" if r.label == "incorrect" else "incorrect"})
            for r in test.rows
        ],
    )
    assert predict_split(train, test, encoder=encoder).values == (
        predict_split(train, flipped, encoder=encoder).values
    )
    result = evaluate_split(train, test, encoder=encoder)
    assert result.semantic and sum(result.models.values()) == len(test.rows)


def test_semantic_peer_features_never_compare_an_answer_with_itself(
    split: tuple[Dataset, Dataset],
) -> None:
    train, _ = split
    embed = EmbeddingCache(HashingEncoder())
    labels = ["correct", "incorrect"]
    targets = [r.label or "" for r in train.rows]
    flipped = ["incorrect", *targets[1:]]
    own = peer_features(
        train.rows,
        train.rows,
        targets,
        labels=labels,
        exclude_self=True,
        similarity=embed.similarity,
    )
    other = peer_features(
        train.rows,
        train.rows,
        flipped,
        labels=labels,
        exclude_self=True,
        similarity=embed.similarity,
    )
    assert (own[0] == other[0]).all()


def test_eval_with_an_unusable_semantic_model_exits_2(tmp_path) -> None:
    from typer.testing import CliRunner

    from grader.cli import app

    args = ["eval", "--dataset", str(DATASETS / "folds.csv")]
    result = CliRunner().invoke(app, [*args, "--semantic-model", str(tmp_path / "absent.whl")])
    assert result.exit_code == 2
    assert "semantic" in result.output and "Traceback" not in result.output
