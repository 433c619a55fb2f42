"""Files → models: YAML rubrics and submission files. The only module that parses files."""

from __future__ import annotations

import difflib
import re
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from grader.archives import ArchiveError, ArchiveLimits
from grader.collecting import (
    JUNK_PREFIXES,
    FileReader,
    InputFile,
    StudentFiles,
    collect,
    forget_open_archives,
    group_files,
    safe_id,
)
from grader.drafting import complete_rubric
from grader.errors import RubricError, SubmissionError, UsageError, internal_failure
from grader.models import Calibration, KeyPoint, Misconception, Question, Rubric, Submission
from grader.parsing import split_answers
from grader.readers import (
    SUPPORTED_SUFFIXES,
    Document,
    decode_text,
    read_document,
    size_limit,
    too_large_reason,
)
from grader.text import normalize_text

#: Files larger than this are reported, not read: it keeps one pasted dump from stalling a batch.
DEFAULT_MAX_BYTES = 2_000_000
SUBMISSION_SUFFIXES = SUPPORTED_SUFFIXES
RUBRIC_SUFFIXES = (".yaml", ".yml")
#: libyaml's loader where PyYAML was built with it: the DL14 rubric parses in 4 ms instead of 30.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# --- rubrics -------------------------------------------------------------------------------


def load_rubric(path: Path | str, *, derive_key_points: bool = True) -> Rubric:
    """Read and validate a rubric; every problem is a `RubricError` naming file, line and fix.

    A question with a `reference_answer` and no key points gets one key point per idea of its
    reference answer (see `grader.drafting`), unless `derive_key_points` is False."""
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise RubricError(path, "file not found; pass the path of a rubric .yaml") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RubricError(path, f"cannot read the file ({exc})") from None
    return parse_rubric(source, path, derive_key_points=derive_key_points)


def parse_rubric(
    source: str, path: Path | str = "<rubric>", *, derive_key_points: bool = True
) -> Rubric:
    """Validate rubric YAML text. `path` is only used in messages."""
    loader = _YAML_LOADER(source)
    try:
        # One parse gives both the nodes (for line numbers) and the data.
        root = loader.get_single_node()
        _reject_duplicate_keys(root, path)
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.context_mark or exc.problem_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or "invalid YAML"
        if exc.context:
            problem = f"{exc.context}: {problem}"
        raise RubricError(
            path,
            f"YAML syntax error: {problem}; check indentation and quote text containing ':' or '#'",
            line=line,
        ) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise RubricError(
            path, "a rubric is a mapping with keys id, title and questions", line=1
        ) from None
    try:
        rubric = Rubric.model_validate(data)
    except ValidationError as exc:
        raise _rubric_error_from(exc, root, path) from None
    return complete_rubric(rubric) if derive_key_points else rubric


def rubric_json_schema() -> dict[str, Any]:
    """The JSON Schema of the rubric format, for editors that validate YAML."""
    schema = Rubric.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "grader rubric"
    return schema


def find_rubric(folder: Path) -> Path:
    """The one rubric in `folder`; a clear error when there are none or several."""
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder; pass --rubric RUBRIC.yaml")
    found = sorted(p for p in folder.iterdir() if p.suffix in RUBRIC_SUFFIXES)
    if len(found) != 1:
        names = ", ".join(p.name for p in found) or "none"
        raise UsageError(
            f"{folder}: expected exactly one rubric, found {names}; pass --rubric RUBRIC.yaml"
        )
    return found[0]


_MODEL_AT_KEY: dict[tuple[type[BaseModel], str], type[BaseModel]] = {
    (Rubric, "questions"): Question,
    (Question, "key_points"): KeyPoint,
    (Question, "misconceptions"): Misconception,
}


