"""Accuracy on public short-answer grading benchmarks, with their published protocols.

For every answer grader computes features: key-point coverage from its own matcher (with a
rubric drafted from each reference answer), fuzzy and TF-IDF similarity to the reference and to
the question, word overlap with and without the question's words, lengths, and, when the test
question has graded answers in the training split, similarity to those answers (never to test
answers, whose labels stay unseen). A scikit-learn model, chosen by cross-validation on the
training split alone, learns the grades from these features.

Protocols:

* `evaluate_folds`: Mohler et al. (2011): 12-fold cross-validation, one fold per assignment
  (`cv_fold`), Pearson r, RMSE and median per-question RMSE on the 0-5 scale;
* `evaluate_split`: SemEval-2013 Task 7: train on one file, report accuracy, macro-F1 and
  weighted-F1 on another.

Like `grader.features`, this module may import scikit-learn: it trains the models.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
    VotingClassifier,
    VotingRegressor,
)
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from grader.datasets import Dataset, GradedAnswer
from grader.drafting import draft_rubric, split_ideas
from grader.errors import UsageError
from grader.features import (
    FUZZY_NAMES,
    TextSimilarity,
    TopicSimilarity,
    fuzzy_similarities,
    prepare,
    soft_recall,
    word_overlap,
)
from grader.grading import Grader
from grader.models import Submission
from grader.semantic import EmbeddingCache, Encoder
from grader.text import (
    content_tokens,
    is_negated,
    normalize_text,
    split_blocks,
    split_sentences,
    stem,
    tokenize,
)

#: Neighbours averaged in the peer features.
PEER_NEIGHBOURS = 5
#: Folds of the inner cross-validation that picks the model, on the training split only.
INNER_FOLDS = 4
SEED = 0
#: The name of the candidate that averages all the others.
ENSEMBLE = "ensemble"
#: Protocols of `grader eval --dataset`.
PROTOCOLS = ("mohler",)
#: Ridge penalty of the semantic answer model (384 products and 384 differences of unit vectors).
SEMANTIC_RIDGE_ALPHA = 10.0

Progress = Callable[[str], None]


# --- results ----------------------------------------------------------------------------------


class RegressionResult(BaseModel):
    """Figures of a cross-validated score prediction (Mohler's protocol)."""

    model_config = ConfigDict(frozen=True)

    protocol: str
    dataset: str
    answers: int
    questions: int
    folds: int
    pearson: float
    rmse: float
    median_question_rmse: float
    models: dict[str, int]
    skipped_rows: int
    #: Whether the optional sentence-embedding features were used (`--semantic-model`).
    semantic: bool = False


class ClassificationResult(BaseModel):
    """Figures of a train/test label prediction (SemEval-2013's protocol)."""

    model_config = ConfigDict(frozen=True)

    protocol: str
    train: str
    test: str
    train_answers: int
    test_answers: int
    test_questions_seen_in_train: float
    accuracy: float
    macro_f1: float
    weighted_f1: float
    majority_accuracy: float
    per_label_f1: dict[str, float]
    models: dict[str, int]
    skipped_rows: int
    #: Whether the optional sentence-embedding features were used (`--semantic-model`).
    semantic: bool = False


# --- features ---------------------------------------------------------------------------------


@dataclass
class _Context:
    """What features need, fitted on text only (references, questions): never on grades."""

    grader: Grader
    rubric_ids: dict[str, str]
    similarity: TextSimilarity
    idf: dict[str, float]


def _rubric_ids(question_ids: Sequence[str]) -> dict[str, str]:
    ids: dict[str, str] = {}
    used: set[str] = set()
    for qid in question_ids:
        safe = re.sub(r"[^A-Za-z0-9_.\-]", "_", qid) or "q"
        candidate, n = safe, 1
        while candidate in used:
            n += 1
            candidate = f"{safe}_{n}"
        used.add(candidate)
        ids[qid] = candidate
    return ids


def _context(rows: Sequence[GradedAnswer]) -> _Context:
    questions: dict[str, GradedAnswer] = {}
    for row in rows:
        questions.setdefault(row.question_id, row)
    rubric_ids = _rubric_ids(list(questions))
    rubric = draft_rubric(
        [(rubric_ids[q], r.question or q, r.reference_answer) for q, r in questions.items()],
        rubric_id="benchmark",
        title="benchmark",
    )
    corpus = [t for r in questions.values() for t in (r.question, r.reference_answer)]
    frequency = Counter(s for text in corpus for s in set(content_tokens(text)))
    idf = {s: math.log((1 + len(corpus)) / (1 + df)) + 1.0 for s, df in frequency.items()}
    return _Context(Grader(rubric), rubric_ids, TextSimilarity().fit(corpus), idf)


BASE_FEATURES = (
    "kp_credit_share",
    "kp_mean_similarity",
    "kp_max_similarity",
    "kp_min_similarity",
    "kp_found_share",
    *(f"ref_{n}" for n in FUZZY_NAMES),
    *(f"question_{n}" for n in FUZZY_NAMES),
    "ref_tfidf_word",
    "ref_tfidf_char",
    "question_tfidf_word",
    "question_tfidf_char",
    "ref_recall",
    "ref_precision",
    "ref_f1",
    "ref_recall_demoted",
    "ref_precision_demoted",
    "ref_f1_demoted",
    "answer_words",
    "reference_words",
    "length_ratio",
    "question_reference_similarity",
    "answer_negated",
    "reference_negated",
    "negation_mismatch",
    "soft_recall",
    "soft_precision",
    "soft_recall_demoted",
    "soft_precision_demoted",
)
TOPIC_FEATURES = ("topic_reference_similarity", "topic_question_similarity")


def base_features(rows: Sequence[GradedAnswer], context: _Context) -> np.ndarray:
    """rows × BASE_FEATURES: what an answer shows against its own question and reference."""
    answers = [r.answer for r in rows]
    ref_tfidf = context.similarity.pairwise(answers, [r.reference_answer for r in rows])
    question_tfidf = context.similarity.pairwise(answers, [r.question for r in rows])
    qr_tfidf = context.similarity.pairwise(
        [r.question for r in rows], [r.reference_answer for r in rows]
    ).mean(axis=1)
    table = np.zeros((len(rows), len(BASE_FEATURES)))
    for i, row in enumerate(rows):
        coverage = _coverage(row, context)
        answer, reference, question = (
            prepare(row.answer),
            prepare(row.reference_answer),
            prepare(row.question),
        )
        question_stems = frozenset(stem(t) for t in tokenize(row.question))
        answer_words = len(tokenize(answer))
        reference_words = len(tokenize(reference))
        table[i] = [
            *coverage,
            *fuzzy_similarities(answer, reference),
            *fuzzy_similarities(answer, question),
            *ref_tfidf[i],
            *question_tfidf[i],
            *word_overlap(answer, reference),
            *word_overlap(answer, reference, ignore=question_stems),
            math.log1p(answer_words),
            math.log1p(reference_words),
            math.log1p(answer_words) - math.log1p(reference_words),
            qr_tfidf[i],
            *_polarity(row),
            *_alignment(row, question_stems, context.idf),
        ]
    return table


def _polarity(row: GradedAnswer) -> list[float]:
    answer, reference = is_negated(row.answer), is_negated(row.reference_answer)
    return [float(answer), float(reference), float(answer != reference)]


def _alignment(row: GradedAnswer, question: frozenset[str], idf: dict[str, float]) -> list[float]:
    """Soft word alignment of answer and reference, both ways, with and without the
    question's own words."""
    answer = set(content_tokens(row.answer))
    reference = set(content_tokens(row.reference_answer))
    return [
        soft_recall(answer, reference, weights=idf),
        soft_recall(reference, answer, weights=idf),
        soft_recall(answer - question, reference - question, weights=idf),
        soft_recall(reference - question, answer - question, weights=idf),
    ]


def topic_features(rows: Sequence[GradedAnswer], topics: TopicSimilarity) -> np.ndarray:
    """rows × TOPIC_FEATURES: latent-semantic similarity to the reference and the question."""
    answers = [r.answer for r in rows]
    return np.column_stack(
        [
            topics.pairwise(answers, [r.reference_answer for r in rows]),
            topics.pairwise(answers, [r.question for r in rows]),
        ]
    )


def _topics(train: Sequence[GradedAnswer], rows: Sequence[GradedAnswer]) -> TopicSimilarity:
    """A latent space learned from the training answers' text and every reference answer."""
    references = sorted({r.reference_answer for r in rows})
    return TopicSimilarity(seed=SEED).fit([r.answer for r in train] + references)


SEMANTIC_FEATURES = (
    "sem_reference",
    "sem_question",
    "sem_question_reference",
    "sem_idea_best",
    "sem_idea_mean",
    "sem_idea_worst",
)


def _sentences(text: str) -> list[str]:
    sentences = [s for b in split_blocks(normalize_text(text)) for s in split_sentences(b)]
    return sentences or [text]


def semantic_features(rows: Sequence[GradedAnswer], embed: EmbeddingCache) -> np.ndarray:
    """rows × SEMANTIC_FEATURES: sentence-embedding cosines of the answer with its reference,
    its question, and each idea of the reference (the rubric's key points): the best match of
    the whole answer with one idea, and how well the answer's best sentence covers each idea
    (mean, worst). Paraphrases that share no words still come out close."""
    answers = embed(r.answer for r in rows)
    references = embed(r.reference_answer for r in rows)
    questions = embed(r.question for r in rows)
    ideas: dict[str, np.ndarray] = {}
    table = np.zeros((len(rows), len(SEMANTIC_FEATURES)))
    for i, row in enumerate(rows):
        if row.reference_answer not in ideas:
            ideas[row.reference_answer] = embed(
                split_ideas(row.reference_answer) or [row.reference_answer]
            )
        idea_vectors = ideas[row.reference_answer]
        sentences = np.vstack([answers[i][None, :], embed(_sentences(row.answer))])
        covered = (idea_vectors @ sentences.T).max(axis=1)
        table[i] = [
            float(answers[i] @ references[i]),
            float(answers[i] @ questions[i]),
            float(questions[i] @ references[i]),
            float((idea_vectors @ answers[i]).max()),
            float(covered.mean()),
            float(covered.min()),
        ]
    return table


def semantic_answer_model(
    rows: Sequence[GradedAnswer],
    train: np.ndarray,
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    embed: EmbeddingCache,
    *,
    labels: Sequence[str] | None = None,
) -> np.ndarray:
    """What a linear model of the pair (answer, reference) in embedding space predicts: the
    products and absolute differences of the two unit vectors, which say along which
    directions of meaning an answer agrees with its reference, learned across questions.
    One column (the score, ridge regression) or one per label (logistic probabilities).
    `train` marks the training rows; they get the prediction of a model fitted without their
    own part of `splits` (indices into the training rows: cross-fitting), the others that of a
    model fitted on all of them."""
    answers = embed(r.answer for r in rows)
    references = embed(r.reference_answer for r in rows)
    x = np.hstack([answers * references, np.abs(answers - references)])
    # Only the training rows' grades are read: the others' stay unseen.
    targets = (
        np.array(
            [
                r.score if r.score is not None and t else np.nan
                for r, t in zip(rows, train, strict=True)
            ]
        )
        if labels is None
        else np.array([r.label or "" if t else "" for r, t in zip(rows, train, strict=True)])
    )
    table = np.zeros((len(rows), 1 if labels is None else len(labels)))
    train_ix = np.flatnonzero(train)

    def fit_predict(fit_ix: np.ndarray, predict_ix: np.ndarray) -> np.ndarray:
        if labels is None:
            ridge = Ridge(alpha=SEMANTIC_RIDGE_ALPHA).fit(x[fit_ix], targets[fit_ix])
            predicted: np.ndarray = ridge.predict(x[predict_ix])[:, None]
            return predicted
        present = sorted(set(targets[fit_ix].tolist()))
        out = np.zeros((len(predict_ix), len(labels)))
        if len(present) == 1:
            out[:, list(labels).index(present[0])] = 1.0
            return out
        model = LogisticRegression(C=1.0, max_iter=2000).fit(x[fit_ix], targets[fit_ix])
        probabilities = model.predict_proba(x[predict_ix])
        for column, label in enumerate(model.classes_):
            out[:, list(labels).index(label)] = probabilities[:, column]
        return out

    if (~train).any():
        table[~train] = fit_predict(train_ix, np.flatnonzero(~train))
    for fit_part, predict_part in splits:
        table[train_ix[predict_part]] = fit_predict(train_ix[fit_part], train_ix[predict_part])
    return table


def _coverage(row: GradedAnswer, context: _Context) -> list[float]:
    """Key-point coverage through grader's own public API: the score and the evidence."""
    qid = context.rubric_ids[row.question_id]
    if not row.answer.strip():
        return [0.0] * 5
    submission = Submission(id="answer", source="dataset", answers={qid: row.answer})
    result = context.grader.grade_submission(submission)
    question = next(q for q in result.questions if q.id == qid)
    credits = [kp.credit for kp in question.key_points]
    similarities = [kp.evidence.similarity if kp.evidence else 0.0 for kp in question.key_points]
    if not credits:
        return [0.0] * 5
    return [
        question.score / question.max_score if question.max_score else 0.0,
        float(np.mean(similarities)),
        max(similarities),
        min(similarities),
        sum(c >= 0.5 for c in credits) / len(credits),
    ]


def peer_feature_names(labels: Sequence[str] | None) -> list[str]:
    if labels is None:
        return ["peer_knn_mean", "peer_nearest_target", "peer_max_similarity", "peer_count"]
    return [
        *(f"peer_knn_share_{label}" for label in labels),
        *(f"peer_max_similarity_{label}" for label in labels),
        "peer_nearest_is_first_label",
        "peer_count",
    ]


def peer_features(
    rows: Sequence[GradedAnswer],
    train: Sequence[GradedAnswer],
    targets: Sequence[float] | Sequence[str],
    *,
    labels: Sequence[str] | None,
    exclude_self: bool,
    similarity: Callable[[list[str], list[str]], np.ndarray] | None = None,
) -> np.ndarray:
    """rows × peer features: how close an answer is to the graded training answers of its
    own question, and what those answers scored. With `exclude_self` (the training rows
    themselves), an answer is never compared with itself. `similarity` compares two lists
    of texts (a matrix); by default TF-IDF cosine fitted on the training answers."""
    if similarity is None:
        similarity = (
            TextSimilarity()
            .fit([r.answer for r in train] + list({r.reference_answer for r in train}))
            .matrix
        )
    by_question: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(train):
        by_question[row.question_id].append(index)
    names = peer_feature_names(labels)
    table = np.zeros((len(rows), len(names)))
    grouped: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        grouped[row.question_id].append(index)
    for qid, row_indices in grouped.items():
        pool = by_question.get(qid, [])
        if not pool:
            continue
        sims = similarity([rows[i].answer for i in row_indices], [train[j].answer for j in pool])
        for local, index in enumerate(row_indices):
            candidate = [
                (float(sims[local, k]), j)
                for k, j in enumerate(pool)
                if not (exclude_self and train[j] is rows[index])
            ]
            if not candidate:
                continue
            candidate.sort(key=lambda c: (-c[0], c[1]))
            top = candidate[:PEER_NEIGHBOURS]
            weights = np.array([max(s, 1e-6) for s, _ in top])
            if labels is None:
                values = np.array([float(targets[j]) for _, j in top])
                table[index] = [
                    float(weights @ values / weights.sum()),
                    values[0],
                    top[0][0],
                    math.log1p(len(candidate)),
                ]
            else:
                shares = [
                    float(
                        sum(
                            w for w, (_, j) in zip(weights, top, strict=True) if targets[j] == label
                        )
                    )
                    / float(weights.sum())
                    for label in labels
                ]
                best = [
                    max((s for s, j in candidate if targets[j] == label), default=0.0)
                    for label in labels
                ]
                table[index] = [
                    *shares,
                    *best,
                    float(targets[top[0][1]] == labels[0]),
                    math.log1p(len(candidate)),
                ]
    return table


def _bag_of_words_probabilities(
    texts: list[str], targets: list[str], predict: list[str], labels: Sequence[str]
) -> np.ndarray:
    """len(predict) × labels: a logistic regression on word 1-2-grams of `texts`."""
    present = sorted(set(targets))
    if len(present) == 1:
        return np.tile([float(label == present[0]) for label in labels], (len(predict), 1))
    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2), token_pattern=r"[a-z0-9]+", sublinear_tf=True
    ).fit([prepare(t) for t in texts])
    # Weak regularisation: a question's answers are few and its decisive words (a "not", a
    # terminal's name) are rare.
    model = LogisticRegression(C=10.0, max_iter=2000).fit(
        vectorizer.transform([prepare(t) for t in texts]), targets
    )
    probabilities = model.predict_proba(vectorizer.transform([prepare(t) for t in predict]))
    table = np.zeros((len(predict), len(labels)))
    for column, label in enumerate(model.classes_):
        table[:, list(labels).index(label)] = probabilities[:, column]
    return table


