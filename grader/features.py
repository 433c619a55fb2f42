"""Similarities between an answer and other texts (its reference, its question, other answers),
as features for learned grading models. All on one scale: [0, 1].

The feature-extraction home for learned models: like `grader.matching`, it may import rapidfuzz
and scikit-learn's text vectorizers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rapidfuzz import fuzz
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from grader.text import content_tokens, normalize_text

#: Names of the columns `fuzzy_similarities` returns, in order.
FUZZY_NAMES = ("ratio", "partial", "token_sort", "token_set")


def prepare(text: str) -> str:
    """Normalised lower-case text, the form every similarity here compares."""
    return " ".join(normalize_text(text).lower().split())


def fuzzy_similarities(a: str, b: str) -> list[float]:
    """RapidFuzz's edit-distance similarities of two prepared texts, in [0, 1]."""
    if not a or not b:
        return [0.0] * len(FUZZY_NAMES)
    return [
        fuzz.ratio(a, b) / 100,
        fuzz.partial_ratio(a, b) / 100,
        fuzz.token_sort_ratio(a, b) / 100,
        fuzz.token_set_ratio(a, b) / 100,
    ]


def word_overlap(
    answer: str, reference: str, *, ignore: frozenset[str] = frozenset()
) -> list[float]:
    """Recall, precision and F1 of the reference's content stems in the answer; stems in
    `ignore` (the question's own words) are left out on both sides (question demoting)."""
    answer_stems = set(content_tokens(answer)) - ignore
    reference_stems = set(content_tokens(reference)) - ignore
    common = len(answer_stems & reference_stems)
    recall = common / len(reference_stems) if reference_stems else 0.0
    precision = common / len(answer_stems) if answer_stems else 0.0
    f1 = 2 * recall * precision / (recall + precision) if recall + precision else 0.0
    return [recall, precision, f1]


class TextSimilarity:
    """TF-IDF cosine similarity on word (1-2) and character (3-5) n-grams.

    Shaped like an estimator: options in ``__init__``, vocabulary learned by ``fit``; then
    ``pairwise`` compares row i of one list with row i of another, and ``matrix`` every text of
    one list with every text of another."""

    def __init__(self, *, min_df: int = 1) -> None:
        self.min_df = min_df

    def fit(self, corpus: Sequence[str]) -> TextSimilarity:
        texts = [prepare(t) for t in corpus]
        self.word_ = TfidfVectorizer(
            analyzer="word",
            ngram_range=(1, 2),
            sublinear_tf=True,
            token_pattern=r"[a-z0-9]+",
            min_df=self.min_df,
        ).fit(texts)
        self.char_ = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=self.min_df
        ).fit(texts)
        return self

    def transform(self, texts: Sequence[str]) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
        prepared = [prepare(t) for t in texts]
        return self.word_.transform(prepared), self.char_.transform(prepared)

    def pairwise(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        """len(a) × 2: word and character cosine of a[i] with b[i]."""
        word_a, char_a = self.transform(a)
        word_b, char_b = self.transform(b)
        word = np.asarray(word_a.multiply(word_b).sum(axis=1)).ravel()
        char = np.asarray(char_a.multiply(char_b).sum(axis=1)).ravel()
        pairs: np.ndarray = np.clip(np.column_stack([word, char]), 0.0, 1.0)
        return pairs

    def matrix(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        """len(a) × len(b): the mean of word and character cosine."""
        word_a, char_a = self.transform(a)
        word_b, char_b = self.transform(b)
        blended = 0.5 * (word_a @ word_b.T).toarray() + 0.5 * (char_a @ char_b.T).toarray()
        similarity: np.ndarray = np.clip(blended, 0.0, 1.0)
        return similarity
