"""What every writer shares: rounding, CSV-injection safety, CSV rendering, atomic writes and
file names made from untrusted submission ids."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

from grader.models import Report

SCORE_DECIMALS = 2
SIMILARITY_DECIMALS = 3
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def write_atomic(path: Path, content: str) -> None:
    """Write to a temporary file beside `path`, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def safe_cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not execute (OWASP CSV injection): text starting with
    = + - @ tab or CR gets a leading apostrophe. Numbers, negative ones included, stay numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return format_number(value)
    text = str(value)
    if text.startswith(_FORMULA_STARTS) and not _is_number(text):
        return "'" + text
    return text


@lru_cache(maxsize=8192)  # the same few scores, on every page
def format_number(value: float, decimals: int = SCORE_DECIMALS) -> str:
    """Fixed rounding for outputs; '-0' never appears."""
    rounded = round(float(value), decimals)
    if rounded == 0:
        rounded = 0.0
    text = f"{rounded:.{decimals}f}".rstrip("0").rstrip(".")
    return text or "0"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip() == text


def render_csv(
    header: Sequence[str], rows: Iterable[Sequence[str]], *, quote_all: bool = False
) -> str:
    """CSV text with '\\n' line ends. Cells must already have gone through `safe_cell`."""
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        lineterminator="\n",
        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
    )
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


# --- file names from submission ids ----------------------------------------------------------

_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_WINDOWS_RESERVED = {
    "con", "prn", "aux", "nul",
    *(f"com{n}" for n in range(1, 10)),
    *(f"lpt{n}" for n in range(1, 10)),
}  # fmt: skip
MAX_STEM_CHARS = 80


def _id_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def safe_stem(submission_id: str) -> str:
    """A file-name stem that is safe on every OS for any submission id: ASCII letters, digits,
    '.', '_' and '-' only, no leading dot, no reserved device name, at most 80 characters. An id
    that had to be changed gets a short hash of the original, so two ids never share a name."""
    cleaned = _UNSAFE_NAME_CHARS.sub("_", submission_id).strip("._-")[:MAX_STEM_CHARS]
    reserved = cleaned.split(".")[0].lower() in _WINDOWS_RESERVED
    if cleaned == submission_id and not reserved:
        return cleaned
    return f"{cleaned or 'submission'}-{_id_hash(submission_id)}"


def feedback_stems(report: Report) -> list[str]:
    """One distinct file-name stem per submission, in report order. Two files with the same id
    (alice.md and alice.txt) are told apart by a hash of their source path."""
    stems = feedback_stem_map((s.id, s.source) for s in report.submissions)
    return [stems[(s.id, s.source)] for s in report.submissions]


def feedback_stem_map(submissions: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """`feedback_stems` for (id, source) pairs known before the results: each pair's stem."""
    pairs = list(submissions)
    stems = [safe_stem(sid) for sid, _ in pairs]
    seen: dict[str, int] = {}
    for stem in stems:
        seen[stem.casefold()] = seen.get(stem.casefold(), 0) + 1
    return {
        (sid, source): f"{stem}-{_id_hash(source)}" if seen[stem.casefold()] > 1 else stem
        for stem, (sid, source) in zip(stems, pairs, strict=True)
    }
