"""Rubrics from reference answers: split a model answer into its ideas, one key point each.

Used two ways: `grader rubric init` writes the draft as YAML for an instructor to refine, and a
rubric question that has a `reference_answer` but no key points gets the same key points when the
rubric is loaded, so it can be graded on day one.
"""

from __future__ import annotations

import re

from grader.models import KeyPoint, Question, Rubric
from grader.text import (
    FUNCTION_WORDS,
    NEGATIONS,
    content_tokens,
    is_negated,
    leading_particle,
    normalize_text,
    split_blocks,
    split_clauses,
    split_sentences,
    stem,
    tokenize,
)

#: An idea needs this many content words; shorter clauses join their neighbour
#: ("the stack" alone is not an idea, "it is LIFO" is).
MIN_IDEA_WORDS = 2
#: Most key phrases kept in the keyword phrasing of a key point.
MAX_KEY_PHRASES = 6

_WORD_OR_STOP = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*|[,;:.!?()\[\]\"]")
_TRAILING = " ,.;:!?"


def split_ideas(reference: str) -> list[str]:
    """The ideas of a reference answer, in order: its sentences, cut where the matcher cuts an
    answer into clauses (';', ' - ', 'but', 'whereas', ...), so that a student who writes the
    reference meets each idea in one unit of their answer."""
    ideas: list[str] = []
    for block in split_blocks(normalize_text(reference)):
        for sentence in split_sentences(block):
            ideas.extend(split_clauses(sentence))
    merged: list[str] = []
    for idea in (i.strip(_TRAILING) for i in ideas):
        if not idea:
            continue
        short = min(len(content_tokens(idea)), len(content_tokens(merged[-1])) if merged else 9)
        if merged and short < MIN_IDEA_WORDS:
            merged[-1] = f"{merged[-1]}, {idea}"
        else:
            merged.append(idea)
    return [m for m in merged if content_tokens(m)]


def key_phrases(idea: str, question: str = "") -> list[str]:
    """Runs of content words in `idea` ('desired software product', 'last-in first-out'), in
    the order the idea says them. Past `MAX_KEY_PHRASES`, runs made only of the question's own
    words go first (question demoting), then the shortest."""
    question_stems = {stem(t) for t in tokenize(question)}
    runs: list[list[str]] = [[]]
    for word in _WORD_OR_STOP.findall(idea):
        tokens = tokenize(word)
        if not tokens or all(t in FUNCTION_WORDS or t in NEGATIONS for t in tokens):
            runs.append([])
        else:
            runs[-1].append(word)
    phrases = [" ".join(run) for run in runs if run]
    if len(phrases) <= MAX_KEY_PHRASES:
        return phrases

    def keep_first(position: int) -> tuple[bool, int, int]:
        phrase = phrases[position]
        only_question = all(stem(t) in question_stems for t in tokenize(phrase))
        return (only_question, -len(phrase.split()), position)

    kept = sorted(sorted(range(len(phrases)), key=keep_first)[:MAX_KEY_PHRASES])
    return [phrases[i] for i in kept]


def idea_phrasings(idea: str, question: str = "") -> list[str]:
    """The idea in the reference's wording, then its key phrases on one line, keeping an
    opening 'yes'/'no' and a negation so that polarity survives."""
    phrasings = [idea]
    keywords = " ".join(key_phrases(idea, question))
    if keywords:
        if is_negated(idea):
            keywords = f"not {keywords}"
        particle = leading_particle(idea)
        if particle:
            keywords = f"{particle} {keywords}"
        if keywords.lower() != idea.lower() and content_tokens(keywords):
            phrasings.append(keywords)
    return phrasings


def derive_key_points(
    question_id: str,
    reference: str,
    *,
    question: str = "",
    taken_ids: frozenset[str] = frozenset(),
) -> list[KeyPoint]:
    """One key point per idea of `reference`, weight 1 each, ids `<question>.k1`, `.k2`, ...
    (skipping any id in `taken_ids`)."""
    key_points: list[KeyPoint] = []
    number = 0
    for idea in split_ideas(reference):
        number += 1
        while f"{question_id}.k{number}" in taken_ids:
            number += 1
        # A hint, not the answer: students see descriptions of what they missed, and a
        # sentence that copies a description back earns nothing.
        topic = [
            w for w in re.findall(r"[A-Za-z0-9][\w'-]*", idea) if w.lower() not in FUNCTION_WORDS
        ]
        description = f"Key idea {number} of the model answer, about: {', '.join(topic[:3])}."
        key_points.append(
            KeyPoint(
                id=f"{question_id}.k{number}",
                description=description,
                weight=1,
                phrasings=idea_phrasings(idea, question),
            )
        )
    return key_points


