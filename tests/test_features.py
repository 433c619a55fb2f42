from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from grader.features import (
    TextSimilarity,
    TopicSimilarity,
    fuzzy_similarities,
    prepare,
    soft_recall,
    word_overlap,
)


def test_identical_texts_are_fully_similar_and_empty_ones_not_at_all() -> None:
    text = prepare("Light travels much faster than sound.")
    assert fuzzy_similarities(text, text) == [1.0, 1.0, 1.0, 1.0]
    assert fuzzy_similarities("", text) == [0.0, 0.0, 0.0, 0.0]


@given(st.text(max_size=60), st.text(max_size=60))
def test_fuzzy_similarities_stay_in_the_unit_interval(a: str, b: str) -> None:
    assert all(0.0 <= v <= 1.0 for v in fuzzy_similarities(prepare(a), prepare(b)))


def test_word_overlap_counts_reference_words_and_can_ignore_the_question() -> None:
    reference = "Light travels much faster than sound."
    answer = "Sound is slower than light."
    recall, precision, f1 = word_overlap(answer, reference)
    # reference stems: light, travel, faster, sound; answer: sound, slower, light
    assert (recall, round(precision, 3)) == (0.5, 0.667)
    assert 0 < f1 < 1
    demoted = word_overlap(answer, reference, ignore=frozenset({"light", "sound"}))
    assert demoted == [0.0, 0.0, 0.0]


def test_tfidf_similarity_prefers_the_paraphrase() -> None:
    similarity = TextSimilarity().fit(
        ["Light travels much faster than sound.", "Why do we see lightning first?"]
    )
    reference = "Light travels much faster than sound."
    pairs = similarity.pairwise(
        ["light is much faster than sound", "our eyes are better than our ears", reference],
        [reference] * 3,
    )
    assert pairs.shape == (3, 2)
    assert pairs[0].min() > pairs[1].max()
    assert np.allclose(pairs[2], 1.0)
    grid = similarity.matrix(["light is faster", "ears"], [reference, "ears and eyes"])
    assert grid.shape == (2, 2) and grid[0, 0] > grid[0, 1]


def test_soft_recall_forgives_typos_but_not_other_words() -> None:
    reference = {"light", "sound", "faster"}
    assert soft_recall({"ligth", "sound", "faster"}, reference) > 0.9
    assert soft_recall({"eyes", "ears"}, reference) == 0.0
    # A heavier word counts for more.
    weights = {"light": 3.0, "sound": 1.0, "faster": 1.0}
    assert soft_recall({"light"}, reference, weights=weights) == 0.6
    assert soft_recall(set(), reference) == 0.0


def test_topic_similarity_relates_answers_through_shared_contexts() -> None:
    topics = TopicSimilarity(dimensions=3).fit(
        [
            "ice is less dense than water so it floats",
            "ice floats because its density is lower",
            "light travels faster than sound",
            "sound is slower than light",
        ]
    )
    close, far = topics.pairwise(["density of ice", "density of ice"], ["ice floats", "sound"])
    assert 0 <= far < close <= 1
