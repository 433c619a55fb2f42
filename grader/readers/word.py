"""Word (.docx) files with python-docx: paragraphs, headings, numbered and bulleted lists (with
the numbers Word generates, since students number their answers that way), tables, content
controls and text boxes, in document order."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

import docx
from docx.opc.exceptions import PackageNotFoundError

from grader.errors import SubmissionError
from grader.readers.base import Document

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"

#: A .docx is a zip: its parts may unpack to this many times the file's size at most (zip bombs).
MAX_EXPANSION = 100
_HEADING_STYLE = re.compile(r"^(?:heading|überschrift|titre|título)\s*(\d)$", re.IGNORECASE)
# A table cell that only labels a question: "Q1", "Answer 2", "3", "4."
_LABEL_CELL = re.compile(
    r"^(?:(?:q(?:uestion)?|ans(?:wer)?)\s*\.?\s*)?(\d{1,2})\s*[.):]?$", re.IGNORECASE
)


def read_docx(name: str, data: bytes) -> Document:
    _check_expansion(name, data)
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise SubmissionError(name, f"corrupt Word file ({exc})") from None
    except Exception as exc:  # lxml's XMLSyntaxError and friends: a damaged part
        raise SubmissionError(name, f"corrupt Word file ({type(exc).__name__})") from None
    numbering = _Numbering(document)
    blocks: list[str] = []
    _walk(document.element.body, document, numbering, blocks)
    return Document(
        "\n\n".join(b for b in blocks if b.strip()),
        empty_reason="empty file: the Word document has no text",
    )


def _check_expansion(name: str, data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        raise SubmissionError(name, "corrupt Word file (not a valid .docx package)") from None
    if unpacked > MAX_EXPANSION * max(len(data), 1) and unpacked > 50_000_000:
        raise SubmissionError(
            name,
            f"refused: the Word file would unpack to {unpacked:,} bytes "
            f"(over {MAX_EXPANSION} × its size; a zip bomb?)",
        )


def _walk(parent: Any, document: Any, numbering: _Numbering, blocks: list[str]) -> None:
    for child in parent.iterchildren():
        tag = child.tag
        if tag == f"{W}p":
            blocks.append(_paragraph(child, document, numbering))
        elif tag == f"{W}tbl":
            blocks.append(_table(child, document, numbering))
        elif tag in {f"{W}sdt", f"{W}sdtContent", f"{W}customXml", f"{W}ins"}:
            _walk(child, document, numbering, blocks)


def _run_text(element: Any) -> str:
    """Text of a paragraph: runs, hyperlinks, inline content controls, tracked insertions and
    text boxes; deleted text and the duplicate fallback copy of a text box are left out."""
    parts: list[str] = []
    for node in element.iter(f"{W}t", f"{W}tab", f"{W}br", f"{W}cr", f"{W}noBreakHyphen"):
        if any(a.tag == MC_FALLBACK for a in node.iterancestors()):
            continue
        if node.tag == f"{W}t":
            parts.append(node.text or "")
        elif node.tag == f"{W}tab":
            parts.append("\t")
        elif node.tag == f"{W}noBreakHyphen":
            parts.append("-")
        else:
            parts.append("\n")
    return "".join(parts)


def _paragraph(p: Any, document: Any, numbering: _Numbering) -> str:
    text = _run_text(p).strip()
    if not text:
        return ""
    style_id = _style_id(p)
    style_name = numbering.style_names.get(style_id or "", style_id)
    heading = _HEADING_STYLE.match(style_name or "")
    if heading:
        return "#" * int(heading.group(1)) + " " + text
    if style_name and style_name.lower() == "title":
        return "# " + text
    label = numbering.label_for(p, document, style_id)
    return f"{label} {text}" if label else text


def _table(tbl: Any, document: Any, numbering: _Numbering) -> str:
    lines: list[str] = []
    for tr in tbl.iterchildren(f"{W}tr"):
        cells: list[str] = []
        for tc in tr.iterchildren(f"{W}tc"):
            paragraphs: list[str] = []
            _walk(tc, document, numbering, paragraphs)
            cells.append(" ".join(" ".join(p.split()) for p in paragraphs if p.strip()))
        cells = [c.replace("|", "/") for c in cells if c]
        if not cells:
            continue
        label = _LABEL_CELL.match(cells[0])
        if label and len(cells) > 1:
            # A question-and-answer table: the label becomes a heading, the rest its answer.
            first = cells[0] if not cells[0].isdigit() else f"{cells[0]}."
            lines.append("\n" + first + "\n\n" + "\n\n".join(cells[1:]) + "\n")
        else:
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _style_id(p: Any) -> str | None:
    ppr = p.find(f"{W}pPr")
    style = ppr.find(f"{W}pStyle") if ppr is not None else None
    return style.get(f"{W}val") if style is not None else None


# --- list numbers ----------------------------------------------------------------------------


@dataclass
class _Level:
    fmt: str = "decimal"
    text: str = "%1."
    start: int = 1


@dataclass
class _Numbering:
    """Word stores '1.' of a numbered paragraph as a rule, not as text: replay the counters."""

    document: Any
    levels: dict[str, dict[int, _Level]] = field(default_factory=dict)  # numId → ilvl → level
    counters: dict[str, list[int]] = field(default_factory=dict)
    style_numbering: dict[str, tuple[str, int]] = field(default_factory=dict)
    style_names: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            self.style_names = {str(s.style_id): str(s.name) for s in self.document.styles}
        except (KeyError, ValueError, AttributeError):
            self.style_names = {}
        try:
            root = self.document.part.numbering_part.element
        except (NotImplementedError, KeyError, AttributeError):
            return
        abstract: dict[str, dict[int, _Level]] = {}
        for node in root.iterchildren(f"{W}abstractNum"):
            abstract[node.get(f"{W}abstractNumId")] = {
                int(lvl.get(f"{W}ilvl", "0")): _parse_level(lvl)
                for lvl in node.iterchildren(f"{W}lvl")
            }
        for num in root.iterchildren(f"{W}num"):
            ref = num.find(f"{W}abstractNumId")
            if ref is None:
                continue
            levels = dict(abstract.get(ref.get(f"{W}val"), {}))
            for override in num.iterchildren(f"{W}lvlOverride"):
                ilvl = int(override.get(f"{W}ilvl", "0"))
                start = override.find(f"{W}startOverride")
                if start is not None and ilvl in levels:
                    base = levels[ilvl]
                    levels[ilvl] = _Level(base.fmt, base.text, int(start.get(f"{W}val", "1")))
            self.levels[num.get(f"{W}numId")] = levels

    def label_for(self, p: Any, document: Any, style_id: str | None) -> str:
        ppr = p.find(f"{W}pPr")
        numpr = ppr.find(f"{W}numPr") if ppr is not None else None
        num_id: str | None = None
        ilvl = 0
        if numpr is not None:
            num_node = numpr.find(f"{W}numId")
            lvl_node = numpr.find(f"{W}ilvl")
            num_id = num_node.get(f"{W}val") if num_node is not None else None
            ilvl = int(lvl_node.get(f"{W}val", "0")) if lvl_node is not None else 0
        elif style_id is not None:
            num_id, ilvl = self._style_num(document, style_id)
        if not num_id or num_id == "0" or num_id not in self.levels:
            return ""
        levels = self.levels[num_id]
        counters = self.counters.setdefault(
            num_id,
            [lv.start - 1 for _, lv in sorted((i, levels.get(i, _Level())) for i in range(9))],
        )
        counters[ilvl] += 1
        for deeper in range(ilvl + 1, 9):
            counters[deeper] = levels.get(deeper, _Level()).start - 1
        level = levels.get(ilvl, _Level())
        if level.fmt == "bullet":
            return "-"
        if level.fmt == "none":
            return ""
        label = level.text
        for index in range(9):
            token = f"%{index + 1}"
            if token in label:
                fmt = levels.get(index, _Level()).fmt
                label = label.replace(token, _format_number(max(counters[index], 1), fmt))
        return label.strip()

    def _style_num(self, document: Any, style_id: str) -> tuple[str | None, int]:
        if style_id in self.style_numbering:
            return self.style_numbering[style_id]
        found: tuple[str | None, int] = (None, 0)
        try:
            style = next((s for s in document.styles if s.style_id == style_id), None)
            for _ in range(5):
                if style is None:
                    break
                ppr = style.element.find(f"{W}pPr")
                numpr = ppr.find(f"{W}numPr") if ppr is not None else None
                if numpr is not None:
                    num_node = numpr.find(f"{W}numId")
                    lvl_node = numpr.find(f"{W}ilvl")
                    found = (
                        num_node.get(f"{W}val") if num_node is not None else None,
                        int(lvl_node.get(f"{W}val", "0")) if lvl_node is not None else 0,
                    )
                    break
                style = style.base_style
        except (KeyError, ValueError, AttributeError):
            pass
        self.style_numbering[style_id] = (found[0] or "", found[1])
        return found


def _parse_level(lvl: Any) -> _Level:
    fmt = lvl.find(f"{W}numFmt")
    text = lvl.find(f"{W}lvlText")
    start = lvl.find(f"{W}start")
    return _Level(
        fmt.get(f"{W}val", "decimal") if fmt is not None else "decimal",
        text.get(f"{W}val", "") if text is not None else "",
        int(start.get(f"{W}val", "1")) if start is not None else 1,
    )


_ROMAN = [
    (1000, "m"),
    (900, "cm"),
    (500, "d"),
    (400, "cd"),
    (100, "c"),
    (90, "xc"),
    (50, "l"),
    (40, "xl"),
    (10, "x"),
    (9, "ix"),
    (5, "v"),
    (4, "iv"),
    (1, "i"),
]


def _format_number(value: int, fmt: str) -> str:
    if fmt in {"lowerLetter", "upperLetter"}:
        letters = ""
        n = value
        while n > 0:
            n, rest = divmod(n - 1, 26)
            letters = chr(ord("a") + rest) + letters
        return letters.upper() if fmt == "upperLetter" else letters
    if fmt in {"lowerRoman", "upperRoman"}:
        roman = ""
        n = value
        for number, symbol in _ROMAN:
            while n >= number:
                roman += symbol
                n -= number
        return roman.upper() if fmt == "upperRoman" else roman
    return str(value)
