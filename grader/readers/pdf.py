"""PDFs, for their text layer (pypdf): paragraphs recovered from the layout, hyphenation at line
ends joined; encrypted, damaged and scanned (image-only) files told apart."""

from __future__ import annotations

import io
import logging
import re
from typing import Any

from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError, PyPdfError

from grader.errors import SubmissionError
from grader.readers.base import Document

#: Stop reading once the text passes this many characters (the caller enforces --max-bytes).
MAX_TEXT = 50_000_000
# A line that ends in a hyphen before a lower-case word: word processors break compounds there
# ("well-" / "known") far more often than they hyphenate, so the hyphen is kept.
_HYPHENATED = re.compile(r"(?<=[a-z])-\n(?=[a-z])")
_SPACES = re.compile(r"[ \t]{2,}")
_SENTENCE_END = re.compile(r"[.!?:]['\")]?\s*$")
#: A line shorter than this share of the page's longest line ends where the writer broke it.
_SHORT_LINE = 0.9


#: What pypdf raises on a damaged file (it has no single error type for that).
_BROKEN_PDF = (
    PdfReadError,
    PyPdfError,
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    RecursionError,
)


def read_pdf(name: str, data: bytes, *, max_chars: int = MAX_TEXT) -> Document:
    # pypdf logs what it recovers from in a damaged file; the TA gets our reason instead.
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        return _read_pdf(name, data, max_chars)
    finally:
        logger.setLevel(level)


def _read_pdf(name: str, data: bytes, max_chars: int) -> Document:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            _decrypt(name, reader)
        pages = list(reader.pages)
    except SubmissionError:
        raise
    except _BROKEN_PDF as exc:
        raise SubmissionError(name, f"corrupt PDF, cannot be read ({_short(exc)})") from None
    texts: list[str] = []
    scanned: list[int] = []
    total = 0
    for number, page in enumerate(pages, start=1):
        try:
            text = _page_text(page)
        except (*_BROKEN_PDF, ZeroDivisionError):
            text = ""
        if not text.strip() and _has_images(page):
            scanned.append(number)
        texts.append(text)
        total += len(text)
        if total > max_chars:
            break
    text = _join_pages([t.strip() for t in texts if t.strip()])
    if not text.strip():
        if scanned:
            raise SubmissionError(
                name,
                "scanned PDF: its pages are images with no text layer, so there is nothing to "
                "grade; ask for a typed copy (or run OCR on it first)",
            )
        raise SubmissionError(name, "empty file: the PDF has no text")
    notes: tuple[str, ...] = ()
    if scanned:
        listed = ", ".join(str(n) for n in scanned)
        notes = (f"page(s) {listed} are scanned images without text; they were not read",)
    return Document(text, notes, partial=bool(scanned))


def _join_pages(pages: list[str]) -> str:
    """Pages are paragraphs apart, unless a sentence runs on from one page to the next."""
    out = ""
    for page in pages:
        if not out:
            out = page
        elif re.search(r"[A-Za-z0-9,;:(-]$", out) and re.match(r"[a-z(]", page):
            out += "\n" + page
        else:
            out += "\n\n" + page
    return out


def _decrypt(name: str, reader: PdfReader) -> None:
    """Many PDFs are 'encrypted' only to restrict editing, with an empty password: read those."""
    try:
        if reader.decrypt(""):
            return
    except (DependencyError, FileNotDecryptedError, PdfReadError, NotImplementedError):
        pass
    raise SubmissionError(
        name, "encrypted PDF: it needs a password to open; ask the student for an unprotected copy"
    )


def _page_text(page: Any) -> str:
    plain = str(page.extract_text())
    try:
        layout = str(page.extract_text(extraction_mode="layout", layout_mode_space_vertically=True))
    except Exception:  # layout mode is an extra; plain text is what counts
        layout = ""
    text = _with_paragraphs(plain, layout) if layout else plain
    text = _HYPHENATED.sub("-", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def _with_paragraphs(plain: str, layout: str) -> str:
    """Plain extraction keeps words whole but loses paragraph breaks; layout extraction keeps
    the vertical gaps and where lines end. Put the layout's paragraph breaks into the plain
    text where both agree: a blank line, or a short line that ends a sentence (the next word
    would have fitted on it, so the break was typed: list items whose bullets are drawn as
    graphics end that way)."""
    lines = layout.split("\n")
    width = max((len(line.rstrip()) for line in lines), default=0)
    breaks: set[int] = set()
    seen = 0
    pending = False
    for index, line in enumerate(lines):
        compact = "".join(line.split())
        if not compact:
            pending = seen > 0
            continue
        if pending:
            breaks.add(seen)
            pending = False
        seen += len(compact)
        following = lines[index + 1].strip() if index + 1 < len(lines) else ""
        if (
            _SENTENCE_END.search(line)
            and len(line.rstrip()) < _SHORT_LINE * width
            and following[:1].isalnum()
        ):
            breaks.add(seen)
    if "".join(plain.split()) != "".join(layout.split()):
        return plain
    out: list[str] = []
    seen = 0
    for line in plain.split("\n"):
        compact = "".join(line.split())
        if compact and seen in breaks and out and out[-1] != "":
            out.append("")
        out.append(line)
        seen += len(compact)
    return "\n".join(out)


def _has_images(page: Any) -> bool:
    try:
        resources = page.get("/Resources")
        resources = resources.get_object() if resources is not None else None
        xobjects = resources.get("/XObject") if resources is not None else None
        if xobjects is None:
            return False
        xobjects = xobjects.get_object()
        return any(xobjects[key].get_object().get("/Subtype") == "/Image" for key in xobjects)
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."