def question_model_features(
    rows: Sequence[GradedAnswer],
    train: Sequence[GradedAnswer],
    targets: Sequence[str],
    *,
    labels: Sequence[str],
    exclude_self: bool,
) -> np.ndarray:
    """rows × labels: what a bag-of-words model of the graded training answers to the same
    question predicts. With `exclude_self` (`rows` is `train`), every answer is predicted by
    a model fitted without it (cross-fitting within its question)."""
    by_question: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(train):
        by_question[row.question_id].append(index)
    table = np.zeros((len(rows), len(labels)))
    if exclude_self:
        for pool in by_question.values():
            ix = np.array(pool)
            y = np.array([targets[j] for j in pool])
            if len(pool) < 2:
                continue  # nothing else to learn from
            # Folds that do not depend on the labels: an answer's own label never decides
            # which of its classmates' answers train the model that predicts it.
            splitter = KFold(n_splits=min(5, len(pool)), shuffle=True, random_state=SEED)
            for fit_part, predict_part in splitter.split(ix):
                table[ix[predict_part]] = _bag_of_words_probabilities(
                    [train[j].answer for j in ix[fit_part]],
                    y[fit_part].tolist(),
                    [train[j].answer for j in ix[predict_part]],
                    labels,
                )
        return table
    grouped: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        grouped[row.question_id].append(index)
    for qid, row_indices in grouped.items():
        pool = by_question.get(qid, [])
        if pool:
            table[row_indices] = _bag_of_words_probabilities(
                [train[j].answer for j in pool],
                [targets[j] for j in pool],
                [rows[i].answer for i in row_indices],
                labels,
            )
    return table


