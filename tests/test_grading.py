from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.generate import generate_folder
from grader import grade_folder, grade_paths, grading, load_rubric
from grader import matching as grading_matching
from grader.loading import iter_submission_files

from .conftest import DATA, DL14_RUBRIC, ROOT

EXAMPLES = ROOT / "submissions"


def test_every_bundled_rubric_grades_every_bundled_submission() -> None:
    for rubric_path in sorted((ROOT / "rubrics").glob("*.yaml")):
        rubric = load_rubric(rubric_path)
        report = grade_folder(rubric, EXAMPLES)
        assert len(report.submissions) == len(list(EXAMPLES.iterdir()))
        for s in report.submissions:
            assert s.status == "graded", s.error
            assert 0 <= s.score <= s.max_score
            assert len(s.questions) == len(rubric.questions)


def test_examples_rank_from_excellent_to_poor(dl14, dl14_grader) -> None:
    report = grade_folder(dl14, EXAMPLES, grader=dl14_grader)
    scores = {s.id: s.score for s in report.submissions}
    assert scores["alice_excellent"] > scores["ben_good"] > scores["chloe_average"]
    assert scores["chloe_average"] > scores["dev_weak"]
    assert scores["chloe_average"] > scores["emma_poor"]


def test_weak_example_has_its_misconceptions_caught(dl14, dl14_grader) -> None:
    result = dl14_grader.grade_file(EXAMPLES / "dev_weak.md")
    flagged = {m.id for q in result.questions for m in q.misconceptions}
    assert flagged >= {
        "q1.m.same_value_ok",
        "q2.m.bias_breaks_symmetry",
        "q3.m.elu_cheaper",
        "q5.m.smaller_steps",
        "q6.m.quantization",
        "q6.m.distillation",
        "q7.m.slows_inference",
    }


def test_missing_answer_scores_zero_and_is_marked(dl14, dl14_grader) -> None:
    result = dl14_grader.grade_file(EXAMPLES / "chloe_average.md")
    q6 = next(q for q in result.questions if q.id == "q6")
    assert not q6.answered and q6.score == 0


def test_bad_files_keep_their_row(tmp_path: Path, dl14) -> None:
    shutil.copy(EXAMPLES / "ben_good.txt", tmp_path / "ben.txt")
    (tmp_path / "empty.md").write_text("")
    report = grade_folder(dl14, tmp_path)
    rows = {s.id: s for s in report.submissions}
    assert rows["empty"].status == "error" and rows["empty"].error == "empty file"
    assert rows["empty"].score is None
    assert rows["ben"].status == "graded"
    assert report.error_count == 1


def test_a_text_that_trips_the_matcher_costs_its_row_not_the_batch(
    tmp_path: Path, dl14, dl14_grader, monkeypatch
) -> None:
    """A bug triggered by one student's text (here: a splitter that fails on a marker) gives
    that student an error row naming the failure; the rest of the class is graded exactly as
    without that student."""
    for name in ("alice_excellent.md", "ben_good.txt", "dev_weak.md"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    tricky = (EXAMPLES / "chloe_average.md").read_text().replace("\n\n", "\n\nTRIP-WIRE. ", 3)
    (tmp_path / "chloe.md").write_text(tricky)
    real_split = grading_matching.split_units

    def fragile_split(text: str):  # type: ignore[no-untyped-def]
        if "TRIP-WIRE" in text:
            raise ValueError("the splitter tripped")
        return real_split(text)

    monkeypatch.setattr(grading_matching, "split_units", fragile_split)
    report = grade_folder(dl14, tmp_path, grader=dl14_grader)
    rows = {s.id: s for s in report.submissions}
    assert rows["chloe"].status == "error"
    assert "internal error (ValueError: the splitter tripped)" in (rows["chloe"].error or "")
    (tmp_path / "chloe.md").unlink()
    alone = {s.id: s for s in grade_folder(dl14, tmp_path, grader=dl14_grader).submissions}
    assert {k: v for k, v in rows.items() if k != "chloe"} == alone


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.permutations(sorted(iter_submission_files(EXAMPLES))))
def test_submission_order_changes_nothing(dl14, dl14_grader, order) -> None:
    baseline = grade_paths(dl14, sorted(iter_submission_files(EXAMPLES)), grader=dl14_grader)
    assert grade_paths(dl14, order, grader=dl14_grader) == baseline


