"""What a TA downloads → one group of files per student.

A folder or a zip (an LMS download, nested folders, students' own zips inside it) is walked in a
stable order; every file is given an owner: the student id from Canvas's or Moodle's naming, a
student's own folder or archive, or else the file name. Several files of one owner are one
submission; two owners with the same student id are duplicates (the newest is graded, both are
reported). Ids are sanitised here, so no name from an archive ever becomes an output path as is.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from grader.archives import (
    ArchiveEntry,
    ArchiveError,
    ArchiveLimits,
    list_entries,
    open_zip,
    read_entry,
)
from grader.errors import UsageError
from grader.readers import RICH_SIZE_FACTOR

# --- LMS naming --------------------------------------------------------------------------------

# Canvas bulk download: <login>_<userid>_<submissionid>_<original name>, late ones with _LATE_
# after the login. Canvas appends -1, -2 to the original name of a resubmitted file.
CANVAS_NAME = re.compile(
    r"^(?P<login>[^_\s]+)_(?P<late>late_)?(?P<user>\d+)_(?P<sub>\d+)_(?P<rest>.+)$",
    re.IGNORECASE,
)
# Moodle "Download all submissions": a folder per participant and submission plugin, or (older
# versions, or "download as flat files") the same prefix on every file name.
MOODLE_FOLDER = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_?$")
MOODLE_FILE = re.compile(
    r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<rest>.+)$"
)

#: Files every OS and LMS sprinkles into folders and zips; they are nobody's submission.
JUNK_NAMES = frozenset({"thumbs.db", "desktop.ini", "icon\r"})
JUNK_PREFIXES = (".", "~$", "__")
#: Archives inside archives are opened this many levels deep (an LMS zip of students' zips).
MAX_ARCHIVE_DEPTH = 2
#: A folder of plain files is one student's when a file name recurs in this share of the
#: folders (every student hands in answers.md) and in at least this many folders.
STUDENT_FOLDER_SHARE = 0.6
STUDENT_FOLDER_MIN = 3

_WINDOWS_RESERVED = re.compile(r"^(?:con|prn|aux|nul|com\d|lpt\d)(?:\..*)?$", re.IGNORECASE)
MAX_ID_LENGTH = 80


def safe_id(text: str) -> str:
    """A student id that is safe as a file name on every OS: letters, digits, '.', '_', '-'."""
    text = unicodedata.normalize("NFKC", text)
    cleaned = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in text)
    cleaned = re.sub(r"_+", "_", cleaned).strip("._-")[:MAX_ID_LENGTH].strip("._-")
    if not cleaned:
        return "submission"
    return "_" + cleaned if _WINDOWS_RESERVED.match(cleaned) else cleaned


# --- what is collected ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)  # slots: a MOOC's batch holds 100,000 of these
class InputFile:
    """One file of the input. `read(limit)` returns at most limit + 1 bytes."""

    display: str  # how reports name it: a path, or archive.zip!inner/name.docx
    parts: tuple[str, ...]  # its path below the input, for telling owners apart
    size: int
    mtime: float
    read: Callable[[int], bytes] = field(compare=False, repr=False)
    problem: str | None = None  # set when it must not be read, and says why
    archive: tuple[str, ...] | None = None  # the student archive it came out of
    archive_display: str | None = None
    container: str | None = None  # display of the zip it is in, if any
    container_depth: int = 0  # how many of `parts` lie outside that zip

    @property
    def name(self) -> str:
        return self.parts[-1]


@dataclass(frozen=True)
class Owner:
    id: str
    name: str | None
    late: bool
    unit: tuple[str, ...]  # files with the same unit are one submission
    source: str | None  # the folder or archive that holds the submission, if one does


@dataclass(slots=True)
class StudentFiles:
    """The files of one submission, and how it relates to others with the same student id."""

    id: str
    name: str | None
    late: bool
    source: str
    files: list[InputFile]
    mtime: float
    duplicates: list[str] = field(default_factory=list)
    superseded_by: str | None = None


def collect(
    path: Path, *, max_bytes: int, limits: ArchiveLimits, opened: list[zipfile.ZipFile]
) -> Iterator[InputFile]:
    """Every file below a folder or inside a zip, in a stable order; junk is skipped. A zip
    opened here is added to `opened`, for the caller to close."""
    if path.is_dir():
        yield from _walk_folder(path, max_bytes=max_bytes, limits=limits)
    elif path.is_file() and path.suffix.lower() == ".zip":
        try:
            archive = open_zip(path)
        except ArchiveError as exc:
            raise UsageError(f"{path}: {exc.reason}; download it again") from None
        opened.append(archive)
        try:
            entries = list_entries(archive, limits)
        except ArchiveError as exc:
            raise UsageError(f"{path}: {exc.reason}") from None
        yield from _walk_archive(
            archive, entries, str(path), (), depth=1, max_bytes=max_bytes, limits=limits
        )
    elif path.is_file():
        raise UsageError(
            f"{path}: not a folder or a .zip; pass the folder of submissions or the LMS download "
            "(use 'grader check' for a single file)"
        )
    else:
        raise UsageError(f"{path}: no such folder of submissions")


def _is_junk(parts: tuple[str, ...]) -> bool:
    return any(p.startswith(JUNK_PREFIXES) for p in parts) or parts[-1].lower() in JUNK_NAMES


def _walk_folder(folder: Path, *, max_bytes: int, limits: ArchiveLimits) -> Iterator[InputFile]:
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if _is_junk(parts) or not path.is_file():
            continue
        try:
            stat = path.stat()
        except OSError as exc:
            yield InputFile(
                str(path), parts, 0, 0.0, _unreadable, f"unreadable ({exc.strerror or exc})"
            )
            continue
        reader = _file_reader(path)
        file = InputFile(str(path), parts, stat.st_size, stat.st_mtime, reader)
        if path.suffix.lower() == ".zip":
            yield from _nested(file, depth=1, max_bytes=max_bytes, limits=limits)
        else:
            yield file


@dataclass(frozen=True, slots=True)
class FileReader:
    """Reads a plain file on demand. A class rather than a closure so that it pickles: a worker
    process can read the files of its students itself. The path is kept as text, a quarter of
    a Path's memory."""

    path: str

    def __call__(self, limit: int) -> bytes:
        with open(self.path, "rb") as handle:
            return handle.read(limit + 1)


