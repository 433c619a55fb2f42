"""Text → answers per question: find the headings students actually write."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from grader.models import Rubric

# "### Ans 1", "## Answer 1", "Answer 1:", "Ans-1", "Q1.", "Q1)", "Q.1", "Question 1", "**Ans 1**",
# "1.Ans--", "Ans 1 ->" ... The marker must open the line; what follows on the line is answer text.
_EXPLICIT = re.compile(
    r"""^[ \t]*(?:\#{1,6}[ \t]*)?(?:[*_]{1,2}[ \t]*)?
    (?:
        (?:ans(?:wer)?s?|q(?:uestion)?|que?s?|ex(?:ercise)?)[ \t]*[-.#:]?[ \t]*(?:no\.?[ \t]*)?(?P<a>\d{1,2})
      | (?P<b>\d{1,2})[ \t]*[.)][ \t]*ans(?:wer)?\b
    )
    (?![\d.]\d)[ \t]*(?:[*_]{1,2})?[ \t]*(?:[.):\-\u2013>]+|(?=\s)|$)[ \t]*(?:[*_]{1,2})?""",
    re.IGNORECASE | re.VERBOSE | re.MULTILINE,
)
# A bare "1." / "1)" / "# 1" opening a block: used only when a file has no explicit markers.
_BARE = re.compile(
    r"^(?:\#{1,6}[ \t]*)?(?:[*_]{1,2})?(?P<n>\d{1,2})[ \t]*[.)](?:[*_]{1,2})?(?:[ \t]+|$)",
    re.MULTILINE,
)
# A label that opens an answer body ("Ans:", "Answer -", "Ans--") after the question text.
_ANSWER_LABEL = re.compile(r"^\W*(?:ans(?:wer)?)\s*[-:.>\u2013]+\s*", re.IGNORECASE)


@dataclass
class ParsedAnswers:
    answers: dict[str, str]
    notes: list[str] = field(default_factory=list)
    needs_review: bool = False


def split_answers(text: str, rubric: Rubric) -> ParsedAnswers:
    """Cut a submission into one answer per question, by its headings.

    Numbers map to the rubric's questions in order (1 → first question). Unknown numbers and
    repeats are noted, not fatal. A file with no headings at all goes whole to a single-question
    rubric, or is left for alignment by the grader (marked needs_review)."""
    question_ids = [q.id for q in rubric.questions]
    markers = [
        (m.start(), m.end(), int(m.group("a") or m.group("b"))) for m in _EXPLICIT.finditer(text)
    ]
    if not markers:
        markers = _bare_markers(text, len(question_ids))
    notes: list[str] = []
    answers: dict[str, str] = {}
    if not markers:
        if len(question_ids) == 1:
            return ParsedAnswers({question_ids[0]: text.strip()})
        return ParsedAnswers({}, ["no question headings found"], needs_review=True)
    for index, (_, end, number) in enumerate(markers):
        stop = markers[index + 1][0] if index + 1 < len(markers) else len(text)
        body = text[end:stop].strip()
        if not 1 <= number <= len(question_ids):
            notes.append(f"heading for question {number} does not match the rubric; ignored")
            continue
        question_id = question_ids[number - 1]
        if question_id in answers:
            notes.append(f"question {number} answered twice; the answers were joined")
            answers[question_id] = f"{answers[question_id]}\n\n{body}".strip()
        else:
            answers[question_id] = body
    return ParsedAnswers({qid: _strip_answer_label(a) for qid, a in answers.items()}, notes)


def _bare_markers(text: str, question_count: int) -> list[tuple[int, int, int]]:
    """Bare numbers that open a block, kept only while they count up 1, 2, 3...: numbered lists
    inside an answer restart at 1 and are skipped."""
    markers: list[tuple[int, int, int]] = []
    expected = 1
    for match in _BARE.finditer(text):
        number = int(match.group("n"))
        starts_block = match.start() == 0 or text[: match.start()].endswith("\n\n")
        if starts_block and number == expected and number <= question_count:
            markers.append((match.start(), match.end(), number))
            expected += 1
    return markers if len(markers) >= 2 or question_count == 1 else []


def _strip_answer_label(answer: str) -> str:
    """'Q1. Is it okay...? Ans: No...' → keep the label's text; the question itself is
    recognised and ignored by the matcher."""
    lines = answer.split("\n")
    for index, line in enumerate(lines[:3]):
        label = _ANSWER_LABEL.match(line)
        if label:
            lines[index] = line[label.end() :]
            break
    return "\n".join(lines).strip()
