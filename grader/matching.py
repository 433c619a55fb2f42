"""The matcher: how similar each part of an answer is to each rubric item.

Two signals, both on one scale [0, 1]:

* fuzzy coverage: the share of a phrasing's content words (weighted by how distinctive they are
  in the rubric) that the answer unit contains, where words match through RapidFuzz so typos and
  inflections still count, in any order;
* TF-IDF cosine between the unit and the phrasing, on word (1-2) and character (3-5) n-grams, with
  vocabulary and weights fitted on the rubric's own text only, so one student's grade never
  depends on the other students.

Their blend is gated by polarity: a negated unit ("dropout does not slow inference") cannot match
an affirmative phrasing ("dropout slows inference"), and the reverse.

The only module that imports rapidfuzz or scikit-learn.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz, process
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from grader.models import Question, Rubric, RubricItem
from grader.text import (
    PARTICLES,
    Unit,
    content_tokens,
    is_negated,
    is_sentence_like,
    normalize_text,
    split_sentences,
    split_units,
)


@dataclass(frozen=True, slots=True)
class ItemMatch:
    """The best evidence for one rubric item in one answer."""

    item_id: str
    similarity: float
    evidence: str | None = None
    phrasing: str | None = None


@dataclass(frozen=True)
class AnswerMatch:
    """What the matcher saw in one answer to one question."""

    question_id: str
    key_points: dict[str, ItemMatch]
    misconceptions: dict[str, ItemMatch]
    unit_count: int = 0
    restated_units: int = 0
    keyword_list: bool = False
    off_topic_share: float = 0.0
    contradictions: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _Phrasing:
    item_id: str
    is_misconception: bool
    text: str
    negated: bool
    stems: list[str]


@dataclass
class _QuestionIndex:
    question: Question
    phrasings: list[_Phrasing]
    vocabulary: list[str]  # stems the phrasings use
    vocabulary_index: dict[str, int]
    coverage_weights: np.ndarray  # phrasings × vocabulary, each row sums to 1
    anchors: np.ndarray  # phrasings × vocabulary: the words that set an item apart in its question
    word_matrix: sparse.csr_matrix  # phrasings × word n-grams (L2-normalised)
    char_matrix: sparse.csr_matrix  # phrasings × char n-grams (L2-normalised)
    question_sentences: list[str]


class RubricMatcher:
    """Scores every key point and misconception of a question against an answer.

    Shaped like a scikit-learn estimator: options in ``__init__``, state learned from the rubric
    in ``fit`` (names end with ``_``), then ``match_answer`` for one answer at a time.
    """

    def __init__(
        self,
        *,
        fuzzy_weight: float = 0.65,
        token_cutoff: float = 0.85,
        polarity_penalty: float = 0.2,
        anchor_penalty: float = 0.5,
        restatement_cutoff: float = 0.9,
    ) -> None:
        self.fuzzy_weight = fuzzy_weight
        self.anchor_penalty = anchor_penalty
        self.token_cutoff = token_cutoff
        self.polarity_penalty = polarity_penalty
        self.restatement_cutoff = restatement_cutoff

    def fit(self, rubric: Rubric) -> RubricMatcher:
        """Learn vocabularies and weights from the rubric's own text."""
        corpus = _rubric_corpus(rubric)
        self.word_vectorizer_ = TfidfVectorizer(
            analyzer="word", ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"[a-z0-9]+"
        ).fit(corpus)
        self.char_vectorizer_ = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True
        ).fit(corpus)
        self.stem_idf_ = _stem_idf(rubric)
        self.questions_ = {q.id: self._index_question(q) for q in rubric.questions}
        self.rubric_id_ = rubric.id
        return self

    def match_answer(self, question_id: str, answer: str) -> AnswerMatch:
        """Best similarity and evidence per item of `question_id` in `answer`."""
        index = self.questions_[question_id]
        units = [u for u in split_units(normalize_text(answer)) if content_tokens(u.text)]
        kept = [u for u in units if not self._restates_question(u, index)]
        restated = len(units) - len(kept)
        empty_kp = {kp.id: ItemMatch(kp.id, 0.0) for kp in index.question.key_points}
        empty_mc = {m.id: ItemMatch(m.id, 0.0) for m in index.question.misconceptions}
        if not kept or not index.phrasings:
            return AnswerMatch(question_id, empty_kp, empty_mc, len(units), restated)
        similarity = self._similarity(kept, index)  # units × phrasings
        best_kp, best_mc = dict(empty_kp), dict(empty_mc)
        for column, phrasing in enumerate(index.phrasings):
            row = int(np.argmax(similarity[:, column]))
            value = float(similarity[row, column])
            target = best_mc if phrasing.is_misconception else best_kp
            if value > target[phrasing.item_id].similarity:
                target[phrasing.item_id] = ItemMatch(
                    phrasing.item_id, round(value, 6), kept[row].text, phrasing.text
                )
        best_per_unit = similarity.max(axis=1)
        off_topic = float(np.mean(best_per_unit < 0.25))
        keyword_list = not any(is_sentence_like(u.text) for u in kept)
        return AnswerMatch(
            question_id,
            best_kp,
            best_mc,
            unit_count=len(units),
            restated_units=restated,
            keyword_list=keyword_list,
            off_topic_share=off_topic,
        )

    # --- internals -----------------------------------------------------------------------

    def _index_question(self, question: Question) -> _QuestionIndex:
        phrasings = [
            _Phrasing(kp.id, False, p, is_negated(p), content_tokens(p))
            for kp in question.key_points
            for p in kp.phrasings
        ] + [
            _Phrasing(m.id, True, p, is_negated(p), content_tokens(p))
            for m in question.misconceptions
            for p in m.phrasings
        ]
        vocabulary = sorted({s for p in phrasings for s in p.stems})
        vocabulary_index = {s: i for i, s in enumerate(vocabulary)}
        # A word's weight: how rare it is in the rubric times how rare among this question's
        # items. Its anchors are its rarest words in the question: "dropout slows down
        # inference" is about inference; an answer without that word is not making this claim.
        item_stems: dict[str, set[str]] = {}
        for phrasing in phrasings:
            item_stems.setdefault(phrasing.item_id, set()).update(phrasing.stems)
        local_df = Counter(s for stems in item_stems.values() for s in stems)
        n_items = len(item_stems)
        weights = np.zeros((len(phrasings), len(vocabulary)))
        anchors = np.zeros((len(phrasings), len(vocabulary)), dtype=bool)
        for row, phrasing in enumerate(phrasings):
            stems = set(phrasing.stems)
            for stem_ in stems:
                local_idf = math.log((1 + n_items) / (1 + local_df[stem_])) + 1.0
                weights[row, vocabulary_index[stem_]] = self.stem_idf_.get(stem_, 1.0) * local_idf
            words = stems - PARTICLES  # a bare "yes"/"no" never carries an item alone
            if words:
                rarest = min(local_df[s] for s in words)
                for stem_ in words:
                    anchors[row, vocabulary_index[stem_]] = local_df[stem_] == rarest
        totals = weights.sum(axis=1, keepdims=True)
        weights = np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)
        texts = [p.text.lower() for p in phrasings]
        return _QuestionIndex(
            question=question,
            phrasings=phrasings,
            vocabulary=vocabulary,
            vocabulary_index=vocabulary_index,
            coverage_weights=weights,
            anchors=anchors,
            word_matrix=self.word_vectorizer_.transform(texts)
            if texts
            else sparse.csr_matrix((0, 0)),
            char_matrix=self.char_vectorizer_.transform(texts)
            if texts
            else sparse.csr_matrix((0, 0)),
            question_sentences=[s.lower() for s in split_sentences(normalize_text(question.text))],
        )

    def _similarity(self, units: list[Unit], index: _QuestionIndex) -> np.ndarray:
        texts = [u.text.lower() for u in units]
        coverage = self._coverage(units, index)
        word = (self.word_vectorizer_.transform(texts) @ index.word_matrix.T).toarray()
        char = (self.char_vectorizer_.transform(texts) @ index.char_matrix.T).toarray()
        tfidf = 0.5 * word + 0.5 * char
        blended = self.fuzzy_weight * coverage + (1 - self.fuzzy_weight) * tfidf
        unit_negated = np.array([is_negated(u.text) for u in units])
        phrasing_negated = np.array([p.negated for p in index.phrasings])
        mismatch = unit_negated[:, None] != phrasing_negated[None, :]
        blended = np.where(mismatch, blended * self.polarity_penalty, blended)
        similarity: np.ndarray = np.clip(blended, 0.0, 1.0)
        return similarity

    def _coverage(self, units: list[Unit], index: _QuestionIndex) -> np.ndarray:
        """units × phrasings: weighted share of each phrasing's words found in each unit."""
        unit_stems = [set(content_tokens(u.text)) for u in units]
        answer_stems = sorted(set().union(*unit_stems))
        if not answer_stems or not index.vocabulary:
            return np.zeros((len(units), len(index.phrasings)))
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
        answer_position = {s: i for i, s in enumerate(answer_stems)}
        presence = np.zeros((len(units), len(answer_stems)))
        for row, stems in enumerate(unit_stems):
            for stem_ in stems:
                presence[row, answer_position[stem_]] = 1.0
        unit_vocab = (presence @ matches.astype(float)) > 0
        found = np.asarray(unit_vocab, dtype=float)
        coverage: np.ndarray = found @ index.coverage_weights.T
        anchored = (found @ index.anchors.T.astype(float)) > 0
        return np.where(anchored, coverage, coverage * self.anchor_penalty)

    def _restates_question(self, unit: Unit, index: _QuestionIndex) -> bool:
        """A unit that repeats the question's own text earns nothing."""
        text = unit.text.lower().strip()
        cutoff = self.restatement_cutoff * 100
        for sentence in index.question_sentences:
            if fuzz.ratio(text, sentence) >= cutoff:
                return True
            if text.endswith("?") and fuzz.partial_ratio(text, sentence) >= cutoff - 10:
                return True
        return False


