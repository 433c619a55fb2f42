from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader import Rubric, load_rubric
from grader.loading import iter_submission_files, load_submission
from grader.models import Submission
from grader.similarity import detect_copying, group_answers, item_features

from .conftest import DATA

RUBRIC = DATA / "gradebook" / "rubric.yaml"
ANSWERS = json.loads((DATA / "similarity" / "answers-q1.json").read_text())["answers"]
COPIES = DATA / "similarity" / "submissions"


@pytest.fixture(scope="module")
def nets() -> Rubric:
    return load_rubric(RUBRIC)


@pytest.fixture(scope="module")
def features(nets) -> dict[str, list[float]]:
    return item_features(nets, "q1", {k: v for k, v in ANSWERS.items() if v})


def kind(sid: str) -> str:
    return sid.split("-")[0]


def test_groups_never_mix_kinds_of_answer(features) -> None:
    groups = group_answers(ANSWERS, features=features)
    for group in groups:
        assert len({kind(sid) for sid in group.members}) == 1, group
    by_kind = {kind(g.members[0]): g for g in groups if len(g.members) > 1}
    assert set(by_kind["wrong"].members) == {"wrong-1", "wrong-2", "wrong-3"}
    assert set(by_kind["off"].members) == {"off-1", "off-2", "off-3"}
    assert len(groups) <= 6  # 11 answers, a TA reads at most 6
    assert groups[-1].label == "G0" and groups[-1].members == ("blank-1",)
    assert [g.label for g in groups[:-1]] == [f"G{i}" for i in range(1, len(groups))]
    for group in groups:
        assert group.representative == group.members[0]
        assert 0 < group.cohesion <= 1


def test_wording_alone_still_groups_rewordings() -> None:
    groups = group_answers(ANSWERS)
    off = next(g for g in groups if "off-1" in g.members)
    assert set(off.members) == {"off-1", "off-2", "off-3"}


@settings(max_examples=10, deadline=None)
@given(st.permutations(sorted(ANSWERS)))
def test_groups_do_not_depend_on_order(order) -> None:
    shuffled = {sid: ANSWERS[sid] for sid in order}
    assert group_answers(shuffled) == group_answers(ANSWERS)


def test_single_and_empty_inputs() -> None:
    assert group_answers({}) == []
    (only,) = group_answers({"a": "Dropout slows training."})
    assert only.members == ("a",) and only.label == "G1"


@pytest.fixture(scope="module")
def copies(nets) -> list[Submission]:
    return [load_submission(p, nets) for p in iter_submission_files(COPIES)]


def test_copied_answers_are_paired_per_question_and_overall(nets, copies) -> None:
    found = detect_copying(nets, copies)
    pairs = {(p.a, p.b): p for p in found.pairs}
    assert set(pairs) == {("gus", "hal"), ("lee", "max")}
    both = pairs[("lee", "max")]
    assert both.overall >= 0.8 and [q.question for q in both.questions if q.suspicious] == [
        "q1",
        "q2",
    ]
    lab = pairs[("gus", "hal")]
    (q2,) = lab.questions
    assert q2.question == "q2" and q2.suspicious
    texts = [(p.text_a, p.text_b) for p in q2.passages]
    assert any("factor of ten" in a and "factor of ten" in b for a, b in texts)
    # each side as its student wrote it
    assert any("lab session, when we removed the batchnorm layers" in a for a, _ in texts)
    assert any("lab session, when we removed batchnorm layers" in b for _, b in texts)
    assert found.pairs[0].a == "lee"  # most similar first


def test_text_from_the_rubric_is_not_evidence(nets, copies) -> None:
    """ivy and jon both paste the reference answer: only without the rubric is that a match."""
    assert all("ivy" not in (p.a, p.b) for p in detect_copying(nets, copies).pairs)
    bare = nets.model_dump()
    for question in bare["questions"]:
        question["reference_answer"] = None
        question["key_points"] = question["key_points"][:1]
        question["key_points"][0]["phrasings"] = ["unrelated words entirely"]
        question["misconceptions"] = []
    found = detect_copying(Rubric.model_validate(bare), copies)
    assert ("ivy", "jon") in {(p.a, p.b) for p in found.pairs}


def test_shared_material_is_ignored(nets, copies) -> None:
    notes = (COPIES / "gus.md").read_text()
    found = detect_copying(nets, copies, shared_material=[notes])
    assert ("gus", "hal") not in {(p.a, p.b) for p in found.pairs}


def test_unreadable_files_are_listed_not_compared(tmp_path: Path, nets, copies) -> None:
    broken = Submission(id="zed", source="zed.pdf", error="unsupported format")
    found = detect_copying(nets, [*copies, broken])
    assert found.skipped == ("zed",) and found.submissions == len(copies)


def test_thresholds_are_reported_and_respected(nets, copies) -> None:
    strict = detect_copying(nets, copies, question_threshold=0.95, overall_threshold=0.95)
    assert {(p.a, p.b) for p in strict.pairs} == {("lee", "max")}
    assert strict.thresholds["question_threshold"] == 0.95
