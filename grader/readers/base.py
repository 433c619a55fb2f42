"""What every reader returns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Document:
    """The text of one file, what a TA should know about how it was read, and whether part of
    it could not be read (a scanned page in a PDF, say)."""

    text: str
    notes: tuple[str, ...] = ()
    partial: bool = False
    empty_reason: str | None = None
