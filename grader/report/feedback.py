"""Per-student feedback: feedback/<submission>.md and .html.

Per question: the score, each key point earned with the sentence that earned it, the missing ones
as hints, each misconception with its feedback and the sentence that triggered it, and what a
teacher will look at again. `reveal` adds the reference answers. Student text is escaped for the
format it lands in (HTML entities in HTML; HTML entities and Markdown punctuation in Markdown).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache

from grader.models import (
    KeyPoint,
    KeyPointResult,
    Misconception,
    MisconceptionResult,
    Question,
    QuestionResult,
    Rubric,
    SubmissionResult,
)
from grader.report.common import format_number
from grader.report.page import CACHED_TEXT_CHARS, esc, render_page

#: A key point counts as found from credit 0.5 on, as in grader.scoring.
FOUND_CREDIT = 0.5

_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}|~#])")


def md_text(text: str) -> str:
    """Untrusted text for Markdown: one line, HTML entities escaped (a renderer that passes raw
    HTML through shows `<script>` as text), and Markdown punctuation escaped (no links, no
    emphasis, no code spans smuggled in)."""
    return _md_text_cached(text) if len(text) <= CACHED_TEXT_CHARS else _md_text(text)


@lru_cache(maxsize=8192)  # a rubric's texts come back for every student
def _md_text_cached(text: str) -> str:
    return _md_text(text)


def _md_text(text: str) -> str:
    one_line = " ".join(text.split())
    return _MD_SPECIAL.sub(r"\\\1", html.escape(one_line, quote=False))


@dataclass(frozen=True)
class QuestionFeedback:
    """One question's feedback, sorted into what the pages show."""

    question: Question
    result: QuestionResult | None
    found: list[tuple[KeyPoint, KeyPointResult]]
    strengths: list[tuple[KeyPoint, KeyPointResult]]
    missing: list[tuple[KeyPoint, KeyPointResult | None]]
    misconceptions: list[tuple[Misconception, MisconceptionResult]]


def sort_feedback(question: Question, result: QuestionResult | None) -> QuestionFeedback:
    found: list[tuple[KeyPoint, KeyPointResult]] = []
    strengths: list[tuple[KeyPoint, KeyPointResult]] = []
    missing: list[tuple[KeyPoint, KeyPointResult | None]] = []
    results = {kp.id: kp for kp in result.key_points} if result else {}
    for kp in question.key_points:
        kp_result = results.get(kp.id)
        earned = kp_result is not None and kp_result.credit >= FOUND_CREDIT
        if earned and kp_result is not None:
            (strengths if kp.bonus else found).append((kp, kp_result))
        elif not kp.bonus:
            missing.append((kp, kp_result))
    misconceptions_by_id = {m.id: m for m in question.misconceptions}
    flagged = [
        (misconceptions_by_id[m.id], m)
        for m in (result.misconceptions if result else [])
        if m.id in misconceptions_by_id
    ]
    return QuestionFeedback(question, result, found, strengths, missing, flagged)


def question_feedback(result: SubmissionResult, rubric: Rubric) -> list[QuestionFeedback]:
    by_id = {q.id: q for q in result.questions}
    return [sort_feedback(q, by_id.get(q.id)) for q in rubric.questions]


def _points(value: float, out_of: float) -> str:
    return f"{format_number(value)} / {format_number(out_of)}"


def feedback_summary(result: SubmissionResult, rubric: Rubric) -> str:
    """One line for an LMS feedback cell (Moodle): scores per question, hints, misconceptions.
    Only rubric text appears here, never the student's own sentences."""
    if result.status != "graded":
        return (
            f"Could not be graded automatically ({result.error}); "
            "your teacher will grade it by hand."
        )
    parts = [f"Score {_points(result.score or 0.0, result.max_score)}."]
    sorted_questions = question_feedback(result, rubric)
    parts.append(
        "By question: "
        + "; ".join(
            f"{fb.question.id} {_points(fb.result.score if fb.result else 0.0, fb.question.max_score)}"
            for fb in sorted_questions
        )
        + "."
    )
    hints = [
        f"{fb.question.id}: {kp.description}" for fb in sorted_questions for kp, _ in fb.missing
    ]
    if hints:
        parts.append("To work on: " + " ".join(_sentence(h) for h in hints))
    wrong = [
        f"{fb.question.id}: {m.feedback}" for fb in sorted_questions for m, _ in fb.misconceptions
    ]
    if wrong:
        parts.append("Misconceptions: " + " ".join(_sentence(w) for w in wrong))
    if result.needs_review:
        parts.append("Some answers will be checked again by your teacher.")
    return " ".join(parts)


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else text + "."


