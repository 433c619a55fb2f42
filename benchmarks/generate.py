"""Synthetic submissions for benchmarks: N answer files for a rubric, shaped like a real class.

Each student gets a profile (ability, verbosity, typo rate, heading style, editor encoding) and
writes answers assembled from a phrase bank: sentences that state a key idea, vague or half-right
ones, known mistakes, chatty filler and off-topic padding. Some answers are missing, some copy the
question above the answer, some are long chatty essays of 300-1,500 words, and a few files are
broken (empty, binary, no headings), as in a real course folder.

Submission `i` depends only on (seed, i): the first 1,000 of a 10,000 run are the 1,000 run.

The phrase bank for a rubric is `phrasebanks/<rubric id>.yaml` beside this file; a rubric without
one gets a bank derived from its reference answers and item descriptions.

    python -m benchmarks.generate rubrics/dl_assignment_14.yaml /tmp/subs --n 1000 --seed 0
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from grader.loading import load_rubric
from grader.models import Rubric
from grader.text import split_sentences

GENERATOR_VERSION = 1
PHRASEBANKS = Path(__file__).resolve().parent / "phrasebanks"

#: Shares of a class, per submission or per answer; chosen to resemble the DL_Assignment_14
#: sample (median ~500 words a submission, some answers missing, a few pasted essays).
EMPTY_FILE_SHARE = 0.003
BINARY_FILE_SHARE = 0.002
NO_HEADINGS_SHARE = 0.003
MISSING_ANSWER_SHARE = 0.06
LONG_ANSWER_SHARE = 0.035
LONG_ANSWER_WORDS = (300, 1500)
OFF_TOPIC_SHARE = 0.08
COPIED_QUESTION_SHARE = 0.15
SHUFFLED_ORDER_SHARE = 0.05

HEADING_STYLES = (
    "### Ans {n}",
    "## Answer {n}",
    "Answer {n}:",
    "Q{n}.",
    "Q{n})",
    "**Ans {n}**",
    "{n}.Ans--",
    "Question {n}",
    "Ans-{n}",
)

Kind = Literal["ok", "empty", "binary", "no-headings"]


@dataclass(frozen=True)
class QuestionPhrases:
    good: tuple[str, ...]
    partial: tuple[str, ...]
    wrong: tuple[str, ...]


@dataclass(frozen=True)
class PhraseBank:
    questions: dict[str, QuestionPhrases]
    chatty: tuple[str, ...]
    off_topic: tuple[str, ...]


@dataclass(frozen=True)
class GeneratedSubmission:
    name: str
    data: bytes
    kind: Kind
    answered: tuple[str, ...]  # question ids with a non-empty answer under a heading
    words: int
    headed: tuple[str, ...] = ()  # question ids with a heading, answered or not


def load_phrasebank(path: Path) -> PhraseBank:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    questions = {
        qid: QuestionPhrases(
            good=tuple(entry.get("good", ())),
            partial=tuple(entry.get("partial", ())),
            wrong=tuple(entry.get("wrong", ())),
        )
        for qid, entry in data["questions"].items()
    }
    return PhraseBank(questions, tuple(data["chatty"]), tuple(data["off_topic"]))


def phrasebank_from_rubric(rubric: Rubric) -> PhraseBank:
    """A bank for any rubric: reference answers and key-point descriptions say the right
    things, misconception descriptions the wrong ones."""
    questions = {}
    for question in rubric.questions:
        good = [kp.description for kp in question.key_points]
        if question.reference_answer:
            good.extend(split_sentences(question.reference_answer))
        questions[question.id] = QuestionPhrases(
            good=tuple(good),
            partial=(f"This question is about {question.text.rstrip('?.').lower()}.",),
            wrong=tuple(m.description for m in question.misconceptions),
        )
    fallback = load_phrasebank(PHRASEBANKS / "dl_assignment_14.yaml")
    return PhraseBank(questions, fallback.chatty, fallback.off_topic)


def phrasebank_for(rubric: Rubric) -> PhraseBank:
    path = PHRASEBANKS / f"{rubric.id}.yaml"
    bank = load_phrasebank(path) if path.is_file() else phrasebank_from_rubric(rubric)
    missing = [q.id for q in rubric.questions if q.id not in bank.questions]
    if missing:
        derived = phrasebank_from_rubric(rubric)
        merged = dict(bank.questions)
        merged.update({qid: derived.questions[qid] for qid in missing})
        bank = PhraseBank(merged, bank.chatty, bank.off_topic)
    return bank


# --- one student ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Profile:
    ability: float
    verbosity: Literal["terse", "normal", "verbose"]
    typo_rate: float
    heading: str
    bullets: float
    copies_question: bool
    shuffled: bool
    encoding: str
    crlf: bool
    suffix: str


def _profile(rng: random.Random) -> _Profile:
    return _Profile(
        ability=rng.betavariate(2.2, 1.8),
        verbosity=rng.choices(["terse", "normal", "verbose"], weights=[25, 60, 15])[0],
        typo_rate=rng.choice([0.0, 0.0, 0.005, 0.01, 0.02, 0.04]),
        heading=rng.choice(HEADING_STYLES),
        bullets=rng.choice([0.0, 0.0, 0.0, 0.3, 0.8]),
        copies_question=rng.random() < COPIED_QUESTION_SHARE,
        shuffled=rng.random() < SHUFFLED_ORDER_SHARE,
        encoding=rng.choices(["utf-8", "utf-8-sig", "cp1252", "utf-16"], weights=[90, 4, 3, 3])[0],
        crlf=rng.random() < 0.1,
        suffix=rng.choices([".md", ".txt"], weights=[80, 20])[0],
    )


_KEYBOARD_NEIGHBOURS = {
    "a": "qs", "e": "wr", "i": "uo", "o": "ip", "n": "bm", "r": "et", "t": "ry", "s": "ad",
    "l": "k", "h": "gj", "u": "yi", "c": "xv", "d": "sf", "m": "n", "g": "fh",
}  # fmt: skip


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:  # swap two letters
        return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
    if kind == 1:  # drop one
        return word[:i] + word[i + 1 :]
    if kind == 2:  # double one
        return word[:i] + word[i] + word[i:]
    near = _KEYBOARD_NEIGHBOURS.get(word[i].lower())
    return word[:i] + rng.choice(near) + word[i + 1 :] if near else word


def _add_typos(text: str, rate: float, rng: random.Random) -> str:
    if rate <= 0:
        return text
    return re.sub(
        r"[A-Za-z]+", lambda m: _typo(m.group(0), rng) if rng.random() < rate else m.group(0), text
    )


def _vary(sentence: str, rng: random.Random) -> str:
    """Small surface changes students make: case, final stop, a hedge in front."""
    roll = rng.random()
    if roll < 0.1:
        sentence = _lower_first(sentence)
    elif roll < 0.18:
        sentence = sentence.rstrip(".")
    elif roll < 0.26:
        hedge = rng.choice(["I think ", "Basically, ", "In short, ", "So ", "Also, "])
        sentence = hedge + _lower_first(sentence)
    return sentence


def _lower_first(sentence: str) -> str:
    """'The model' → 'the model', but 'ELU' and 'GPUs' keep their capitals."""
    if len(sentence) > 1 and sentence[1].isupper():
        return sentence
    return sentence[0].lower() + sentence[1:]


def _pick(pool: tuple[str, ...], rng: random.Random) -> str | None:
    return rng.choice(pool) if pool else None


def _answer_sentences(phrases: QuestionPhrases, profile: _Profile, rng: random.Random) -> list[str]:
    count = {
        "terse": rng.randint(1, 2),
        "normal": rng.randint(2, 6),
        "verbose": rng.randint(4, 9),
    }[profile.verbosity]
    sentences: list[str] = []
    good = list(phrases.good)
    rng.shuffle(good)
    for _ in range(count):
        roll = rng.random()
        if roll < profile.ability and good:
            chosen: str | None = good.pop()
        elif roll < profile.ability + (1 - profile.ability) * 0.35:
            chosen = _pick(phrases.wrong, rng)
        else:
            chosen = _pick(phrases.partial, rng)
        if chosen is not None:
            sentences.append(chosen)
    return sentences


def _paragraphs(sentences: list[str], profile: _Profile, rng: random.Random) -> str:
    varied = [_vary(s, rng) for s in sentences]
    if rng.random() < profile.bullets:
        return "\n".join(f"- {s}" for s in varied)
    paragraphs: list[str] = []
    current: list[str] = []
    for sentence in varied:
        current.append(sentence)
        if len(current) >= rng.randint(2, 6):
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(paragraphs)


def _long_answer(
    phrases: QuestionPhrases, bank: PhraseBank, profile: _Profile, rng: random.Random
) -> list[str]:
    """A chatty essay: the answer's ideas buried in filler and pasted background."""
    target = rng.randint(*LONG_ANSWER_WORDS)
    pools = [
        (phrases.good, 3),
        (phrases.partial, 2),
        (phrases.wrong, 1),
        (bank.chatty, 4),
        (bank.off_topic, 4),
    ]
    candidates = [(pool, weight) for pool, weight in pools if pool]
    sentences: list[str] = []
    words = 0
    while words < target:
        pool = rng.choices([p for p, _ in candidates], weights=[w for _, w in candidates])[0]
        sentence = rng.choice(pool)
        sentences.append(sentence)
        words += len(sentence.split())
    return sentences


