from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from grader.matching import AnswerMatch, ItemMatch
from grader.scoring import DEFAULT_POLICY, ScoringPolicy, credit_for, score_question


def make_match(question, sims: dict[str, float], **flags) -> AnswerMatch:
    kps = {
        kp.id: ItemMatch(kp.id, sims.get(kp.id, 0.0), "evidence text") for kp in question.key_points
    }
    mcs = {
        m.id: ItemMatch(m.id, sims.get(m.id, 0.0), "claim text") for m in question.misconceptions
    }
    return AnswerMatch(question.id, kps, mcs, unit_count=3, **flags)


def test_credit_is_linear_between_thresholds() -> None:
    policy = ScoringPolicy(credit_low=0.4, credit_high=0.6)
    assert credit_for(0.3, policy) == 0
    assert credit_for(0.5, policy) == 0.5
    assert credit_for(0.9, policy) == 1


def test_score_is_weights_times_credit_minus_penalties(mini) -> None:
    q = mini.question("q1")
    result = score_question(q, make_match(q, {"q1.inference": 1.0, "q1.training": 1.0}))
    assert (result.score, result.max_score) == (3.0, 3.0)
    result = score_question(q, make_match(q, {"q1.inference": 1.0, "q1.m.slows_inference": 1.0}))
    assert result.score == 1.0  # 2 earned - 1 penalty
    assert [m.id for m in result.misconceptions] == ["q1.m.slows_inference"]
    assert result.misconceptions[0].feedback == "Dropout is switched off at inference."


def test_score_floors_at_zero(mini) -> None:
    q = mini.question("q1")
    result = score_question(q, make_match(q, {"q1.m.slows_inference": 1.0}))
    assert result.score == 0.0


def test_bonus_earns_no_points_but_is_reported(mini) -> None:
    q = mini.question("q1")
    result = score_question(q, make_match(q, {"q1.mc": 1.0}))
    bonus = next(kp for kp in result.key_points if kp.id == "q1.mc")
    assert bonus.credit == 1.0 and bonus.points == 0.0 and bonus.bonus
    assert result.score == 0.0


def test_unanswered_question(mini) -> None:
    result = score_question(mini.question("q1"), None)
    assert not result.answered and result.score == 0 and result.max_score == 3


def test_keyword_list_is_capped(mini) -> None:
    q = mini.question("q1")
    result = score_question(
        q, make_match(q, {"q1.inference": 1.0, "q1.training": 1.0}, keyword_list=True)
    )
    assert result.score == 1.0  # a third of 3
    assert result.needs_review


def test_questions_that_ask_for_a_list_accept_one(mini) -> None:
    q = mini.question("q1").model_copy(update={"accepts_lists": True})
    result = score_question(
        q, make_match(q, {"q1.inference": 1.0, "q1.training": 1.0}, keyword_list=True)
    )
    assert result.score == 3.0


def test_contradiction_needs_review(mini) -> None:
    q = mini.question("q1")
    result = score_question(q, make_match(q, {"q1.inference": 1.0, "q1.m.slows_inference": 1.0}))
    assert result.needs_review
    assert any("contradicts" in r for r in result.review_reasons)


def test_near_threshold_needs_review(mini) -> None:
    q = mini.question("q1")
    sims = {"q1.inference": DEFAULT_POLICY.credit_threshold + 0.01}
    result = score_question(q, make_match(q, sims))
    assert result.needs_review and result.confidence < 0.5


@settings(deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["q1.inference", "q1.training", "q1.mc", "q1.m.slows_inference"]),
        st.floats(0, 1),
    )
)
def test_score_stays_in_range(sims) -> None:
    from grader import load_rubric

    from .conftest import DATA

    q = load_rubric(DATA / "rubrics" / "valid" / "minimal.yaml").question("q1")
    result = score_question(q, make_match(q, sims))
    assert 0 <= result.score <= result.max_score
    assert 0 <= result.confidence <= 1
