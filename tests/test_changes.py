from __future__ import annotations

import pytest

from grader import Report, Rubric, grade_folder, load_rubric
from grader.changes import diff_reports
from grader.overrides import ManualGrade, answer_hashes, apply_overrides

from .conftest import DATA

FIXTURE = DATA / "gradebook"


@pytest.fixture(scope="module")
def nets() -> Rubric:
    return load_rubric(FIXTURE / "rubric.yaml")


@pytest.fixture(scope="module")
def auto(nets) -> Report:
    return grade_folder(nets, FIXTURE / "submissions")


def edited(rubric: Rubric, edit) -> Rubric:
    data = rubric.model_dump()
    edit(data)
    return Rubric.model_validate(data)


def change_of(diff, submission):
    return next(c for c in diff.changes if c.submission == submission)


def test_same_report_has_no_changes(auto) -> None:
    diff = diff_reports(auto, auto)
    assert diff.changes == [] and diff.unchanged == 6


def test_a_heavier_key_point_names_the_weight(nets, auto) -> None:
    def heavier(data):
        data["questions"][1]["key_points"][0]["weight"] = 3  # q2.standardize

    after = grade_folder(edited(nets, heavier), FIXTURE / "submissions")
    diff = diff_reports(auto, after)
    ben = change_of(diff, "ben")
    assert (ben.before, ben.after, ben.delta) == (4.0, 6.0, 2.0)
    (q2,) = ben.questions
    assert q2.reasons == ("max score 3 → 5", "q2.standardize weight 1 → 3 (+2)")
    assert "cai" not in {c.submission for c in diff.changes}  # cai never had that key point
    assert {c.submission for c in diff.moved} == {"ana", "ben", "eli", "fay"}
    assert all(c.delta == 2 for c in diff.moved)


def test_a_dropped_misconception_is_the_reason(nets, auto) -> None:
    def forgiving(data):
        data["questions"][0]["misconceptions"] = []

    diff = diff_reports(auto, grade_folder(edited(nets, forgiving), FIXTURE / "submissions"))
    cai = change_of(diff, "cai")
    assert cai.delta == 1
    assert cai.questions[0].reasons == (
        "misconception q1.m.slows_inference no longer flagged (+1)",
    )
    assert "fay" not in {c.submission for c in diff.changes}  # 0 either way: the floor


def test_overrides_and_text_changes_are_named(nets, auto) -> None:
    hashes = answer_hashes(auto)
    grade = ManualGrade("dee", "q2", 1.5, "smooth loss surface is a fair point")
    after = apply_overrides(auto, nets, [grade], hashes)
    moved = dict(hashes)
    moved[("eli", "q1")] = "a different answer"
    diff = diff_reports(auto, after, previous_hashes=hashes, current_hashes=moved)
    dee = change_of(diff, "dee")
    assert dee.questions[0].reasons == ("TA override 1.5: smooth loss surface is a fair point",)
    assert "eli" not in {c.submission for c in diff.changes}  # same score: not a move


def test_students_who_come_and_go(auto) -> None:
    fewer = auto.model_copy(update={"submissions": auto.submissions[1:]})
    diff = diff_reports(fewer, auto)
    assert [(c.submission, c.kind) for c in diff.changes] == [("ana", "new")]
    diff = diff_reports(auto, fewer)
    ana = auto.submissions[0]
    assert ana.id == "ana" and ana.score is not None and ana.score > 0
    assert [(c.submission, c.kind, c.before) for c in diff.changes] == [("ana", "gone", ana.score)]
    assert diff_reports(None, fewer).changes[0].kind == "new"
