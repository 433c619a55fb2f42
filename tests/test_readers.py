from __future__ import annotations

import io
import json

import docx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter

from grader.errors import SubmissionError
from grader.readers import decode_text, read_document, size_limit
from grader.readers.notebook import code_prose

from .builders import markdown_to_docx, markdown_to_html, markdown_to_notebook, markdown_to_pdf
from .conftest import DATA
from .pdfgen import build_pdf

FORMATS = DATA / "submissions" / "formats"

ANSWERS = """## Answer 1
No, dropout does not slow down inference: it is turned off when making predictions.

## Answer 2
Training takes longer with dropout.

- it needs more epochs
- each epoch is a little slower
"""


def read(name: str, data: bytes) -> str:
    return read_document(name, data, max_chars=1_000_000).text


def flat(text: str) -> str:
    """Text with line wrapping undone, for formats that wrap lines (PDF)."""
    return " ".join(text.split())


# --- plain text -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("Ans 1 café’s".encode(), "Ans 1 café’s", id="utf8"),
        pytest.param("Ans 1 café".encode("utf-8-sig"), "Ans 1 café", id="utf8-bom"),
        pytest.param("Ans 1 café".encode("utf-16"), "Ans 1 café", id="utf16-bom"),
        pytest.param("Ans 1 café".encode("utf-16-le"), "Ans 1 café", id="utf16le-no-bom"),
        pytest.param("Ans 1 café".encode("utf-16-be"), "Ans 1 café", id="utf16be-no-bom"),
        pytest.param(
            "Ans 1 café – “quoted”".encode("cp1252"), "Ans 1 café – “quoted”", id="cp1252"
        ),
        pytest.param("Ans 1 naïve".encode("latin-1"), "Ans 1 naïve", id="latin1"),
    ],
)
def test_plain_text_in_every_encoding_students_save(raw: bytes, expected: str) -> None:
    assert decode_text(raw, "x.txt") == expected


@pytest.mark.parametrize("newline", ["\r\n", "\r"], ids=["windows", "old-mac"])
def test_newlines_of_every_platform_keep_the_headings(newline: str, mini) -> None:
    from grader.loading import submission_from_text
    from grader.text import normalize_text

    text = read("a.txt", ANSWERS.replace("\n", newline).encode())
    submission = submission_from_text(normalize_text(text), mini, submission_id="a", source="a")
    assert "turned off when making predictions" in submission.answers["q1"]


def test_binary_content_is_not_text() -> None:
    with pytest.raises(SubmissionError, match=r"not a text file \(binary content\)"):
        read("a.md", bytes(range(256)) * 4)


@pytest.mark.parametrize(
    ("name", "data", "pattern"),
    [
        pytest.param(
            "photo.txt",
            b"\x89PNG\r\n\x1a\n" + bytes(64),
            "not a text file: it is a PNG image",
            id="png-as-txt",
        ),
        pytest.param(
            "old.md",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64),
            "old Office file",
            id="doc-as-md",
        ),
        pytest.param(
            "essay.doc",
            b"\xd0\xcf\x11\xe0" + bytes(64),
            r"unsupported format '\.doc' \(the old Word format; ask for \.docx or PDF\)",
            id="doc",
        ),
        pytest.param(
            "scan.jpg", b"\xff\xd8\xff" + bytes(64), "grader reads text, not pictures", id="jpg"
        ),
        pytest.param("fake.docx", b"just some text", r"corrupt \.docx file", id="text-as-docx"),
        pytest.param("fake.pdf", b"just some text", r"corrupt \.pdf file", id="text-as-pdf"),
        pytest.param("empty.md", b"  \n\t\n", "empty file", id="empty"),
        pytest.param(
            "inner.zip",
            b"PK\x03\x04" + bytes(64),
            "a zip archive; pass it to 'grader grade'",
            id="zip",
        ),
    ],
)
def test_files_that_cannot_be_read_say_why(name: str, data: bytes, pattern: str) -> None:
    with pytest.raises(SubmissionError, match=pattern):
        read(name, data)


def test_a_pdf_named_md_is_read_as_pdf() -> None:
    document = read_document("answers.md", markdown_to_pdf(ANSWERS), max_chars=10**6)
    assert "turned off when making predictions" in flat(document.text)
    assert any("is really a PDF file" in note for note in document.notes)


def test_text_over_the_limit_names_the_flag() -> None:
    with pytest.raises(SubmissionError, match=r"too large .*--max-bytes"):
        read_document("a.md", b"word " * 100, max_chars=50)


def test_rich_formats_may_be_larger_on_disk() -> None:
    assert size_limit("a.md", 1000) == 1000
    assert size_limit("a.docx", 1000) == size_limit("a.pdf", 1000) == 10_000


# --- Word -------------------------------------------------------------------------------------


