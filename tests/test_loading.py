from __future__ import annotations

from pathlib import Path

import pytest

from grader import RubricError, load_rubric, load_submission
from grader.errors import UsageError
from grader.loading import decode_bytes, find_rubric, parse_rubric, rubric_json_schema

from .conftest import DATA, DL14_RUBRIC, ROOT

INVALID = DATA / "rubrics" / "invalid"


@pytest.mark.parametrize(
    ("name", "line", "pattern"),
    [
        pytest.param("yaml-syntax-error.yaml", 5, r"YAML syntax error", id="yaml-syntax"),
        pytest.param(
            "misspelt-key.yaml", 9, r"unknown key 'wieght'; did you mean 'weight'\?", id="typo"
        ),
        pytest.param(
            "missing-key.yaml",
            7,
            r"key_points\[0\]\.weight: missing required key 'weight'",
            id="missing",
        ),
        pytest.param(
            "duplicate-key-point-id.yaml", 11, r"duplicate item id 'q1\.a'", id="duplicate-id"
        ),
        pytest.param(
            "non-positive-weight.yaml",
            9,
            r"greater than 0 \(got 0\); use a positive number",
            id="weight-0",
        ),
        pytest.param(
            "empty-phrasings.yaml",
            10,
            r"phrasings: must not be empty; list at least one",
            id="empty-phrasings",
        ),
        pytest.param(
            "duplicate-yaml-key.yaml", 3, r"key 'title' appears twice", id="duplicate-yaml-key"
        ),
        pytest.param(
            "contradicts-unknown-key-point.yaml",
            None,
            r"contradicts names unknown key point 'q1\.b'",
            id="contradicts",
        ),
    ],
)
def test_bad_rubrics_name_file_line_and_fix(name: str, line: int | None, pattern: str) -> None:
    path = INVALID / name
    with pytest.raises(RubricError, match=pattern) as caught:
        load_rubric(path)
    assert caught.value.path == str(path)
    assert str(caught.value).startswith(str(path))
    if line is not None:
        assert caught.value.line == line


def test_every_invalid_fixture_is_covered() -> None:
    for path in INVALID.glob("*.yaml"):
        with pytest.raises(RubricError):
            load_rubric(path)


def test_missing_rubric_file() -> None:
    with pytest.raises(RubricError, match="file not found"):
        load_rubric(DATA / "nope.yaml")


def test_rubric_must_be_a_mapping() -> None:
    with pytest.raises(RubricError, match="a rubric is a mapping"):
        parse_rubric("- just\n- a list\n")


def test_dl14_rubric_has_the_contracted_items(dl14) -> None:
    ids = {q.id: {i.id for i in [*q.key_points, *q.misconceptions]} for q in dl14.questions}
    assert ids["q1"] == {"q1.verdict", "q1.symmetry", "q1.consequence", "q1.m.same_value_ok"}
    assert ids["q6"] >= {
        "q6.prune",
        "q6.l1",
        "q6.third",
        "q6.m.quantization",
        "q6.m.distillation",
        "q6.m.dropout",
        "q6.m.l2",
    }
    assert ids["q7"] == {
        "q7.training",
        "q7.inference",
        "q7.mc_dropout",
        "q7.m.slows_inference",
        "q7.m.speeds_training",
    }
    q4 = dl14.question("q4")
    assert {kp.weight for kp in q4.key_points} == {0.5}
    assert [kp.id for kp in dl14.question("q7").key_points if kp.bonus] == ["q7.mc_dropout"]
    assert all(m.penalty == 1 for q in dl14.questions for m in q.misconceptions)
    assert dl14.max_score == 19


def test_schema_describes_the_rubric_format() -> None:
    schema = rubric_json_schema()
    assert set(schema["required"]) == {"id", "title", "questions"}
    key_point = schema["$defs"]["KeyPoint"]
    assert key_point["additionalProperties"] is False
    assert key_point["properties"]["weight"]["exclusiveMinimum"] == 0


def test_find_rubric_wants_exactly_one(tmp_path: Path) -> None:
    assert find_rubric(ROOT / "rubrics") == DL14_RUBRIC
    with pytest.raises(UsageError, match="expected exactly one rubric, found none"):
        find_rubric(tmp_path)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("Ans 1 café".encode("utf-8-sig"), "Ans 1 café", id="utf8-bom"),
        pytest.param("Ans 1 café".encode("utf-16"), "Ans 1 café", id="utf16"),
        pytest.param("Ans 1 café".encode("cp1252"), "Ans 1 café", id="cp1252"),
    ],
)
def test_decode_bytes_handles_student_encodings(raw: bytes, expected: str) -> None:
    assert decode_bytes(raw, Path("x.txt")) == expected