def _rubric_error_from(
    exc: ValidationError, root: yaml.Node | None, path: Path | str
) -> RubricError:
    """Turn pydantic's first error into one message: where, what, how to fix."""
    # An unknown key usually explains a "missing" one (a typo), so report it first.
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    error = errors[0]
    loc = tuple(error["loc"])
    location = _format_location(loc)
    kind = error["type"]
    node = _node_at(root, loc)
    line = node.start_mark.line + 1 if node is not None else None
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = sorted(model.model_fields)
        key = str(loc[-1])
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"allowed keys: {', '.join(allowed)}"
        line = _key_line(root, loc) or line
        message = f"unknown key {key!r}; {hint}"
    elif kind == "missing":
        parent = _node_at(root, loc[:-1])
        line = parent.start_mark.line + 1 if parent is not None else line
        message = f"missing required key {loc[-1]!r}; add it"
    elif kind == "greater_than":
        message = f"{error['msg'].lower()} (got {error['input']!r}); use a positive number"
    elif kind == "too_short":
        message = f"must not be empty; {_fix_for_empty(loc)}"
    elif kind == "string_pattern_mismatch":
        message = "ids may contain only letters, digits, '.', '_' and '-'"
    elif kind == "value_error":
        message = str(error["msg"]).removeprefix("Value error, ")
        duplicate = re.search(r"id '([^']+)'", message)
        if duplicate and ("duplicate" in message or "used in" in message):
            line = _repeated_id_line(root, duplicate.group(1)) or line
    else:
        message = f"{error['msg']} (got {error.get('input')!r})"
    extra = len(errors) - 1
    if extra:
        message += f" (and {extra} more problem{'s' if extra > 1 else ''})"
    return RubricError(path, message, location=location or None, line=line)


def _fix_for_empty(loc: tuple[Any, ...]) -> str:
    if loc and loc[-1] == "phrasings":
        return "list at least one way a student would say it"
    if loc and loc[-1] == "questions":
        return "list at least one question"
    return "give it a value"


def _format_location(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel]:
    model: type[BaseModel] = Rubric
    for part in loc:
        if isinstance(part, str):
            model = _MODEL_AT_KEY.get((model, part), model)
    return model


def _node_at(root: yaml.Node | None, loc: Iterable[Any]) -> yaml.Node | None:
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if part < len(node.value) else None
        else:
            return node
        if node is None:
            return None
    return node


def _key_line(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    parent = _node_at(root, loc[:-1])
    if isinstance(parent, yaml.MappingNode):
        for key, _ in parent.value:
            if key.value == loc[-1]:
                return int(key.start_mark.line) + 1
    return None


def _repeated_id_line(node: yaml.Node | None, value: str) -> int | None:
    """The line where an `id: value` appears for the second time."""
    lines: list[int] = []

    def walk(current: yaml.Node | None) -> None:
        if isinstance(current, yaml.MappingNode):
            for key, child in current.value:
                if key.value == "id" and getattr(child, "value", None) == value:
                    lines.append(child.start_mark.line + 1)
                walk(child)
        elif isinstance(current, yaml.SequenceNode):
            for child in current.value:
                walk(child)

    walk(node)
    return lines[1] if len(lines) > 1 else None


def _reject_duplicate_keys(node: yaml.Node | None, path: Path | str) -> None:
    """PyYAML keeps the last of two equal keys silently; a rubric author wants to know."""
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key, value in node.value:
            if key.value in seen:
                raise RubricError(
                    path,
                    f"key {key.value!r} appears twice in the same mapping; keep one",
                    line=key.start_mark.line + 1,
                )
            seen.add(key.value)
            _reject_duplicate_keys(value, path)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _reject_duplicate_keys(item, path)


# --- calibration -----------------------------------------------------------------------------


def load_calibration(path: Path) -> Calibration:
    """Read a calibration file written by `grader calibrate`."""
    try:
        return Calibration.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the calibration ({exc.strerror or exc})") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _format_location(tuple(first["loc"])) or "file"
        raise UsageError(
            f"{path}: {where}: {first['msg']}; re-create it with `grader calibrate`"
        ) from None


# --- submissions ---------------------------------------------------------------------------


def iter_submission_files(folder: Path) -> Iterator[Path]:
    """Every candidate file below `folder`, in a stable order; hidden files are skipped."""
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder of submissions")
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(JUNK_PREFIXES) for part in relative.parts):
            continue
        if path.is_file():
            yield path


