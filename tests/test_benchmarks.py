"""The benchmark generator: deterministic, and shaped like a real class."""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

import pytest

from benchmarks.generate import (
    LONG_ANSWER_WORDS,
    generate_folder,
    generate_submission,
    phrasebank_for,
    phrasebank_from_rubric,
)
from grader import Rubric, load_submission

from .conftest import DL14_RUBRIC

SAMPLE = 300


@pytest.fixture(scope="module")
def sample(dl14: Rubric):
    bank = phrasebank_for(dl14)
    return [generate_submission(dl14, bank, i, seed=7) for i in range(SAMPLE)]


def test_same_seed_gives_the_same_bytes(dl14: Rubric) -> None:
    bank = phrasebank_for(dl14)
    first = [generate_submission(dl14, bank, i, seed=3) for i in range(20)]
    again = [generate_submission(dl14, bank, i, seed=3) for i in range(20)]
    other = [generate_submission(dl14, bank, i, seed=4) for i in range(20)]
    assert first == again
    assert [s.data for s in first] != [s.data for s in other]


def test_a_submission_does_not_depend_on_how_many_are_generated(tmp_path: Path) -> None:
    small = generate_folder(DL14_RUBRIC, tmp_path / "small", 5, seed=1)
    large = generate_folder(DL14_RUBRIC, tmp_path / "large", 12, seed=1)
    assert small["n"] == 5 and large["n"] == 12
    for path in sorted((tmp_path / "small").iterdir()):
        if not path.name.startswith("."):
            assert path.read_bytes() == (tmp_path / "large" / path.name).read_bytes()


def test_folder_is_reused_when_its_manifest_matches(tmp_path: Path) -> None:
    out = tmp_path / "subs"
    first = generate_folder(DL14_RUBRIC, out, 4, seed=2)
    marker = next(p for p in out.iterdir() if not p.name.startswith("."))
    marker.write_text("edited")
    assert generate_folder(DL14_RUBRIC, out, 4, seed=2) == first
    assert marker.read_text() == "edited"  # not regenerated
    with pytest.raises(SystemExit, match="another corpus"):
        generate_folder(DL14_RUBRIC, out, 5, seed=2)
    assert json.loads((out / ".manifest.json").read_text())["n"] == 4


def test_sizes_resemble_a_real_class(sample) -> None:
    words = [s.words for s in sample if s.kind == "ok"]
    # DL_Assignment_14's real sample: median ~500 words a submission, mean ~690.
    assert 350 <= statistics.median(words) <= 700
    assert 450 <= statistics.mean(words) <= 1000
    assert min(words) < 150 and max(words) > LONG_ANSWER_WORDS[0] * 2


def test_the_class_has_missing_answers_long_answers_and_broken_files(sample, dl14) -> None:
    n_questions = len(dl14.questions)
    ok = [s for s in sample if s.kind == "ok"]
    assert sum(len(s.answered) < n_questions for s in ok) >= SAMPLE // 20
    assert any(s.words >= LONG_ANSWER_WORDS[0] for s in ok)
    assert {s.kind for s in generate_many(dl14, 2000)} == {"ok", "empty", "binary", "no-headings"}


def generate_many(rubric: Rubric, n: int):
    bank = phrasebank_for(rubric)
    return [generate_submission(rubric, bank, i, seed=0) for i in range(n)]


def test_text_has_typos_and_varied_encodings(sample, dl14: Rubric) -> None:
    assert any(b"\r\n" in s.data for s in sample)  # Windows line ends
    assert any(s.data.startswith(b"\xff\xfe") for s in sample)  # UTF-16
    assert any(s.data.startswith(b"\xef\xbb\xbf") for s in sample)  # UTF-8 with BOM
    bank = phrasebank_for(dl14)
    known_text = " ".join(
        [
            *(q.text for q in dl14.questions),
            dl14.title,
            *bank.chatty,
            *bank.off_topic,
            *(s for p in bank.questions.values() for s in (*p.good, *p.partial, *p.wrong)),
        ]
    )
    known = set(re.findall(r"[a-z]+", known_text.lower()))
    words = [
        w
        for s in sample
        if s.kind == "ok" and not s.data.startswith(b"\xff\xfe")
        for w in re.findall(r"[a-z]+", s.data.decode("cp1252", "replace").lower())
    ]
    misspelt = sum(w not in known for w in words) / len(words)
    assert 0.002 < misspelt < 0.03  # typos, at the rates students make them


def test_grader_finds_the_answers_the_generator_wrote(sample, dl14, tmp_path: Path) -> None:
    for generated in sample:
        path = tmp_path / generated.name
        path.write_bytes(generated.data)
        submission = load_submission(path, dl14)
        if generated.kind == "ok":
            # A question copied under a heading with no answer is text too: the matcher, not
            # the parser, recognises it and gives it nothing.
            found = {q for q, a in submission.answers.items() if a.strip()}
            assert set(generated.answered) <= found <= set(generated.headed), generated.name
        else:
            assert submission.error is not None or submission.needs_review, generated.name


def test_a_rubric_without_a_phrase_bank_gets_one_from_its_own_text(mini: Rubric) -> None:
    bank = phrasebank_from_rubric(mini)
    assert set(bank.questions) == {q.id for q in mini.questions}
    generated = generate_submission(mini, bank, 0, seed=0)
    assert generated.data
