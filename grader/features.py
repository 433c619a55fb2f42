"""Similarities between an answer and other texts (its reference, its question, other answers),
as features for learned grading models. All on one scale: [0, 1].

The feature-extraction home for learned models: like `grader.matching`, it may import rapidfuzz
and scikit-learn's text vectorizers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rapidfuzz import fuzz, process
from scipy import sparse
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

from grader.text import content_tokens, normalize_text

#: Two words are the same word for `soft_recall` from this RapidFuzz ratio (typos, inflections).
SOFT_WORD_CUTOFF = 0.8

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


def soft_recall(
    found_in: set[str], words: set[str], *, weights: dict[str, float] | None = None
) -> float:
    """Weighted share of `words` that `found_in` contains, each word counting by its best
    fuzzy match (at least `SOFT_WORD_CUTOFF`): an alignment of words that tolerates typos."""
    if not found_in or not words:
        return 0.0
    ordered = sorted(words)
    scores = process.cdist(ordered, sorted(found_in), scorer=fuzz.ratio, workers=1) / 100
    best = scores.max(axis=1)
    best = np.where(best >= SOFT_WORD_CUTOFF, best, 0.0)
    weight = np.array([(weights or {}).get(w, 1.0) for w in ordered])
    return float(weight @ best / weight.sum())


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


class TopicSimilarity:
    """Cosine similarity in a latent semantic space (TF-IDF reduced by truncated SVD, as in
    LSA): answers that use related words, not the same ones, still come out close."""

    def __init__(self, *, dimensions: int = 100, seed: int = 0) -> None:
        self.dimensions = dimensions
        self.seed = seed

    def fit(self, corpus: Sequence[str]) -> TopicSimilarity:
        texts = [prepare(t) for t in corpus]
        self.tfidf_ = TfidfVectorizer(
            sublinear_tf=True, token_pattern=r"[a-z0-9]+", stop_words="english"
        ).fit(texts)
        matrix = self.tfidf_.transform(texts)
        dimensions = max(1, min(self.dimensions, matrix.shape[1] - 1, matrix.shape[0] - 1))
        self.svd_ = TruncatedSVD(dimensions, random_state=self.seed).fit(matrix)
        return self

    def pairwise(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        """Cosine of a[i] with b[i] in the latent space, floored at 0."""
        left = self.svd_.transform(self.tfidf_.transform([prepare(t) for t in a]))
        right = self.svd_.transform(self.tfidf_.transform([prepare(t) for t in b]))
        norms = np.linalg.norm(left, axis=1) * np.linalg.norm(right, axis=1)
        dots = (left * right).sum(axis=1)
        cosine: np.ndarray = np.clip(
            np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0), 0.0, 1.0
        )
        return cosine
