"""TF-IDF on word and character n-grams, fitted on a rubric and applied to many answers.

The matcher needs only what scikit-learn's ``TfidfVectorizer(sublinear_tf=True)`` computes for a
fixed vocabulary, and it computes the same numbers (tests compare them with scikit-learn's), but:

* grading never imports scikit-learn, whose import alone takes longer than a self-check should;
* character n-grams come from a cache per word: ``char_wb`` n-grams never cross a word boundary,
  so a text's n-grams are the union of its words', and the words of a class repeat endlessly;
* the vocabulary is fixed after ``fit``, so n-grams outside it are dropped as they are made,
  instead of being counted and then thrown away.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
from scipy import sparse

Analyzer = Literal["word", "char_wb"]

#: Words kept in the per-word n-gram cache before it is cleared (a bound on memory for a
#: course's worth of typos; far above the distinct words of one assignment).
WORD_CACHE_LIMIT = 200_000


class TfidfModel:
    """Sublinear TF-IDF with smoothed IDF and L2-normalised rows, on ``analyzer`` n-grams of
    sizes ``ngram_range``; words are runs of ``[a-z0-9]`` after lower-casing (``word``), or
    whitespace-separated, padded with one space each side (``char_wb``)."""

    def __init__(
        self,
        analyzer: Analyzer,
        ngram_range: tuple[int, int],
        token_pattern: str = r"[a-z0-9]+",
    ) -> None:
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.token_pattern = token_pattern
        self._tokens = re.compile(token_pattern)
        self._word_ngram_ids: dict[str, np.ndarray] = {}
        self._token_ngram_ids: dict[str | tuple[str, ...], int] = {}
        self._pairs: tuple[np.ndarray, np.ndarray] | None = None  # see `_pair_table`

    def fit(self, corpus: Sequence[str]) -> TfidfModel:
        """Vocabulary (sorted, as scikit-learn orders it) and IDF from `corpus`."""
        document_frequency: Counter[str] = Counter()
        # Word n-grams are looked up by their tokens (a word, or a tuple of n words), which
        # spares joining every n-gram of every answer into a string; the vocabulary names them
        # joined, as scikit-learn does.
        names: dict[str | tuple[str, ...], str] = {}
        for text in corpus:
            if self.analyzer == "word":
                grams = _token_ngrams(self._tokens.findall(text.lower()), self.ngram_range)
                named = [
                    names.setdefault(g, g if isinstance(g, str) else " ".join(g)) for g in grams
                ]
            else:
                named = [g for w in text.lower().split() for g in _char_ngrams(w, self.ngram_range)]
            document_frequency.update(set(named))
        self.vocabulary_ = {gram: i for i, gram in enumerate(sorted(document_frequency))}
        frequencies = np.array(
            [document_frequency[g] for g in self.vocabulary_], dtype=np.float64
        ).reshape(-1)
        frequencies += 1.0
        idf = np.full_like(frequencies, fill_value=len(corpus) + 1, dtype=np.float64)
        idf /= frequencies
        np.log(idf, out=idf)
        idf += 1.0
        self.idf_ = idf
        self._word_ngram_ids = {}
        self._token_ngram_ids = {gram: self.vocabulary_[name] for gram, name in names.items()}
        self._pairs = None
        return self

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """texts × vocabulary, each row L2-normalised (all zero for a text with no known
        n-gram)."""
        counts = self._char_counts(texts) if self.analyzer == "char_wb" else self._counts(texts)
        indptr, indices = counts.indptr, counts.indices
        row_of = np.repeat(np.arange(len(texts)), np.diff(indptr))
        data = counts.data.astype(np.float64)
        np.log(data, out=data)
        data += 1.0
        data *= self.idf_[indices]
        # Sum of squares row by row in column order, as scikit-learn's normaliser does, so the
        # numbers match to the last bit.
        norms = np.sqrt(np.bincount(row_of, weights=data * data, minlength=len(texts)))
        scale = norms[row_of]
        data = np.divide(data, scale, out=data, where=scale > 0)
        return sparse.csr_matrix((data, indices, indptr), shape=(len(texts), len(self.vocabulary_)))

    def _counts(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """texts × vocabulary n-gram counts, indices sorted in each row."""
        if self.analyzer == "word" and self.ngram_range == (1, 2):
            return self._word_pair_counts(texts)
        rows: list[int] = []
        columns: list[int] = []
        for row, text in enumerate(texts):
            ids = self._ids(text)
            rows.extend([row] * len(ids))
            columns.extend(ids)
        return count_matrix(
            np.asarray(rows, dtype=np.int64),
            np.asarray(columns, dtype=np.int64),
            (len(texts), len(self.vocabulary_)),
        )

    def _word_pair_counts(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """`_counts` for words and word pairs, in arrays: each word is looked up once; a pair
        can only be known when both its words are (every word of the fitted corpus is), so
        pairs are looked up as numbers."""
        get = self._token_ngram_ids.get
        tokens = [self._tokens.findall(text.lower()) for text in texts]
        lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
        words = np.fromiter(
            (get(t, -1) for text_tokens in tokens for t in text_tokens),
            dtype=np.int64,
            count=int(lengths.sum()),
        )
        row_of = np.repeat(np.arange(len(texts)), lengths)
        pair_codes, pair_ids = self._pair_table()
        size = len(self.vocabulary_)
        first, second = words[:-1], words[1:]
        paired = (row_of[:-1] == row_of[1:]) & (first >= 0) & (second >= 0)
        codes = first[paired] * size + second[paired]
        slots = np.searchsorted(pair_codes, codes)
        slots[slots == len(pair_codes)] = 0
        found = pair_codes[slots] == codes if len(pair_codes) else np.zeros(len(codes), bool)
        known = words >= 0
        return count_matrix(
            np.concatenate([row_of[known], row_of[:-1][paired][found]]),
            np.concatenate([words[known], pair_ids[slots[found]]]),
            (len(texts), size),
        )

    def _pair_table(self) -> tuple[np.ndarray, np.ndarray]:
        """Known word pairs as sorted codes (first word's id × vocabulary size + second's),
        with their vocabulary ids."""
        table = self._pairs
        if table is None:
            size = len(self.vocabulary_)
            ids = self._token_ngram_ids
            pairs = sorted(
                (ids[gram[0]] * size + ids[gram[1]], column)
                for gram, column in ids.items()
                if isinstance(gram, tuple)
            )
            table = self._pairs = (
                np.array([code for code, _ in pairs], dtype=np.int64),
                np.array([column for _, column in pairs], dtype=np.int64),
            )
        return table

    def _char_counts(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """`_counts` for character n-grams, as (texts × words) @ (words × n-grams): each
        distinct word of the batch is cut into n-grams once (and cached across batches)."""
        words: dict[str, int] = {}
        rows: list[int] = []
        columns: list[int] = []
        for row, text in enumerate(texts):
            tokens = text.lower().split()
            rows.extend([row] * len(tokens))
            columns.extend([words.setdefault(w, len(words)) for w in tokens])
        per_text = count_matrix(
            np.asarray(rows, dtype=np.int64),
            np.asarray(columns, dtype=np.int64),
            (len(texts), len(words)),
        )
        cache = self._word_ngram_ids
        if len(cache) > WORD_CACHE_LIMIT:
            cache.clear()
        grams: list[np.ndarray] = []
        for word in words:
            known = cache.get(word)
            if known is None:
                vocabulary = self.vocabulary_
                known = cache[word] = np.array(
                    [
                        vocabulary[g]
                        for g in _char_ngrams(word, self.ngram_range)
                        if g in vocabulary
                    ],
                    dtype=np.int64,
                )
            grams.append(known)
        lengths = np.array([len(g) for g in grams], dtype=np.int64)
        per_word = count_matrix(
            np.repeat(np.arange(len(words)), lengths),
            np.concatenate([np.zeros(0, dtype=np.int64), *grams]),
            (len(words), len(self.vocabulary_)),
        )
        counts = sparse.csr_matrix(per_text @ per_word)
        counts.sum_duplicates()  # also sorts each row's columns
        return counts

    # --- internals -----------------------------------------------------------------------

    def _ids(self, text: str) -> list[int]:
        """Vocabulary ids of the word n-grams of `text`, with repeats; unknown n-grams dropped."""
        get = self._token_ngram_ids.get
        grams = _token_ngrams(self._tokens.findall(text.lower()), self.ngram_range)
        return [i for g in grams if (i := get(g)) is not None]


def _token_ngrams(
    tokens: list[str], ngram_range: tuple[int, int]
) -> Iterable[str | tuple[str, ...]]:
    """Word n-grams of sizes `ngram_range`, with repeats: a word for a 1-gram, a tuple of words
    for longer ones."""
    low, high = ngram_range
    grams: list[str | tuple[str, ...]] = list(tokens) if low == 1 else []
    for n in range(max(low, 2), min(high, len(tokens)) + 1):
        grams.extend(zip(*(tokens[k:] for k in range(n)), strict=False))  # shifted copies
    return grams


def _char_ngrams(word: str, ngram_range: tuple[int, int]) -> list[str]:
    """N-grams of `word` padded with a space each side; a padded word shorter than n counts
    once, whole (scikit-learn's ``char_wb``)."""
    padded = f" {word} "
    grams: list[str] = []
    for n in range(ngram_range[0], ngram_range[1] + 1):
        if len(padded) <= n:
            grams.append(padded)
            break
        grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


def count_matrix(
    rows: np.ndarray, columns: np.ndarray, shape: tuple[int, int]
) -> sparse.csr_matrix:
    """How often each (row, column) pair occurs, as a CSR matrix with sorted indices."""
    width = max(shape[1], 1)
    unique, counts = np.unique(rows * width + columns, return_counts=True)
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(unique // width, minlength=shape[0]), out=indptr[1:])
    return sparse.csr_matrix(
        (counts.astype(np.float64), (unique % width).astype(np.int32), indptr), shape=shape
    )
