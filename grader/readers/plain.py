"""Plain text and Markdown, in whatever encoding a student's editor saved them."""

from __future__ import annotations

import codecs

from grader.errors import SubmissionError
from grader.readers.base import Document

# Control characters that never occur in text a person typed (tab, newlines and form feed do).
_CONTROL = frozenset(range(32)) - {9, 10, 12, 13}
_DROP_CONTROLS = dict.fromkeys(_CONTROL)  # str.translate table that deletes them


def decode_text(raw: bytes, name: str) -> str:
    """Bytes → text: a BOM first (UTF-8, UTF-16), then UTF-16 without BOM recognised by its zero
    bytes, then UTF-8, then Windows-1252 (a superset of Latin-1's printable characters)."""
    if raw.startswith(codecs.BOM_UTF8):
        return _checked(raw[3:].decode("utf-8", errors="replace"), name)
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _checked(raw.decode("utf-16", errors="replace"), name)
    head = raw[:4096]
    if b"\x00" in head:
        encoding = _bomless_utf16(head)
        if encoding is None:
            raise SubmissionError(name, "not a text file (binary content)")
        return _checked(raw.decode(encoding, errors="replace"), name)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    return _checked(text, name)


def _bomless_utf16(head: bytes) -> str | None:
    """UTF-16 without a BOM: English text has a zero byte in every other position."""
    pairs = len(head) // 2
    if pairs < 2:
        return None
    even = sum(1 for i in range(0, pairs * 2, 2) if head[i] == 0)
    odd = sum(1 for i in range(1, pairs * 2, 2) if head[i] == 0)
    if odd >= 0.6 * pairs and even == 0:
        return "utf-16-le"
    if even >= 0.6 * pairs and odd == 0:
        return "utf-16-be"
    return None


def _checked(text: str, name: str) -> str:
    sample = text[:4096]
    controls = len(sample) - len(sample.translate(_DROP_CONTROLS))
    if sample and controls > max(2, len(sample) // 100):
        raise SubmissionError(name, "not a text file (binary content)")
    return text


def read_plain(name: str, data: bytes) -> Document:
    return Document(decode_text(data, name))
