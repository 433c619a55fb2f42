"""The matcher: how similar each part of an answer is to each rubric item.

Two signals, both on one scale [0, 1]:

* fuzzy coverage: the share of a phrasing's content words (weighted by how distinctive they are
  in the rubric) that the answer unit contains, where words match through RapidFuzz so typos and
  inflections still count, in any order;
* TF-IDF cosine between the unit and the phrasing, on word (1-2) and character (3-5) n-grams, with
  vocabulary and weights fitted on the rubric's own text only, so one student's grade never
  depends on the other students.

Words are matched with their polarity: a word governed by a negation ("dropout does *not* slow
inference") only meets the same word negated in a phrasing, so a denial never matches the claim
it denies; TF-IDF, which cannot see negation, is discounted by the share of words whose polarity
disagrees.

The only module that imports rapidfuzz; TF-IDF is `grader.vectorizing` (no scikit-learn).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz, process
from scipy import sparse

from grader.models import Question, Rubric, RubricItem
from grader.text import (
    PARTICLES,
    Unit,
    content_tokens,
    is_sentence_like,
    leading_particle,
    marked_content_tokens,
    normalize_text,
    split_sentences,
    split_units,
)
from grader.vectorizing import TfidfModel, count_matrix

FEATURE_NAMES = ("coverage", "pairs", "word_tfidf", "char_tfidf", "anchored")

#: Two words count as related when at most this many content words apart. On the DL_Assignment_14
#: dev labels 2, 3 and 4 give the same key-point F1 (0.947); 3 gives the best question-score
#: QWK (0.925 against 0.918 and 0.919).
PAIR_WINDOW = 3
#: A unit whose best similarity to every item stays below this is off-topic for the question.
OFF_TOPIC_SIMILARITY = 0.2


@dataclass(frozen=True, slots=True)
class ItemMatch:
    """The best evidence for one rubric item in one answer."""

    item_id: str
    similarity: float
    evidence: str | None = None
    phrasing: str | None = None
    features: tuple[float, ...] = ()  # FEATURE_NAMES of the best unit, for calibration


@dataclass(frozen=True)
class AnswerMatch:
    """What the matcher saw in one answer to one question."""

    question_id: str
    key_points: dict[str, ItemMatch]
    misconceptions: dict[str, ItemMatch]
    unit_count: int = 0
    restated_units: int = 0
    pasted_hints: int = 0  # units that copy a rubric item's description (shown as hints)
    keyword_list: bool = False
    off_topic_share: float = 0.0
    contradictions: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _AnswerUnits:
    units: int  # all units with content
    kept: list[Unit]  # those that may earn or cost points
    restated: int  # sentences that restate the question
    hints: int  # sentences that copy a rubric hint


@dataclass
class _Phrasing:
    item_id: str
    is_misconception: bool
    text: str
    tokens: tuple[tuple[str, bool], ...]  # (stem, negated)
    verdict: str | None = None  # "yes"/"no" when every verdict among the item's phrasings agrees


@dataclass
class _QuestionIndex:
    """A question's phrasings, compiled. Word features live in a signed vocabulary of size 2V:
    column v is stem v affirmed, column V + v is stem v negated."""

    question: Question
    phrasings: list[_Phrasing]
    vocabulary: list[str]  # bare stems the phrasings use (V)
    vocabulary_index: dict[str, int]
    coverage_weights: np.ndarray  # phrasings × 2V, each row sums to 1
    anchors: np.ndarray  # phrasings × 2V: the words that set an item apart in its question
    essentials: np.ndarray  # phrasings × V: words every phrasing of the item uses
    pairs: np.ndarray  # P × 2: signed word pairs that stand near each other in some phrasing
    pair_weights: np.ndarray  # phrasings × P, each row sums to 1 (or 0 for one-word phrasings)
    # the same tables transposed, contiguous, as the matcher multiplies by them
    coverage_weights_t: np.ndarray = field(init=False)
    unsigned_weights_t: np.ndarray = field(init=False)  # V × phrasings, polarity ignored
    anchors_t: np.ndarray = field(init=False)
    essentials_t: np.ndarray = field(init=False)
    pair_weights_t: np.ndarray = field(init=False)
    word_matrix: sparse.csr_matrix  # phrasings × word n-grams (L2-normalised)
    char_matrix: sparse.csr_matrix  # phrasings × char n-grams (L2-normalised)
    question_sentences: list[str]
    hints: list[str]  # sentences of the item descriptions, lower-cased

    item_verdicts: np.ndarray = field(init=False)  # per phrasing: "yes", "no" or ""
    claims: np.ndarray = field(init=False)  # per phrasing: whether it states a misconception
    # per misconception with `excused_by`: (columns of the excusing key points, its columns)
    excuses: list[tuple[list[int], list[int]]] = field(init=False)
    # every item with nothing found: each answer's result starts from copies of these
    no_key_points: dict[str, ItemMatch] = field(init=False)
    no_misconceptions: dict[str, ItemMatch] = field(init=False)

    def __post_init__(self) -> None:
        self.no_key_points = {kp.id: ItemMatch(kp.id, 0.0) for kp in self.question.key_points}
        self.no_misconceptions = {m.id: ItemMatch(m.id, 0.0) for m in self.question.misconceptions}
        self.item_verdicts = np.array([p.verdict or "" for p in self.phrasings])
        self.claims = np.array([p.is_misconception for p in self.phrasings], dtype=bool)
        columns: dict[str, list[int]] = {}
        for column, phrasing in enumerate(self.phrasings):
            columns.setdefault(phrasing.item_id, []).append(column)
        self.excuses = [
            (excusing, columns[m.id])
            for m in self.question.misconceptions
            if (excusing := [c for kp in m.excused_by for c in columns.get(kp, [])])
            and m.id in columns
        ]
        size = len(self.vocabulary)
        weights = self.coverage_weights
        self.coverage_weights_t = np.ascontiguousarray(weights.T)
        self.unsigned_weights_t = np.ascontiguousarray((weights[:, :size] + weights[:, size:]).T)
        self.anchors_t = np.ascontiguousarray(self.anchors.T.astype(float))
        self.essentials_t = np.ascontiguousarray(self.essentials.T)
        self.pair_weights_t = np.ascontiguousarray(self.pair_weights.T)


class RubricMatcher:
    """Scores every key point and misconception of a question against an answer.

    Shaped like a scikit-learn estimator: options in ``__init__``, state learned from the rubric
    in ``fit`` (names end with ``_``), then ``match_answer`` for one answer at a time.
    """

    def __init__(
        self,
        *,
        feature_weights: tuple[float, float, float, float] = (0.45, 0.25, 0.15, 0.15),
        token_cutoff: float = 0.85,
        anchor_penalty: float = 0.3,
        restatement_cutoff: float = 0.9,
        claim_margin: float = 0.05,
        excuse_at: float = 0.4,
    ) -> None:
        self.excuse_at = excuse_at
        self.claim_margin = claim_margin
        self.feature_weights = feature_weights
        self.token_cutoff = token_cutoff
        self.anchor_penalty = anchor_penalty
        self.restatement_cutoff = restatement_cutoff

    def fit(self, rubric: Rubric) -> RubricMatcher:
        """Learn vocabularies and weights from the rubric's own text."""
        corpus = _rubric_corpus(rubric)
        self.word_vectorizer_ = TfidfModel("word", (1, 2)).fit(corpus)
        self.char_vectorizer_ = TfidfModel("char_wb", (3, 5)).fit(corpus)
        self.stem_idf_ = _stem_idf(rubric)
        self.questions_ = {q.id: self._index_question(q) for q in rubric.questions}
        self.strict_questions_ = {
            q.id: self._index_question(q, whole_clause=True) for q in rubric.questions
        }
        self.rubric_id_ = rubric.id
        return self

    def match_answer(self, question_id: str, answer: str) -> AnswerMatch:
        """Best similarity and evidence per item of `question_id` in `answer`."""
        return self.match_answers(question_id, [answer])[0]

    def match_answers(self, question_id: str, answers: Sequence[str]) -> list[AnswerMatch]:
        """`match_answer` for many answers to one question at once: the features of all their
        sentences are computed in one pass (one TF-IDF transform, one fuzzy word table), which
        is much faster for a class. Each answer's result is the same as when matched alone."""
        index = self.questions_[question_id]
        prepared = [self._prepare(answer, index) for answer in answers]
        kept_all = [u for p in prepared for u in p.kept]
        features = (
            self.features(kept_all, index)
            if kept_all and index.phrasings
            else np.zeros((0, len(index.phrasings), len(FEATURE_NAMES)))
        )
        similarity = self._similarity(prepared, index, features)
        results = []
        offset = 0
        for answer_units in prepared:
            size = len(answer_units.kept)
            rows = slice(offset, offset + size)
            results.append(
                self._decide(question_id, index, answer_units, features[rows], similarity[rows])
            )
            offset += size
        return results

    def _similarity(
        self, prepared: list[_AnswerUnits], index: _QuestionIndex, features: np.ndarray
    ) -> np.ndarray:
        """Every kept unit's similarity to every phrasing (units × phrasings), for all the
        answers at once: the blended features, less what the rubric excuses, opposite verdicts
        and claims a key point outclasses. Each row depends only on its own answer."""
        units = [u for p in prepared for u in p.kept]
        if not units or not index.phrasings:
            return np.zeros((len(units), len(index.phrasings)))
        similarity = self.blend(features)
        # `excused_by`: a misconception is not made in a sentence that also states one of the
        # key points that excuse it (sentences are numbered within their answer).
        answer_of = np.repeat(np.arange(len(prepared)), [len(p.kept) for p in prepared])
        sentence_of = np.array([u.sentence for u in units], dtype=np.int64)
        _, sentence_group = np.unique(
            answer_of * (int(sentence_of.max()) + 1) + sentence_of, return_inverse=True
        )
        for excusing, excused in index.excuses:
            per_unit = similarity[:, excusing].max(axis=1)
            per_sentence = np.full(int(sentence_group.max()) + 1, -np.inf)
            np.maximum.at(per_sentence, sentence_group, per_unit)
            rows = per_sentence[sentence_group] >= self.excuse_at
            if rows.any():
                similarity[np.ix_(rows, np.asarray(excused, dtype=np.int64))] = 0.0
        # A sentence that opens with the opposite verdict ("Yes, it is okay...") cannot state an
        # item whose phrasings answer "No".
        unit_verdicts = np.array([leading_particle(u.text) or "" for u in units])
        item_verdicts = index.item_verdicts
        opposed = (unit_verdicts[:, None] != "") & (item_verdicts[None, :] != "")
        opposed &= unit_verdicts[:, None] != item_verdicts[None, :]
        similarity = np.where(opposed, 0.0, similarity)
        claims = index.claims
        if claims.any() and (~claims).any():
            # Items compete for a sentence: one that states a key point clearly better than it
            # states a misconception is not making that claim ("MC Dropout keeps dropout on at
            # inference" is about MC Dropout, not the claim that dropout slows inference).
            best_key_point = similarity[:, ~claims].max(axis=1, keepdims=True)
            outclassed = best_key_point - similarity >= self.claim_margin
            similarity = np.where(claims[None, :] & outclassed, 0.0, similarity)
        return similarity

    def _prepare(self, answer: str, index: _QuestionIndex) -> _AnswerUnits:
        """Split an answer into units and set aside those that earn nothing: a sentence that
        restates the question or copies a hint, and its clauses."""
        units = [u for u in split_units(normalize_text(answer)) if content_tokens(u.text)]
        sentences = [u for u in units if not u.is_clause]
        restated_sentences = {u.sentence for u in sentences if self._restates_question(u, index)}
        hint_sentences = {
            u.sentence
            for u in sentences
            if u.sentence not in restated_sentences and self._copies_hint(u, index)
        }
        dropped = restated_sentences | hint_sentences
        kept = [
            u
            for u in units
            if u.sentence not in dropped and not (u.is_clause and self._restates_question(u, index))
        ]
        return _AnswerUnits(
            units=len(units),
            kept=kept,
            restated=len(restated_sentences),
            hints=sum(u.sentence in hint_sentences for u in sentences),
        )

    def _decide(
        self,
        question_id: str,
        index: _QuestionIndex,
        prepared: _AnswerUnits,
        features: np.ndarray,
        similarity: np.ndarray,
    ) -> AnswerMatch:
        """From one answer's features and similarities (`_similarity`) to its best evidence per
        item."""
        candidates = prepared.kept
        empty_kp, empty_mc = index.no_key_points, index.no_misconceptions
        if not candidates or not index.phrasings:
            return AnswerMatch(
                question_id,
                dict(empty_kp),
                dict(empty_mc),
                prepared.units,
                prepared.restated,
                prepared.hints,
            )
        # The best unit per phrasing, then the best phrasing per item (the first to reach the
        # highest six-decimal similarity, as reported).
        best_rows = similarity.argmax(axis=0).tolist()
        best_values = similarity[best_rows, np.arange(similarity.shape[1])].tolist()
        best: dict[str, tuple[float, int]] = {}
        for column, (phrasing, value) in enumerate(zip(index.phrasings, best_values, strict=True)):
            held = best.get(phrasing.item_id)
            if value > (held[0] if held else 0.0):
                best[phrasing.item_id] = (round(value, 6), column)
        best_kp, best_mc = dict(empty_kp), dict(empty_mc)
        chosen = list(best.items())
        columns = [column for _, (_, column) in chosen]
        rows = [best_rows[column] for column in columns]
        chosen_features = features[rows, columns].tolist()  # one gather for every item
        for (item_id, (value, column)), row, item_features in zip(
            chosen, rows, chosen_features, strict=True
        ):
            phrasing = index.phrasings[column]
            target = best_mc if phrasing.is_misconception else best_kp
            target[item_id] = ItemMatch(
                item_id,
                value,
                candidates[row].text,
                phrasing.text,
                tuple([round(f, 6) for f in item_features]),
            )
        best_per_unit = similarity.max(axis=1)
        return AnswerMatch(
            question_id,
            best_kp,
            best_mc,
            unit_count=prepared.units,
            restated_units=prepared.restated,
            pasted_hints=prepared.hints,
            keyword_list=not any(is_sentence_like(u.text) for u in candidates),
            # (the count over the length: what np.mean gives, for less)
            off_topic_share=int(np.count_nonzero(best_per_unit < OFF_TOPIC_SIMILARITY))
            / len(best_per_unit),
        )

    def blend(self, features: np.ndarray) -> np.ndarray:
        """Features (… × FEATURE_NAMES) → similarity in [0, 1]: the weighted mean of the first
        four, scaled down by `anchor_penalty` where no anchor word is present."""
        weights = np.asarray(self.feature_weights, dtype=float)
        blended = features[..., :4] @ (weights / weights.sum())
        blended = np.where(features[..., 4] > 0, blended, blended * self.anchor_penalty)
        similarity: np.ndarray = np.clip(blended, 0.0, 1.0)
        return similarity

    def features(self, units: list[Unit], index: _QuestionIndex) -> np.ndarray:
        """units × phrasings × [word coverage, word-pair proximity, word TF-IDF, char TF-IDF,
        anchored (1 when the unit has one of the phrasing's anchor words, with its polarity)]."""
        texts = [u.for_matching.lower() for u in units]
        coverage, pairs, agreement, anchored = self._word_features(units, index)
        if any(p.is_misconception for p in index.phrasings):
            # A claim must hold under both readings of a negation's scope: "quantization is not
            # a sparsity method" does not name quantization as a way to sparsity.
            # Only units with a negation read differently; the others keep their features.
            denying = [
                row
                for row, u in enumerate(units)
                if marked_content_tokens(u.for_matching, whole_clause=True)
                != marked_content_tokens(u.for_matching)
            ]
            if denying:
                strict_index = self.strict_questions_[index.question.id]
                strict = self._word_features(
                    [units[row] for row in denying], strict_index, whole_clause=True
                )
                claims = np.array([p.is_misconception for p in index.phrasings])
                for mine, theirs in zip((coverage, pairs, agreement), strict[:3], strict=True):
                    mine[denying] = np.where(
                        claims, np.minimum(mine[denying], theirs), mine[denying]
                    )
                anchored[denying] = np.where(
                    claims, anchored[denying] & strict[3], anchored[denying]
                )
        word = (self.word_vectorizer_.transform(texts) @ index.word_matrix.T).toarray()
        char = (self.char_vectorizer_.transform(texts) @ index.char_matrix.T).toarray()
        return np.stack(
            [coverage, pairs, word * agreement, char * agreement, anchored.astype(float)], axis=-1
        )

    # --- internals -----------------------------------------------------------------------

    def _index_question(self, question: Question, *, whole_clause: bool = False) -> _QuestionIndex:
        phrasings = [
            _Phrasing(
                item.id, is_misconception, p, marked_content_tokens(p, whole_clause=whole_clause)
            )
            for is_misconception, items in (
                (False, question.key_points),
                (True, question.misconceptions),
            )
            for item in items
            for p in item.phrasings
        ]
        verdicts: dict[str, set[str]] = {}
        for phrasing in phrasings:
            particle = leading_particle(phrasing.text)
            if particle:
                verdicts.setdefault(phrasing.item_id, set()).add(particle)
        for phrasing in phrasings:
            agreed = verdicts.get(phrasing.item_id, set())
            phrasing.verdict = next(iter(agreed)) if len(agreed) == 1 else None
        vocabulary = sorted({stem for p in phrasings for stem, _ in p.tokens})
        vocabulary_index = {s: i for i, s in enumerate(vocabulary)}
        size = len(vocabulary)

        def signed(stem_: str, negated: bool) -> int:
            return vocabulary_index[stem_] + (size if negated else 0)

        # A word's weight: how rare it is in the rubric times how rare among this question's
        # items. Its anchors are its rarest words in the question: "dropout slows down
        # inference" is about inference; an answer without that word is not making this claim.
        item_stems: dict[str, set[str]] = {}
        for phrasing in phrasings:
            item_stems.setdefault(phrasing.item_id, set()).update(s for s, _ in phrasing.tokens)
        local_df = Counter(s for stems in item_stems.values() for s in stems)
        n_items = len(item_stems)
        phrasing_count = Counter(p.item_id for p in phrasings)
        uses: dict[str, Counter[str]] = {}
        for phrasing in phrasings:
            uses.setdefault(phrasing.item_id, Counter()).update({s for s, _ in phrasing.tokens})
        item_share = {
            item: {stem_: n / phrasing_count[item] for stem_, n in counts.items()}
            for item, counts in uses.items()
        }
        weights = np.zeros((len(phrasings), 2 * size))
        anchors = np.zeros((len(phrasings), 2 * size), dtype=bool)
        for row, phrasing in enumerate(phrasings):
            tokens = set(phrasing.tokens)
            for stem_, negated in tokens:
                local_idf = math.log((1 + n_items) / (1 + local_df[stem_])) + 1.0
                weights[row, signed(stem_, negated)] = self.stem_idf_.get(stem_, 1.0) * local_idf
            words = {t for t in tokens if t[0] not in PARTICLES}  # "yes"/"no" alone carry nothing
            if words:
                # The anchor: the word that best marks this item, i.e. one most of its phrasings
                # use ("relu" for "ReLU is simple and fast") and few other items of the question
                # do ("hidden" is shared by the ELU, ReLU and sigmoid items).
                def mark(stem_: str, item: str = phrasing.item_id) -> float:
                    share = item_share[item][stem_]
                    return share * (math.log((1 + n_items) / (1 + local_df[stem_])) + 1.0)

                best = max(mark(s) for s, _ in words)
                for stem_, negated in words:
                    anchors[row, signed(stem_, negated)] = mark(stem_) >= best - 1e-9
        # Words every phrasing of an item uses (when it has at least three) are essential: "ReLU
        # is faster to compute than sigmoid" is not the claim "ELU is cheaper than ReLU".
        essential_stems: dict[str, set[str]] = {}
        for item, count in phrasing_count.items():
            if count >= 3:
                common = set.intersection(
                    *({s for s, _ in p.tokens} for p in phrasings if p.item_id == item)
                )
                essential_stems[item] = common - PARTICLES
        essentials = np.zeros((len(phrasings), size))
        for row, phrasing in enumerate(phrasings):
            for stem_ in essential_stems.get(phrasing.item_id, set()):
                essentials[row, vocabulary_index[stem_]] = 1.0
        totals = weights.sum(axis=1, keepdims=True)
        weights = np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)
        pair_ids: dict[tuple[int, int], int] = {}
        pair_entries: list[tuple[int, int, float]] = []
        for row, phrasing in enumerate(phrasings):
            ids = [signed(s, n) for s, n in phrasing.tokens]
            for i, first in enumerate(ids):
                for second in ids[i + 1 : i + 1 + PAIR_WINDOW]:
                    if first != second:
                        key = (min(first, second), max(first, second))
                        column = pair_ids.setdefault(key, len(pair_ids))
                        pair_entries.append(
                            (row, column, weights[row, first] + weights[row, second])
                        )
        pair_weights = np.zeros((len(phrasings), len(pair_ids)))
        for row, column, value in pair_entries:
            pair_weights[row, column] = value
        pair_totals = pair_weights.sum(axis=1, keepdims=True)
        pair_weights = np.divide(
            pair_weights, pair_totals, out=np.zeros_like(pair_weights), where=pair_totals > 0
        )
        texts = [p.text.lower() for p in phrasings]
        empty = sparse.csr_matrix((0, 0))
        return _QuestionIndex(
            question=question,
            phrasings=phrasings,
            vocabulary=vocabulary,
            vocabulary_index=vocabulary_index,
            coverage_weights=weights,
            anchors=anchors,
            essentials=essentials,
            pairs=np.array(list(pair_ids), dtype=int).reshape(-1, 2),
            pair_weights=pair_weights,
            word_matrix=self.word_vectorizer_.transform(texts) if texts else empty,
            char_matrix=self.char_vectorizer_.transform(texts) if texts else empty,
            question_sentences=[s.lower() for s in split_sentences(normalize_text(question.text))],
            hints=[
                sentence.lower()
                for text in [
                    *(kp.description for kp in question.key_points),
                    *(m.feedback for m in question.misconceptions),
                ]
                for sentence in split_sentences(normalize_text(text))
            ],
        )

    def _word_features(
        self, units: list[Unit], index: _QuestionIndex, *, whole_clause: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Four units × phrasings arrays over the signed vocabulary:

        * coverage: the weighted share of the phrasing's words the unit contains with the same
          polarity;
        * pairs: the share of the phrasing's neighbouring word pairs that stand near each other
          in the unit (a claim is about how words relate, not only which words appear);
        * agreement: coverage with polarity divided by coverage without it (1 when no word is
          shared), which discounts the polarity-blind TF-IDF features;
        * anchored: whether the unit has one of the phrasing's anchor words, with its polarity.
        """
        marked = [marked_content_tokens(u.for_matching, whole_clause=whole_clause) for u in units]
        # Every token of every unit, flat: its unit, position, stem and polarity.
        lengths = np.fromiter(map(len, marked), dtype=np.int64, count=len(marked))
        total = int(lengths.sum())
        flat_stems = [stem_ for tokens in marked for stem_, _ in tokens]
        flat_negated = [negated for tokens in marked for _, negated in tokens]
        answer_stems = sorted(set(flat_stems))
        shape = (len(units), len(index.phrasings))
        size = len(index.vocabulary)
        if not answer_stems or not size:
            return np.zeros(shape), np.zeros(shape), np.ones(shape), np.zeros(shape, dtype=bool)
        scores = process.cdist(
            answer_stems,
            index.vocabulary,
            scorer=fuzz.ratio,
            score_cutoff=self.token_cutoff * 100,
            workers=1,
        )
        matches = scores > 0
        # Short words must match exactly: 'elu' is not 'relu', 'l1' is not 'l2'.
        for a, stem_ in enumerate(answer_stems):
            if len(stem_) <= 4:
                matches[a, :] = False
                column = index.vocabulary_index.get(stem_)
                if column is not None:
                    matches[a, column] = True
        # Every hit: (unit, position, signed vocabulary id), in unit and position order. Each
        # token is expanded into the vocabulary words its stem matches (usually none or one).
        stem_ids = {stem_: i for i, stem_ in enumerate(answer_stems)}
        token_units = np.repeat(np.arange(len(marked)), lengths)
        token_positions = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        token_stems = np.fromiter(map(stem_ids.__getitem__, flat_stems), np.int64, count=total)
        token_negated = np.fromiter(flat_negated, dtype=bool, count=total)
        match_stems, match_words = np.nonzero(matches)
        per_stem = np.bincount(match_stems, minlength=len(answer_stems))
        first_match = np.concatenate(([0], np.cumsum(per_stem)[:-1]))
        repeats = per_stem[token_stems]
        units_of = np.repeat(token_units, repeats)
        positions = np.repeat(token_positions, repeats)
        within = np.arange(len(units_of)) - np.repeat(np.cumsum(repeats) - repeats, repeats)
        ids = match_words[np.repeat(first_match[token_stems], repeats) + within]
        ids = ids + np.where(np.repeat(token_negated, repeats), size, 0)
        # Which signed words and word pairs each unit has: sparse 0/1 tables (a unit has a few
        # dozen words among hundreds), multiplied by the phrasings' dense weights.
        found = _indicator(units_of, ids, (len(units), 2 * size))
        near_units: list[np.ndarray] = []
        near_columns: list[np.ndarray] = []
        if len(index.pairs) and len(ids):
            # column of each signed pair (a <= b) in the phrasings' pair table, or -1
            table = np.full((2 * size) * (2 * size), -1, dtype=np.int64)
            table[index.pairs[:, 0] * (2 * size) + index.pairs[:, 1]] = np.arange(len(index.pairs))
            offset = 1
            while True:  # pair each hit with the hits `offset` places after it
                first, second = np.arange(len(ids) - offset), np.arange(offset, len(ids))
                close = (units_of[first] == units_of[second]) & (
                    positions[second] - positions[first] <= PAIR_WINDOW
                )
                if not close.any():
                    break
                a, b = ids[first[close]], ids[second[close]]
                columns = table[np.minimum(a, b) * (2 * size) + np.maximum(a, b)]
                known = columns >= 0
                near_units.append(units_of[first[close]][known])
                near_columns.append(columns[known])
                offset += 1
        near = _indicator(
            np.concatenate([np.zeros(0, dtype=np.int64), *near_units]),
            np.concatenate([np.zeros(0, dtype=np.int64), *near_columns]),
            (len(units), len(index.pairs)),
        )
        coverage = np.asarray(found @ index.coverage_weights_t)
        anchored = np.asarray(found @ index.anchors_t) > 0
        pair_share = np.asarray(near @ index.pair_weights_t)
        single = index.pair_weights.sum(axis=1) == 0  # one-word phrasings have no pairs
        pair_share[:, single] = coverage[:, single]
        unsigned_found = _indicator(units_of, ids % size, (len(units), size))
        unsigned = np.asarray(unsigned_found @ index.unsigned_weights_t)
        required = index.essentials.sum(axis=1)
        anchored &= np.asarray(unsigned_found @ index.essentials_t) >= required[None, :] - 1e-9
        agreement = np.divide(coverage, unsigned, out=np.ones_like(unsigned), where=unsigned > 0)
        return coverage, np.asarray(pair_share), np.clip(agreement, 0.0, 1.0), anchored

    def _copies_hint(self, unit: Unit, index: _QuestionIndex) -> bool:
        """Key-point descriptions and misconception feedback are shown to students: pasting
        them back earns nothing. (Phrasings are how students say things; these are the
        rubric's own words to students.)"""
        text = unit.text.lower().strip()
        cutoff = self.restatement_cutoff * 100
        return (
            process.extractOne(text, index.hints, scorer=fuzz.ratio, score_cutoff=cutoff)
            is not None
        )

    def _restates_question(self, unit: Unit, index: _QuestionIndex) -> bool:
        """A unit that repeats the question's own text earns nothing. One that opens with a
        verdict ("Yes, it is okay to ...") answers the question while echoing it, and counts."""
        if leading_particle(unit.text):
            return False
        text = unit.text.lower().strip()
        cutoff = self.restatement_cutoff * 100
        sentences = index.question_sentences
        if process.extractOne(text, sentences, scorer=fuzz.ratio, score_cutoff=cutoff):
            return True
        return text.endswith("?") and (
            process.extractOne(text, sentences, scorer=fuzz.partial_ratio, score_cutoff=cutoff - 10)
            is not None
        )


def _items(question: Question) -> list[RubricItem]:
    return [*question.key_points, *question.misconceptions]


def _indicator(rows: np.ndarray, columns: np.ndarray, shape: tuple[int, int]) -> sparse.csr_matrix:
    """A sparse 0/1 table with a one at each (row, column) given, repeats counted once."""
    table = count_matrix(rows, columns, shape)
    table.data[:] = 1.0
    return table


def _rubric_corpus(rubric: Rubric) -> list[str]:
    corpus: list[str] = []
    for question in rubric.questions:
        corpus.append(question.text)
        if question.reference_answer:
            corpus.append(question.reference_answer)
        for item in _items(question):
            corpus.append(item.description)
            corpus.extend(item.phrasings)
    return [normalize_text(t).lower() for t in corpus]


def _stem_idf(rubric: Rubric) -> dict[str, float]:
    """Smoothed IDF of stems over the rubric's items: a word every item uses counts little."""
    documents = [
        set().union(*(content_tokens(p) for p in item.phrasings), content_tokens(item.description))
        for question in rubric.questions
        for item in _items(question)
    ]
    frequency: Counter[str] = Counter()
    for document in documents:
        frequency.update(document)
    n = len(documents)
    return {s: math.log((1 + n) / (1 + df)) + 1.0 for s, df in frequency.items()}


def phrasing_similarity(a: str, b: str) -> float:
    """Order-insensitive similarity of two short texts in [0, 1], for rubric lint."""
    return float(fuzz.token_sort_ratio(normalize_text(a).lower(), normalize_text(b).lower())) / 100


# --- aligning a submission that has no question headings ----------------------------------------

#: A switch to another question costs this much similarity: it keeps a stray sentence that
#: echoes another question from opening a new answer. A switch back to an earlier question
#: costs this much more, since students mostly answer in order. Set on the DL14 submissions with
#: their headings removed (docs/submissions.md has the figures).
ALIGN_SWITCH_PENALTY = 0.05
ALIGN_BACKWARD_PENALTY = 0.05
#: Up to this many questions, the alignment allows answers in any order (it tries every order:
#: 2^n states); above it, answers are taken to follow the questions' order.
ALIGN_ANY_ORDER_MAX_QUESTIONS = 8
#: Longer texts are cut into at most this many runs of paragraphs, so alignment time stays
#: bounded (each block is matched against every question).
ALIGN_MAX_BLOCKS = 60


@dataclass(frozen=True)
class Alignment:
    """Paragraphs of a heading-less submission assigned to questions."""

    answers: dict[str, str]
    blocks: list[tuple[str, str]]  # (question id, paragraph), in the order of the text
    confidence: float  # mean similarity of each paragraph to its question, in [0, 1]


def align_answers(matcher: RubricMatcher, rubric: Rubric, text: str) -> Alignment:
    """Cut a submission without headings into answers: every paragraph goes to the question whose
    text, key points and misconceptions it resembles most; consecutive paragraphs form one
    answer, and each question gets at most one run of paragraphs. Nothing is dropped."""
    question_ids = [q.id for q in rubric.questions]
    blocks = _alignment_blocks(text, len(question_ids))
    if not blocks:
        return Alignment({}, [], 0.0)
    similarity = alignment_similarity(matcher, rubric, blocks)
    if len(question_ids) <= ALIGN_ANY_ORDER_MAX_QUESTIONS:
        labels = _align_any_order(similarity)
    else:
        labels = _align_in_order(similarity)
    answers: dict[str, str] = {}
    for block, label in zip(blocks, labels, strict=True):
        qid = question_ids[label]
        answers[qid] = f"{answers[qid]}\n\n{block}" if qid in answers else block
    confidence = float(np.mean([similarity[i, label] for i, label in enumerate(labels)]))
    return Alignment(
        answers,
        [(question_ids[label], block) for block, label in zip(blocks, labels, strict=True)],
        round(min(max(confidence, 0.0), 1.0), 6),
    )


def _alignment_blocks(text: str, question_count: int) -> list[str]:
    """Paragraphs (list items stay with theirs); sentences when there are fewer paragraphs than
    questions, as when a student writes everything in one block."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in [*normalize_text(text).split("\n"), ""]:
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append("\n".join(current))
            current = []
    if len(paragraphs) < question_count:
        paragraphs = [s for p in paragraphs for s in split_sentences(" ".join(p.split()))]
    if len(paragraphs) > ALIGN_MAX_BLOCKS:
        size = -(-len(paragraphs) // ALIGN_MAX_BLOCKS)
        paragraphs = [
            "\n\n".join(paragraphs[i : i + size]) for i in range(0, len(paragraphs), size)
        ]
    return paragraphs


def alignment_similarity(matcher: RubricMatcher, rubric: Rubric, blocks: list[str]) -> np.ndarray:
    """blocks × questions, in [0, 1]: the best of a block's match to the question's key points
    and misconceptions (the grader's own similarity) and its TF-IDF likeness to the question's
    text (students copy the question above their answer)."""
    result = np.zeros((len(blocks), len(rubric.questions)))
    lowered = [b.lower() for b in blocks]
    word = matcher.word_vectorizer_.transform(lowered)
    char = matcher.char_vectorizer_.transform(lowered)
    for column, question in enumerate(rubric.questions):
        texts = [normalize_text(question.text).lower()]
        word_q = matcher.word_vectorizer_.transform(texts)
        char_q = matcher.char_vectorizer_.transform(texts)
        asked = 0.5 * (word @ word_q.T).toarray()[:, 0] + 0.5 * (char @ char_q.T).toarray()[:, 0]
        matches = matcher.match_answers(question.id, blocks)
        for row, match in enumerate(matches):
            items = [*match.key_points.values(), *match.misconceptions.values()]
            best = max((m.similarity for m in items), default=0.0)
            result[row, column] = max(best, float(asked[row]))
    return np.clip(result, 0.0, 1.0)


def _align_in_order(similarity: np.ndarray) -> list[int]:
    """Best labelling whose question index never decreases (a run per question, in order)."""
    blocks, questions = similarity.shape
    score = np.full((blocks, questions), -np.inf)
    back = np.zeros((blocks, questions), dtype=int)
    score[0] = similarity[0] - ALIGN_SWITCH_PENALTY
    for i in range(1, blocks):
        for q in range(questions):
            stay = score[i - 1, q]
            switch_from = int(np.argmax(score[i - 1, :q])) if q else -1
            switch = score[i - 1, switch_from] - ALIGN_SWITCH_PENALTY if q else -np.inf
            if stay >= switch:
                score[i, q], back[i, q] = stay + similarity[i, q], q
            else:
                score[i, q], back[i, q] = switch + similarity[i, q], switch_from
    labels = [int(np.argmax(score[-1]))]
    for i in range(blocks - 1, 0, -1):
        labels.append(int(back[i, labels[-1]]))
    return labels[::-1]


def _align_any_order(similarity: np.ndarray) -> list[int]:
    """Best labelling where each question is one run of consecutive blocks, runs in any order
    (an earlier question after a later one costs a little more). Exact, over every set of
    questions already used."""
    blocks, questions = similarity.shape
    rows = similarity.tolist()  # plain floats: this loop runs blocks × 2^questions × questions
    # the cost of a switch from `current` to q
    costs = [
        [
            ALIGN_SWITCH_PENALTY + (ALIGN_BACKWARD_PENALTY if q < current else 0.0)
            for q in range(questions)
        ]
        for current in range(questions)
    ]
    # state (mask of questions used, current question) → (score, previous state)
    states: dict[tuple[int, int], float] = {
        (1 << q, q): rows[0][q] - ALIGN_SWITCH_PENALTY for q in range(questions)
    }
    history: list[dict[tuple[int, int], tuple[int, int] | None]] = [dict.fromkeys(states)]
    unset = -np.inf
    for i in range(1, blocks):
        row = rows[i]
        nxt: dict[tuple[int, int], float] = {}
        back: dict[tuple[int, int], tuple[int, int] | None] = {}
        best_so_far = nxt.get
        for stay, value in states.items():
            mask, current = stay
            candidate = value + row[current]
            if candidate > best_so_far(stay, unset):
                nxt[stay], back[stay] = candidate, stay
            switch_costs = costs[current]
            for q in range(questions):
                if mask >> q & 1:
                    continue
                state = (mask | 1 << q, q)
                candidate = value + row[q] - switch_costs[q]
                if candidate > best_so_far(state, unset):
                    nxt[state], back[state] = candidate, stay
        states = nxt
        history.append(back)
    best: tuple[int, int] | None = max(states, key=lambda s: (states[s], -s[0], -s[1]))
    labels: list[int] = []
    for i in range(blocks - 1, -1, -1):
        if best is None:
            break
        labels.append(best[1])
        best = history[i][best]
    return labels[::-1]
