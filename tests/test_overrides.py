from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader import Report, Rubric, grade_folder, load_rubric
from grader.overrides import ManualGrade, answer_hashes, apply_overrides, hash_answer

from .conftest import DATA

FIXTURE = DATA / "gradebook"


@pytest.fixture(scope="module")
def nets() -> Rubric:
    return load_rubric(FIXTURE / "rubric.yaml")


@pytest.fixture(scope="module")
def auto(nets) -> Report:
    return grade_folder(nets, FIXTURE / "submissions")


def pick(report: Report, submission: str):
    return next(s for s in report.submissions if s.id == submission)


def test_no_overrides_changes_nothing(nets, auto) -> None:
    assert apply_overrides(auto, nets, [], answer_hashes(auto)) is auto


def test_manual_beats_automatic(nets, auto) -> None:
    hashes = answer_hashes(auto)
    ana_q1, ana_q2 = pick(auto, "ana").questions
    assert ana_q2.needs_review and not ana_q1.needs_review  # ana pasted a hint into q2
    grade = ManualGrade(
        "ana", "q2", 1.5, "pasted the hint", "ta", hashes[("ana", "q2")], ana_q2.score
    )
    assert grade.points != ana_q2.score
    ana = pick(apply_overrides(auto, nets, [grade], hashes), "ana")
    q2 = ana.questions[1]
    assert (q2.score, q2.manual, q2.needs_review, q2.review_reasons) == (1.5, True, False, [])
    assert q2.override is not None
    assert q2.override.auto_score == ana_q2.score
    assert q2.override.comment == "pasted the hint" and q2.override.by == "ta"
    assert ana.manual and not ana.needs_review
    assert ana.score == pytest.approx(ana_q1.score + 1.5)
    # what the TA did not touch stays automatic
    assert ana.questions[0] == pick(auto, "ana").questions[0]
    assert pick(apply_overrides(auto, nets, [grade], hashes), "ben") == pick(auto, "ben")


def test_a_changed_answer_keeps_the_override_and_asks_for_review(nets, auto) -> None:
    hashes = answer_hashes(auto)
    grade = ManualGrade("ben", "q2", 3.0, "generous", None, hash_answer("an older answer"), 0.5)
    q2 = pick(apply_overrides(auto, nets, [grade], hashes), "ben").questions[1]
    assert q2.score == 3.0 and q2.manual and q2.needs_review
    assert q2.override is not None and q2.override.answer_changed
    assert q2.override.previous_auto_score == 0.5 and q2.override.auto_score == 1
    assert q2.review_reasons == ["answer changed since the override: manual 3, automatic now 1"]


def test_override_of_a_question_the_rubric_lost_is_noted(nets, auto) -> None:
    grade = ManualGrade("dee", "q7", 1.0, "old question")
    dee = pick(apply_overrides(auto, nets, [grade], answer_hashes(auto)), "dee")
    assert not dee.manual and dee.score == pick(auto, "dee").score
    assert any("override for q7 not applied" in note for note in dee.notes)


def test_an_unreadable_file_can_be_graded_by_hand(tmp_path: Path, nets) -> None:
    (tmp_path / "gus.md").write_bytes(b"\x00\x01binary")
    auto = grade_folder(nets, tmp_path)
    grade = ManualGrade("gus", "q1", 2.5, "read the PDF he emailed")
    gus = pick(apply_overrides(auto, nets, [grade], answer_hashes(auto)), "gus")
    assert gus.status == "error" and gus.error == "not a text file (binary content)"
    assert gus.score == 2.5 and gus.manual and gus.needs_review
    assert [(q.id, q.score, q.manual) for q in gus.questions] == [
        ("q1", 2.5, True),
        ("q2", 0.0, False),
    ]


def test_answer_fingerprints_ignore_resaving_noise() -> None:
    assert hash_answer("Dropout  slows\r\n training. ") == hash_answer("Dropout slows training.")
    assert hash_answer("Dropout slows training.") != hash_answer("Dropout slows inference.")


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["ana", "ben", "cai", "dee", "eli", "fay"]),
            st.sampled_from(["q1", "q2"]),
            st.floats(0, 3),
        ),
        max_size=8,
    )
)
def test_totals_are_the_sum_of_questions_and_stay_in_range(nets, auto, picks) -> None:
    grades = [ManualGrade(s, q, points) for s, q, points in picks]
    report = apply_overrides(auto, nets, grades, answer_hashes(auto))
    for s in report.submissions:
        assert s.score == pytest.approx(sum(q.score for q in s.questions), abs=1e-6)
        assert 0 <= (s.score or 0) <= s.max_score
        assert s.manual == any(q.manual for q in s.questions)