def _file_reader(path: Path) -> Callable[[int], bytes]:
    return FileReader(str(path))


def readable_anywhere(student: StudentFiles) -> bool:
    """Whether another process can read this student's files: plain files, not zip members
    (an archive stays open in the process that found it)."""
    return all(isinstance(f.read, FileReader) or f.read is _unreadable for f in student.files)


def _unreadable(limit: int) -> bytes:
    raise OSError("unreadable")


class _LazyArchive:
    """A zip inside the input, opened again when one of its files is read rather than kept in
    memory for the whole batch; the last one opened is kept, since a student's files are read
    one after another."""

    _last: tuple[tuple[str, int, float], zipfile.ZipFile] | None = None

    def __init__(self, file: InputFile, limit: int) -> None:
        self.file = file
        self.limit = limit

    def get(self) -> zipfile.ZipFile:
        key = (self.file.display, self.file.size, self.file.mtime)
        last = _LazyArchive._last
        if last is not None and last[0] == key:
            return last[1]
        archive = open_zip(self.file.read(self.limit))
        _LazyArchive._last = (key, archive)
        return archive

    @staticmethod
    def forget() -> None:
        _LazyArchive._last = None


def forget_open_archives() -> None:
    """Drop the archive kept open between reads (at the end of a batch)."""
    _LazyArchive.forget()


def _walk_archive(
    archive: zipfile.ZipFile | _LazyArchive,
    entries: list[ArchiveEntry],
    display: str,
    prefix: tuple[str, ...],
    *,
    depth: int,
    max_bytes: int,
    limits: ArchiveLimits,
    student_archive: tuple[str, ...] | None = None,
    student_display: str | None = None,
) -> Iterator[InputFile]:
    for entry in sorted(entries, key=lambda e: e.name):
        if entry.problem is None and _is_junk(entry.parts):
            continue  # an unsafe name is reported, never skipped as junk

        def read(limit: int, entry: ArchiveEntry = entry) -> bytes:
            handle = archive.get() if isinstance(archive, _LazyArchive) else archive
            return read_entry(handle, entry, limit)

        file = InputFile(
            f"{display}!{entry.name}",
            (*prefix, *entry.parts),
            entry.size,
            entry.mtime,
            read,
            entry.problem,
            student_archive,
            student_display,
            container=display,
            container_depth=len(prefix),
        )
        if entry.problem is None and entry.parts[-1].lower().endswith(".zip"):
            yield from _nested(file, depth=depth + 1, max_bytes=max_bytes, limits=limits)
        else:
            yield file


def _nested(
    file: InputFile, *, depth: int, max_bytes: int, limits: ArchiveLimits
) -> Iterator[InputFile]:
    """A zip inside the input: an LMS download (its files join the batch) or one student's
    archive (its files are that student's)."""
    limit = max_bytes * RICH_SIZE_FACTOR
    if depth > MAX_ARCHIVE_DEPTH:
        yield replace(file, problem="an archive inside an archive inside an archive; not opened")
        return
    if file.archive is not None:
        yield replace(file, problem="an archive inside a student's archive; not opened")
        return
    if file.size > limit:
        yield replace(
            file,
            problem=f"too large ({file.size:,} bytes; the limit for archives is {limit:,} "
            f"({RICH_SIZE_FACTOR} × --max-bytes); raise it with --max-bytes)",
        )
        return
    try:
        data = file.read(limit)
        entries = list_entries(open_zip(data), limits)
        del data
    except ArchiveError as exc:
        yield replace(file, problem=exc.reason)
        return
    except OSError as exc:
        yield replace(file, problem=f"unreadable ({exc.strerror or exc})")
        return
    if not entries:
        yield replace(file, problem="empty archive: it holds no files")
        return
    is_batch = any(
        CANVAS_NAME.match(e.parts[-1])
        or MOODLE_FILE.match(e.parts[-1])
        or any(MOODLE_FOLDER.match(p) for p in e.parts[:-1])
        for e in entries
    )
    archive = _LazyArchive(file, limit)
    if is_batch:
        yield from _walk_archive(
            archive,
            entries,
            file.display,
            file.parts[:-1],
            depth=depth,
            max_bytes=max_bytes,
            limits=limits,
        )
    else:
        yield from _walk_archive(
            archive,
            entries,
            file.display,
            file.parts,
            depth=depth,
            max_bytes=max_bytes,
            limits=limits,
            student_archive=file.parts,
            student_display=file.display,
        )


