from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader import RubricMatcher
from grader.scoring import DEFAULT_POLICY

FOUND = DEFAULT_POLICY.credit_threshold
FLAG = DEFAULT_POLICY.misconception_threshold


@pytest.fixture(scope="module")
def matcher(dl14) -> RubricMatcher:
    return RubricMatcher().fit(dl14)


def similarity(matcher: RubricMatcher, question: str, answer: str, item: str) -> float:
    match = matcher.match_answer(question, answer)
    found = {**match.key_points, **match.misconceptions}
    return found[item].similarity


@pytest.mark.parametrize(
    ("question", "answer", "item", "expected"),
    [
        pytest.param(
            "q7", "Dropout does not slow down inference.", "q7.inference", True, id="neg-earns"
        ),
        pytest.param(
            "q7",
            "Dropout does not slow down inference.",
            "q7.m.slows_inference",
            False,
            id="neg-no-flag",
        ),
        pytest.param(
            "q7",
            "Dropout slows down inference as well.",
            "q7.m.slows_inference",
            True,
            id="claim-flags",
        ),
        pytest.param(
            "q6",
            "Quantization is not a sparsity method.",
            "q6.m.quantization",
            False,
            id="quant-negated",
        ),
        pytest.param(
            "q6",
            "Use quantization to get a sparse model.",
            "q6.m.quantization",
            True,
            id="quant-claim",
        ),
        pytest.param("q1", "Yes, it is okay.", "q1.verdict", False, id="yes-okay-not-verdict"),
        pytest.param(
            "q1", "Yes, it is okay.", "q1.m.same_value_ok", True, id="yes-okay-misconception"
        ),
        pytest.param(
            "q3", "ELU is faster to compute than ReLU.", "q3.m.elu_cheaper", True, id="elu-cheaper"
        ),
        pytest.param("q6", "Use L2 regularisation.", "q6.l1", False, id="l2-is-not-l1"),
        pytest.param("q6", "Use l1 regularizaton during trainng.", "q6.l1", True, id="typos"),
        pytest.param(
            "q5",
            "The minimum is overshot and it oscillates.",
            "q5.overshoot",
            True,
            id="word-order",
        ),
        pytest.param(
            "q7",
            "MC Dropout stays active during inference, so each prediction is slower.",
            "q7.m.slows_inference",
            False,
            id="excused-by-mc-dropout",
        ),
        pytest.param(
            "q7",
            "Dropout slows down training. It also slows down inference.",
            "q7.m.slows_inference",
            True,
            id="pronoun-claim",
        ),
    ],
)
def test_matching_decisions(matcher, question, answer, item, expected) -> None:
    threshold = FLAG if ".m." in item else FOUND
    assert (similarity(matcher, question, answer, item) >= threshold) is expected


def test_evidence_is_the_clause_that_earned_it(matcher) -> None:
    answer = "Dropout is a regularizer. It is turned off when making predictions, so no cost there."
    match = matcher.match_answer("q7", answer)
    assert match.key_points["q7.inference"].evidence.startswith("It is turned off")
    assert match.key_points["q7.inference"].phrasing is not None


def test_restated_question_earns_nothing(matcher) -> None:
    match = matcher.match_answer(
        "q7",
        "Does dropout slow down training? Does it slow down inference (i.e., making predictions on "
        "new instances)?",
    )
    assert match.restated_units == match.unit_count == 2
    assert all(m.similarity == 0 for m in match.key_points.values())


def test_keyword_lists_are_detected(matcher) -> None:
    assert matcher.match_answer("q6", "pruning, l1, ftrl").keyword_list
    assert not matcher.match_answer(
        "q6", "You can prune the tiny weights after training."
    ).keyword_list


def test_grade_never_depends_on_other_answers(dl14) -> None:
    first = RubricMatcher().fit(dl14)
    first.match_answer("q7", "Something entirely different about quantization.")
    second = RubricMatcher().fit(dl14)
    answer = "Dropout slows down training but not inference."
    assert first.match_answer("q7", answer) == second.match_answer("q7", answer)


phrasings = [
    (q.id, kp.id, p)
    for q in __import__("grader")
    .load_rubric(__import__("tests.conftest", fromlist=["DL14_RUBRIC"]).DL14_RUBRIC)
    .questions
    for kp in q.key_points
    for p in kp.phrasings
]


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(phrasings))
def test_a_key_points_own_phrasing_earns_it(matcher, case) -> None:
    question, item, phrasing = case
    assert similarity(matcher, question, phrasing + ".", item) >= FOUND


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_similarities_stay_on_one_scale(matcher, text) -> None:
    match = matcher.match_answer("q3", text)
    for item in [*match.key_points.values(), *match.misconceptions.values()]:
        assert 0.0 <= item.similarity <= 1.0


# --- aligning a submission without headings -----------------------------------------------------


def test_alignment_puts_paragraphs_under_their_questions(dl14, dl14_grader) -> None:
    from grader.matching import align_answers

    text = (
        "Kim Tran, group 2\n\n"
        "Dropout slows down training, but it does not slow down inference.\n\n"
        "Use l1 regularization or set tiny weights to zero after training.\n\n"
        "No, identical weights keep the neurons symmetric and they learn the same thing."
    )
    alignment = align_answers(dl14_grader.matcher, dl14, text)
    labels = [qid for qid, _ in alignment.blocks]
    assert labels[1:] == ["q7", "q6", "q1"]
    assert "Kim Tran" in "".join(alignment.answers.values())  # nothing is dropped
    assert 0 < alignment.confidence <= 1


def test_alignment_of_one_block_uses_sentences(dl14, dl14_grader) -> None:
    from grader.matching import align_answers

    text = "Biases can start at zero. Dropout is turned off when making predictions."
    alignment = align_answers(dl14_grader.matcher, dl14, text)
    assert [qid for qid, _ in alignment.blocks] == ["q2", "q7"]


def test_in_order_and_any_order_alignments_agree_on_ordered_text() -> None:
    import numpy as np

    from grader.matching import _align_any_order, _align_in_order

    similarity = np.array([[0.9, 0.1, 0.0], [0.5, 0.2, 0.1], [0.1, 0.8, 0.2], [0.0, 0.1, 0.7]])
    assert _align_in_order(similarity) == _align_any_order(similarity) == [0, 0, 1, 2]
    shuffled = similarity[[3, 0, 1, 2]]
    assert _align_any_order(shuffled) == [2, 0, 0, 1]