def answer_text_feature(
    rows: Sequence[GradedAnswer], train: np.ndarray, groups: Sequence[str]
) -> np.ndarray:
    """One column: what a ridge regression on the word 1-2-grams of the training answers (all
    questions together) predicts for each answer: the generic signs of a strong or a weak
    answer. `train` marks the training rows; they get the prediction of a model fitted
    without their own group (cross-fitting), the other rows that of a model fitted on all."""
    texts = [prepare(r.answer) for r in rows]
    targets = np.array([r.score if r.score is not None else np.nan for r in rows])
    column = np.zeros(len(rows))
    train_ix = np.flatnonzero(train)

    def fit_predict(fit_ix: np.ndarray, predict_ix: np.ndarray) -> np.ndarray:
        vectorizer = TfidfVectorizer(
            ngram_range=(1, 2), token_pattern=r"[a-z0-9]+", sublinear_tf=True
        ).fit([texts[i] for i in fit_ix])
        model = Ridge(alpha=3.0).fit(
            vectorizer.transform([texts[i] for i in fit_ix]), targets[fit_ix]
        )
        predicted: np.ndarray = model.predict(vectorizer.transform([texts[i] for i in predict_ix]))
        return predicted

    column[~train] = fit_predict(train_ix, np.flatnonzero(~train))
    train_groups = [groups[int(i)] for i in train_ix]
    for fit_part, predict_part in _grouped_splits(train_groups, INNER_FOLDS):
        column[train_ix[predict_part]] = fit_predict(train_ix[fit_part], train_ix[predict_part])
    return column[:, None]


