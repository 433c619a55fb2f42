"""overview.html: the class at a glance, in one self-contained file that opens offline.

Score distributions as inline SVG charts, key-point coverage as a heat map, the most common
misconceptions with example sentences, the review queue, the errors, and a link to every
student's feedback page.
"""

from __future__ import annotations

import math
import statistics
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from grader.models import Report, Rubric, SubmissionResult
from grader.report.charts import bar_chart_svg, histogram_svg
from grader.report.common import format_number
from grader.report.feedback import FOUND_CREDIT
from grader.report.json_report import ReviewEntry, review_entry, review_rows
from grader.report.page import esc, render_page
from grader.roster import RosterMatch

#: Example sentences shown per misconception.
EXAMPLES_PER_MISCONCEPTION = 3
#: Tables with a row per student (heat map, students, review queue, errors) show at most this
#: many rows, so the page of a 100,000-student course still opens; the rest are counted, and
#: every row is in grades.csv and report.json.
MAX_TABLE_ROWS = 2000
_LIGHT = (241, 246, 253)
_DARK = (10, 61, 145)


@lru_cache(maxsize=4096)  # a few distinct credits fill thousands of cells
def heat_style(fraction: float) -> str:
    """Background for a heat-map cell: light (0) to dark blue (1); white text on dark cells.
    The number is printed in every cell too, so colour is never the only channel."""
    f = min(1.0, max(0.0, fraction))
    rgb = tuple(round(lo + (hi - lo) * f) for lo, hi in zip(_LIGHT, _DARK, strict=True))
    ink = "#ffffff" if f >= 0.55 else "#1f2328"
    return f"background:#{rgb[0]:02x}{rgb[1]:02x}{rgb[2]:02x};color:{ink}"


def _pct(part: float, whole: float) -> str:
    return f"{round(100 * part / whole)}%" if whole else "–"


def _link(stem: str, text: str) -> str:
    return f'<a href="feedback/{esc(stem)}.html">{esc(text)}</a>'


def render_overview(
    report: Report,
    rubric: Rubric,
    stems: Sequence[str],
    *,
    match: RosterMatch | None = None,
) -> str:
    """The overview page. `stems[i]` is the feedback file stem of `report.submissions[i]`."""
    overview = Overview(rubric)
    for result, stem in zip(report.submissions, stems, strict=True):
        overview.add(result, stem)
    return overview.render(match=match)


@dataclass
class _MisconceptionHits:
    count: int = 0
    examples: list[tuple[str, str, str]] = field(default_factory=list)  # stem, id, evidence


