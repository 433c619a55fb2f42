from __future__ import annotations

import math

import numpy as np
import pytest

from grader.benchmarking import (
    answer_text_feature,
    evaluate_folds,
    evaluate_split,
    peer_features,
    predict_folds,
    predict_split,
    question_model_features,
)
from grader.datasets import Dataset, load_dataset
from grader.errors import UsageError

from .conftest import DATA, shared_path

DATASETS = DATA / "datasets"


def test_fold_protocol_reports_mohler_figures(folds: Dataset) -> None:
    result = evaluate_folds(folds, protocol="mohler")
    assert (result.folds, result.questions) == (3, 6)
    assert result.answers == 23  # the alignment-annotated answer only trains
    assert -1 <= result.pearson <= 1 and result.pearson > 0
    assert 0 < result.rmse < 5 and result.median_question_rmse >= 0
    assert sum(result.models.values()) == 3
    assert evaluate_folds(folds) == result  # deterministic


def test_a_fold_is_predicted_without_its_own_grades(folds: Dataset) -> None:
    before = predict_folds(folds).values
    changed = Dataset(
        path=folds.path,
        rows=[
            r.model_copy(update={"score": 5 - r.score}) if r.fold == "2" else r for r in folds.rows
        ],
    )
    after = predict_folds(changed).values
    for row, old, new in zip(folds.rows, before, after, strict=True):
        if row.fold == "2":
            assert old == new


def test_split_protocol_reports_semeval_figures(split: tuple[Dataset, Dataset]) -> None:
    train, test = split
    result = evaluate_split(train, test)
    assert result.test_questions_seen_in_train == 0.5
    assert set(result.models) == {
        name for name in result.models if name.endswith(("(seen questions)", "(unseen questions)"))
    }
    assert sum(result.models.values()) == 8 and len(result.models) == 2
    assert 0.5 <= result.accuracy <= 1 and 0 <= result.macro_f1 <= 1
    assert set(result.per_label_f1) == {"correct", "incorrect"}
    assert result.majority_accuracy == 0.5


def test_test_labels_never_reach_the_model(split: tuple[Dataset, Dataset]) -> None:
    train, test = split
    flipped = Dataset(
        path=test.path,
        rows=[
            r.model_copy(update={"label": "correct" if r.label == "incorrect" else "incorrect"})
            for r in test.rows
        ],
    )
    assert predict_split(train, test).values == predict_split(train, flipped).values


def test_peer_features_never_use_an_answers_own_grade(split: tuple[Dataset, Dataset]) -> None:
    train, _ = split
    labels = ["correct", "incorrect"]
    targets = [r.label or "" for r in train.rows]
    flipped = list(targets)
    flipped[0] = "incorrect"
    own = peer_features(train.rows, train.rows, targets, labels=labels, exclude_self=True)
    other = peer_features(train.rows, train.rows, flipped, labels=labels, exclude_self=True)
    assert (own[0] == other[0]).all()
    assert not (own[1] == other[1]).all()  # its neighbours do see it


def test_protocol_errors_name_the_fix(folds: Dataset, split: tuple[Dataset, Dataset]) -> None:
    train, _ = split
    with pytest.raises(UsageError, match="needs a cv_fold column"):
        evaluate_folds(load_dataset(DATASETS / "train.csv", target="label"))
    with pytest.raises(UsageError, match="unknown protocol 'semeval'; use one of: mohler"):
        evaluate_folds(folds, protocol="semeval")
    one_label = Dataset(path="one.csv", rows=[r for r in train.rows if r.label == "correct"])
    with pytest.raises(UsageError, match="the training labels have a single value"):
        predict_split(one_label, train)


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("parts", "target", "rows", "evaluated"),
    [
        (("mohler", "mohler_v2.csv"), "score", 2273, 2241),
        (("scientsbank", "train.csv"), "label", 4969, 4969),
        (("beetle", "test_ua.csv"), "label", 439, 439),
    ],
)
def test_benchmark_files_load_whole(parts, target, rows, evaluated) -> None:
    dataset = load_dataset(shared_path("data", "asag", *parts), target=target)
    assert len(dataset.rows) == rows and dataset.skipped == []
    assert sum(r.evaluated for r in dataset.rows) == evaluated
    assert not any(math.isnan(r.score) for r in dataset.rows if r.score is not None)


def test_question_models_never_see_the_answer_they_predict(
    split: tuple[Dataset, Dataset],
) -> None:
    train, _ = split
    labels = ["correct", "incorrect"]
    targets = [r.label or "" for r in train.rows]
    own = question_model_features(train.rows, train.rows, targets, labels=labels, exclude_self=True)
    assert np.allclose(own.sum(axis=1), 1.0)
    flipped = list(targets)
    flipped[0] = "incorrect"
    other = question_model_features(
        train.rows, train.rows, flipped, labels=labels, exclude_self=True
    )
    assert np.allclose(own[0], other[0])


def test_question_models_learn_a_questions_decisive_words(split: tuple[Dataset, Dataset]) -> None:
    train, test = split
    targets = [r.label or "" for r in train.rows]
    seen = [r for r in test.rows if r.question_id == "S3"]
    table = question_model_features(
        seen, train.rows, targets, labels=["correct", "incorrect"], exclude_self=False
    )
    by_answer = {r.answer: p for r, p in zip(seen, table[:, 0], strict=True)}
    assert by_answer["Light is a lot faster than sound."] > by_answer["The lightning is closer."]


def test_answer_text_model_predicts_each_group_without_its_grades(folds: Dataset) -> None:
    rows = folds.rows
    train = np.array([r.fold != "3" for r in rows])
    groups = [r.fold or "" for r in rows]
    before = answer_text_feature(rows, train, groups)[:, 0]
    changed = [r.model_copy(update={"score": 5 - r.score}) if r.fold == "2" else r for r in rows]
    after = answer_text_feature(changed, train, groups)[:, 0]
    fold = np.array(groups)
    # Fold 2 is predicted by a model of fold 1 alone: its own grades never reach it.
    assert np.allclose(before[fold == "2"], after[fold == "2"])
    # The others' models did learn from fold 2.
    assert not np.allclose(before[fold == "1"], after[fold == "1"])
    assert not np.allclose(before[fold == "3"], after[fold == "3"])