def test_docx_keeps_headings_lists_and_tables() -> None:
    text = read(
        "a.docx",
        markdown_to_docx(
            ANSWERS + "\n| activation | use |\n|---|---|\n| softmax | multi-class outputs |\n"
        ),
    )
    assert "## Answer 1\n\nNo, dropout does not slow down inference" in text
    assert "- it needs more epochs" in text
    assert "| softmax | multi-class outputs |" in text


def test_docx_list_numbers_that_word_generates_are_read() -> None:
    """Word stores '1.' of a numbered list as a rule, not as text: the reader replays it, so
    answers numbered that way are found."""
    text = read("a.docx", markdown_to_docx(ANSWERS, numbered_headings=True))
    assert text.startswith("1. Answer")
    assert "\n\n2. Answer" in text


def test_docx_question_and_answer_table_becomes_headings(mini) -> None:
    document = docx.Document()
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Q1"
    table.cell(0, 1).text = "Dropout is turned off when making predictions."
    table.cell(1, 0).text = "2"
    table.cell(1, 1).text = "Training takes longer."
    buffer = io.BytesIO()
    document.save(buffer)
    text = read("a.docx", buffer.getvalue())
    assert "Q1\n\nDropout is turned off" in text
    assert "2.\n\nTraining takes longer." in text


def test_docx_content_controls_and_text_boxes_are_read() -> None:
    """Assignment templates put answers in content controls (w:sdt)."""
    document = docx.Document()
    document.add_paragraph("Answer 1")
    body = document.element.body
    from docx.oxml import parse_xml

    sdt = parse_xml(
        '<w:sdt xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:sdtContent><w:p><w:r><w:t>Inside a content control.</w:t></w:r></w:p></w:sdtContent>"
        "</w:sdt>"
    )
    body.insert(1, sdt)
    buffer = io.BytesIO()
    document.save(buffer)
    assert "Answer 1\n\nInside a content control." in read("a.docx", buffer.getvalue())


def test_docx_that_is_damaged_is_corrupt() -> None:
    data = markdown_to_docx(ANSWERS)
    with pytest.raises(SubmissionError, match="corrupt"):
        read("a.docx", data[: len(data) // 2])


# --- notebooks --------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [4, 3])
def test_notebook_markdown_cells_are_read_and_code_is_not(version: int) -> None:
    text = read("a.ipynb", markdown_to_notebook(ANSWERS, nbformat=version))
    assert "## Answer 1\nNo, dropout does not slow down inference" in text
    assert "np.zeros" not in text and "not an answer" not in text


def test_code_cells_give_their_comments_docstrings_and_answer_strings() -> None:
    source = (
        "%matplotlib inline\n"
        "# Answer 3: momentum too close to 1 makes the optimizer overshoot\n"
        "# and oscillate around the minimum.\n"
        "import numpy as np\n"
        "x = 1  # an inline comment about code\n"
        'def f():\n    """ELU is smooth everywhere."""\n    return 1\n'
        'answer_4 = "Softmax for multi-class outputs."\n'
        'label = "not prose"\n'
    )
    prose = code_prose(source)
    assert "Answer 3: momentum too close to 1 makes the optimizer overshoot\nand oscillate" in prose
    assert "ELU is smooth everywhere." in prose
    assert "Softmax for multi-class outputs." in prose
    assert "inline comment" not in prose and "not prose" not in prose and "matplotlib" not in prose


def test_notebook_is_never_executed(tmp_path) -> None:
    marker = tmp_path / "executed"
    notebook = {
        "nbformat": 4,
        "cells": [
            {"cell_type": "markdown", "source": "## Answer 1\nDropout is off at inference."},
            {"cell_type": "code", "source": f"open({str(marker)!r}, 'w').write('x')\n# note"},
        ],
    }
    assert "Dropout is off" in read("a.ipynb", json.dumps(notebook).encode())
    assert not marker.exists()


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        pytest.param(b'{"cells": [', r"corrupt notebook: not valid JSON \(line 1", id="truncated"),
        pytest.param(b'{"metadata": {}}', "corrupt notebook: no list of cells", id="no-cells"),
        pytest.param(
            json.dumps(
                {"nbformat": 4, "cells": [{"cell_type": "code", "source": "x = 1"}]}
            ).encode(),
            "no answers found: the notebook has no Markdown cells",
            id="only-code",
        ),
    ],
)
def test_bad_notebooks_say_why(data: bytes, pattern: str) -> None:
    with pytest.raises(SubmissionError, match=pattern):
        read("a.ipynb", data)


# --- PDF --------------------------------------------------------------------------------------


def test_pdf_text_layer_with_paragraphs() -> None:
    text = read("a.pdf", markdown_to_pdf(ANSWERS))
    assert text.startswith("Answer 1\nNo, dropout does not slow down inference")
    # the gap between paragraphs on the page becomes a blank line; wrapped lines stay together
    assert "when making\npredictions.\n\nAnswer 2\nTraining takes longer" in text
    assert "with dropout.\n\n- it needs more epochs\n- each epoch" in text