class Overview:
    """The overview page built from results that arrive one at a time, in report order: it keeps
    counts, each graded score, and the rows of its per-student tables (up to `MAX_TABLE_ROWS`),
    never the results themselves, so a class of any size fits in memory."""

    def __init__(self, rubric: Rubric) -> None:
        self.rubric = rubric
        self.submissions = 0
        self.errors: list[tuple[str, str, str, str]] = []  # stem, id, source, error
        self.error_count = 0
        self.totals = array("d")
        self.review_count = 0
        self.question_scores = [array("d") for _ in rubric.questions]
        self.question_answered = [0] * len(rubric.questions)
        self.question_review = [0] * len(rubric.questions)
        self.columns = [
            (q_index, kp.id)
            for q_index, question in enumerate(rubric.questions)
            for kp in question.key_points
        ]
        self.credits = [array("d") for _ in self.columns]
        self.misconceptions: dict[str, _MisconceptionHits] = {}
        self.review: list[tuple[ReviewEntry, str]] = []  # and the submission's feedback stem
        self.heat_rows: list[str] = []
        self.student_rows: list[str] = []
        self.stems: dict[tuple[str, str], str] = {}  # (id, source) → stem, for the roster

    @property
    def graded(self) -> int:
        return len(self.totals)

    def add(self, result: SubmissionResult, stem: str) -> None:
        """Count one result (in report order) and keep its table rows."""
        self.submissions += 1
        self.stems[(result.id, result.source)] = stem
        if len(self.student_rows) < MAX_TABLE_ROWS:
            self.student_rows.append(self._student_row(result, stem))
        if result.status == "error":
            self.error_count += 1
            if len(self.errors) < MAX_TABLE_ROWS:
                self.errors.append((stem, result.id, result.source, result.error or ""))
        for question in result.questions:
            if question.needs_review:
                self.review.append((review_entry(result.id, question), stem))
        if result.status != "graded":
            return
        self.totals.append(result.score or 0.0)
        self.review_count += result.needs_review
        for index in range(min(len(self.rubric.questions), len(result.questions))):
            answer = result.questions[index]
            self.question_scores[index].append(answer.score)
            self.question_answered[index] += answer.answered
            self.question_review[index] += answer.needs_review
        credits = [_credit(result, q_index, kp_id) for q_index, kp_id in self.columns]
        for column, credit in enumerate(credits):
            self.credits[column].append(credit)
        if len(self.heat_rows) < MAX_TABLE_ROWS:
            self.heat_rows.append(self._heat_row(result, stem, credits))
        for q_index in range(min(len(self.rubric.questions), len(result.questions))):
            for m in result.questions[q_index].misconceptions:
                hits = self.misconceptions.setdefault(m.id, _MisconceptionHits())
                hits.count += 1
                if len(hits.examples) < EXAMPLES_PER_MISCONCEPTION:
                    hits.examples.append((stem, result.id, m.evidence.text if m.evidence else ""))

    def render(self, *, match: RosterMatch | None = None) -> str:
        rubric = self.rubric
        totals = list(self.totals)
        parts = [
            f"<header><h1>{esc(rubric.title)}</h1>",
            f'<p class="sub">Class overview · rubric <code>{esc(rubric.id)}</code> · '
            f"{self.submissions} submission(s)</p></header>",
            '<div class="cards">',
            _card(str(self.graded), "graded"),
            _card(str(self.error_count), "could not be graded"),
            _card(str(self.review_count), "need review"),
            _card(format_number(statistics.fmean(totals)) if totals else "–", "mean score"),
            _card(format_number(statistics.median(totals)) if totals else "–", "median score"),
            _card(format_number(rubric.max_score), "max score"),
            "</div>",
        ]
        parts += self._distributions(totals)
        parts += self._coverage()
        parts += self._misconceptions()
        parts += self._review()
        parts += self._errors()
        if match is not None:
            parts += self._roster(match)
        parts += self._students()
        parts.append(
            "<footer>Written by grader. Every student sentence here is quoted as text.</footer>"
        )
        return render_page(f"Overview: {rubric.title}", "\n".join(parts))

    # --- sections ------------------------------------------------------------------------

    def _distributions(self, totals: list[float]) -> list[str]:
        rubric = self.rubric
        parts = [
            '<section id="distributions"><h2>Score distributions</h2>',
            '<div class="charts"><figure style="width:560px">',
            histogram_svg(
                totals,
                rubric.max_score,
                chart_id="chart-total",
                title=f"Total score (out of {format_number(rubric.max_score)})",
                width=560,
            ),
            f"<figcaption>{len(totals)} graded submission(s).</figcaption></figure>",
        ]
        means, labels, shown = [], [], []
        for index, question in enumerate(rubric.questions):
            mean = _mean(self.question_scores[index])
            fraction = mean / question.max_score if question.max_score else 0.0
            means.append(100 * fraction)
            labels.append(question.id)
            shown.append(f"{round(100 * fraction)}%")
        parts += [
            '<figure style="width:480px">',
            bar_chart_svg(
                labels,
                means,
                chart_id="chart-question-means",
                title="Mean score per question (% of its points)",
                x_title="question",
                y_title="% of points",
                value_labels=shown,
                y_max=100.0,
                width=480,
            ),
            "</figure></div>",
            "<h3>Per question</h3>",
            '<div class="charts">',
        ]
        for index, question in enumerate(rubric.questions):
            parts += [
                '<figure style="width:340px">',
                histogram_svg(
                    list(self.question_scores[index]),
                    question.max_score,
                    chart_id=f"chart-{question.id}",
                    title=f"{question.id} (out of {format_number(question.max_score)})",
                    width=340,
                    height=200,
                    max_bins=6,
                ),
                f"<figcaption>{esc(question.text)}</figcaption></figure>",
            ]
        parts.append("</div>")
        parts.append(
            '<table id="question-table"><thead><tr><th>question</th><th class="num">mean</th>'
            '<th class="num">max</th><th class="num">answered</th>'
            '<th class="num">need review</th></tr></thead><tbody>'
        )
        for index, question in enumerate(rubric.questions):
            parts.append(
                f"<tr><td>{esc(question.id)}</td>"
                f'<td class="num">{format_number(_mean(self.question_scores[index]))}</td>'
                f'<td class="num">{format_number(question.max_score)}</td>'
                f'<td class="num">{self.question_answered[index]}</td>'
                f'<td class="num">{self.question_review[index]}</td></tr>'
            )
        parts.append("</tbody></table></section>")
        return parts

    def _coverage(self) -> list[str]:
        rubric = self.rubric
        parts = [
            '<section id="coverage"><h2>Key-point coverage</h2>',
            '<p class="sub">Which ideas the class got (found: credit ≥ 0.5) and which it missed. '
            "Darker is better covered.</p>",
            '<div class="scroll"><table class="heat" id="coverage-table"><thead><tr>'
            '<th>question</th><th>key point</th><th>idea</th><th class="num">found</th>'
            '<th class="num">mean credit</th></tr></thead><tbody>',
        ]
        kp_index = 0
        for question in rubric.questions:
            for kp in question.key_points:
                credits = self.credits[kp_index]
                kp_index += 1
                found = sum(c >= FOUND_CREDIT for c in credits)
                share = found / len(credits) if credits else 0.0
                mean = _mean(credits)
                bonus = ' <span class="badge ok">bonus</span>' if kp.bonus else ""
                parts.append(
                    f"<tr><td>{esc(question.id)}</td><td><code>{esc(kp.id)}</code>{bonus}</td>"
                    f"<td>{esc(kp.description)}</td>"
                    f'<td class="cell num" style="{heat_style(share)}">{found} / {len(credits)} '
                    f"({_pct(found, len(credits))})</td>"
                    f'<td class="cell num" style="{heat_style(mean)}">{mean:.2f}</td></tr>'
                )
        parts.append("</tbody></table></div>")
        if not self.graded:
            parts.append("</section>")
            return parts
        parts.append(
            "<h3>Students × key points</h3>"
            '<p class="sub">Each cell is the credit a student earned for a key point (0 to 1).</p>'
            + _more(self.graded, len(self.heat_rows))
            + '<div class="scroll"><table class="heat" id="heatmap"><thead><tr>'
            '<th rowspan="2">student</th>'
        )
        for q_index, question in enumerate(rubric.questions):
            span = sum(1 for qi, _ in self.columns if qi == q_index)
            if span:
                parts.append(f'<th colspan="{span}">{esc(question.id)}</th>')
        parts.append("</tr><tr>")
        for _, kp_id in self.columns:
            short = kp_id.split(".", 1)[-1]
            breakable = esc(short).replace("_", "_<wbr>")  # long ids wrap at their underscores
            parts.append(f'<th title="{esc(kp_id)}">{breakable}</th>')
        parts.append("</tr></thead><tbody>")
        parts += self.heat_rows
        parts.append("</tbody></table></div></section>")
        return parts

    def _heat_row(self, result: SubmissionResult, stem: str, credits: list[float]) -> str:
        cells = [
            f'<td class="cell" style="{heat_style(credit)}" '
            f'title="{esc(result.id)} · {esc(kp_id)}: {credit:.2f}">{_short(credit)}</td>'
            for (_, kp_id), credit in zip(self.columns, credits, strict=True)
        ]
        return "\n".join([f"<tr><th>{_link(stem, result.id)}</th>", *cells, "</tr>"])

    def _misconceptions(self) -> list[str]:
        rows = []
        for question in self.rubric.questions:
            for misconception in question.misconceptions:
                hits = self.misconceptions.get(misconception.id)
                if hits is not None and hits.count:
                    rows.append((hits.count, question.id, misconception, hits.examples))
        rows.sort(key=lambda row: (-row[0], row[1], row[2].id))
        parts = ['<section id="misconceptions"><h2>Most common misconceptions</h2>']
        if not rows:
            parts.append("<p>No misconception was flagged.</p></section>")
            return parts
        parts.append(
            '<table id="misconception-table"><thead><tr><th>misconception</th><th class="num">'
            "students</th><th>examples</th></tr></thead><tbody>"
        )
        for count, question_id, misconception, examples in rows:
            items = "".join(
                f'<li>{_link(stem, sid)}: <q class="quote">{esc(evidence)}</q></li>'
                for stem, sid, evidence in examples
            )
            parts.append(
                f"<tr><td><code>{esc(misconception.id)}</code> ({esc(question_id)})<br>"
                f"{esc(misconception.description)}</td>"
                f'<td class="num">{count} ({_pct(count, self.graded)})</td>'
                f"<td><ul>{items}</ul></td></tr>"
            )
        parts.append("</tbody></table></section>")
        return parts

    def review_queue(self) -> list[dict[str, Any]]:
        """report.json's `review_queue` for the results added so far."""
        return review_rows(entry for entry, _ in self.review)

    def _review(self) -> list[str]:
        queue = sorted(self.review, key=lambda r: r[0][:3])
        parts = ['<section id="review"><h2>Needs review</h2>']
        if not queue:
            parts.append("<p>No answer needs review.</p></section>")
            return parts
        parts.append(
            '<p class="sub">Most doubtful first.</p>'
            + _more(len(queue), MAX_TABLE_ROWS)
            + '<table id="review-table"><thead><tr>'
            '<th>submission</th><th>question</th><th class="num">confidence</th><th>why</th>'
            "</tr></thead><tbody>"
        )
        for (confidence, sid, qid, why), stem in queue[:MAX_TABLE_ROWS]:
            parts.append(
                f"<tr><td>{_link(stem, sid)}</td>"
                f"<td>{esc(qid)}</td>"
                f'<td class="num">{confidence:.2f}</td><td>{esc("; ".join(why))}</td></tr>'
            )
        parts.append("</tbody></table></section>")
        return parts

    def _errors(self) -> list[str]:
        if not self.errors:
            return []
        parts = [
            '<section id="errors"><h2>Could not be graded</h2>'
            + _more(self.error_count, len(self.errors)),
            '<table id="error-table"><thead><tr><th>submission</th><th>file</th><th>reason</th>'
            "</tr></thead><tbody>",
        ]
        for stem, sid, source, error in self.errors:
            parts.append(
                f"<tr><td>{_link(stem, sid)}</td><td>{esc(source)}</td><td>{esc(error)}</td></tr>"
            )
        parts.append("</tbody></table></section>")
        return parts

    def _roster(self, match: RosterMatch) -> list[str]:
        parts = ['<section id="roster"><h2>Roster</h2>']
        missing = match.missing
        if missing:
            names = ", ".join(esc(e.name or e.submission or f"line {e.line}") for e in missing)
            parts.append(
                f"<p>{len(missing)} student(s) in the roster have no submission "
                f"(their grade is left empty): {names}</p>"
            )
        if match.unmatched:
            parts.append(
                f"<p>{len(match.unmatched)} submission(s) are not matched to a roster student "
                "(also in <code>unmatched_submissions.csv</code>):</p><ul>"
            )
            for u in match.unmatched:
                stem = self.stems[(u.result.id, u.result.source)]
                parts.append(f"<li>{_link(stem, u.result.id)}: {esc(u.reason)}</li>")
            parts.append("</ul>")
        if not missing and not match.unmatched:
            parts.append("<p>Every roster student has exactly one submission.</p>")
        parts.append("</section>")
        return parts

    def _student_row(self, result: SubmissionResult, stem: str) -> str:
        per_question = {q.id: q for q in result.questions}
        cells = "".join(
            f'<td class="num">{format_number(per_question[q.id].score)}</td>'
            if q.id in per_question
            else "<td></td>"
            for q in self.rubric.questions
        )
        if result.status == "error":
            status = '<span class="badge error">error</span>'
        elif result.needs_review:
            status = '<span class="badge review">review</span>'
        else:
            status = '<span class="badge ok">graded</span>'
        score = format_number(result.score) if result.score is not None else ""
        return (
            f'<tr><td>{esc(result.id)}</td><td class="num">{score}</td>{cells}<td>{status}</td>'
            f'<td><a href="feedback/{esc(stem)}.html">html</a> · '
            f'<a href="feedback/{esc(stem)}.md">md</a></td></tr>'
        )

    def _students(self) -> list[str]:
        heads = "".join(f'<th class="num">{esc(q.id)}</th>' for q in self.rubric.questions)
        parts = [
            '<section id="students"><h2>Students</h2>'
            + _more(self.submissions, len(self.student_rows)),
            '<div class="scroll"><table id="student-table"><thead><tr><th>submission</th>'
            f'<th class="num">score</th>{heads}<th>status</th><th>feedback</th></tr></thead>'
            "<tbody>",
        ]
        parts += self.student_rows
        parts.append("</tbody></table></div></section>")
        return parts


def _mean(values: Sequence[float]) -> float:
    """statistics.fmean's value (an exact sum divided by the count); 0 for no values."""
    return math.fsum(values) / len(values) if len(values) else 0.0


def _more(total: int, shown: int) -> str:
    """A note under a table cut at `MAX_TABLE_ROWS`; nothing when every row is shown."""
    if total <= shown:
        return ""
    return (
        f'<p class="sub">The first {shown:,} of {total:,} rows; every one is in grades.csv and '
        "report.json.</p>"
    )


def _card(value: str, label: str) -> str:
    return (
        f'<div class="card"><div class="value">{esc(value)}</div>'
        f'<div class="label">{esc(label)}</div></div>'
    )


def _credit(result: SubmissionResult, q_index: int, kp_id: str) -> float:
    if q_index >= len(result.questions):
        return 0.0
    for kp in result.questions[q_index].key_points:
        if kp.id == kp_id:
            return kp.credit
    return 0.0


def _short(credit: float) -> str:
    if credit >= 0.995:
        return "1"
    if credit < 0.005:
        return "0"
    return f"{credit:.2f}".lstrip("0")
