"""grader's own TF-IDF must give scikit-learn's numbers exactly: the matcher was tuned with them."""

from __future__ import annotations

import numpy as np
import pytest

from grader.loading import load_rubric
from grader.matching import _rubric_corpus
from grader.vectorizing import TfidfModel

from .conftest import DL14_RUBRIC, ROOT

TfidfVectorizer = pytest.importorskip("sklearn.feature_extraction.text").TfidfVectorizer

ODD_TEXTS = [
    "",
    "a",
    "  two   spaces\tand\ttabs\n",
    "ÉLU and ReLU: négative values (α = 1.0)!",
    "it doesn't slow inference, it's x2 faster",
    "ab ab ab ab",
    "zzzz qqqq unseen words only",
]


def _answers() -> list[str]:
    lines = [
        line
        for path in sorted((ROOT / "submissions").iterdir())
        if path.suffix in {".md", ".txt"}
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    return lines + ODD_TEXTS


@pytest.mark.parametrize(
    ("analyzer", "ngram_range", "options"),
    [
        ("word", (1, 2), {"token_pattern": r"[a-z0-9]+"}),  # the matcher's: counted in arrays
        ("word", (1, 3), {"token_pattern": r"[a-z0-9]+"}),  # any other range: the general path
        ("word", (2, 2), {"token_pattern": r"[a-z0-9]+"}),
        ("char_wb", (3, 5), {}),
    ],
)
def test_tfidf_matches_scikit_learn_to_the_last_bit(analyzer, ngram_range, options) -> None:
    corpus = _rubric_corpus(load_rubric(DL14_RUBRIC))
    theirs = TfidfVectorizer(
        analyzer=analyzer, ngram_range=ngram_range, sublinear_tf=True, **options
    ).fit(corpus)
    mine = TfidfModel(analyzer, ngram_range).fit(corpus)
    assert mine.vocabulary_ == theirs.vocabulary_
    assert np.array_equal(mine.idf_, theirs.idf_)
    texts = _answers()
    expected = theirs.transform(texts)
    expected.sort_indices()
    # twice: the second pass reads the per-word n-gram cache
    for _ in range(2):
        got = mine.transform(texts)
        assert np.array_equal(got.indptr, expected.indptr)
        assert np.array_equal(got.indices, expected.indices)
        assert np.array_equal(got.data, expected.data)


def test_rows_are_unit_length_or_empty() -> None:
    model = TfidfModel("char_wb", (3, 5)).fit(["dropout at inference", "momentum"])
    matrix = model.transform(["dropout", "", "xyz", "momentum dropout"])
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    assert norms == pytest.approx([1.0, 0.0, 0.0, 1.0])
    assert matrix.shape == (4, len(model.vocabulary_))
