"""The reports as a person sees them: overview.html and a feedback page opened in headless
Chromium (Debian's `chromium`, installed by .ci/run). Charts and tables must be laid out and
visible, and an answer carrying <script> and <img onerror> payloads must show as text and run
nothing. Skipped where no Chromium is installed."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from grader import Report, Rubric, grade_folder
from grader.report import feedback_stems, write_reports
from grader.report.charts import histogram

from .conftest import DATA, ROOT

CHROMIUM = next(
    (found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium; .ci/run does)"
)
PAYLOAD_SCRIPT = "<script>document.title='pwned'</script>"
PAYLOAD_IMG = "<img src=x onerror=\"document.title='pwned'\">"
#: Submission files named like markup. A student id is made safe from the file name (letters,
#: digits, '.', '_', '-'); the name itself is shown where a file is named: the error table.
EVIL_NAME = '<img src=x onerror="document.body.dataset.owned=1">'
EVIL_BROKEN = f"{EVIL_NAME} v2.pdf"

#: Our own test page: loads a report page in a same-folder iframe and measures it after load.
PROBE = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<iframe id="f" src="TARGET" style="width:1200px;height:900px"></iframe><pre id="out">pending</pre>
<script>
document.getElementById('f').addEventListener('load', function () {
  var out = document.getElementById('out');
  try {
    var d = document.getElementById('f').contentDocument, w = d.defaultView;
    function shown(el) {
      var r = el.getBoundingClientRect(), s = w.getComputedStyle(el);
      return r.width > 0 && r.height > 0 && s.visibility === 'visible' && s.display !== 'none';
    }
    function all(sel) { return Array.prototype.slice.call(d.querySelectorAll(sel)); }
    out.textContent = JSON.stringify({
      title: d.title,
      charts: all('svg.chart').map(function (s) {
        var bars = Array.prototype.slice.call(s.querySelectorAll('rect.bar'));
        return {id: s.id, shown: shown(s), bars: bars.length, drawn: bars.filter(function (b) {
          return b.getBoundingClientRect().height > 0; }).length};
      }),
      tables: all('table').map(function (t) { return {id: t.id, shown: shown(t), rows: t.rows.length}; }),
      marks: all('mark').filter(shown).map(function (m) { return m.textContent; }),
      questions: all('section.question').filter(shown).length,
      injected: all('img, script, iframe, object, embed').length
    });
  } catch (e) { out.textContent = 'error: ' + e; }
});
</script></body></html>
"""


def _chromium(profile: Path, *args: str) -> str:
    assert CHROMIUM is not None
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def site(dl14: Rubric, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Report]:
    base = tmp_path_factory.mktemp("browser")
    subs = base / "subs"
    subs.mkdir()
    for path in (ROOT / "submissions").iterdir():
        shutil.copy(path, subs)
    shutil.copy(DATA / "submissions" / "xss" / "mallory.md", subs)
    shutil.copy(DATA / "submissions" / "xss" / "mallory.md", subs / f"{EVIL_NAME}.md")
    (subs / EVIL_BROKEN).write_bytes(b"%PDF-1.4 cut short")
    report = grade_folder(dl14, subs)
    write_reports(report, dl14, base / "out", reveal=True)
    return base / "out", report


def _dump(site_dir: Path, page: str, tmp_path: Path) -> str:
    return _chromium(tmp_path / "profile", "--dump-dom", (site_dir / page).as_uri())