def _items(question: Question) -> list[RubricItem]:
    return [*question.key_points, *question.misconceptions]


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
        for row, block in enumerate(blocks):
            match = matcher.match_answer(question.id, block)
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
    # state (mask of questions used, current question) → (score, previous state)
    states: dict[tuple[int, int], float] = {
        (1 << q, q): float(similarity[0, q]) - ALIGN_SWITCH_PENALTY for q in range(questions)
    }
    history: list[dict[tuple[int, int], tuple[int, int] | None]] = [dict.fromkeys(states)]
    for i in range(1, blocks):
        row = similarity[i]
        nxt: dict[tuple[int, int], float] = {}
        back: dict[tuple[int, int], tuple[int, int] | None] = {}
        for (mask, current), value in states.items():
            stay = (mask, current)
            candidate = value + float(row[current])
            if candidate > nxt.get(stay, -np.inf):
                nxt[stay], back[stay] = candidate, (mask, current)
            for q in range(questions):
                if mask >> q & 1:
                    continue
                cost = ALIGN_SWITCH_PENALTY + (ALIGN_BACKWARD_PENALTY if q < current else 0.0)
                state = (mask | 1 << q, q)
                candidate = value + float(row[q]) - cost
                if candidate > nxt.get(state, -np.inf):
                    nxt[state], back[state] = candidate, (mask, current)
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
