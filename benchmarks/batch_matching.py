"""Prototype for the matcher's owner: match every answer to a question at once, and check that it
gives the same matches as `RubricMatcher.match_answer`, answer by answer.

Not product code: it reads RubricMatcher's fitted internals (`questions_`, `_QuestionIndex`) and
may break when matching.py changes. It exists to measure what the changes recommended in
docs/performance.md gain, on the same text:

1. one TF-IDF transform of all the answers' units per question (sklearn's per-call validation
   costs about as much as the counting on one answer's dozen sentences);
2. a transform that counts char_wb n-grams per distinct word, cached (char_wb n-grams never cross
   a word boundary, so this is exact), and takes the phrasing matrices pre-transposed;
3. content tokens computed once per unit instead of two or three times, and no second
   normalisation of answers that loading already normalised;
4. coverage for all units with one `process.cdist` over the batch's distinct words.

    python -m benchmarks.batch_matching /tmp/grader-bench/dl-n1000-s0 --chunk 64
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process
from scipy import sparse

from grader.grading import MAX_ANSWER_CHARS
from grader.loading import iter_submission_files, load_rubric, load_submission
from grader.matching import AnswerMatch, ItemMatch, RubricMatcher
from grader.models import Rubric
from grader.text import content_tokens, is_negated, is_sentence_like, split_units

ROOT = Path(__file__).resolve().parent.parent


class CountingTfidf:
    """The transform of a fitted TfidfVectorizer (lowercase, sublinear tf, l2 norm, no stop
    words), without sklearn's per-call checks, with char_wb n-grams counted per cached word."""

    def __init__(self, fitted: Any) -> None:
        supported = (
            fitted.lowercase
            and fitted.sublinear_tf
            and fitted.use_idf
            and fitted.norm == "l2"
            and fitted.stop_words is None
            and fitted.preprocessor is None
            and fitted.tokenizer is None
            and fitted.strip_accents is None
            and fitted.analyzer in ("word", "char_wb")
        )
        if not supported:
            raise ValueError("vectorizer settings this prototype does not reproduce")
        self.vocabulary: dict[str, int] = fitted.vocabulary_
        self.idf: np.ndarray = fitted.idf_
        self.analyzer: str = fitted.analyzer
        self.low, self.high = fitted.ngram_range
        self.token = re.compile(fitted.token_pattern)
        self.word_cache: dict[str, list[int]] = {}

    def _char_wb(self, word: str) -> list[int]:
        ids = self.word_cache.get(word)
        if ids is None:
            padded = f" {word} "
            grams = []
            for n in range(self.low, self.high + 1):
                offset = 0
                grams.append(padded[offset : offset + n])
                while offset + n < len(padded):
                    offset += 1
                    grams.append(padded[offset : offset + n])
                if offset == 0:
                    break
            ids = self.word_cache[word] = [
                self.vocabulary[g] for g in grams if g in self.vocabulary
            ]
        return ids

    def _ids(self, doc: str) -> list[int]:
        doc = doc.lower()
        if self.analyzer == "char_wb":
            return [i for word in doc.split() for i in self._char_wb(word)]
        tokens = self.token.findall(doc)
        grams = list(tokens) if self.low == 1 else []
        for n in range(max(self.low, 2), self.high + 1):
            grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
        return [self.vocabulary[g] for g in grams if g in self.vocabulary]

    def transform(self, docs: list[str]) -> sparse.csr_matrix:
        indices: list[int] = []
        counts: list[int] = []
        indptr = [0]
        for doc in docs:
            counted = Counter(self._ids(doc))
            for column in sorted(counted):
                indices.append(column)
                counts.append(counted[column])
            indptr.append(len(indices))
        data = np.log(np.asarray(counts, dtype=np.float64)) + 1.0
        columns = np.asarray(indices, dtype=np.int32)
        data *= self.idf[columns]
        lengths = np.diff(indptr)
        norms = np.ones(len(docs))
        filled = lengths > 0
        if data.size:
            starts = np.asarray(indptr[:-1])[filled]
            norms[filled] = np.sqrt(np.add.reduceat(data * data, starts))
        data /= np.repeat(norms, lengths)
        return sparse.csr_matrix(
            (data, columns, np.asarray(indptr)), shape=(len(docs), len(self.idf))
        )