def _answer(question_id: str, bank: PhraseBank, profile: _Profile, rng: random.Random) -> str:
    phrases = bank.questions[question_id]
    if rng.random() < LONG_ANSWER_SHARE * (2 if profile.verbosity == "verbose" else 1):
        sentences = _long_answer(phrases, bank, profile, rng)
    else:
        sentences = _answer_sentences(phrases, profile, rng)
        chatter = {"terse": 0, "normal": rng.randint(0, 2), "verbose": rng.randint(1, 4)}
        for _ in range(chatter[profile.verbosity]):
            sentences.insert(rng.randint(0, len(sentences)), rng.choice(bank.chatty))
        if rng.random() < OFF_TOPIC_SHARE:
            padding = rng.sample(bank.off_topic, k=min(len(bank.off_topic), rng.randint(2, 7)))
            sentences = padding + sentences if rng.random() < 0.5 else sentences + padding
    return _add_typos(_paragraphs(sentences, profile, rng), profile.typo_rate, rng)


def _encode(text: str, profile: _Profile) -> bytes:
    if profile.encoding == "cp1252":
        text = text.replace("'", "\u2019")  # Word's smart quotes, saved in the Windows code page
    if profile.crlf:
        text = text.replace("\n", "\r\n")
    return text.encode(profile.encoding, errors="replace")


