"""Build submission files in every format from one Markdown text, the way students' tools would
write them: a Word document with real headings, lists and tables; a notebook with Markdown and
code cells; a PDF with a text layer; an HTML page."""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path

import docx
from docx.shared import Pt

from .pdfgen import build_pdf

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_BULLET = re.compile(r"^[-*]\s+(.*)$")
_NUMBERED = re.compile(r"^\d+[.)]\s+(.*)$")
_EMPHASIS = re.compile(r"\*\*|__")


def _plain(line: str) -> str:
    return _EMPHASIS.sub("", line)


def _logical_lines(markdown: str) -> list[str]:
    """Markdown's lines as a reader sees them: the lines of one paragraph are one line."""
    out: list[str] = []
    joinable = False
    for raw in markdown.split("\n"):
        line = raw.strip()
        special = (
            not line or line.startswith(("#", "|")) or _BULLET.match(line) or _NUMBERED.match(line)
        )
        if joinable and line and not special:
            out[-1] += " " + line
        else:
            out.append(line)
        joinable = bool(line) and not line.startswith(("#", "|"))
    return out


def markdown_to_docx(markdown: str, *, numbered_headings: bool = False) -> bytes:
    """A .docx of the Markdown: '#' lines become Heading styles, '- ' and '1. ' lines Word
    lists (whose numbers Word generates, they are not in the text), '|' rows a table. With
    `numbered_headings`, headings become an auto-numbered list with no number typed."""
    document = docx.Document()
    document.styles["Normal"].font.size = Pt(11)
    table_rows: list[list[str]] = []

    def flush_table() -> None:
        if not table_rows:
            return
        table = document.add_table(rows=len(table_rows), cols=max(len(r) for r in table_rows))
        for r, row in enumerate(table_rows):
            for c, cell in enumerate(row):
                table.cell(r, c).text = cell
        table_rows.clear()

    for line in _logical_lines(markdown):
        if line.startswith("|"):
            if not re.match(r"^\|?\s*:?-{2,}", line):
                table_rows.append([c.strip() for c in line.strip("|").split("|")])
            continue
        flush_table()
        if not line:
            continue
        heading = _HEADING.match(line)
        bullet = _BULLET.match(line)
        numbered = _NUMBERED.match(line)
        if heading and numbered_headings:
            text = re.sub(
                r"^(?:answer|ans|q(?:uestion)?)\s*\d+\s*[:.]?\s*", "", heading.group(2), flags=re.I
            )
            document.add_paragraph(_plain(text) or "Answer", style="List Number")
        elif heading:
            document.add_heading(_plain(heading.group(2)), level=min(len(heading.group(1)), 9))
        elif bullet:
            document.add_paragraph(_plain(bullet.group(1)), style="List Bullet")
        elif numbered:
            document.add_paragraph(_plain(numbered.group(1)), style="List Number 2")
        else:
            document.add_paragraph(_plain(line))
    flush_table()
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def markdown_to_notebook(markdown: str, *, nbformat: int = 4) -> bytes:
    """A notebook with one Markdown cell per heading and its answer, and a code cell between
    them (its code is not prose and must not be read)."""
    cells = []
    for chunk in re.split(r"\n(?=#{1,6} )", markdown.strip()):
        cells.append({"cell_type": "markdown", "metadata": {}, "source": chunk.splitlines(True)})
        cells.append(
            {
                "cell_type": "code",
                "metadata": {},
                "execution_count": None,
                "outputs": [],
                "source": ["import numpy as np\n", "x = np.zeros(3)  # not an answer\n"],
            }
        )
    if nbformat == 3:
        for cell in cells:
            if cell["cell_type"] == "code":
                cell["input"] = cell.pop("source")
        notebook = {
            "nbformat": 3,
            "nbformat_minor": 0,
            "metadata": {},
            "worksheets": [{"cells": cells}],
        }
    else:
        notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}
    return json.dumps(notebook, indent=1).encode("utf-8")


def markdown_to_pdf(markdown: str, *, image_pages: int = 0) -> bytes:
    """A PDF as a word processor exports it: headings and emphasis are typography, not '#'."""
    lines = [_plain(_HEADING.sub(r"\2", line)) for line in _logical_lines(markdown)]
    return build_pdf("\n".join(lines), image_pages=image_pages)


def markdown_to_html(markdown: str) -> bytes:
    """An HTML page (as an LMS's online-text editor saves it)."""
    out = ["<html><head><title>Submission</title><style>p{}</style></head><body>"]
    in_list = False
    for line in _logical_lines(markdown):
        bullet = _BULLET.match(line)
        if in_list and not bullet:
            out.append("</ul>")
            in_list = False
        heading = _HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            out.append(f"<h{level}>{_escape(heading.group(2))}</h{level}>")
        elif bullet:
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{_escape(bullet.group(1))}</li>")
        elif line:
            out.append(f"<p>{_escape(line)}</p>")
    if in_list:
        out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out).encode("utf-8")


def _escape(text: str) -> str:
    text = _plain(text)
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#39;")
    )


# --- an LMS download ----------------------------------------------------------------------

#: Names that occur in the file names `write_lms_download` writes, never in the answers.
IDENTIFYING = ("smithjane", "okaforben", "leechloe", "wongdee", "alvarezfay", "resubmitted")


def write_lms_download(folder: Path, answers: Mapping[str, str]) -> Path:
    """A Canvas download (file names hold the students' logins) beside a plain folder in which
    one student handed in twice; `answers` by the gradebook fixture's ids (ana, ben, ...)."""
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(folder / "canvas.zip", "w") as archive:
        first, second = answers["ana"].split("### Ans 2")
        archive.writestr("smithjane_1234_5678_part1.md", first)
        archive.writestr("smithjane_1234_5679_part2.md", "### Ans 2" + second)
        archive.writestr("okaforben_LATE_2222_3333_hw.md", answers["ben"])
        archive.writestr("leechloe_3333_4444_answers.md", answers["eli"])
        archive.writestr("leechloe_3333_4445_figure.png", b"\x89PNG not really")
        archive.writestr("wongdee_4444_5555_hw.md", b"\x00\x01 binary")
    old, new = folder / "alvarezfay.md", folder / "resubmitted" / "alvarezfay.md"
    new.parent.mkdir()
    old.write_text(answers["cai"])
    new.write_text(answers["fay"])
    os.utime(old, (1_700_000_000, 1_700_000_000))
    os.utime(new, (1_700_000_100, 1_700_000_100))
    return folder
