from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader import Grader, Report, Rubric, SubmissionResult
from grader.models import RubricRef
from grader.report import (
    feedback_stems,
    feedback_summary,
    format_number,
    render_feedback_html,
    render_feedback_md,
    safe_stem,
)
from grader.report.feedback import md_text

from .conftest import DATA, ROOT

MALLORY = DATA / "submissions" / "xss" / "mallory.md"


@pytest.fixture(scope="module")
def dev(dl14_grader: Grader) -> SubmissionResult:
    return dl14_grader.grade_file(ROOT / "submissions" / "dev_weak.md")


@pytest.fixture(scope="module")
def mallory(dl14_grader: Grader) -> SubmissionResult:
    return dl14_grader.grade_file(MALLORY)


def test_markdown_shows_score_found_missing_and_misconceptions(dev, dl14: Rubric) -> None:
    text = render_feedback_md(dev, dl14)
    assert f"**Score: {format_number(dev.score or 0)} / 19**" in text
    q7 = text[text.index("## q7") :]
    assert "What you got right:" in q7 and "> Dropout slows down training" in q7
    hint = dl14.question("q7").key_points[1].description
    assert f"To work on:\n\n- {hint}" in q7
    assert "Standard dropout is switched off at inference" in q7
    assert "Reference answer" not in text


def test_html_highlights_the_sentences_that_earned_and_cost_points(dev, dl14: Rubric) -> None:
    page = render_feedback_html(dev, dl14)
    q7 = page[page.index('id="q-q7"') :]
    result = next(q for q in dev.questions if q.id == "q7")
    earned = next(kp for kp in result.key_points if kp.id == "q7.training").evidence
    cost = next(m for m in result.misconceptions if m.id == "q7.m.slows_inference").evidence
    assert earned is not None and cost is not None
    assert f"<mark>{html.escape(earned.text)[:40]}" in q7
    assert f'<mark class="bad">{html.escape(cost.text)[:40]}' in q7
    hint = html.escape(dl14.question("q7").key_points[1].description)
    assert f'<ul class="items missing">\n<li>{hint}' in q7
    assert page.count('<section class="question"') == len(dl14.questions)


def test_reveal_adds_the_reference_answers(dev, dl14: Rubric) -> None:
    md = render_feedback_md(dev, dl14, reveal=True)
    page = render_feedback_html(dev, dl14, reveal=True)
    reference = dl14.question("q7").reference_answer
    assert reference is not None
    assert md.count("Reference answer:") == page.count("<summary>Reference answer</summary>") == 7
    assert reference[:40] in md and reference[:40] in page


def test_review_items_are_listed_for_the_student(dl14_grader: Grader, dl14: Rubric) -> None:
    results = [dl14_grader.grade_file(p) for p in sorted((ROOT / "submissions").iterdir())]
    student = next(r for r in results if any(q.needs_review for q in r.questions))
    flagged = [q for q in student.questions if q.needs_review]
    page = render_feedback_html(student, dl14)
    assert page.count("Your teacher will look again because") == len(flagged)
    assert html.escape(flagged[0].review_reasons[0]) in page


def test_student_text_is_escaped_everywhere(mallory, dl14: Rubric) -> None:
    page = render_feedback_html(mallory, dl14)
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&quot;document.title=&#x27;pwned&#x27;&quot;&gt;" in page
    md = render_feedback_md(mallory, dl14)
    assert "<script>" not in md and "<img" not in md and "&lt;script&gt;" in md


def test_an_unreadable_submission_gets_feedback_that_says_so(
    dl14_grader: Grader, dl14: Rubric, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.md"
    broken.write_bytes(b"\x00\x00binary")
    result = dl14_grader.grade_file(broken)
    assert "could not be graded automatically: not a text file" in render_feedback_md(result, dl14)
    assert "not a text file" in render_feedback_html(result, dl14)
    assert feedback_summary(result, dl14).startswith("Could not be graded automatically")


def test_summary_for_the_lms_quotes_no_student_text(mallory, dl14: Rubric) -> None:
    summary = feedback_summary(mallory, dl14)
    q1 = mallory.questions[0]
    assert summary.startswith(
        f"Score {format_number(mallory.score or 0)} / 19. By question: q1 {format_number(q1.score)} / 3;"
    )
    assert "pwned" not in summary and "\n" not in summary


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[click](javascript:alert(1))", r"\[click\](javascript:alert(1))"),
        ("<b>bold</b> & *em*", r"&lt;b&gt;bold&lt;/b&gt; &amp; \*em\*"),
        ("two\nlines", "two lines"),
    ],
)
def test_markdown_escaping(text: str, expected: str) -> None:
    assert md_text(text) == expected


@pytest.mark.parametrize(
    ("sid", "expected"),
    [
        ("alice_excellent", "alice_excellent"),
        ("../../etc/passwd", re.compile(r"etc_passwd-[0-9a-f]{8}")),
        ("<script>x</script>", re.compile(r"script_x_script-[0-9a-f]{8}")),
        ("CON", re.compile(r"CON-[0-9a-f]{8}")),
        ("...", re.compile(r"submission-[0-9a-f]{8}")),
        ("Zoë Müller", re.compile(r"Zo_M_ller-[0-9a-f]{8}")),
    ],
)
def test_safe_stem(sid: str, expected: str | re.Pattern[str]) -> None:
    stem = safe_stem(sid)
    if isinstance(expected, str):
        assert stem == expected
    else:
        assert expected.fullmatch(stem), stem


@given(st.text(min_size=1, max_size=300))
def test_safe_stem_is_always_a_safe_file_name(sid: str) -> None:
    stem = safe_stem(sid)
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,89}", stem)
    assert not stem.startswith(".")


def test_same_id_twice_and_case_variants_get_distinct_files() -> None:
    def result(sid: str, source: str) -> SubmissionResult:
        return SubmissionResult(id=sid, source=source, status="graded", score=0.0, max_score=1.0)

    report = Report(
        rubric=RubricRef(id="r", title="R"),
        max_score=1.0,
        submissions=[
            result("alice", "s/alice.md"),
            result("alice", "s/alice.txt"),
            result("Bob", "s/Bob.md"),
            result("bob", "s/bob.md"),
            result("carol", "s/carol.md"),
        ],
    )
    stems = feedback_stems(report)
    assert len({s.casefold() for s in stems}) == 5
    assert stems[4] == "carol"


def test_only_short_texts_are_remembered_when_escaped() -> None:
    """Escaping caches keep a rubric's short texts, never a student's long run-on text (memory
    stays bounded by the count and the length of what is kept)."""
    from grader.report.feedback import _md_text_cached, md_text
    from grader.report.page import _escape, esc

    long_text = "<b>x</b> & " * 500  # 5,500 characters
    escaped_before, md_before = _escape.cache_info().currsize, _md_text_cached.cache_info().currsize
    assert esc(long_text) == html.escape(long_text, quote=True)
    assert md_text(long_text).startswith("&lt;b&gt;x&lt;/b&gt; &amp;")
    assert _escape.cache_info().currsize == escaped_before
    assert _md_text_cached.cache_info().currsize == md_before
    assert esc("<i>ok</i>") == "&lt;i&gt;ok&lt;/i&gt;"
    assert md_text("*ok*") == "\\*ok\\*"
