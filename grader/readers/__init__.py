"""Submission files → text: one reader per format, chosen by extension and checked by content.

Nothing a student sent is ever executed: notebooks are read as JSON, Word files as XML, PDFs for
their text layer only. Every problem is a `SubmissionError` whose reason a TA understands.
"""

from __future__ import annotations

from pathlib import PurePath

from grader.errors import SubmissionError
from grader.readers.base import Document
from grader.readers.notebook import read_notebook
from grader.readers.plain import decode_text, read_plain
from grader.readers.webpage import read_html

__all__ = [
    "ARCHIVE_SUFFIXES",
    "RICH_SIZE_FACTOR",
    "SUPPORTED_SUFFIXES",
    "Document",
    "decode_text",
    "describe_content",
    "read_document",
    "size_limit",
    "too_large_reason",
]

_KINDS = {
    ".md": "text",
    ".markdown": "text",
    ".txt": "text",
    ".text": "text",
    ".ipynb": "notebook",
    ".docx": "docx",
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
}
SUPPORTED_SUFFIXES = tuple(_KINDS)
ARCHIVE_SUFFIXES = (".zip",)

#: Word, PDF and notebook files carry images and layout besides their text: they may be this many
#: times --max-bytes on disk; the text read from them is still held to --max-bytes.
RICH_SIZE_FACTOR = 10

_UNSUPPORTED_HINTS = {
    ".doc": "the old Word format; ask for .docx or PDF",
    ".odt": "an OpenDocument file; ask for .docx or PDF",
    ".rtf": "rich text; ask for .docx or PDF",
    ".pages": "an Apple Pages file; ask for .docx or PDF",
    ".pptx": "slides; ask for .docx or PDF",
    ".ppt": "slides; ask for .docx or PDF",
    ".xlsx": "a spreadsheet; ask for .docx or PDF",
    ".png": "an image; grader reads text, not pictures",
    ".jpg": "an image; grader reads text, not pictures",
    ".jpeg": "an image; grader reads text, not pictures",
    ".heic": "an image; grader reads text, not pictures",
    ".gif": "an image; grader reads text, not pictures",
}

# What a file really is, from its first bytes, whatever its name says.
_MAGIC = (
    (b"%PDF-", "pdf"),
    (b"PK\x03\x04", "zip"),
    (b"\xd0\xcf\x11\xe0", "ole"),
    (b"\x89PNG", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF8", "gif"),
    (b"{\\rtf", "rtf"),
)
_DESCRIPTIONS = {
    "pdf": "a PDF file",
    "zip": "a zip archive",
    "docx": "a Word (.docx) file",
    "ole": "an old Office file (.doc, .xls or .ppt)",
    "png": "a PNG image",
    "jpeg": "a JPEG image",
    "gif": "a GIF image",
    "rtf": "a rich text (.rtf) file",
    "notebook": "a Jupyter notebook",
}


def size_limit(name: str, max_bytes: int) -> int:
    """Largest file read for `name`: --max-bytes, or RICH_SIZE_FACTOR times it for formats that
    carry images besides their text."""
    kind = _KINDS.get(PurePath(name).suffix.lower())
    return max_bytes * RICH_SIZE_FACTOR if kind in {"docx", "pdf", "notebook"} else max_bytes


def too_large_reason(size: int, name: str, max_bytes: int) -> str:
    limit = size_limit(name, max_bytes)
    scale = f" ({RICH_SIZE_FACTOR} × --max-bytes for this format)" if limit != max_bytes else ""
    return f"too large ({size:,} bytes; the limit is {limit:,}{scale}; raise it with --max-bytes)"


def sniff(data: bytes) -> str | None:
    """The real format of `data` from its first bytes, when it has a recognisable signature."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            if kind == "zip" and b"word/" in data[:65536]:
                return "docx"
            return kind
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{") and b'"cells"' in data[:65536]:
        return "notebook"
    return None


def describe_content(data: bytes) -> str | None:
    """'a PDF file', 'a PNG image'...: what `data` is, for messages."""
    kind = sniff(data)
    return _DESCRIPTIONS.get(kind) if kind else None


def read_document(name: str, data: bytes, *, max_chars: int) -> Document:
    """The text of one submission file. `name` is only used to pick the reader and in messages.

    Raises `SubmissionError` with a reason a TA understands: unsupported format, empty file, not
    text, corrupt, encrypted or scanned PDF, too much text."""
    suffix = PurePath(name).suffix.lower()
    kind = _KINDS.get(suffix)
    sniffed = sniff(data)
    notes: list[str] = []
    if not data.strip():
        raise SubmissionError(name, "empty file")
    if kind is None:
        if suffix in ARCHIVE_SUFFIXES:
            raise SubmissionError(
                name, "a zip archive; pass it to 'grader grade', which opens archives"
            )
        if suffix:
            hint = _UNSUPPORTED_HINTS.get(suffix, "")
            raise SubmissionError(
                name,
                f"unsupported format {suffix!r}"
                + (f" ({hint})" if hint else "")
                + f"; supported: {', '.join(SUPPORTED_SUFFIXES)}",
            )
        kind = sniffed if sniffed in {"pdf", "docx", "notebook"} else "text"
    elif sniffed in {"pdf", "docx", "notebook"} and sniffed != kind:
        notes.append(f"{PurePath(name).name} is really {_DESCRIPTIONS[sniffed]}; read as such")
        kind = sniffed
    elif kind in {"text", "html"} and sniffed is not None and sniffed != "rtf":
        raise SubmissionError(name, f"not a text file: it is {_DESCRIPTIONS[sniffed]}")
    elif kind in {"docx", "pdf"} and sniffed != kind and not (kind == "docx" and sniffed == "zip"):
        what = _DESCRIPTIONS.get(sniffed or "", "not a valid file of its type")
        raise SubmissionError(name, f"corrupt {suffix} file: its content is {what}")
    try:
        document = _READERS[kind](name, data)
    except SubmissionError:
        raise
    except Exception as exc:  # a parser library's surprise on a damaged file: still just a row
        raise SubmissionError(
            name,
            f"unreadable: the file is damaged or not a valid {kind} file ({type(exc).__name__})",
        ) from None
    if len(document.text) > max_chars:
        raise SubmissionError(
            name,
            f"too large (over {max_chars:,} characters of text; raise the limit with --max-bytes)",
        )
    if not document.text.strip():
        raise SubmissionError(name, document.empty_reason or "empty file: it contains no text")
    return Document(document.text, (*notes, *document.notes), document.partial)


def read_docx(name: str, data: bytes) -> Document:
    """Word reader, imported on first use: python-docx is slow to import and a self-check of a
    Markdown file should not pay for it."""
    from grader.readers.word import read_docx as read

    return read(name, data)


def read_pdf(name: str, data: bytes) -> Document:
    """PDF reader, imported on first use (pypdf, like python-docx, is slow to import)."""
    from grader.readers.pdf import read_pdf as read

    return read(name, data)


_READERS = {
    "text": read_plain,
    "notebook": read_notebook,
    "docx": read_docx,
    "pdf": read_pdf,
    "html": read_html,
}