def _probe(site_dir: Path, page: str, tmp_path: Path) -> dict:  # type: ignore[type-arg]
    probe = site_dir / f"probe-{page.replace('/', '-')}.html"
    # The probe sits in the report folder so that its iframe is a same-folder file.
    probe = site_dir / "feedback" / probe.name if page.startswith("feedback/") else probe
    probe.write_text(PROBE.replace("TARGET", page.split("/")[-1]), encoding="utf-8")
    try:
        dom = _chromium(
            tmp_path / "profile",
            "--allow-file-access-from-files",
            "--virtual-time-budget=10000",
            "--dump-dom",
            probe.as_uri(),
        )
    finally:
        probe.unlink()
    found = re.search(r'<pre id="out">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    text = html.unescape(found.group(1))
    assert text.startswith("{"), text
    return json.loads(text)  # type: ignore[no-any-return]


def _mallory_stem(report: Report) -> str:
    index = [s.id for s in report.submissions].index("mallory")
    return feedback_stems(report)[index]


def test_overview_charts_and_tables_are_visible(site, dl14: Rubric, tmp_path: Path) -> None:
    site_dir, report = site
    seen = _probe(site_dir, "overview.html", tmp_path)
    assert seen["title"] == f"Overview: {dl14.title}"
    charts = {c["id"]: c for c in seen["charts"]}
    assert set(charts) == {"chart-total", "chart-question-means"} | {
        f"chart-{q.id}" for q in dl14.questions
    }
    assert all(c["shown"] for c in charts.values())
    totals = [s.score or 0.0 for s in report.submissions if s.status == "graded"]
    nonzero_bins = sum(b.count > 0 for b in histogram(totals, dl14.max_score))
    assert charts["chart-total"]["drawn"] == nonzero_bins
    assert charts["chart-question-means"]["bars"] == len(dl14.questions)
    tables = {t["id"]: t for t in seen["tables"]}
    for table in ("question-table", "coverage-table", "heatmap", "misconception-table"):
        assert tables[table]["shown"], table
    assert tables["student-table"]["rows"] == len(report.submissions) + 1
    assert seen["injected"] == 0


def test_feedback_page_is_visible_with_highlighted_sentences(site, dl14, tmp_path: Path) -> None:
    site_dir, report = site
    seen = _probe(site_dir, f"feedback/{_mallory_stem(report)}.html", tmp_path)
    assert seen["title"] == "Feedback: mallory"
    assert seen["questions"] == len(dl14.questions)
    assert any(PAYLOAD_IMG in mark for mark in seen["marks"])
    assert any(PAYLOAD_SCRIPT in mark for mark in seen["marks"])
    assert seen["injected"] == 0


@pytest.mark.parametrize("page", ["overview.html", "feedback"])
def test_payloads_render_as_text_and_run_nothing(site, tmp_path: Path, page: str) -> None:
    """If either payload ran, the title would read 'pwned'; if the markup were not escaped,
    the DOM would hold an <img> or a second <script> element."""
    site_dir, report = site
    target = (
        "overview.html" if page == "overview.html" else f"feedback/{_mallory_stem(report)}.html"
    )
    dom = _dump(site_dir, target, tmp_path)
    title = re.search(r"<title>(.*?)</title>", dom, re.S)
    assert title and "pwned" not in title.group(1)
    assert "<img" not in dom and "<script" not in dom and "data-owned" not in dom
    assert html.escape(PAYLOAD_SCRIPT, quote=False) in dom  # a flagged misconception's sentence
    if page == "feedback":
        assert html.escape(PAYLOAD_IMG, quote=False) in dom  # the sentence that earned q1.verdict
    else:
        assert html.escape(EVIL_BROKEN, quote=False) in dom  # the file name, in the error table


def test_a_submission_named_like_markup_gets_a_safe_feedback_file(site, tmp_path: Path) -> None:
    site_dir, report = site
    index = [Path(s.source).name for s in report.submissions].index(f"{EVIL_NAME}.md")
    evil = report.submissions[index]
    assert evil.status == "graded" and re.fullmatch(r"[A-Za-z0-9._-]+", evil.id)
    stem = feedback_stems(report)[index]
    assert re.fullmatch(r"[A-Za-z0-9._-]+", stem)
    dom = _dump(site_dir, f"feedback/{stem}.html", tmp_path)
    assert "<img" not in dom and "data-owned" not in dom
    assert f"Feedback: {evil.id}" in dom


def test_chromium_runs_scripts_in_this_setup(tmp_path: Path) -> None:
    """The control: the same Chromium call does run a script, so the checks above can fail."""
    page = tmp_path / "control.html"
    page.write_text(
        f"<!DOCTYPE html><html><head><title>t</title></head><body>{PAYLOAD_SCRIPT}</body></html>"
    )
    dom = _chromium(tmp_path / "profile", "--dump-dom", page.as_uri())
    assert "<title>pwned</title>" in dom


def test_screenshot_of_the_overview(site, tmp_path: Path) -> None:
    site_dir, _ = site
    shot = tmp_path / "overview.png"
    _chromium(
        tmp_path / "profile",
        "--hide-scrollbars",
        "--window-size=1200,2400",
        f"--screenshot={shot}",
        (site_dir / "overview.html").as_uri(),
    )
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1200, 2400)
    if os.environ.get("GRADER_KEEP_SCREENSHOT"):
        shutil.copy(shot, os.environ["GRADER_KEEP_SCREENSHOT"])