# --- owners ------------------------------------------------------------------------------------


def group_files(files: list[InputFile], *, root_display: str) -> list[StudentFiles]:
    """One `StudentFiles` per submission, sorted by id then source, duplicates marked."""
    student_folders = _student_folders([f for f in files if _lms_owner(f, root_display) is None])
    units: dict[tuple[str, ...], tuple[Owner, list[InputFile]]] = {}
    for file in files:
        owner = _lms_owner(file, root_display) or _plain_owner(file, student_folders, root_display)
        units.setdefault(owner.unit, (owner, []))[1].append(file)
    groups = []
    for owner, unit_files in units.values():
        unit_files.sort(key=lambda f: f.display)
        source = owner.source or unit_files[0].display
        groups.append(
            StudentFiles(
                id=owner.id,
                name=owner.name,
                late=any(_lms_late(f) for f in unit_files) or owner.late,
                source=source,
                files=unit_files,
                mtime=max(f.mtime for f in unit_files),
            )
        )
    by_id: dict[str, list[StudentFiles]] = defaultdict(list)
    for group in groups:
        by_id[group.id].append(group)
    for same in by_id.values():
        if len(same) < 2:
            continue
        same.sort(key=lambda g: (g.mtime, g.source))
        newest = same[-1]
        for group in same:
            group.duplicates = [g.source for g in same if g is not group]
            if group is not newest:
                group.superseded_by = newest.source
    return sorted(groups, key=lambda g: (g.id, g.source))


def _join(root_display: str, parts: tuple[str, ...], file: InputFile) -> str:
    """The display name of a folder below the input (inside the same archive as `file`)."""
    if file.container is not None:
        return file.container + "!" + "/".join(parts[file.container_depth :])
    return str(Path(root_display, *parts))


def _lms_owner(file: InputFile, root_display: str) -> Owner | None:
    parts = file.archive or file.parts
    for index, folder in enumerate(parts[:-1]):
        moodle = MOODLE_FOLDER.match(folder)
        if moodle:
            student = parts[: index + 1]
            return Owner(
                safe_id(moodle["id"]),
                moodle["name"].strip(),
                False,
                ("moodle", *parts[:index], moodle["id"]),
                _join(root_display, student, file),
            )
    name = parts[-1]
    moodle = MOODLE_FILE.match(name)
    if moodle:
        return Owner(
            safe_id(moodle["id"]),
            moodle["name"].strip(),
            False,
            ("moodle", *parts[:-1], moodle["id"]),
            None,
        )
    canvas = CANVAS_NAME.match(name)
    if canvas:
        return Owner(
            safe_id(canvas["user"]),
            canvas["login"],
            bool(canvas["late"]),
            ("canvas", *parts[:-1], canvas["user"]),
            None,
        )
    return None


def _lms_late(file: InputFile) -> bool:
    canvas = CANVAS_NAME.match((file.archive or file.parts)[-1])
    return bool(canvas and canvas["late"])


def _student_folders(files: list[InputFile]) -> set[tuple[str, ...]]:
    """Folders that each hold one student's work: the same file name recurs across them."""
    folders_by_stem: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    folders: set[tuple[str, ...]] = set()
    for file in files:
        if file.archive is not None:
            continue
        parent = file.parts[:-1]
        if not parent:
            continue
        folders.add(parent)
        folders_by_stem[PurePosixPath(file.name).stem.lower()].add(parent)
    if len(folders) < STUDENT_FOLDER_MIN:
        return set()
    found: set[tuple[str, ...]] = set()
    for holders in folders_by_stem.values():
        if len(holders) >= STUDENT_FOLDER_MIN and len(holders) >= STUDENT_FOLDER_SHARE * len(
            folders
        ):
            found |= holders
    return found


def _plain_owner(
    file: InputFile, student_folders: set[tuple[str, ...]], root_display: str
) -> Owner:
    if file.archive is not None:
        stem = PurePosixPath(file.archive[-1]).stem
        return Owner(safe_id(stem), None, False, ("archive", *file.archive), file.archive_display)
    for depth in range(len(file.parts) - 1, 0, -1):
        folder = file.parts[:depth]
        if folder in student_folders:
            return Owner(
                safe_id(folder[-1]),
                None,
                False,
                ("folder", *folder),
                _join(root_display, folder, file),
            )
    return Owner(
        safe_id(PurePosixPath(file.name).stem), None, False, ("file", *file.parts), file.display
    )