def with_derived_key_points(
    question: Question, *, taken_ids: frozenset[str] = frozenset()
) -> Question:
    """A question with key points: one that has only a reference answer gets them derived."""
    if question.key_points or not question.reference_answer:
        return question
    taken = taken_ids | {m.id for m in question.misconceptions}
    derived = derive_key_points(
        question.id, question.reference_answer, question=question.text, taken_ids=taken
    )
    return question.model_copy(update={"key_points": derived})


def complete_rubric(rubric: Rubric) -> Rubric:
    """The rubric with key points derived for every question that has only a reference answer."""
    taken = frozenset(
        item.id for q in rubric.questions for item in [*q.key_points, *q.misconceptions]
    )
    questions = [with_derived_key_points(q, taken_ids=taken) for q in rubric.questions]
    if all(new is old for new, old in zip(questions, rubric.questions, strict=True)):
        return rubric
    return rubric.model_copy(update={"questions": questions})


def draft_rubric(questions: list[tuple[str, str, str]], *, rubric_id: str, title: str) -> Rubric:
    """A starter rubric from (id, question, reference answer) triples."""
    return Rubric(
        id=rubric_id,
        title=title,
        questions=[
            Question(
                id=qid,
                text=text,
                reference_answer=reference,
                key_points=derive_key_points(qid, reference, question=text),
            )
            for qid, text, reference in questions
        ],
    )


def rubric_id_for(name: str) -> str:
    """A rubric id from a file name: 'Week 3 quiz.md' → 'week_3_quiz'."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return slug or "rubric"


# --- YAML -----------------------------------------------------------------------------------

_PLAIN_SAFE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
# Plain words YAML 1.1 reads as booleans or null.
_YAML_WORDS = frozenset("y n yes no on off true false null".split())


def yaml_string(text: str) -> str:
    """A YAML double-quoted scalar that reads back as exactly `text`."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in {'"', "\\"}:
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif code < 0x20 or 0x7F <= code <= 0x9F or code in (0x2028, 0x2029, 0xFEFF):
            out.append(f"\\u{code:04x}")
        elif code > 0xFFFF:
            out.append(f"\\U{code:08x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _key(text: str) -> str:
    plain = _PLAIN_SAFE.match(text) and text.lower() not in _YAML_WORDS
    return text if plain else yaml_string(text)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def render_rubric_yaml(rubric: Rubric, *, source: str) -> str:
    """The draft as commented YAML: what was derived, and TODOs where an instructor's knowledge
    is needed (more phrasings, the misconceptions students actually write)."""
    lines = [
        f"# Starter rubric drafted by `grader rubric init` from {source}.",
        "# Each key point is one idea of the reference answer, worth 1 point; its phrasings are the",
        "# reference's own wording and its key phrases. Before grading with it:",
        "#   TODO: check that each key point is one idea worth its weight (merge, split, reweigh);",
        "#   TODO: add the other ways students say each idea (plain words, synonyms, examples);",
        "#   TODO: add the misconceptions you see in answers, with feedback.",
        "# Check it with: grader rubric lint RUBRIC.yaml",
        f"id: {_key(rubric.id)}",
        f"title: {yaml_string(rubric.title)}",
        "questions:",
    ]
    for question in rubric.questions:
        lines += [
            f"  - id: {_key(question.id)}",
            f"    text: {yaml_string(question.text)}",
        ]
        if question.reference_answer is not None:
            lines.append(f"    reference_answer: {yaml_string(question.reference_answer)}")
        lines.append("    key_points:" if question.key_points else "    key_points: []")
        for kp in question.key_points:
            lines += [
                f"      - id: {_key(kp.id)}",
                f"        description: {yaml_string(kp.description)}",
                f"        weight: {_number(kp.weight)}",
                *(["        bonus: true"] if kp.bonus else []),
                "        phrasings:",
                *(f"          - {yaml_string(p)}" for p in kp.phrasings),
                "          # TODO: add how students say this in their own words",
            ]
        if question.misconceptions:
            lines.append("    misconceptions:")
            for m in question.misconceptions:
                lines += [
                    f"      - id: {_key(m.id)}",
                    f"        description: {yaml_string(m.description)}",
                    f"        penalty: {_number(m.penalty)}",
                    f"        feedback: {yaml_string(m.feedback)}",
                    "        phrasings:",
                    *(f"          - {yaml_string(p)}" for p in m.phrasings),
                ]
                if m.contradicts:
                    lines.append(f"        contradicts: [{', '.join(map(_key, m.contradicts))}]")
            continue
        lines += [
            "    # TODO: list the wrong claims students make, for example:",
            "    # misconceptions:",
            f"    #   - id: {question.id}.m1",
            "    #     description: What the wrong claim is.",
            "    #     penalty: 1",
            "    #     feedback: Why it is wrong, in a sentence a student can act on.",
            "    #     phrasings: [the wrong claim as a student would write it]",
            "    misconceptions: []",
        ]
    return "\n".join(lines) + "\n"