def generate_submission(
    rubric: Rubric, bank: PhraseBank, index: int, *, seed: int = 0
) -> GeneratedSubmission:
    """Submission number `index` of the class `seed`: deterministic, independent of the others."""
    rng = random.Random(f"grader-bench:{seed}:{index}")
    profile = _profile(rng)
    name = f"s{index:06d}{profile.suffix}"
    roll = rng.random()
    if roll < EMPTY_FILE_SHARE:
        return GeneratedSubmission(name, b"", "empty", (), 0)
    if roll < EMPTY_FILE_SHARE + BINARY_FILE_SHARE:
        return GeneratedSubmission(
            name, b"\x00\x01PK\x03\x04" + rng.randbytes(256), "binary", (), 0
        )
    questions = list(enumerate(rubric.questions, start=1))
    if roll < EMPTY_FILE_SHARE + BINARY_FILE_SHARE + NO_HEADINGS_SHARE:
        body = "\n\n".join(_answer(q.id, bank, profile, rng) for _, q in questions)
        return GeneratedSubmission(
            name, _encode(body, profile), "no-headings", (), len(body.split())
        )
    if profile.shuffled:
        rng.shuffle(questions)
    blocks: list[str] = []
    if rng.random() < 0.3:
        blocks.append(rng.choice([f"# {rubric.title}", "Name: student", "Deep Learning homework"]))
    answered: list[str] = []
    headed: list[str] = []
    words = 0
    for number, question in questions:
        missing = rng.random() < MISSING_ANSWER_SHARE * (1.5 - profile.ability)
        if missing and rng.random() < 0.5:
            continue  # no heading at all
        heading = profile.heading.format(n=number)
        headed.append(question.id)
        if profile.copies_question:
            heading = f"{heading} {question.text}"
        if missing:
            blocks.append(heading)
            continue
        answer = _answer(question.id, bank, profile, rng)
        if profile.copies_question and rng.random() < 0.5:
            answer = f"Ans: {answer}"
        blocks.append(f"{heading}\n\n{answer}")
        answered.append(question.id)
        words += len(answer.split())
    text = "\n\n".join(blocks) + "\n"
    return GeneratedSubmission(
        name, _encode(text, profile), "ok", tuple(sorted(answered)), words, tuple(sorted(headed))
    )


# --- a folder ------------------------------------------------------------------------------


def manifest_for(rubric_source: bytes, n: int, seed: int) -> dict[str, object]:
    return {
        "generator_version": GENERATOR_VERSION,
        "rubric_sha256": hashlib.sha256(rubric_source).hexdigest(),
        "n": n,
        "seed": seed,
    }


def generate_folder(
    rubric_path: Path, out_dir: Path, n: int, *, seed: int = 0
) -> dict[str, object]:
    """Write N submissions into `out_dir` (reused when its manifest matches) and return the
    manifest, with the corpus size. The manifest is a hidden file, which grader skips."""
    manifest = manifest_for(rubric_path.read_bytes(), n, seed)
    manifest_path = out_dir / ".manifest.json"
    if manifest_path.is_file():
        existing = json.loads(manifest_path.read_text())
        if {k: existing.get(k) for k in manifest} == manifest:
            return dict(existing)
        raise SystemExit(f"{out_dir} holds another corpus; remove it or choose another folder")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise SystemExit(f"{out_dir} is not empty; remove it or choose another folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    rubric = load_rubric(rubric_path)
    bank = phrasebank_for(rubric)
    total_bytes = total_words = 0
    for index in range(n):
        submission = generate_submission(rubric, bank, index, seed=seed)
        (out_dir / submission.name).write_bytes(submission.data)
        total_bytes += len(submission.data)
        total_words += submission.words
    manifest.update(bytes=total_bytes, words=total_words)
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rubric", type=Path)
    parser.add_argument("out", type=Path, help="Folder to write (must be new or empty).")
    parser.add_argument("--n", type=int, default=1000, help="Number of submissions.")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    manifest = generate_folder(args.rubric, args.out, args.n, seed=args.seed)
    print(json.dumps(manifest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