# --- models -----------------------------------------------------------------------------------


def _regressors() -> dict[str, BaseEstimator]:
    return {
        "ridge": make_pipeline(StandardScaler(), Ridge(alpha=3.0)),
        "random_forest": RandomForestRegressor(
            n_estimators=150, min_samples_leaf=5, max_features=0.5, random_state=SEED, n_jobs=1
        ),
        "gradient_boosting": HistGradientBoostingRegressor(
            max_iter=200,
            learning_rate=0.05,
            max_leaf_nodes=15,
            l2_regularization=1.0,
            random_state=SEED,
        ),
    }


def _classifiers() -> dict[str, BaseEstimator]:
    return {
        "logistic_regression": make_pipeline(
            StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)
        ),
        "random_forest": RandomForestClassifier(
            n_estimators=150, min_samples_leaf=3, max_features=0.5, random_state=SEED, n_jobs=1
        ),
        "gradient_boosting": HistGradientBoostingClassifier(
            max_iter=200,
            learning_rate=0.05,
            max_leaf_nodes=15,
            l2_regularization=1.0,
            random_state=SEED,
        ),
    }


def _select(
    candidates: dict[str, BaseEstimator],
    features: np.ndarray,
    targets: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    score: Callable[[np.ndarray, np.ndarray], float],
) -> tuple[str, BaseEstimator]:
    """The candidate with the best mean inner-CV score (ties go to the first), refitted on all
    of the training split. Besides each model, their average ("ensemble": mean prediction, or
    mean class probabilities) competes, scored from the same inner-CV fits."""
    classify = targets.dtype.kind in {"U", "S", "O"}
    classes = np.unique(targets)
    out_of_fold: dict[str, np.ndarray] = {}
    for name, model in candidates.items():
        table = np.zeros((len(targets), len(classes))) if classify else np.zeros(len(targets))
        for fit_rows, check_rows in splits:
            fitted = clone(model).fit(features[fit_rows], targets[fit_rows])
            if classify:
                probabilities = fitted.predict_proba(features[check_rows])
                columns = np.searchsorted(classes, fitted.classes_)
                table[np.ix_(check_rows, columns)] = probabilities
            else:
                table[check_rows] = fitted.predict(features[check_rows])
        out_of_fold[name] = table
    out_of_fold[ENSEMBLE] = np.mean(list(out_of_fold.values()), axis=0)
    best_name, best_score = "", -math.inf
    for name, table in out_of_fold.items():
        guesses = classes[table.argmax(axis=1)] if classify else table
        mean = float(np.mean([score(targets[rows], guesses[rows]) for _, rows in splits]))
        if mean > best_score + 1e-12:
            best_name, best_score = name, mean
    if best_name == ENSEMBLE:
        members = [(name, clone(model)) for name, model in candidates.items()]
        ensemble = (
            VotingClassifier(members, voting="soft") if classify else VotingRegressor(members)
        )
        return best_name, ensemble.fit(features, targets)
    return best_name, clone(candidates[best_name]).fit(features, targets)