# --- Markdown --------------------------------------------------------------------------------


def render_feedback_md(
    result: SubmissionResult,
    rubric: Rubric,
    *,
    reveal: bool = False,
    feedback: list[QuestionFeedback] | None = None,
) -> str:
    """The Markdown feedback page (`feedback`: `question_feedback` of the result, when the
    caller has it already)."""
    lines = [f"# {md_text(rubric.title)}", "", f"Feedback for **{md_text(result.id)}**", ""]
    if result.status != "graded":
        lines += [
            f"Your file could not be graded automatically: {md_text(result.error or '')}.",
            "",
            "Your teacher will grade it by hand.",
            "",
        ]
        lines += _notes_md(result)
        return "\n".join(lines).rstrip("\n") + "\n"
    lines += [f"**Score: {_points(result.score or 0.0, result.max_score)}**", ""]
    if result.needs_review:
        lines += ["Some of your answers will be checked again by your teacher.", ""]
    lines += _notes_md(result)
    for fb in feedback if feedback is not None else question_feedback(result, rubric):
        lines += _question_md(fb, reveal=reveal)
    return "\n".join(lines).rstrip("\n") + "\n"


def _notes_md(result: SubmissionResult) -> list[str]:
    if not result.notes:
        return []
    return ["Notes:", "", *(f"- {md_text(note)}" for note in result.notes), ""]


def _question_md(fb: QuestionFeedback, *, reveal: bool) -> list[str]:
    q, r = fb.question, fb.result
    score = r.score if r else 0.0
    title = f"## {md_text(q.id)}: {_points(score, q.max_score)}"
    if r is not None and r.needs_review:
        title += " (to be checked by your teacher)"
    lines = [title, "", f"*{md_text(q.text)}*", ""]
    if r is None or not r.answered:
        lines += ["No answer was found for this question.", ""]
    if fb.found:
        lines += ["What you got right:", ""]
        for kp, kr in fb.found:
            lines.append(f"- {md_text(kp.description)} ({_points(kr.points, kp.weight)})")
            if kr.evidence:
                lines.append(f"  > {md_text(kr.evidence.text)}")
        lines.append("")
    if fb.strengths:
        lines += ["Strengths beyond the question:", ""]
        for kp, kr in fb.strengths:
            lines.append(f"- {md_text(kp.description)}")
            if kr.evidence:
                lines.append(f"  > {md_text(kr.evidence.text)}")
        lines.append("")
    if fb.missing:
        lines += ["To work on:", ""]
        for kp, partial_kr in fb.missing:
            partial = (
                f" ({_points(partial_kr.points, kp.weight)} so far)"
                if partial_kr and partial_kr.points > 0
                else ""
            )
            lines.append(f"- {md_text(kp.description)}{partial}")
        lines.append("")
    if fb.misconceptions:
        lines += ["Misconceptions:", ""]
        for m, mr in fb.misconceptions:
            lines.append(
                f"- {md_text(m.description)} (-{format_number(mr.penalty)}) "
                f"{md_text(mr.feedback or m.feedback)}"
            )
            if mr.evidence:
                lines.append(f"  > {md_text(mr.evidence.text)}")
        lines.append("")
    if r is not None and r.review_reasons:
        lines += ["Your teacher will look again because:", ""]
        lines += [f"- {md_text(reason)}" for reason in r.review_reasons]
        lines.append("")
    if reveal and q.reference_answer:
        lines += ["Reference answer:", "", f"> {md_text(q.reference_answer)}", ""]
    return lines


# --- HTML ------------------------------------------------------------------------------------