def test_problem_files_become_error_rows(tmp_path: Path, dl14) -> None:
    (tmp_path / "empty.md").write_text("   \n")
    (tmp_path / "binary.md").write_bytes(b"\x00\x01\x02PK")
    (tmp_path / "big.md").write_text("### Ans 1\n" + "word " * 1000)
    (tmp_path / "slides.pptx").write_bytes(b"PK")
    (tmp_path / "noheadings.md").write_text("")
    reasons = {
        p.name: load_submission(p, dl14, max_bytes=2000).error for p in sorted(tmp_path.iterdir())
    }
    assert reasons["empty.md"] == "empty file"
    assert "not a text file" in reasons["binary.md"]
    assert "too large" in reasons["big.md"] and "--max-bytes" in reasons["big.md"]
    assert "unsupported format '.pptx'" in reasons["slides.pptx"]


# --- every format a class hands in --------------------------------------------------------------

SUBMISSIONS = DATA / "submissions"


def _question_scores(result) -> list[tuple[str, float]]:
    return [(q.id, q.score) for q in result.questions]


@pytest.mark.parametrize("fmt", ["docx", "ipynb", "pdf", "html"])
def test_committed_formats_get_the_markdown_grade(fmt: str, dl14_grader) -> None:
    folder = SUBMISSIONS / "formats"
    markdown = dl14_grader.grade_file(folder / "answers.md")
    other = dl14_grader.grade_file(folder / f"answers.{fmt}")
    assert other.status == "graded", other.error
    assert all(q.answered for q in markdown.questions)
    assert _question_scores(other) == _question_scores(markdown)


@pytest.mark.parametrize("example", sorted(p.name for p in (ROOT / "submissions").iterdir()))
def test_same_answers_in_md_ipynb_docx_pdf_get_the_same_grade(
    example: str, tmp_path: Path, dl14_grader
) -> None:
    from .builders import markdown_to_docx, markdown_to_notebook, markdown_to_pdf

    markdown = (ROOT / "submissions" / example).read_text(encoding="utf-8")
    files = {
        "md": (tmp_path / "a.md", markdown.encode()),
        "ipynb": (tmp_path / "a.ipynb", markdown_to_notebook(markdown)),
        "docx": (tmp_path / "a.docx", markdown_to_docx(markdown)),
        "pdf": (tmp_path / "a.pdf", markdown_to_pdf(markdown)),
    }
    scores = {}
    for fmt, (path, data) in files.items():
        path.write_bytes(data)
        result = dl14_grader.grade_file(path)
        assert result.status == "graded", (fmt, result.error)
        scores[fmt] = _question_scores(result)
    assert scores["ipynb"] == scores["md"]
    assert scores["docx"] == scores["md"]
    assert scores["pdf"] == scores["md"]


@pytest.mark.parametrize("name", sorted(p.name for p in (SUBMISSIONS / "encodings").iterdir()))
def test_encodings_and_newlines_are_normalised(name: str, dl14) -> None:
    submission = load_submission(SUBMISSIONS / "encodings" / name, dl14)
    assert submission.error is None
    assert submission.answers["q1"] == (
        "No, the weights must differ: identical weights keep every neuron's update the same."
    )
    assert submission.answers["q7"] == (
        "Dropout doesn't slow down inference - it's switched off at test time."
    )


def test_text_without_headings_is_kept_for_alignment(dl14) -> None:
    from grader.loading import submission_from_text

    text = "Identical weights keep neurons symmetric.\n\nDropout is off at inference."
    submission = submission_from_text(text, dl14, submission_id="x", source="x")
    assert submission.error is None and submission.needs_review
    assert submission.answers == {} and submission.unsplit_text == text


def test_libyaml_and_pure_python_loaders_agree(monkeypatch) -> None:
    import yaml

    from grader import loading

    fast = load_rubric(DL14_RUBRIC)
    errors = {}
    for path in sorted(INVALID.glob("*.yaml")):
        with pytest.raises(RubricError) as caught:
            load_rubric(path)
        errors[path.name] = (caught.value.line, caught.value.location)
    monkeypatch.setattr(loading, "_YAML_LOADER", yaml.SafeLoader)
    assert load_rubric(DL14_RUBRIC) == fast
    for path in sorted(INVALID.glob("*.yaml")):
        with pytest.raises(RubricError) as caught:
            load_rubric(path)
        assert (caught.value.line, caught.value.location) == errors[path.name], path.name


def test_reference_only_questions_get_key_points_when_loaded() -> None:
    path = DATA / "rubrics" / "valid" / "reference-only.yaml"
    rubric = load_rubric(path)
    q1 = rubric.question("q1")
    assert [kp.description for kp in q1.key_points] == [
        "Key idea 1 of the model answer, about: stack, last-in, first-out.",
        "Key idea 2 of the model answer, about: queue, first-in, first-out.",
    ]
    assert q1.max_score == 2
    raw = load_rubric(path, derive_key_points=False)
    assert raw.question("q1").key_points == [] and raw.max_score == 0
