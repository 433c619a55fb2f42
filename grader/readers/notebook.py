"""Jupyter notebooks, read as JSON and never executed: Markdown and raw cells as they are, and
from code cells what students type answers into (comments, docstrings, answer strings)."""

from __future__ import annotations

import ast
import inspect
import io
import json
import re
import tokenize
from typing import Any

from grader.errors import SubmissionError
from grader.readers.base import Document
from grader.readers.plain import decode_text

# Lines IPython understands and Python does not: magics, shell escapes, help.
_IPYTHON_LINE = re.compile(r"^\s*(?:[%!]|\?|\w[\w.]*\?\s*$)")
# Comments that are tool markers, not prose.
_MARKER_COMMENT = re.compile(r"^(?:!|\s*%%|\s*In\s*\[|\s*-\*-|\s*(?:type|noqa|pragma|fmt)\s*:)")
# A variable meant to hold an answer: answer_1, ans2, q3_answer, q4 ...
_ANSWER_NAME = re.compile(r"(?:ans|q\d)", re.IGNORECASE)


def read_notebook(name: str, data: bytes) -> Document:
    try:
        notebook = json.loads(decode_text(data, name))
    except json.JSONDecodeError as exc:
        raise SubmissionError(
            name, f"corrupt notebook: not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    cells = _cells(notebook)
    if cells is None:
        raise SubmissionError(name, "corrupt notebook: no list of cells")
    parts: list[str] = []
    code_cells_read = 0
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        source = _source(cell.get("source", cell.get("input", "")))
        kind = cell.get("cell_type")
        if kind in {"markdown", "raw", "heading"}:
            if kind == "heading":  # nbformat 3: a heading cell with a level
                level = cell.get("level", 1)
                source = (
                    "#" * (level if isinstance(level, int) and 0 < level < 7 else 1) + " " + source
                )
            parts.append(source.strip())
        elif kind == "code":
            prose = code_prose(source)
            if prose:
                code_cells_read += 1
                parts.append(prose)
    notes = (
        (f"text read from comments and strings in {code_cells_read} code cell(s)",)
        if code_cells_read
        else ()
    )
    return Document(
        "\n\n".join(p for p in parts if p),
        notes,
        empty_reason="no answers found: the notebook has no Markdown cells and no comments",
    )


def _cells(notebook: Any) -> list[Any] | None:
    if not isinstance(notebook, dict):
        return None
    if isinstance(notebook.get("cells"), list):
        return list(notebook["cells"])
    worksheets = notebook.get("worksheets")  # nbformat 3
    if isinstance(worksheets, list):
        return [c for w in worksheets if isinstance(w, dict) for c in w.get("cells", []) or []]
    return None


def _source(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return value if isinstance(value, str) else ""


def _holds_prose(node: ast.Expr | ast.Assign) -> bool:
    """A bare string (a docstring, a note), or a string given to an answer variable."""
    if isinstance(node, ast.Expr):
        return True
    return any(isinstance(t, ast.Name) and bool(_ANSWER_NAME.search(t.id)) for t in node.targets)


def code_prose(source: str) -> str:
    """What a student wrote for people inside code: full-line comments, docstrings and other
    bare strings, and strings assigned to answer variables (`answer_1 = "..."`)."""
    python = "\n".join("" if _IPYTHON_LINE.match(line) else line for line in source.split("\n"))
    pieces: list[tuple[int, str]] = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(python).readline))
        for token in tokens:
            own_line = token.start[1] == len(token.line) - len(token.line.lstrip())
            if token.type == tokenize.COMMENT and own_line:
                body = token.string[1:]
                if not _MARKER_COMMENT.match(body):
                    pieces.append((token.start[0], body.strip()))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pieces = [
            (n, line.strip()[1:].strip())
            for n, line in enumerate(python.split("\n"), start=1)
            if line.strip().startswith("#") and not _MARKER_COMMENT.match(line.strip()[1:])
        ]
    try:
        tree = ast.parse(python)
    except (SyntaxError, ValueError):
        tree = None
    if tree is not None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Expr | ast.Assign) and _holds_prose(node):
                value = node.value
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    pieces.append((node.lineno, inspect.cleandoc(value.value)))
    pieces.sort(key=lambda piece: piece[0])
    # Consecutive comment lines are one paragraph; a gap in line numbers starts a new one.
    out: list[str] = []
    last_line = -2
    for line_number, text in pieces:
        if not text:
            last_line = line_number
            continue
        if out and line_number == last_line + 1 and "\n" not in text:
            out[-1] += "\n" + text
        else:
            out.append(text)
        last_line = line_number + text.count("\n")
    return "\n\n".join(out)