def read_text_file(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """Decode a text file as a student's editor may have saved it (UTF-8/16, Windows-1252)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SubmissionError(path, f"unreadable ({exc.strerror or exc})") from None
    if size > max_bytes:
        raise SubmissionError(path, too_large_reason(size, path.name, max_bytes))
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SubmissionError(path, f"unreadable ({exc.strerror or exc})") from None
    return decode_bytes(raw, path)


def decode_bytes(raw: bytes, path: Path) -> str:
    """Bytes → text: BOMs first, then UTF-8, then Windows-1252 (a superset of Latin-1's printables)."""
    return decode_text(raw, str(path))


def load_submission(
    path: Path,
    rubric: Rubric,
    *,
    submission_id: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Submission:
    """Read one student's file (.md, .txt, .ipynb, .docx, .pdf, .html) into answers per
    question. Never raises for bad content: problems become `Submission.error` so that every
    student keeps a row in every report."""
    sid = submission_id or safe_id(path.stem)
    try:
        size = path.stat().st_size
    except OSError as exc:
        return Submission(id=sid, source=str(path), error=f"unreadable ({exc.strerror or exc})")
    file = InputFile(str(path), (path.name,), size, 0.0, FileReader(str(path)))
    group = StudentFiles(id=sid, name=None, late=False, source=str(path), files=[file], mtime=0.0)
    return load_student(group, rubric, max_bytes=max_bytes)


@dataclass
class SubmissionBatch:
    """The submissions found in a folder or a zip, one per student, not read yet."""

    source: Path
    students: list[StudentFiles]
    max_bytes: int

    def __len__(self) -> int:
        return len(self.students)

    def load(self, student: StudentFiles, rubric: Rubric) -> Submission:
        return load_student(student, rubric, max_bytes=self.max_bytes)


@contextmanager
def open_batch(
    path: Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    limits: ArchiveLimits | None = None,
) -> Iterator[SubmissionBatch]:
    """Find every submission in a folder or a zip (an LMS download): files grouped per student,
    duplicates marked. Files are read later, one student at a time, by `SubmissionBatch.load`.

    Raises `UsageError` when the path is missing or holds no files, and when a zip given as
    the input is corrupt or over a limit."""
    opened: list[zipfile.ZipFile] = []
    try:
        files = list(
            collect(path, max_bytes=max_bytes, limits=limits or ArchiveLimits(), opened=opened)
        )
        if not files:
            raise UsageError(f"{path}: no submission files found")
        yield SubmissionBatch(path, group_files(files, root_display=str(path)), max_bytes)
    finally:
        forget_open_archives()
        for archive in opened:
            archive.close()


def load_student(student: StudentFiles, rubric: Rubric, *, max_bytes: int) -> Submission:
    """Read one student's files into a `Submission`; unreadable files become notes, or the
    error of the submission when none of them could be read. Never raises: a failure of ours
    on a strange file still gives the student a row, with the reason."""
    try:
        return _load_student(student, rubric, max_bytes=max_bytes)
    except Exception as exc:  # one student's file must not stop the batch
        return Submission(
            **_origin(student),
            error=internal_failure("read", exc),
        )


def _origin(student: StudentFiles) -> dict[str, Any]:
    return {
        "id": student.id,
        "source": student.source,
        "name": student.name,
        "late": student.late,
        "files": [f.display for f in student.files],
        "duplicates": student.duplicates,
    }


def _load_student(student: StudentFiles, rubric: Rubric, *, max_bytes: int) -> Submission:
    base = _origin(student)
    if student.superseded_by is not None:
        return Submission(
            **base,
            superseded_by=student.superseded_by,
            error=f"duplicate: student id {student.id!r} also handed in {student.superseded_by}, "
            "which is newer and was graded instead",
        )
    texts: list[tuple[InputFile, str]] = []
    notes: list[str] = []
    problems: list[tuple[InputFile, str]] = []
    partial = False
    for file in student.files:
        try:
            document = _read_input(file, max_bytes)
        except SubmissionError as exc:
            problems.append((file, exc.reason))
            continue
        texts.append((file, normalize_text(document.text)))
        notes.extend(document.notes)
        partial = partial or document.partial
    if not texts:
        if len(problems) == 1:
            return Submission(**base, error=problems[0][1])
        listed = "; ".join(f"{f.name}: {reason}" for f, reason in problems)
        return Submission(
            **base, error=f"none of its {len(problems)} files could be read ({listed})"
        )
    for file, reason in problems:
        notes.append(f"{file.name} not read: {reason}")
    texts = _drop_repeats(texts, notes)
    if len(texts) > 1:
        notes.append(
            f"answers read from {len(texts)} files, in this order: "
            + ", ".join(f.name for f, _ in texts)
        )
    if student.late:
        notes.append("marked late by the LMS")
    if student.duplicates:
        notes.append(
            "student id also handed in: " + ", ".join(student.duplicates) + " (older; not graded)"
        )
    submission = submission_from_text(
        "\n\n".join(text for _, text in texts),
        rubric,
        submission_id=student.id,
        source=student.source,
    )
    return submission.model_copy(
        update={
            **base,
            "notes": [*notes, *submission.notes],
            "needs_review": submission.needs_review
            or partial
            or bool(problems)
            or bool(student.duplicates),
        }
    )


def _read_input(file: InputFile, max_bytes: int) -> Document:
    if file.problem is not None:
        raise SubmissionError(file.display, file.problem)
    limit = size_limit(file.name, max_bytes)
    if file.size > limit:
        raise SubmissionError(file.display, too_large_reason(file.size, file.name, max_bytes))
    try:
        data = file.read(limit)
    except ArchiveError as exc:
        raise SubmissionError(file.display, exc.reason) from None
    except OSError as exc:
        raise SubmissionError(file.display, f"unreadable ({exc.strerror or exc})") from None
    if len(data) > limit:  # the file grew, or an archive understated its size
        raise SubmissionError(file.display, too_large_reason(len(data), file.name, max_bytes))
    return read_document(file.name, data, max_chars=max_bytes)


def _drop_repeats(
    texts: list[tuple[InputFile, str]], notes: list[str]
) -> list[tuple[InputFile, str]]:
    """Students often hand in the same answers twice (answers.docx and answers.pdf, a draft and
    its final version): of files that share 90% of their words, only the newest is read."""
    if len(texts) < 2:
        return texts
    newest_first = sorted(texts, key=lambda item: (-item[0].mtime, item[0].display))
    kept: list[tuple[InputFile, set[str]]] = []
    dropped: set[str] = set()
    for file, text in newest_first:
        words = set(re.findall(r"\w+", text.lower()))
        repeat = next(
            (
                other
                for other, other_words in kept
                if words and len(words & other_words) >= 0.9 * len(words | other_words)
            ),
            None,
        )
        if repeat is None:
            kept.append((file, words))
        else:
            notes.append(f"{file.name} repeats {repeat.name}; only {repeat.name} was read")
            dropped.add(file.display)
    return [item for item in texts if item[0].display not in dropped]


def submission_from_text(
    text: str, rubric: Rubric, *, submission_id: str, source: str
) -> Submission:
    """Parse already-decoded text into a `Submission` (shared by every file format). Text
    without question headings is kept whole, for the grader to align to the questions."""
    if not text.strip():
        return Submission(id=submission_id, source=source, error="empty file")
    parsed = split_answers(text, rubric)
    if not parsed.answers and parsed.needs_review:
        return Submission(
            id=submission_id,
            source=source,
            notes=parsed.notes,
            needs_review=True,
            unsplit_text=text,
        )
    if not any(answer.strip() for answer in parsed.answers.values()):
        return Submission(
            id=submission_id,
            source=source,
            error="no answers found: the question headings have no text under them",
        )
    return Submission(
        id=submission_id,
        source=source,
        answers=parsed.answers,
        notes=parsed.notes,
        needs_review=parsed.needs_review,
    )
