from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader import Report, Rubric, grade_folder
from grader.report import feedback_stems, render_overview, review_queue
from grader.report.charts import histogram, histogram_svg, nice_step
from grader.report.overview import heat_style
from grader.roster import load_roster, match_roster

from .conftest import DATA, ROOT


@pytest.fixture(scope="module")
def report(dl14: Rubric, tmp_path_factory: pytest.TempPathFactory) -> Report:
    subs = tmp_path_factory.mktemp("subs")
    for path in (ROOT / "submissions").iterdir():
        shutil.copy(path, subs)
    shutil.copy(DATA / "submissions" / "xss" / "mallory.md", subs)
    (subs / "broken.md").write_bytes(b"\x00\x00binary")
    cwd = Path.cwd()
    os.chdir(subs.parent)
    try:
        return grade_folder(dl14, Path(subs.name))
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="module")
def page(report: Report, dl14: Rubric) -> str:
    return render_overview(report, dl14, feedback_stems(report))


def test_overview_has_every_chart_and_table(page: str, dl14: Rubric) -> None:
    assert page.count("<svg ") == 2 + len(dl14.questions)
    for table in (
        "question-table",
        "coverage-table",
        "heatmap",
        "misconception-table",
        "review-table",
        "error-table",
        "student-table",
    ):
        assert f'id="{table}"' in page, table


def test_overview_is_self_contained(page: str) -> None:
    assert "<script" not in page and "<link" not in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    assert "Content-Security-Policy" in page and "default-src &#x27;none&#x27;" in page


def test_every_student_has_a_feedback_link(page: str, report: Report) -> None:
    for stem in feedback_stems(report):
        assert f'href="feedback/{stem}.html"' in page
        assert f'href="feedback/{stem}.md"' in page


def test_review_list_and_errors_are_complete(page: str, report: Report) -> None:
    rows = page[page.index('id="review-table"') :].split("</table>", 1)[0]
    assert rows.count("<tr>") - 1 == len(review_queue(report))
    assert "broken" in page and "not a text file" in page


def test_misconceptions_are_ranked_with_escaped_examples(page: str) -> None:
    section = page[page.index('id="misconceptions"') :].split("</section>", 1)[0]
    slows = section.index("q7.m.slows_inference")
    assert "2 (33%)" in section[slows : slows + 300]  # dev_weak and mallory of 6 graded
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in section
    assert "<script>" not in page


def test_coverage_counts_found_key_points(page: str, report: Report) -> None:
    graded = [s for s in report.submissions if s.status == "graded"]
    found = sum(
        kp.credit >= 0.5
        for s in graded
        for kp in s.questions[6].key_points
        if kp.id == "q7.training"
    )
    row = page[page.index("<code>q7.training</code>") :].split("</tr>", 1)[0]
    assert f"{found} / {len(graded)}" in row


def test_roster_section_lists_unmatched_and_missing(report: Report, dl14: Rubric) -> None:
    roster = load_roster(DATA / "rosters" / "dl14.csv")
    page = render_overview(report, dl14, feedback_stems(report), match=match_roster(report, roster))
    section = page[page.index('id="roster"') :].split("</section>", 1)[0]
    assert "1 student(s) in the roster have no submission" in section and "Farouk, Farid" in section
    for sid in ("broken", "emma_poor", "mallory"):
        assert f">{sid}</a>: not in the roster" in section


def test_overview_is_deterministic(report: Report, dl14: Rubric, page: str) -> None:
    assert render_overview(report, dl14, feedback_stems(report)) == page


# --- charts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("max_value", "step"), [(19, 2.0), (3, 0.5), (2, 0.2), (100, 10.0), (1, 0.1)]
)
def test_nice_step(max_value: float, step: float) -> None:
    assert nice_step(max_value) == step


@given(
    st.floats(min_value=0.5, max_value=500, allow_nan=False),
    st.lists(st.floats(min_value=0, max_value=1, allow_nan=False), max_size=60),
)
def test_histogram_counts_every_value_in_the_right_bin(max_value: float, shares) -> None:
    values = [share * max_value for share in shares]
    bins = histogram(values, max_value)
    assert sum(b.count for b in bins) == len(values)
    assert bins[0].low == 0 and bins[-1].high == pytest.approx(max_value)
    for value in values:
        inside = [b for b in bins if b.low - 1e-6 <= value < b.high + 1e-6]
        assert inside, value


def test_full_marks_land_in_the_top_bin() -> None:
    bins = histogram([19.0, 19.0, 0.0], 19.0)
    assert bins[-1].count == 2 and bins[0].count == 1


def test_chart_text_is_escaped() -> None:
    svg = histogram_svg([1.0], 2.0, chart_id="c", title="<b>&title</b>")
    assert "&lt;b&gt;&amp;title&lt;/b&gt;" in svg and "<b>" not in svg
    assert svg.count('class="bar"') == len(histogram([1.0], 2.0))


@pytest.mark.parametrize(("share", "ink"), [(0.0, "#1f2328"), (1.0, "#ffffff")])
def test_heat_cells_keep_text_readable(share: float, ink: str) -> None:
    assert heat_style(share).endswith(f"color:{ink}")


def test_tables_of_a_large_class_are_cut_and_say_so(report, dl14, monkeypatch) -> None:
    """A page with a row per student for 100,000 students would not open: per-student tables
    stop at MAX_TABLE_ROWS and say how many rows there are and where they all are."""
    from grader.report import overview

    monkeypatch.setattr(overview, "MAX_TABLE_ROWS", 2)
    page = render_overview(report, dl14, feedback_stems(report))
    students = page.split('id="student-table"')[1].split("</table>")[0]
    assert students.count("<tr>") - 1 == 2
    assert f"The first 2 of {len(report.submissions)} rows" in page
    heat = page.split('id="heatmap"')[1].split("</table>")[0]
    assert heat.count("<tr><th>") == 2
    monkeypatch.setattr(overview, "MAX_TABLE_ROWS", 1000)
    assert "The first" not in render_overview(report, dl14, feedback_stems(report))