def _grouped_splits(groups: Sequence[str], n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    distinct = len(set(groups))
    folds = min(n, distinct)
    if folds < 2:
        raise UsageError("the training data needs answers to at least 2 questions (or folds)")
    return list(GroupKFold(n_splits=folds).split(np.zeros(len(groups)), groups=list(groups)))


def _stratified_splits(labels: np.ndarray, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    smallest = min(Counter(labels.tolist()).values())
    folds = max(2, min(n, smallest))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED)
    return list(splitter.split(np.zeros(len(labels)), labels))


def _neg_rmse(truth: np.ndarray, predicted: np.ndarray) -> float:
    return -float(np.sqrt(np.mean((truth - predicted) ** 2)))


def _weighted_f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    return float(f1_score(truth, predicted, average="weighted", zero_division=0))


# --- protocols --------------------------------------------------------------------------------


def _rmse(truth: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.sqrt(np.mean((truth - predicted) ** 2)))


@dataclass(frozen=True)
class Predictions:
    """What a protocol predicted for each row of its test data, and which models did it."""

    values: list[float] | list[str]
    models: dict[str, int]


def predict_folds(
    dataset: Dataset, *, progress: Progress | None = None, encoder: Encoder | None = None
) -> Predictions:
    """Cross-validation over the dataset's `cv_fold` column: each fold's scores are predicted by
    a model trained on the other folds alone. With an `encoder` (the optional semantic
    backend), sentence-embedding features join the others."""
    rows = dataset.rows
    if not dataset.has_folds:
        raise UsageError(f"{dataset.path}: cross-validation needs a cv_fold column")
    folds = sorted({r.fold for r in rows if r.fold is not None}, key=_natural)
    if len(folds) < 2:
        raise UsageError(f"{dataset.path}: cv_fold has a single value; cross-validation needs 2+")
    # One thread: OpenMP's threads slow tree boosting down many times on a busy machine.
    with threadpool_limits(1):
        features = base_features(rows, _context(rows))
        embed = EmbeddingCache(encoder) if encoder is not None else None
        if embed is not None:
            if progress is not None:
                progress("semantic: encoding the answers")
            features = np.hstack([features, semantic_features(rows, embed)])
        targets = np.array([r.score if r.score is not None else np.nan for r in rows])
        predicted = np.zeros(len(rows))
        chosen: Counter[str] = Counter()
        for number, fold in enumerate(folds, 1):
            train = np.array([r.fold != fold for r in rows])
            topics = _topics([r for r in rows if r.fold != fold], rows)
            words = answer_text_feature(rows, train, [r.fold or "" for r in rows])
            splits = _grouped_splits([r.fold or "" for r in rows if r.fold != fold], INNER_FOLDS)
            parts = [features, topic_features(rows, topics), words]
            if embed is not None:
                parts.append(semantic_answer_model(rows, train, splits, embed))
            x = np.hstack(parts)
            name, model = _select(_regressors(), x[train], targets[train], splits, _neg_rmse)
            chosen[name] += 1
            low, high = float(targets[train].min()), float(targets[train].max())
            predicted[~train] = np.clip(model.predict(x[~train]), low, high)
            if progress is not None:
                progress(f"fold {fold} ({number}/{len(folds)}): {name}")
    return Predictions([float(v) for v in predicted], dict(sorted(chosen.items())))


def evaluate_folds(
    dataset: Dataset,
    *,
    protocol: str = "mohler",
    progress: Progress | None = None,
    encoder: Encoder | None = None,
) -> RegressionResult:
    """Mohler et al. (2011): `predict_folds`, then Pearson r, RMSE and the median of the
    per-question RMSEs over the rows marked `evaluated` (the others only train)."""
    if protocol not in PROTOCOLS:
        raise UsageError(f"unknown protocol {protocol!r}; use one of: {', '.join(PROTOCOLS)}")
    if not dataset.has_folds:
        raise UsageError(f"{dataset.path}: the {protocol} protocol needs a cv_fold column")
    if any(r.score is None for r in dataset.rows):
        raise UsageError(f"{dataset.path}: the {protocol} protocol needs a numeric score column")
    predictions = predict_folds(dataset, progress=progress, encoder=encoder)
    rows = [r for r in dataset.rows if r.evaluated]
    truth = np.array([r.score for r in rows], dtype=float)
    guess = np.array(
        [v for r, v in zip(dataset.rows, predictions.values, strict=True) if r.evaluated],
        dtype=float,
    )
    per_question: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        per_question[row.question_id].append(index)
    question_rmse = [_rmse(truth[ix], guess[ix]) for ix in per_question.values()]
    return RegressionResult(
        protocol=protocol,
        dataset=dataset.path,
        answers=len(rows),
        questions=len(per_question),
        folds=len({r.fold for r in dataset.rows}),
        pearson=_pearson(truth, guess),
        rmse=_rmse(truth, guess),
        median_question_rmse=float(np.median(question_rmse)) if question_rmse else 0.0,
        models=predictions.models,
        skipped_rows=len(dataset.skipped),
        semantic=encoder is not None,
    )


def predict_split(
    train: Dataset,
    test: Dataset,
    *,
    progress: Progress | None = None,
    encoder: Encoder | None = None,
) -> Predictions:
    """The labels of `test` from a model trained on `train`. Test answers to questions that
    have graded training answers get the peer features; the others a model without them.
    With an `encoder`, sentence-embedding features join the others (for the peer features
    too: embedding similarity to the graded training answers)."""
    if any(r.label is None for r in train.rows):
        raise UsageError(f"{train.path}: needs a label (or score) column")
    labels = sorted({r.label for r in train.rows if r.label is not None})
    if len(labels) < 2:
        raise UsageError(f"{train.path}: the training labels have a single value")
    with threadpool_limits(1):
        context = _context([*train.rows, *test.rows])
        topics = _topics(train.rows, [*train.rows, *test.rows])
        train_base = np.hstack(
            [base_features(train.rows, context), topic_features(train.rows, topics)]
        )
        test_base = np.hstack(
            [base_features(test.rows, context), topic_features(test.rows, topics)]
        )
        embed = EmbeddingCache(encoder) if encoder is not None else None
        if embed is not None:
            if progress is not None:
                progress("semantic: encoding the answers")
            train_base = np.hstack([train_base, semantic_features(train.rows, embed)])
            test_base = np.hstack([test_base, semantic_features(test.rows, embed)])
        y_train = np.array([r.label for r in train.rows])
        everyone = [*train.rows, *test.rows]
        in_train = np.arange(len(everyone)) < len(train.rows)
        seen_questions = {r.question_id for r in train.rows}
        seen = np.array([r.question_id in seen_questions for r in test.rows])
        predicted = np.empty(len(test.rows), dtype=object)
        chosen: Counter[str] = Counter()
        if (~seen).any():
            splits = _grouped_splits([r.question_id for r in train.rows], INNER_FOLDS)
            x_train, x_test = train_base, test_base
            if embed is not None:
                pair = semantic_answer_model(everyone, in_train, splits, embed, labels=labels)
                x_train = np.hstack([x_train, pair[in_train]])
                x_test = np.hstack([x_test, pair[~in_train]])
            name, model = _select(_classifiers(), x_train, y_train, splits, _weighted_f1)
            chosen[f"{name} (unseen questions)"] += int((~seen).sum())
            predicted[~seen] = model.predict(x_test[~seen])
            if progress is not None:
                progress(f"unseen questions: {name}")
        if seen.any():
            targets = [r.label or "" for r in train.rows]
            train_peer = peer_features(
                train.rows, train.rows, targets, labels=labels, exclude_self=True
            )
            test_rows = [r for r, s in zip(test.rows, seen, strict=True) if s]
            test_peer = peer_features(
                test_rows, train.rows, targets, labels=labels, exclude_self=False
            )
            train_words = question_model_features(
                train.rows, train.rows, targets, labels=labels, exclude_self=True
            )
            test_words = question_model_features(
                test_rows, train.rows, targets, labels=labels, exclude_self=False
            )
            x_train = np.hstack([train_base, train_peer, train_words])
            x_test = np.hstack([test_base[seen], test_peer, test_words])
            splits = _stratified_splits(y_train, INNER_FOLDS)
            if embed is not None:
                x_train, x_test = _semantic_seen(
                    embed, train.rows, test_rows, targets, labels, (x_train, x_test)
                )
            name, model = _select(_classifiers(), x_train, y_train, splits, _weighted_f1)
            chosen[f"{name} (seen questions)"] += int(seen.sum())
            predicted[seen] = model.predict(x_test)
            if progress is not None:
                progress(f"seen questions: {name}")
    return Predictions([str(v) for v in predicted], dict(sorted(chosen.items())))


def _semantic_seen(
    embed: EmbeddingCache,
    train: Sequence[GradedAnswer],
    test: Sequence[GradedAnswer],
    targets: Sequence[str],
    labels: Sequence[str],
    x: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Adds to the seen-question features the peer features in embedding space and the
    semantic answer model, cross-fitted on folds that do not depend on the labels."""
    train_peer = peer_features(
        train, train, targets, labels=labels, exclude_self=True, similarity=embed.similarity
    )
    test_peer = peer_features(
        test, train, targets, labels=labels, exclude_self=False, similarity=embed.similarity
    )
    everyone = [*train, *test]
    in_train = np.arange(len(everyone)) < len(train)
    folds = KFold(n_splits=INNER_FOLDS, shuffle=True, random_state=SEED)
    pair = semantic_answer_model(
        everyone, in_train, list(folds.split(np.zeros(len(train)))), embed, labels=labels
    )
    return (
        np.hstack([x[0], train_peer, pair[in_train]]),
        np.hstack([x[1], test_peer, pair[~in_train]]),
    )


def evaluate_split(
    train: Dataset,
    test: Dataset,
    *,
    progress: Progress | None = None,
    encoder: Encoder | None = None,
) -> ClassificationResult:
    """SemEval-2013 Task 7: `predict_split`, then accuracy, macro-F1 and weighted-F1."""
    if any(r.label is None for r in test.rows):
        raise UsageError(f"{test.path}: needs a label (or score) column")
    predictions = predict_split(train, test, progress=progress, encoder=encoder)
    labels = sorted({r.label for r in [*train.rows, *test.rows] if r.label is not None})
    truth = np.array([r.label for r in test.rows])
    guess = np.array(predictions.values)
    majority = Counter(r.label for r in train.rows).most_common(1)[0][0]
    per_label = f1_score(truth, guess, labels=labels, average=None, zero_division=0)
    seen_questions = {r.question_id for r in train.rows}
    return ClassificationResult(
        protocol="train-test",
        train=train.path,
        test=test.path,
        train_answers=len(train.rows),
        test_answers=len(test.rows),
        test_questions_seen_in_train=float(
            np.mean([r.question_id in seen_questions for r in test.rows])
        ),
        accuracy=float(accuracy_score(truth, guess)),
        macro_f1=float(f1_score(truth, guess, average="macro", zero_division=0)),
        weighted_f1=_weighted_f1(truth, guess),
        majority_accuracy=float(np.mean(truth == majority)),
        per_label_f1={label: float(v) for label, v in zip(labels, per_label, strict=True)},
        models=predictions.models,
        skipped_rows=len(train.skipped) + len(test.skipped),
        semantic=encoder is not None,
    )


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 2 or np.std(a) == 0 or np.std(b) == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def _natural(text: str) -> tuple[int, float | str]:
    try:
        return (0, float(text))
    except ValueError:
        return (1, text)
