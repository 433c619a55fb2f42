from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from grader import Grader, load_rubric, parse_rubric
from grader.drafting import (
    complete_rubric,
    derive_key_points,
    draft_rubric,
    idea_phrasings,
    key_phrases,
    render_rubric_yaml,
    rubric_id_for,
    split_ideas,
    yaml_string,
)
from grader.models import Submission
from grader.text import is_negated

from .conftest import DATA

REFERENCES = [
    (
        "q1",
        "What is a stack, and how does it differ from a queue?",
        "A stack is a last-in first-out structure; a queue is first-in first-out.",
    ),
    (
        "q2",
        "Why does dropout not slow down inference?",
        "Dropout is only active during training. At inference every unit is kept, "
        "so no extra work is done.",
    ),
    (
        "q3",
        "What stages of the life cycle does testing influence?",
        "The testing stage can influence both the coding stage and the solution refinement stage.",
    ),
]


def test_ideas_are_sentences_and_clauses() -> None:
    assert split_ideas("A stack is LIFO; a queue is FIFO. Both store items in order.") == [
        "A stack is LIFO",
        "a queue is FIFO",
        "Both store items in order",
    ]


def test_a_coordinated_list_stays_one_idea() -> None:
    reference = REFERENCES[2][2]
    assert split_ideas(reference) == [reference.rstrip(".")]


def test_ideas_are_cut_where_the_matcher_cuts_answers() -> None:
    # ", so" does not start a new clause for the matcher, so it does not start a new idea.
    assert split_ideas(REFERENCES[1][2]) == [
        "Dropout is only active during training",
        "At inference every unit is kept, so no extra work is done",
    ]
    assert split_ideas("Yes, it helps, but only on small data - not on large data.") == [
        "Yes, it helps",
        "but only on small data",
        "not on large data",
    ]


def test_a_fragment_without_an_idea_joins_its_neighbour() -> None:
    assert split_ideas("Recursion; a function that calls itself on a smaller input.") == [
        "Recursion, a function that calls itself on a smaller input"
    ]


def test_key_phrases_are_runs_of_content_words() -> None:
    assert key_phrases("A stack is a last-in first-out structure") == [
        "stack",
        "last-in first-out structure",
    ]


def test_key_phrases_drop_question_words_first_when_there_are_too_many() -> None:
    idea = "alpha is beta, gamma is delta, epsilon is zeta, eta is theta"
    phrases = key_phrases(idea, question="What are alpha and gamma?")
    assert "alpha" not in phrases and "gamma" not in phrases
    assert phrases == ["beta", "delta", "epsilon", "zeta", "eta", "theta"]


def test_keyword_phrasing_keeps_the_polarity_of_the_idea() -> None:
    idea = "dropout is not used at inference"
    phrasings = idea_phrasings(idea)
    assert phrasings[0] == idea
    assert len(phrasings) == 2 and is_negated(phrasings[1])


def test_derived_key_points_have_equal_weights_and_unique_ids() -> None:
    key_points = derive_key_points(
        "q2", REFERENCES[1][2], question=REFERENCES[1][1], taken_ids=frozenset({"q2.k2"})
    )
    assert [kp.id for kp in key_points] == ["q2.k1", "q2.k3"]
    assert {kp.weight for kp in key_points} == {1}
    assert (
        key_points[0].description
        == "Key idea 1 of the model answer, about: Dropout, active, during."
    )
    assert "Dropout is only active during training" in key_points[0].phrasings
    assert all(len(kp.phrasings) == 2 for kp in key_points)


def test_the_reference_answer_earns_full_marks_on_its_own_draft() -> None:
    rubric = draft_rubric(REFERENCES, rubric_id="quiz", title="Quiz")
    grader = Grader(rubric)
    answers = {qid: reference for qid, _, reference in REFERENCES}
    result = grader.grade_submission(Submission(id="ref", source="ref", answers=answers))
    for question in result.questions:
        assert question.score == question.max_score > 0, question


def test_an_unrelated_answer_earns_little_on_a_draft() -> None:
    rubric = draft_rubric(REFERENCES, rubric_id="quiz", title="Quiz")
    answers = {"q1": "I like pizza and long walks on the beach."}
    result = Grader(rubric).grade_submission(Submission(id="x", source="x", answers=answers))
    assert result.questions[0].score == 0


def test_rendered_draft_loads_back_unchanged_with_todos() -> None:
    rubric = draft_rubric(REFERENCES, rubric_id="quiz", title="Quiz: week 3")
    text = render_rubric_yaml(rubric, source="quiz.md")
    assert parse_rubric(text, derive_key_points=False) == rubric
    assert text.count("# TODO: add how students say this") == sum(
        len(q.key_points) for q in rubric.questions
    )
    assert "# TODO: list the wrong claims students make" in text
    assert "misconceptions: []" in text


def test_rendering_keeps_misconceptions_and_numeric_ids(mini) -> None:
    text = render_rubric_yaml(mini, source="minimal.yaml")
    assert parse_rubric(text) == mini
    numeric = draft_rubric([("1.1", "What is X?", "X is a thing.")], rubric_id="r", title="T")
    assert parse_rubric(render_rubric_yaml(numeric, source="s")).questions[0].id == "1.1"


@given(st.text())
def test_yaml_string_reads_back_as_the_same_text(text: str) -> None:
    assert yaml.safe_load(yaml_string(text)) == text


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=80).filter(
            lambda s: s.strip()
        ),
        min_size=1,
        max_size=3,
    )
)
def test_any_draft_renders_to_a_valid_rubric(references: list[str]) -> None:
    triples = [(f"q{i}", f"Question {i}?", ref) for i, ref in enumerate(references, 1)]
    rubric = draft_rubric(triples, rubric_id="r", title="T")
    assert parse_rubric(render_rubric_yaml(rubric, source="s"), derive_key_points=False) == rubric


def test_complete_rubric_derives_only_where_key_points_are_missing(mini) -> None:
    assert complete_rubric(mini) is mini
    raw = load_rubric(DATA / "rubrics" / "valid" / "reference-only.yaml", derive_key_points=False)
    assert all(not q.key_points for q in raw.questions)
    completed = complete_rubric(raw)
    assert [kp.id for kp in completed.question("q1").key_points] == ["q1.k1", "q1.k2"]
    # q2.k1 is a misconception's id already: the derived key point skips it.
    assert [kp.id for kp in completed.question("q2").key_points] == ["q2.k2"]
    assert completed.max_score == 3


def test_rubric_id_from_a_file_name() -> None:
    assert rubric_id_for("Week 3 quiz") == "week_3_quiz"
    assert rubric_id_for("###") == "rubric"