class BatchMatcher(RubricMatcher):
    """RubricMatcher with `match_answers`: every answer to one question in one pass."""

    def fit(self, rubric: Rubric) -> BatchMatcher:
        super().fit(rubric)
        self.word_ = CountingTfidf(self.word_vectorizer_)
        self.char_ = CountingTfidf(self.char_vectorizer_)
        self.word_t_ = {q: i.word_matrix.T.tocsc() for q, i in self.questions_.items()}
        self.char_t_ = {q: i.char_matrix.T.tocsc() for q, i in self.questions_.items()}
        return self

    def match_answers(self, question_id: str, answers: list[str]) -> list[AnswerMatch]:
        index = self.questions_[question_id]
        tokens: dict[str, list[str]] = {}

        def tokens_of(text: str) -> list[str]:
            found = tokens.get(text)
            if found is None:
                found = tokens[text] = content_tokens(text)
            return found

        per_answer = []
        kept_all = []
        for answer in answers:
            units = [u for u in split_units(answer) if tokens_of(u.text)]
            kept = [u for u in units if not self._restates_question(u, index)]
            per_answer.append((units, kept))
            kept_all.extend(kept)
        empty_kp = {kp.id: ItemMatch(kp.id, 0.0) for kp in index.question.key_points}
        empty_mc = {m.id: ItemMatch(m.id, 0.0) for m in index.question.misconceptions}
        if not kept_all or not index.phrasings:
            return [
                AnswerMatch(question_id, empty_kp, empty_mc, len(u), len(u) - len(k))
                for u, k in per_answer
            ]
        texts = [u.text.lower() for u in kept_all]
        word = (self.word_.transform(texts) @ self.word_t_[question_id]).toarray()
        char = (self.char_.transform(texts) @ self.char_t_[question_id]).toarray()
        tfidf = 0.5 * word + 0.5 * char
        coverage = self._batch_coverage([set(tokens_of(u.text)) for u in kept_all], index)
        blended = self.fuzzy_weight * coverage + (1 - self.fuzzy_weight) * tfidf
        unit_negated = np.array([is_negated(u.text) for u in kept_all])
        phrasing_negated = np.array([p.negated for p in index.phrasings])
        mismatch = unit_negated[:, None] != phrasing_negated[None, :]
        similarity_all = np.clip(
            np.where(mismatch, blended * self.polarity_penalty, blended), 0.0, 1.0
        )
        matches = []
        start = 0
        for units, kept in per_answer:
            restated = len(units) - len(kept)
            if not kept:
                matches.append(AnswerMatch(question_id, empty_kp, empty_mc, len(units), restated))
                continue
            similarity = similarity_all[start : start + len(kept)]
            start += len(kept)
            best_kp, best_mc = dict(empty_kp), dict(empty_mc)
            best_rows = similarity.argmax(axis=0)
            for column, phrasing in enumerate(index.phrasings):
                row = int(best_rows[column])
                value = float(similarity[row, column])
                target = best_mc if phrasing.is_misconception else best_kp
                if value > target[phrasing.item_id].similarity:
                    target[phrasing.item_id] = ItemMatch(
                        phrasing.item_id, round(value, 6), kept[row].text, phrasing.text
                    )
            matches.append(
                AnswerMatch(
                    question_id,
                    best_kp,
                    best_mc,
                    unit_count=len(units),
                    restated_units=restated,
                    keyword_list=not any(is_sentence_like(u.text) for u in kept),
                    off_topic_share=float(np.mean(similarity.max(axis=1) < 0.25)),
                )
            )
        return matches

    def _batch_coverage(self, unit_stems: list[set[str]], index: Any) -> np.ndarray:
        answer_stems = sorted(set().union(*unit_stems))
        if not answer_stems or not index.vocabulary:
            return np.zeros((len(unit_stems), len(index.phrasings)))
        scores = process.cdist(
            answer_stems,
            index.vocabulary,
            scorer=fuzz.ratio,
            score_cutoff=self.token_cutoff * 100,
            workers=1,
        )
        matched = scores > 0
        for row, stem_ in enumerate(answer_stems):
            if len(stem_) <= 4:
                matched[row, :] = False
                column = index.vocabulary_index.get(stem_)
                if column is not None:
                    matched[row, column] = True
        position = {s: i for i, s in enumerate(answer_stems)}
        rows = [r for r, stems in enumerate(unit_stems) for _ in stems]
        columns = [position[s] for stems in unit_stems for s in stems]
        presence = sparse.csr_matrix(
            (np.ones(len(rows)), (rows, columns)), shape=(len(unit_stems), len(answer_stems))
        )
        found = np.asarray(
            (presence @ sparse.csr_matrix(matched, dtype=float)).toarray() > 0, float
        )
        coverage: np.ndarray = found @ index.coverage_weights.T
        anchored = (found @ index.anchors.T.astype(float)) > 0
        return np.where(anchored, coverage, coverage * self.anchor_penalty)


def compare(folder: Path, rubric: Rubric, chunk: int) -> dict[str, Any]:
    """CPU seconds of answer-by-answer and batched matching, and how many matches differ."""
    submissions = [load_submission(p, rubric) for p in iter_submission_files(folder)]
    answers = [
        (s.id, q.id, s.answers[q.id].strip()[:MAX_ANSWER_CHARS])
        for s in submissions
        if s.error is None
        for q in rubric.questions
        if s.answers.get(q.id, "").strip()
    ]
    reference = RubricMatcher().fit(rubric)
    began = time.process_time()
    one_by_one = [reference.match_answer(q, text) for _, q, text in answers]
    single = time.process_time() - began
    batch = BatchMatcher().fit(rubric)
    began = time.process_time()
    batched: dict[tuple[str, str], AnswerMatch] = {}
    ids = sorted({sid for sid, _, _ in answers})
    by_submission: dict[str, list[tuple[str, str]]] = {}
    for sid, qid, text in answers:
        by_submission.setdefault(sid, []).append((qid, text))
    for start in range(0, len(ids), chunk):
        group = ids[start : start + chunk]
        for question in rubric.questions:
            texts = [(sid, t) for sid in group for q, t in by_submission[sid] if q == question.id]
            found = batch.match_answers(question.id, [t for _, t in texts])
            batched.update(
                {(sid, question.id): m for (sid, _), m in zip(texts, found, strict=True)}
            )
    batched_s = time.process_time() - began
    differing = sum(
        m != batched[(sid, qid)] for (sid, qid, _), m in zip(answers, one_by_one, strict=True)
    )
    return {
        "submissions": len(submissions),
        "answers": len(answers),
        "one_by_one_cpu_s": single,
        "batched_cpu_s": batched_s,
        "speedup": single / batched_s,
        "differing_matches": differing,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--rubric", type=Path, default=ROOT / "rubrics" / "dl_assignment_14.yaml")
    parser.add_argument("--chunk", type=int, default=64, help="Submissions matched together.")
    args = parser.parse_args(argv)
    result = compare(args.folder, load_rubric(args.rubric), args.chunk)
    for key, value in result.items():
        print(f"{key}: {value:.2f}" if isinstance(value, float) else f"{key}: {value}")
    return 0 if result["differing_matches"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