def test_scanned_pdf_says_so_instead_of_empty() -> None:
    with pytest.raises(
        SubmissionError, match=r"scanned PDF: its pages are images with no text layer"
    ):
        read("scan.pdf", build_pdf(None, image_pages=2))


def test_pdf_with_some_scanned_pages_is_read_and_flagged() -> None:
    document = read_document("a.pdf", markdown_to_pdf(ANSWERS, image_pages=1), max_chars=10**6)
    assert "turned off when making predictions" in flat(document.text)
    assert document.partial
    assert document.notes == ("page(s) 2 are scanned images without text; they were not read",)


def _encrypted(user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(markdown_to_pdf(ANSWERS))))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_encrypted_pdf_with_a_password_is_reported() -> None:
    with pytest.raises(SubmissionError, match="encrypted PDF: it needs a password"):
        read("locked.pdf", _encrypted("secret"))


def test_pdf_encrypted_only_against_editing_is_read() -> None:
    assert "turned off when making predictions" in flat(read("restricted.pdf", _encrypted("")))


def test_damaged_pdf_is_corrupt() -> None:
    with pytest.raises(SubmissionError, match=r"corrupt PDF|empty file"):
        read("a.pdf", b"%PDF-1.4\n" + bytes(200))


# --- HTML -------------------------------------------------------------------------------------


def test_html_keeps_structure_and_drops_scripts() -> None:
    page = (
        b"<html><head><meta charset='windows-1252'><script>alert('x')</script></head><body>"
        b"<h2>Answer 1</h2><p>Dropout is off at inference &amp; caf\xe9.</p>"
        b"<ol><li>first</li><li>second</li></ol>"
        b"<table><tr><td>ReLU</td><td>hidden layers</td></tr></table></body></html>"
    )
    text = read("a.html", page)
    assert "## Answer 1\n\nDropout is off at inference & café." in text
    assert "1. first\n2. second" in text
    assert "| ReLU | hidden layers |" in text
    assert "alert" not in text


def test_html_built_from_markdown_reads_back() -> None:
    text = read("a.html", markdown_to_html(ANSWERS))
    assert "## Answer 2\n\nTraining takes longer with dropout." in text
    assert "- it needs more epochs" in text


def test_pdf_lines_broken_short_after_a_sentence_end_a_paragraph() -> None:
    """List items whose bullets a browser draws as graphics: each ends short, with a full stop."""
    from grader.readers.pdf import _with_paragraphs

    plain = (
        "ReLU: fast and simple, the default for the hidden layers of most deep\n"
        "networks.\n"
        "tanh: outputs between -1 and 1.\n"
        "Softmax: mutually exclusive classes, as the output layer of a classifier\n"
        "network with many classes."
    )
    layout = "\n".join("    " + line for line in plain.split("\n"))
    assert _with_paragraphs(plain, layout).split("\n\n") == [
        "ReLU: fast and simple, the default for the hidden layers of most deep\nnetworks.",
        "tanh: outputs between -1 and 1.",
        "Softmax: mutually exclusive classes, as the output layer of a classifier\n"
        "network with many classes.",
    ]


def test_docx_text_box_is_read_once() -> None:
    """Word stores a text box twice (a drawing and a fallback picture): read it once."""
    from docx.oxml import parse_xml

    document = docx.Document()
    paragraph = document.add_paragraph("Answer 1")
    namespaces = (
        'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
        'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
    )
    box = "<w:txbxContent><w:p><w:r><w:t>In a text box.</w:t></w:r></w:p></w:txbxContent>"
    run = parse_xml(
        f"<w:r {namespaces}><mc:AlternateContent><mc:Choice Requires='wps'>{box}</mc:Choice>"
        f"<mc:Fallback>{box}</mc:Fallback></mc:AlternateContent></w:r>"
    )
    paragraph._p.append(run)
    buffer = io.BytesIO()
    document.save(buffer)
    text = read("a.docx", buffer.getvalue())
    assert text.count("In a text box.") == 1


@pytest.mark.parametrize("suffix", ["docx", "pdf", "ipynb", "html", "md"])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_damaged_files_never_raise_anything_but_a_reason(suffix: str, data) -> None:
    """Bytes flipped or cut anywhere in a real file: a Document or a SubmissionError, never a
    crash that would stop the batch."""
    original = bytearray((FORMATS / f"answers.{suffix}").read_bytes())
    cut = data.draw(st.integers(min_value=1, max_value=len(original)))
    damaged = original[:cut]
    for position in data.draw(st.lists(st.integers(0, cut - 1), max_size=8)):
        damaged[position] ^= data.draw(st.integers(1, 255))
    try:
        document = read_document(f"answers.{suffix}", bytes(damaged), max_chars=10**6)
    except SubmissionError as exc:
        assert exc.reason
    else:
        assert document.text.strip()
