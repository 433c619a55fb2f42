"""Answers compared with each other: review groups and copy detection.

Grading never compares students (one student's grade never depends on another's); this module
does, on purpose, for two tools a TA uses after grading:

* `group_answers`: similar answers to one question, so a TA reads one per group. Two answers are
  alike when the matcher's TF-IDF + fuzzy similarities to every rubric item are alike (they earn
  and lose the same points for the same reasons) and, to a lesser degree, when their wording is
  alike (TF-IDF on word 1-2 and character 3-5 grams fitted on the answers, and RapidFuzz's
  token-sort ratio). Clustering is average-linkage agglomerative with a distance cut, which has no
  randomness: the same answers give the same groups.
* `detect_copying`: pairs of students whose answers share wording that the question, the rubric and
  the reference answer do not explain. Answers are cut into shingles of `SHINGLE` consecutive content
  words (stemmed, function words skipped, so "the"→"a" edits do not hide a copy); shingles that
  occur in the rubric's own text are dropped; a pair's score is the containment
  |A ∩ B| / min(|A|, |B|) of what is left. All pairs are scored at once by a sparse matrix product.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz, process
from scipy import sparse
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer

from grader.matching import RubricMatcher
from grader.models import Rubric, Submission
from grader.scoring import DEFAULT_POLICY, credit_for
from grader.text import FUNCTION_WORDS, NEGATIONS, normalize_text, stem

# --- review groups -----------------------------------------------------------------------

#: Answers at least this similar (average linkage) fall in one group. Measured on 25 real DL14
#: answers per question (docs/gradebook.md): 7 to 14 groups per question (10.9 on average), and
#: inside a group the scores differ by 0.08 points on average.
GROUP_THRESHOLD = 0.4
#: Share of the rubric-item features in the blend; the rest is the answers' own wording.
ITEM_SHARE = 0.7
#: Root-mean-square difference of item similarities at which two answers count as unrelated.
ITEM_SCALE = 0.3
#: Share of the TF-IDF signal in the wording similarity; the rest is RapidFuzz token_sort_ratio.
TFIDF_SHARE = 0.6
#: Label of the group of students who left the question blank.
BLANK_LABEL = "G0"


@dataclass(frozen=True)
class AnswerGroup:
    """Answers to one question that say much the same thing."""

    label: str
    members: tuple[str, ...]  # submission ids, representative first, then by id
    representative: str
    cohesion: float  # mean similarity of the members to the representative, in [0, 1]

    @property
    def size(self) -> int:
        return len(self.members)


def answer_similarity(answers: Sequence[str]) -> np.ndarray:
    """n × n similarity in [0, 1] of answers to one question (1 on the diagonal)."""
    texts = [normalize_text(a).lower() for a in answers]
    n = len(texts)
    if n == 0:
        return np.zeros((0, 0))
    word = _tfidf(texts, analyzer="word", ngram_range=(1, 2), token_pattern=r"[a-z0-9]+")
    char = _tfidf(texts, analyzer="char_wb", ngram_range=(3, 5))
    tfidf = 0.5 * (word @ word.T).toarray() + 0.5 * (char @ char.T).toarray()
    fuzzy = process.cdist(texts, texts, scorer=fuzz.token_sort_ratio, workers=1) / 100.0
    similarity: np.ndarray = np.clip(TFIDF_SHARE * tfidf + (1 - TFIDF_SHARE) * fuzzy, 0.0, 1.0)
    np.fill_diagonal(similarity, 1.0)
    return similarity


def _tfidf(texts: list[str], **options: object) -> sparse.csr_matrix:
    try:
        matrix: sparse.csr_matrix = TfidfVectorizer(sublinear_tf=True, **options).fit_transform(
            texts
        )
    except ValueError:  # nothing but stop words or punctuation
        return sparse.csr_matrix((len(texts), 1))
    return matrix


def item_features(
    rubric: Rubric, question_id: str, answers: Mapping[str, str]
) -> dict[str, list[float]]:
    """Each answer's standing on each rubric item of the question, in [0, 1]: the credit of every
    key point and how surely every misconception is made, from the matcher's TF-IDF + fuzzy
    similarities put through the scoring ramps, so that answers earning and losing the same
    points for the same reasons come out alike."""
    matcher = RubricMatcher().fit(rubric)
    policy = DEFAULT_POLICY
    half = (policy.credit_high - policy.credit_low) / 2
    misconception_ramp = policy.model_copy(
        update={
            "credit_low": policy.misconception_threshold - half,
            "credit_high": policy.misconception_threshold + half,
        }
    )
    features = {}
    for sid, text in answers.items():
        match = matcher.match_answer(question_id, text)
        features[sid] = [credit_for(m.similarity, policy) for m in match.key_points.values()] + [
            credit_for(m.similarity, misconception_ramp) for m in match.misconceptions.values()
        ]
    return features


def group_answers(
    answers: Mapping[str, str],
    *,
    features: Mapping[str, Sequence[float]] | None = None,
    threshold: float = GROUP_THRESHOLD,
) -> list[AnswerGroup]:
    """Group the answers (submission id → text) to one question; `features` are the
    `item_features` of each answer (without them, only the wording counts).

    Groups come biggest first (ties: by representative id), labelled G1, G2, ...; blank answers
    form one group labelled G0, last. The result depends only on the answers, not their order.
    """
    ids = sorted(answers)
    blank = [sid for sid in ids if not answers[sid].strip()]
    written = [sid for sid in ids if answers[sid].strip()]
    groups: list[tuple[list[str], np.ndarray]] = []
    if len(written) == 1:
        groups.append((written, np.ones((1, 1))))
    elif written:
        similarity = answer_similarity([answers[sid] for sid in written])
        if features is not None:
            vectors = np.array([features[sid] for sid in written], dtype=float)
            if vectors.size:
                rms = np.sqrt(((vectors[:, None, :] - vectors[None, :, :]) ** 2).mean(axis=2))
                items = 1.0 - np.minimum(1.0, rms / ITEM_SCALE)
                similarity = ITEM_SHARE * items + (1 - ITEM_SHARE) * similarity
        model = AgglomerativeClustering(
            n_clusters=None,
            metric="precomputed",
            linkage="average",
            distance_threshold=1.0 - threshold,
        )
        labels = model.fit_predict(1.0 - similarity)
        for cluster in sorted(set(labels)):
            rows = [i for i, label in enumerate(labels) if label == cluster]
            groups.append(([written[i] for i in rows], similarity[np.ix_(rows, rows)]))
    result = []
    for members, block in groups:
        centrality = block.mean(axis=1)
        # The medoid reads most like the rest; ties go to the smallest id (members are sorted).
        best = int(np.argmax(centrality))
        rest = [m for i, m in enumerate(members) if i != best]
        result.append(
            AnswerGroup(
                label="",
                members=(members[best], *rest),
                representative=members[best],
                cohesion=round(float(block[best].mean()), 6),
            )
        )
    result.sort(key=lambda g: (-g.size, g.representative))
    labelled = [
        AnswerGroup(f"G{i}", g.members, g.representative, g.cohesion)
        for i, g in enumerate(result, start=1)
    ]
    if blank:
        labelled.append(AnswerGroup(BLANK_LABEL, tuple(blank), blank[0], 1.0))
    return labelled


# --- copy detection ----------------------------------------------------------------------

#: Consecutive content words per shingle: 4 content words span about 7 running words, longer than
#: the stock phrases every student writes ("the vanishing gradient problem").
SHINGLE = 4
#: A question's answers are suspicious at this containment of one in the other...
QUESTION_THRESHOLD = 0.5
#: ...when they share at least this many shingles (short answers alike are not evidence).
MIN_SHARED_SHINGLES = 4
#: All answers of a pair together are suspicious at this containment...
OVERALL_THRESHOLD = 0.35
#: ...when they share at least this many shingles over all questions.
MIN_SHARED_OVERALL = 10

_WORD = re.compile(r"[A-Za-z0-9]+")


@dataclass(frozen=True)
class SharedPassage:
    """The same wording in two answers, as each student wrote it."""

    text_a: str
    text_b: str
    words: int  # content words in the shared run


@dataclass(frozen=True)
class QuestionSimilarity:
    question: str
    score: float  # containment of shingles, in [0, 1]
    shared: int  # shingles in common
    suspicious: bool
    passages: tuple[SharedPassage, ...] = ()


@dataclass(frozen=True)
class SimilarPair:
    """Two students whose answers share wording the rubric does not explain."""

    a: str
    b: str
    overall: float
    shared: int
    questions: tuple[QuestionSimilarity, ...]


@dataclass(frozen=True)
class CopyReport:
    """Every suspicious pair, most similar first."""

    submissions: int
    questions: tuple[str, ...]
    pairs: list[SimilarPair] = field(default_factory=list)
    thresholds: dict[str, float] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()  # submissions that could not be read


@dataclass(frozen=True)
class _Tokens:
    keys: list[str]  # stemmed content words
    spans: list[tuple[int, int]]  # where each key is in the text
    text: str


def _content_words(text: str) -> _Tokens:
    keys, spans = [], []
    for match in _WORD.finditer(text):
        word = match.group(0).lower()
        if word in FUNCTION_WORDS or word in NEGATIONS:
            continue
        keys.append(stem(word))
        spans.append(match.span())
    return _Tokens(keys, spans, text)


def _shingles(keys: Sequence[str]) -> set[str]:
    return {" ".join(keys[i : i + SHINGLE]) for i in range(len(keys) - SHINGLE + 1)}


def rubric_material(rubric: Rubric) -> list[str]:
    """Text every student may legitimately share: questions, reference answers, rubric items."""
    texts: list[str] = []
    for question in rubric.questions:
        texts.append(question.text)
        if question.reference_answer:
            texts.append(question.reference_answer)
        for kp in question.key_points:
            texts.extend([kp.description, *kp.phrasings])
        for m in question.misconceptions:
            texts.extend([m.description, m.feedback, *m.phrasings])
    return texts


def detect_copying(
    rubric: Rubric,
    submissions: Iterable[Submission],
    *,
    shared_material: Iterable[str] = (),
    question_threshold: float = QUESTION_THRESHOLD,
    overall_threshold: float = OVERALL_THRESHOLD,
) -> CopyReport:
    """Pairs of students with suspiciously similar answers, per question and overall.

    Wording found in the rubric (question, reference answer, key points, misconceptions) or in
    `shared_material` (lecture notes, say) is ignored.
    """
    everyone = list(submissions)
    readable = sorted((s for s in everyone if s.error is None), key=lambda s: s.id)
    skipped = tuple(sorted(s.id for s in everyone if s.error is not None))
    ids = [s.id for s in readable]
    common: set[str] = set()
    for text in [*rubric_material(rubric), *shared_material]:
        common |= _shingles(_content_words(normalize_text(text)).keys)
    question_ids = [q.id for q in rubric.questions]
    tokens: dict[str, list[_Tokens]] = {}
    per_question: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    overall_shared = np.zeros((len(ids), len(ids)))
    overall_size = np.zeros(len(ids))
    for qid in question_ids:
        tokens[qid] = [_content_words(normalize_text(s.answers.get(qid, ""))) for s in readable]
        own = [sorted(_shingles(t.keys) - common) for t in tokens[qid]]
        shared, sizes = _co_occurrence(own)
        per_question[qid] = (shared, sizes)
        overall_shared += shared
        overall_size += sizes
    thresholds = {
        "shingle_words": float(SHINGLE),
        "question_threshold": question_threshold,
        "min_shared_shingles": float(MIN_SHARED_SHINGLES),
        "overall_threshold": overall_threshold,
        "min_shared_overall": float(MIN_SHARED_OVERALL),
    }
    pairs: list[SimilarPair] = []
    rows, cols = np.nonzero(np.triu(overall_shared, k=1))
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        total = int(overall_shared[i, j])
        overall = float(total / max(min(overall_size[i], overall_size[j]), 1.0))
        overall_hit = overall >= overall_threshold and total >= MIN_SHARED_OVERALL
        details = []
        for qid in question_ids:
            shared, sizes = per_question[qid]
            count = int(shared[i, j])
            if count == 0:
                continue
            score = float(count / max(min(sizes[i], sizes[j]), 1.0))
            hit = bool(score >= question_threshold and count >= MIN_SHARED_SHINGLES)
            details.append((qid, score, count, hit))
        if not overall_hit and not any(hit for *_, hit in details):
            continue
        questions = tuple(
            QuestionSimilarity(
                question=qid,
                score=round(score, 3),
                shared=count,
                suspicious=hit,
                passages=_passages(tokens[qid][i], tokens[qid][j], common),
            )
            for qid, score, count, hit in details
        )
        pairs.append(SimilarPair(ids[i], ids[j], round(overall, 3), total, questions))
    pairs.sort(key=lambda p: (-p.overall, p.a, p.b))
    return CopyReport(
        submissions=len(readable),
        questions=tuple(question_ids),
        pairs=pairs,
        thresholds=thresholds,
        skipped=skipped,
    )


def _co_occurrence(shingle_sets: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
    """Shingles shared by every pair of students (n × n), and each student's count."""
    vocabulary: dict[str, int] = {}
    indptr: list[int] = [0]
    indices: list[int] = []
    for shingles in shingle_sets:
        indices.extend(vocabulary.setdefault(s, len(vocabulary)) for s in shingles)
        indptr.append(len(indices))
    n = len(shingle_sets)
    matrix = sparse.csr_matrix(
        (np.ones(len(indices)), np.array(indices, dtype=np.int64), np.array(indptr)),
        shape=(n, max(len(vocabulary), 1)),
    )
    shared = (matrix @ matrix.T).toarray()
    sizes = np.diag(shared).copy()
    np.fill_diagonal(shared, 0.0)
    return shared, sizes


def _passages(a: _Tokens, b: _Tokens, common: set[str]) -> tuple[SharedPassage, ...]:
    """Runs of the same content words in both answers, longest first, as each wrote them."""
    matcher = difflib.SequenceMatcher(None, a.keys, b.keys, autojunk=False)
    passages = []
    for block in matcher.get_matching_blocks():
        if block.size < SHINGLE:
            continue
        run = a.keys[block.a : block.a + block.size]
        if not _shingles(run) - common:
            continue  # wording of the rubric itself
        passages.append(
            SharedPassage(
                text_a=_excerpt(a, block.a, block.size),
                text_b=_excerpt(b, block.b, block.size),
                words=block.size,
            )
        )
    passages.sort(key=lambda p: -p.words)
    return tuple(passages)


def _excerpt(tokens: _Tokens, start: int, size: int) -> str:
    begin = tokens.spans[start][0]
    end = tokens.spans[start + size - 1][1]
    return " ".join(tokens.text[begin:end].split())