def render_feedback_html(
    result: SubmissionResult,
    rubric: Rubric,
    *,
    reveal: bool = False,
    feedback: list[QuestionFeedback] | None = None,
) -> str:
    """The HTML feedback page (`feedback` as for `render_feedback_md`)."""
    parts = [
        f"<header><h1>{esc(rubric.title)}</h1>",
        f'<p class="sub">Feedback for <strong class="student">{esc(result.id)}</strong></p>',
    ]
    if result.status != "graded":
        parts += [
            '<p><span class="badge error">not graded</span> Your file could not be graded '
            f'automatically: <span class="quote">{esc(result.error or "")}</span>.</p>',
            "<p>Your teacher will grade it by hand.</p></header>",
            _notes_html(result),
        ]
        return render_page(f"Feedback: {result.id}", "\n".join(parts))
    parts.append(
        '<div class="cards"><div class="card"><div class="value" id="total">'
        f"{esc(_points(result.score or 0.0, result.max_score))}</div>"
        '<div class="label">score</div></div></div>'
    )
    if result.needs_review:
        parts.append(
            '<p><span class="badge review">to be checked</span> Some of your answers will be '
            "checked again by your teacher.</p>"
        )
    parts.append("</header>")
    parts.append(_notes_html(result))
    if feedback is None:
        feedback = question_feedback(result, rubric)
    parts.append(
        '<nav><p class="sub">'
        + " · ".join(
            f'<a href="#{esc(_anchor(fb.question.id))}">{esc(fb.question.id)}</a> '
            f"{esc(_points(fb.result.score if fb.result else 0.0, fb.question.max_score))}"
            for fb in feedback
        )
        + "</p></nav>"
    )
    parts += [_question_html(fb, reveal=reveal) for fb in feedback]
    parts.append("<footer>Written by grader from the rubric and your answers.</footer>")
    return render_page(f"Feedback: {result.id}", "\n".join(parts))


def _anchor(question_id: str) -> str:
    return "q-" + re.sub(r"[^A-Za-z0-9_-]", "_", question_id)


def _notes_html(result: SubmissionResult) -> str:
    if not result.notes:
        return ""
    items = "".join(f"<li>{esc(note)}</li>" for note in result.notes)
    return f'<section class="notes"><h3>Notes</h3><ul>{items}</ul></section>'


def _question_html(fb: QuestionFeedback, *, reveal: bool) -> str:
    q, r = fb.question, fb.result
    score = r.score if r else 0.0
    badge = (
        ' <span class="badge review">to be checked</span>'
        if r is not None and r.needs_review
        else ""
    )
    out = [
        f'<section class="question" id="{esc(_anchor(q.id))}">',
        f'<h2>{esc(q.id)} <span class="pts">{esc(_points(score, q.max_score))}</span>{badge}</h2>',
        f'<p class="muted">{esc(q.text)}</p>',
    ]
    if r is None or not r.answered:
        out.append("<p><em>No answer was found for this question.</em></p>")
    if fb.found:
        out.append('<h3>What you got right</h3><ul class="items found">')
        for kp, kr in fb.found:
            out.append(
                f"<li>{esc(kp.description)} "
                f'<span class="pts">{esc(_points(kr.points, kp.weight))}</span>'
                + _quote_html(kr.evidence.text if kr.evidence else None, bad=False)
                + "</li>"
            )
        out.append("</ul>")
    if fb.strengths:
        out.append('<h3>Strengths beyond the question</h3><ul class="items strengths">')
        for kp, kr in fb.strengths:
            out.append(
                f"<li>{esc(kp.description)}"
                + _quote_html(kr.evidence.text if kr.evidence else None, bad=False)
                + "</li>"
            )
        out.append("</ul>")
    if fb.missing:
        out.append('<h3>To work on</h3><ul class="items missing">')
        for kp, partial_kr in fb.missing:
            partial = (
                f' <span class="pts">{esc(_points(partial_kr.points, kp.weight))} so far</span>'
                if partial_kr and partial_kr.points > 0
                else ""
            )
            out.append(f"<li>{esc(kp.description)}{partial}</li>")
        out.append("</ul>")
    if fb.misconceptions:
        out.append('<h3>Misconceptions</h3><ul class="items misconceptions">')
        for m, mr in fb.misconceptions:
            out.append(
                f"<li><strong>{esc(m.description)}</strong> "
                f'<span class="pts">-{esc(format_number(mr.penalty))}</span>'
                + _quote_html(mr.evidence.text if mr.evidence else None, bad=True)
                + f"<p>{esc(mr.feedback or m.feedback)}</p></li>"
            )
        out.append("</ul>")
    if r is not None and r.review_reasons:
        reasons = "".join(f"<li>{esc(reason)}</li>" for reason in r.review_reasons)
        out.append(f'<h3>Your teacher will look again because</h3><ul class="items">{reasons}</ul>')
    if reveal and q.reference_answer:
        out.append(
            "<details open><summary>Reference answer</summary>"
            f'<blockquote class="reference">{esc(q.reference_answer)}</blockquote></details>'
        )
    out.append("</section>")
    return "\n".join(out)


def _quote_html(text: str | None, *, bad: bool) -> str:
    if not text:
        return ""
    css = ' class="bad"' if bad else ""
    return f'<blockquote class="evidence"><mark{css}>{esc(text)}</mark></blockquote>'
