"""overview.html: the class at a glance, in one self-contained file that opens offline.

Score distributions as inline SVG charts, key-point coverage as a heat map, the most common
misconceptions with example sentences, the review queue, the errors, and a link to every
student's feedback page.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from grader.models import Report, Rubric, SubmissionResult
from grader.report.charts import bar_chart_svg, histogram_svg
from grader.report.common import format_number
from grader.report.feedback import FOUND_CREDIT
from grader.report.json_report import review_queue
from grader.report.page import esc, render_page
from grader.roster import RosterMatch

#: Example sentences shown per misconception.
EXAMPLES_PER_MISCONCEPTION = 3
_LIGHT = (241, 246, 253)
_DARK = (10, 61, 145)


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
    stem_of = {id(s): stem for s, stem in zip(report.submissions, stems, strict=True)}
    graded = [s for s in report.submissions if s.status == "graded"]
    errors = [s for s in report.submissions if s.status == "error"]
    totals = [s.score or 0.0 for s in graded]
    review_count = sum(s.needs_review for s in graded)
    parts = [
        f"<header><h1>{esc(rubric.title)}</h1>",
        f'<p class="sub">Class overview · rubric <code>{esc(rubric.id)}</code> · '
        f"{len(report.submissions)} submission(s)</p></header>",
        '<div class="cards">',
        _card(str(len(graded)), "graded"),
        _card(str(len(errors)), "could not be graded"),
        _card(str(review_count), "need review"),
        _card(format_number(statistics.fmean(totals)) if totals else "–", "mean score"),
        _card(format_number(statistics.median(totals)) if totals else "–", "median score"),
        _card(format_number(rubric.max_score), "max score"),
        "</div>",
    ]
    parts += _distributions(report, rubric, graded, totals)
    parts += _coverage(rubric, graded, stem_of)
    parts += _misconceptions(rubric, graded, stem_of)
    parts += _review(report, stem_of)
    parts += _errors(errors, stem_of)
    if match is not None:
        parts += _roster(match, stem_of)
    parts += _students(report, rubric, stem_of)
    parts.append(
        "<footer>Written by grader. Every student sentence here is quoted as text.</footer>"
    )
    return render_page(f"Overview: {rubric.title}", "\n".join(parts))


def _card(value: str, label: str) -> str:
    return (
        f'<div class="card"><div class="value">{esc(value)}</div>'
        f'<div class="label">{esc(label)}</div></div>'
    )


def _distributions(
    report: Report, rubric: Rubric, graded: list[SubmissionResult], totals: list[float]
) -> list[str]:
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
        scores = [s.questions[index].score for s in graded if index < len(s.questions)]
        mean = statistics.fmean(scores) if scores else 0.0
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
        scores = [s.questions[index].score for s in graded if index < len(s.questions)]
        parts += [
            '<figure style="width:340px">',
            histogram_svg(
                scores,
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
        '<th class="num">max</th><th class="num">answered</th><th class="num">need review</th>'
        "</tr></thead><tbody>"
    )
    for index, question in enumerate(rubric.questions):
        results = [s.questions[index] for s in graded if index < len(s.questions)]
        mean = statistics.fmean([r.score for r in results]) if results else 0.0
        parts.append(
            f'<tr><td>{esc(question.id)}</td><td class="num">{format_number(mean)}</td>'
            f'<td class="num">{format_number(question.max_score)}</td>'
            f'<td class="num">{sum(r.answered for r in results)}</td>'
            f'<td class="num">{sum(r.needs_review for r in results)}</td></tr>'
        )
    parts.append("</tbody></table></section>")
    return parts


def _coverage(rubric: Rubric, graded: list[SubmissionResult], stem_of: dict[int, str]) -> list[str]:
    parts = [
        '<section id="coverage"><h2>Key-point coverage</h2>',
        '<p class="sub">Which ideas the class got (found: credit ≥ 0.5) and which it missed. '
        "Darker is better covered.</p>",
        '<div class="scroll"><table class="heat" id="coverage-table"><thead><tr>'
        '<th>question</th><th>key point</th><th>idea</th><th class="num">found</th>'
        '<th class="num">mean credit</th></tr></thead><tbody>',
    ]
    columns: list[tuple[int, str]] = []
    for q_index, question in enumerate(rubric.questions):
        for kp in question.key_points:
            columns.append((q_index, kp.id))
            credits = [_credit(s, q_index, kp.id) for s in graded]
            found = sum(c >= FOUND_CREDIT for c in credits)
            share = found / len(credits) if credits else 0.0
            mean = statistics.fmean(credits) if credits else 0.0
            bonus = ' <span class="badge ok">bonus</span>' if kp.bonus else ""
            parts.append(
                f"<tr><td>{esc(question.id)}</td><td><code>{esc(kp.id)}</code>{bonus}</td>"
                f"<td>{esc(kp.description)}</td>"
                f'<td class="cell num" style="{heat_style(share)}">{found} / {len(credits)} '
                f"({_pct(found, len(credits))})</td>"
                f'<td class="cell num" style="{heat_style(mean)}">{mean:.2f}</td></tr>'
            )
    parts.append("</tbody></table></div>")
    if not graded:
        parts.append("</section>")
        return parts
    parts.append(
        "<h3>Students × key points</h3>"
        '<p class="sub">Each cell is the credit a student earned for a key point (0 to 1).</p>'
        '<div class="scroll"><table class="heat" id="heatmap"><thead><tr><th rowspan="2">student</th>'
    )
    for q_index, question in enumerate(rubric.questions):
        span = sum(1 for qi, _ in columns if qi == q_index)
        if span:
            parts.append(f'<th colspan="{span}">{esc(question.id)}</th>')
    parts.append("</tr><tr>")
    for _, kp_id in columns:
        short = kp_id.split(".", 1)[-1]
        breakable = esc(short).replace("_", "_<wbr>")  # long ids wrap at their underscores
        parts.append(f'<th title="{esc(kp_id)}">{breakable}</th>')
    parts.append("</tr></thead><tbody>")
    for s in graded:
        parts.append(f"<tr><th>{_link(stem_of[id(s)], s.id)}</th>")
        for q_index, kp_id in columns:
            credit = _credit(s, q_index, kp_id)
            parts.append(
                f'<td class="cell" style="{heat_style(credit)}" '
                f'title="{esc(s.id)} · {esc(kp_id)}: {credit:.2f}">{_short(credit)}</td>'
            )
        parts.append("</tr>")
    parts.append("</tbody></table></div></section>")
    return parts


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


def _misconceptions(
    rubric: Rubric, graded: list[SubmissionResult], stem_of: dict[int, str]
) -> list[str]:
    rows = []
    for q_index, question in enumerate(rubric.questions):
        for misconception in question.misconceptions:
            hits = [
                (s, m)
                for s in graded
                if q_index < len(s.questions)
                for m in s.questions[q_index].misconceptions
                if m.id == misconception.id
            ]
            if hits:
                rows.append((len(hits), question.id, misconception, hits))
    rows.sort(key=lambda row: (-row[0], row[1], row[2].id))
    parts = ['<section id="misconceptions"><h2>Most common misconceptions</h2>']
    if not rows:
        parts.append("<p>No misconception was flagged.</p></section>")
        return parts
    parts.append(
        '<table id="misconception-table"><thead><tr><th>misconception</th><th class="num">'
        "students</th><th>examples</th></tr></thead><tbody>"
    )
    for count, question_id, misconception, hits in rows:
        examples = "".join(
            f"<li>{_link(stem_of[id(s)], s.id)}: "
            f'<q class="quote">{esc(m.evidence.text if m.evidence else "")}</q></li>'
            for s, m in hits[:EXAMPLES_PER_MISCONCEPTION]
        )
        parts.append(
            f"<tr><td><code>{esc(misconception.id)}</code> ({esc(question_id)})<br>"
            f"{esc(misconception.description)}</td>"
            f'<td class="num">{count} ({_pct(count, len(graded))})</td>'
            f"<td><ul>{examples}</ul></td></tr>"
        )
    parts.append("</tbody></table></section>")
    return parts


def _review(report: Report, stem_of: dict[int, str]) -> list[str]:
    queue = review_queue(report)
    parts = ['<section id="review"><h2>Needs review</h2>']
    if not queue:
        parts.append("<p>No answer needs review.</p></section>")
        return parts
    stems = {s.id: stem_of[id(s)] for s in report.submissions}
    parts.append(
        '<p class="sub">Most doubtful first.</p><table id="review-table"><thead><tr>'
        '<th>submission</th><th>question</th><th class="num">confidence</th><th>why</th>'
        "</tr></thead><tbody>"
    )
    for row in queue:
        reasons = "; ".join(row["reasons"])
        parts.append(
            f"<tr><td>{_link(stems[row['submission']], row['submission'])}</td>"
            f"<td>{esc(row['question'])}</td>"
            f'<td class="num">{row["confidence"]:.2f}</td><td>{esc(reasons)}</td></tr>'
        )
    parts.append("</tbody></table></section>")
    return parts


def _errors(errors: list[SubmissionResult], stem_of: dict[int, str]) -> list[str]:
    if not errors:
        return []
    parts = [
        '<section id="errors"><h2>Could not be graded</h2>',
        '<table id="error-table"><thead><tr><th>submission</th><th>file</th><th>reason</th>'
        "</tr></thead><tbody>",
    ]
    for s in errors:
        parts.append(
            f"<tr><td>{_link(stem_of[id(s)], s.id)}</td><td>{esc(s.source)}</td>"
            f"<td>{esc(s.error or '')}</td></tr>"
        )
    parts.append("</tbody></table></section>")
    return parts


def _roster(match: RosterMatch, stem_of: dict[int, str]) -> list[str]:
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
            parts.append(f"<li>{_link(stem_of[id(u.result)], u.result.id)}: {esc(u.reason)}</li>")
        parts.append("</ul>")
    if not missing and not match.unmatched:
        parts.append("<p>Every roster student has exactly one submission.</p>")
    parts.append("</section>")
    return parts


def _students(report: Report, rubric: Rubric, stem_of: dict[int, str]) -> list[str]:
    heads = "".join(f'<th class="num">{esc(q.id)}</th>' for q in rubric.questions)
    parts = [
        '<section id="students"><h2>Students</h2>',
        '<div class="scroll"><table id="student-table"><thead><tr><th>submission</th>'
        f'<th class="num">score</th>{heads}<th>status</th><th>feedback</th></tr></thead><tbody>',
    ]
    for s in report.submissions:
        stem = stem_of[id(s)]
        per_question = {q.id: q for q in s.questions}
        cells = "".join(
            f'<td class="num">{format_number(per_question[q.id].score)}</td>'
            if q.id in per_question
            else "<td></td>"
            for q in rubric.questions
        )
        if s.status == "error":
            status = '<span class="badge error">error</span>'
        elif s.needs_review:
            status = '<span class="badge review">review</span>'
        else:
            status = '<span class="badge ok">graded</span>'
        score = format_number(s.score) if s.score is not None else ""
        parts.append(
            f'<tr><td>{esc(s.id)}</td><td class="num">{score}</td>{cells}<td>{status}</td>'
            f'<td><a href="feedback/{esc(stem)}.html">html</a> · '
            f'<a href="feedback/{esc(stem)}.md">md</a></td></tr>'
        )
    parts.append("</tbody></table></div></section>")
    return parts