def test_adding_a_student_changes_no_one_else(tmp_path: Path, dl14) -> None:
    for name in ("alice_excellent.md", "dev_weak.md"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    before = {s.id: s for s in grade_folder(dl14, tmp_path).submissions}
    shutil.copy(EXAMPLES / "ben_good.txt", tmp_path / "ben_good.txt")
    after = {s.id: s for s in grade_folder(dl14, tmp_path).submissions}
    assert after["alice_excellent"] == before["alice_excellent"]
    assert after["dev_weak"] == before["dev_weak"]


def test_a_submission_without_headings_is_aligned_graded_and_sent_to_review(
    dl14, dl14_grader, tmp_path: Path
) -> None:
    """The headings of a good submission removed: its paragraphs still reach their questions."""
    import re

    from grader.parsing import split_answers

    text = (ROOT / "tests" / "data" / "submissions" / "formats" / "answers.md").read_text()
    parsed = split_answers(text, dl14)
    with_headings = dl14_grader.grade_file(
        ROOT / "tests" / "data" / "submissions" / "formats" / "answers.md"
    )
    body = "\n\n".join(parsed.answers[q.id] for q in reversed(dl14.questions))  # out of order too
    assert not re.search(r"(?im)^\s*(?:#|answer|q\d)", body)
    (tmp_path / "kim.md").write_text(body)
    result = dl14_grader.grade_file(tmp_path / "kim.md")
    assert result.status == "graded" and result.needs_review
    assert any(n.startswith("no question headings: paragraphs were matched") for n in result.notes)
    answered = [q for q in result.questions if q.answered]
    assert len(answered) == len(dl14.questions)
    assert all(q.needs_review for q in answered)
    assert abs(result.score - with_headings.score) < 0.1 * result.max_score


def test_grade_folder_reads_a_zip(dl14, tmp_path: Path) -> None:
    import zipfile

    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(EXAMPLES.iterdir()):
            zf.write(path, f"wrapper/{path.name}")
    from_zip = grade_folder(dl14, archive)
    from_folder = grade_folder(dl14, EXAMPLES)
    assert [s.id for s in from_zip.submissions] == [s.id for s in from_folder.submissions]
    assert [s.score for s in from_zip.submissions] == [s.score for s in from_folder.submissions]
    assert from_zip.submissions[0].source == f"{archive}!wrapper/alice_excellent.md"


@pytest.fixture(scope="module")
def generated_class(tmp_path_factory) -> Path:
    """A class of synthetic submissions (benchmarks/generate.py)."""
    folder = tmp_path_factory.mktemp("class") / "subs"
    generate_folder(DL14_RUBRIC, folder, 30, seed=11)
    return folder


def test_workers_give_the_same_results_as_one_process(generated_class, dl14, monkeypatch) -> None:
    monkeypatch.setattr(grading, "MIN_FILES_FOR_WORKERS", 10)
    calls = []
    original = grading._grade_in_workers

    def spy(*args, **kwargs):
        calls.append(kwargs["jobs"])
        yield from original(*args, **kwargs)

    monkeypatch.setattr(grading, "_grade_in_workers", spy)
    one = grade_folder(dl14, generated_class, jobs=1)
    two = grade_folder(dl14, generated_class, jobs=2)
    assert calls == [2]
    assert two == one
    assert [s.id for s in two.submissions] == sorted(s.id for s in two.submissions)


def test_small_batches_stay_in_process(dl14, dl14_grader, monkeypatch) -> None:
    monkeypatch.setattr(grading, "_grade_in_workers", None)  # would fail if called
    report = grade_folder(dl14, EXAMPLES, grader=dl14_grader, jobs=8)
    assert len(report.submissions) == 5


def test_a_rubric_with_only_reference_answers_grades() -> None:
    rubric = load_rubric(DATA / "rubrics" / "valid" / "reference-only.yaml")
    report = grade_folder(rubric, DATA / "submissions-reference-only")
    by_id = {s.id: s for s in report.submissions}
    assert report.max_score == 3
    full, weak = by_id["full"], by_id["weak"]
    assert full.score is not None and weak.score is not None
    assert full.score >= 2.5 > 0.5 >= weak.score
    assert [m.id for m in weak.questions[1].misconceptions] == ["q2.k1"]


def test_results_cross_from_workers_unchanged(dl14, dl14_grader, tmp_path: Path) -> None:
    """Workers send results as JSON plus the fields JSON leaves out: what arrives equals what
    was sent, for graded rows, error rows and superseded duplicates alike."""
    from grader.models import SubmissionResult

    left_out = {name for name, f in SubmissionResult.model_fields.items() if f.exclude}
    assert left_out == {"answers", "superseded_by"}, "a new excluded field must cross too"
    (tmp_path / "empty.md").write_text("")
    shutil.copy(EXAMPLES / "dev_weak.md", tmp_path / "dev.md")
    results = list(grade_folder(dl14, tmp_path, grader=dl14_grader).submissions)
    results.append(results[0].model_copy(update={"superseded_by": "dev (newer)"}))
    assert any(r.answers for r in results) and any(r.status == "error" for r in results)
    for result in results:
        arrived = grading._from_wire(grading._to_wire(result))
        assert arrived == result
        assert arrived.answers == result.answers
        assert arrived.superseded_by == result.superseded_by


def test_a_file_that_trips_the_reader_costs_its_row_not_the_batch(
    tmp_path: Path, dl14, dl14_grader, monkeypatch
) -> None:
    """A bug of ours met while reading one student's file (here: the heading parser fails on
    a marker) gives that student an error row that says so; the others are graded."""
    from grader import loading

    shutil.copy(EXAMPLES / "ben_good.txt", tmp_path / "ben.txt")
    (tmp_path / "odd.md").write_text("### Ans 1\nTRIP-WIRE in the answer.\n")
    real_parse = loading.submission_from_text

    def fragile_parse(text: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if "TRIP-WIRE" in text:
            raise KeyError("the parser tripped")
        return real_parse(text, *args, **kwargs)

    monkeypatch.setattr(loading, "submission_from_text", fragile_parse)
    rows = {s.id: s for s in grade_folder(dl14, tmp_path, grader=dl14_grader).submissions}
    assert rows["odd"].status == "error"
    assert "could not be read: internal error (KeyError" in (rows["odd"].error or "")
    assert rows["ben"].status == "graded"
