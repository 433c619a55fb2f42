"""HTML (an LMS's online-text submission, a page saved from a browser) → Markdown-like text,
with the standard library's parser: headings, paragraphs, lists and tables keep their shape."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from grader.errors import SubmissionError
from grader.readers.base import Document
from grader.readers.plain import decode_text

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.IGNORECASE)
_SKIP = frozenset({"script", "style", "head", "title", "noscript", "template", "svg"})
_BLOCK = frozenset(
    """p div section article main header footer aside blockquote figure figcaption form
    fieldset address dl dt dd hr body html""".split()
)
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_SPACES = re.compile(r"[ \t\r\n\f\v]+")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip_depth = 0
        self.pre_depth = 0
        self.lists: list[list[int]] = []  # per open list: [is_ordered, counter]
        self.row: list[str] | None = None
        self.cell: list[str] | None = None

    # --- helpers ---------------------------------------------------------------------------

    def _write(self, text: str) -> None:
        if self.cell is not None:
            self.cell.append(text)
        else:
            self.out.append(text)

    def _break(self, blank: bool = True) -> None:
        if self.cell is not None:
            self.cell.append(" ")
        else:
            self.out.append("\n\n" if blank else "\n")

    # --- parser callbacks ------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip_depth += 1
            return
        if self.skip_depth:
            return
        if tag in _HEADINGS:
            self._break()
            self._write("#" * _HEADINGS[tag] + " ")
        elif tag in _BLOCK:
            self._break()
        elif tag == "br":
            self._break(blank=False)
        elif tag == "pre":
            self._break()
            self.pre_depth += 1
        elif tag in {"ul", "ol"}:
            start = next((v for k, v in attrs if k == "start" and v and v.isdigit()), "1")
            self.lists.append([tag == "ol", int(start) - 1])
            self._break()
        elif tag == "li":
            self._break(blank=False)
            if self.lists and self.lists[-1][0]:
                self.lists[-1][1] += 1
                self._write(f"{self.lists[-1][1]}. ")
            else:
                self._write("- ")
        elif tag == "tr":
            self.row = []
        elif tag in {"td", "th"}:
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
            return
        if self.skip_depth:
            return
        if tag in _HEADINGS or tag in _BLOCK:
            self._break()
        elif tag == "pre":
            self.pre_depth = max(0, self.pre_depth - 1)
            self._break()
        elif tag in {"ul", "ol"}:
            if self.lists:
                self.lists.pop()
            self._break()
        elif tag in {"td", "th"} and self.cell is not None:
            text = _SPACES.sub(" ", "".join(self.cell)).strip()
            self.cell = None
            if self.row is not None:
                self.row.append(text.replace("|", "/"))
        elif tag == "tr" and self.row is not None:
            cells = [c for c in self.row if c]
            if cells:
                self.out.append("\n| " + " | ".join(cells) + " |\n")
            self.row = None
        elif tag == "table":
            self._break()

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        self._write(data if self.pre_depth else _SPACES.sub(" ", data))


def html_to_text(markup: str) -> str:
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    lines = [line.strip() for line in "".join(parser.out).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def read_html(name: str, data: bytes) -> Document:
    declared = _CHARSET.search(data[:4096])
    text: str | None = None
    if declared and not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode(declared.group(1).decode("ascii"), errors="replace")
        except LookupError:
            text = None
    if text is None:
        text = decode_text(data, name)
    try:
        return Document(html_to_text(text), empty_reason="empty file: the page has no text")
    except (AssertionError, ValueError) as exc:  # html.parser's last resorts on garbage
        raise SubmissionError(name, f"unreadable HTML ({exc})") from None
