"""The gradebook: a SQLite database that remembers every grading run and every TA decision.

One database per course (default ``OUT_DIR/gradebook.db``) may hold several assignments; each is
known by its rubric id. It records:

* every run: rubric id and content hash, time, the submissions folder, and per answer the result
  (credits, flags, evidence, confidence) and a fingerprint of the answer text;
* every override a TA made or cleared (the current ones apply to every later run);
* pseudonyms for anonymous grading, and the review groups a TA last looked at.

The schema is versioned with ``PRAGMA user_version``. A database made by an older grader is
upgraded in place after a backup copy is written beside it; one made by a newer grader is refused.
Every write happens in one transaction: a crash or Ctrl-C mid-run leaves the previous state.
"""

from __future__ import annotations

import difflib
import json
import re
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from grader.changes import DiffBuilder, RunDiff
from grader.errors import GradebookError
from grader.models import Report, Rubric, RubricRef, SubmissionResult
from grader.overrides import (
    AnswerKey,
    ManualGrade,
    answer_hashes_of,
    apply_overrides,
    apply_overrides_to,
    hash_answer,
)

#: "GRDB": marks a SQLite file as a grader gradebook.
APPLICATION_ID = 0x47524442
DEFAULT_DB_NAME = "gradebook.db"
#: Seconds to wait for another grader process that holds the write lock.
LOCK_TIMEOUT = 10.0

# Each entry upgrades the schema from version N-1 to version N; never edit a released one:
# add a new version instead (and a test that upgrades a database of the previous version).
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE rubrics (
            hash TEXT PRIMARY KEY,
            rubric_id TEXT NOT NULL,
            content TEXT NOT NULL
        )""",
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            rubric_id TEXT NOT NULL,
            rubric_hash TEXT NOT NULL REFERENCES rubrics(hash),
            started_at TEXT NOT NULL,
            source TEXT NOT NULL,
            grader_version TEXT NOT NULL
        )""",
        "CREATE INDEX runs_by_rubric ON runs(rubric_id, id)",
        "CREATE TABLE texts (hash TEXT PRIMARY KEY, text TEXT NOT NULL)",
        """CREATE TABLE results (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            submission TEXT NOT NULL,
            status TEXT NOT NULL,
            score REAL,
            auto_json TEXT NOT NULL,
            PRIMARY KEY (run_id, submission)
        )""",
        """CREATE TABLE answers (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            submission TEXT NOT NULL,
            question TEXT NOT NULL,
            text_hash TEXT NOT NULL REFERENCES texts(hash),
            score REAL NOT NULL,
            confidence REAL NOT NULL,
            needs_review INTEGER NOT NULL,
            misconceptions TEXT NOT NULL,
            PRIMARY KEY (run_id, submission, question)
        )""",
    ),
    2: (
        # Overrides arrive: a run now also keeps the grades as reported, overrides applied.
        "ALTER TABLE results ADD COLUMN final_json TEXT",
        "UPDATE results SET final_json = auto_json",
        "ALTER TABLE runs ADD COLUMN anonymous INTEGER NOT NULL DEFAULT 0",
        """CREATE TABLE overrides (
            rubric_id TEXT NOT NULL,
            submission TEXT NOT NULL,
            question TEXT NOT NULL,
            points REAL NOT NULL,
            comment TEXT NOT NULL,
            author TEXT,
            answer_hash TEXT,
            auto_score REAL,
            PRIMARY KEY (rubric_id, submission, question)
        )""",
        """CREATE TABLE override_events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            action TEXT NOT NULL CHECK (action IN ('set', 'clear')),
            rubric_id TEXT NOT NULL,
            submission TEXT NOT NULL,
            question TEXT NOT NULL,
            points REAL,
            comment TEXT,
            author TEXT,
            auto_score REAL
        )""",
        "CREATE INDEX override_events_by_submission ON override_events(rubric_id, submission)",
        """CREATE TABLE pseudonyms (
            submission TEXT PRIMARY KEY,
            pseudonym TEXT NOT NULL UNIQUE
        )""",
        """CREATE TABLE review_groups (
            rubric_id TEXT NOT NULL,
            question TEXT NOT NULL,
            run_id INTEGER NOT NULL,
            label TEXT NOT NULL,
            submission TEXT NOT NULL,
            PRIMARY KEY (rubric_id, question, submission)
        )""",
    ),
}
SCHEMA_VERSION = max(MIGRATIONS)


@dataclass(frozen=True)
class RunInfo:
    """One grading run as the gradebook remembers it."""

    id: int
    rubric_id: str
    rubric_hash: str
    started_at: str
    source: str
    grader_version: str
    anonymous: bool


@dataclass(frozen=True)
class OverrideEvent:
    """An override made or cleared, for `grader history`."""

    id: int
    at: str
    action: str
    question: str
    points: float | None
    comment: str | None
    by: str | None
    auto_score: float | None


@dataclass(frozen=True)
class GradingOutcome:
    """What recording one run produced: the grades as reported, and the diff with the last run."""

    report: Report | None  # None when the run was recorded result by result
    rubric_id: str
    diff: RunDiff
    run_id: int
    previous: RunInfo | None
    rubric_changed: bool
    pseudonyms: dict[str, str]


def rubric_hash(rubric: Rubric) -> str:
    """A fingerprint of a rubric's content (not its YAML layout or comments)."""
    return hash_answer(_rubric_json(rubric))


def _rubric_json(rubric: Rubric) -> str:
    return json.dumps(rubric.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)


def now_utc() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


class Gradebook:
    """An open gradebook database. Use `open_gradebook`, and `transaction()` around writes."""

    def __init__(self, connection: sqlite3.Connection, path: Path | None) -> None:
        self.connection = connection
        self.path = path
        self.backup_path: Path | None = None
        self.upgraded_from: int | None = None

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.connection.close()

    @property
    def where(self) -> str:
        return str(self.path) if self.path else "<in memory>"

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: an exception (Ctrl-C included) rolls everything back."""
        self._execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self.connection.in_transaction:
                self.connection.execute("ROLLBACK")
            raise
        self._execute("COMMIT")

    # --- runs --------------------------------------------------------------------------

    def begin_run(
        self,
        rubric: Rubric,
        *,
        source: str,
        anonymous: bool = False,
        at: str | None = None,
        grader_version: str = "",
    ) -> int:
        """Open a run (its results follow with `add_result`); returns its id."""
        digest = rubric_hash(rubric)
        self._execute(
            "INSERT OR IGNORE INTO rubrics (hash, rubric_id, content) VALUES (?, ?, ?)",
            (digest, rubric.id, _rubric_json(rubric)),
        )
        cursor = self._execute(
            "INSERT INTO runs (rubric_id, rubric_hash, started_at, source, grader_version,"
            " anonymous) VALUES (?, ?, ?, ?, ?, ?)",
            (rubric.id, digest, at or now_utc(), source, grader_version, int(anonymous)),
        )
        run_id = cursor.lastrowid
        assert run_id is not None
        return run_id

    def add_result(
        self,
        run_id: int,
        auto: SubmissionResult,
        final: SubmissionResult,
        hashes: Mapping[AnswerKey, str] | None = None,
    ) -> None:
        """Store one student's automatic and reported result, and the text of each answer
        (`hashes`: the answers' fingerprints, when the caller has them already)."""
        self._execute(
            "INSERT INTO results (run_id, submission, status, score, auto_json, final_json)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                run_id,
                auto.id,
                auto.status,
                final.score,
                auto_json := auto.model_dump_json(),
                auto_json if final is auto else final.model_dump_json(),
            ),
        )
        known = hashes or {}
        texts: list[tuple[str, str]] = []
        answers: list[tuple[object, ...]] = []
        for q in auto.questions:
            text = auto.answers.get(q.id, "")
            digest_text = known.get((auto.id, q.id)) or hash_answer(text)
            texts.append((digest_text, text))
            answers.append(
                (
                    run_id,
                    auto.id,
                    q.id,
                    digest_text,
                    q.score,
                    q.confidence,
                    int(q.needs_review),
                    " ".join(m.id for m in q.misconceptions),
                )
            )
        self._execute_many("INSERT OR IGNORE INTO texts (hash, text) VALUES (?, ?)", texts)
        self._execute_many(
            "INSERT INTO answers (run_id, submission, question, text_hash, score,"
            " confidence, needs_review, misconceptions) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            answers,
        )

    def rubric_ids(self) -> list[str]:
        rows = self._execute("SELECT DISTINCT rubric_id FROM runs ORDER BY rubric_id").fetchall()
        return [str(r[0]) for r in rows]

    def runs(self, rubric_id: str) -> list[RunInfo]:
        rows = self._execute(
            "SELECT id, rubric_id, rubric_hash, started_at, source, grader_version, anonymous"
            " FROM runs WHERE rubric_id = ? ORDER BY id",
            (rubric_id,),
        ).fetchall()
        return [
            RunInfo(
                id=int(row[0]),
                rubric_id=str(row[1]),
                rubric_hash=str(row[2]),
                started_at=str(row[3]),
                source=str(row[4]),
                grader_version=str(row[5]),
                anonymous=bool(row[6]),
            )
            for row in rows
        ]

    def latest_run(self, rubric_id: str) -> RunInfo | None:
        runs = self.runs(rubric_id)
        return runs[-1] if runs else None

    def run_rubric(self, run: RunInfo) -> Rubric:
        row = self._execute("SELECT content FROM rubrics WHERE hash = ?", (run.rubric_hash,))
        return Rubric.model_validate_json(row.fetchone()[0])

    def run_report(self, run: RunInfo, *, final: bool = True) -> Report:
        """The report of a run: as reported (`final`), or the automatic grades only."""
        rubric = self.run_rubric(run)
        column = "final_json" if final else "auto_json"
        rows = self._execute(
            f"SELECT {column} FROM results WHERE run_id = ? ORDER BY submission", (run.id,)
        ).fetchall()
        return Report(
            rubric=RubricRef(id=rubric.id, title=rubric.title),
            max_score=rubric.max_score,
            submissions=[SubmissionResult.model_validate_json(r[0]) for r in rows],
        )

    def run_result(
        self, run: RunInfo, submission: str, *, final: bool = True
    ) -> SubmissionResult | None:
        column = "final_json" if final else "auto_json"
        row = self._execute(
            f"SELECT {column} FROM results WHERE run_id = ? AND submission = ?",
            (run.id, submission),
        ).fetchone()
        return SubmissionResult.model_validate_json(row[0]) if row else None

    def result_hashes(self, run: RunInfo, submission: str) -> dict[AnswerKey, str]:
        """The answer fingerprints of one student in `run`."""
        rows = self._execute(
            "SELECT question, text_hash FROM answers WHERE run_id = ? AND submission = ?",
            (run.id, submission),
        )
        return {(submission, str(q)): str(h) for q, h in rows}

    def run_scores(self, run: RunInfo) -> list[tuple[str, float | None]]:
        """Every student of `run` with their reported score, by id."""
        rows = self._execute(
            "SELECT submission, score FROM results WHERE run_id = ? ORDER BY submission",
            (run.id,),
        )
        return [(str(sid), None if score is None else float(score)) for sid, score in rows]

    def run_hashes(self, run: RunInfo) -> dict[AnswerKey, str]:
        rows = self._execute(
            "SELECT submission, question, text_hash FROM answers WHERE run_id = ?", (run.id,)
        )
        return {(str(s), str(q)): str(h) for s, q, h in rows}

    def run_answers(self, run: RunInfo, question: str) -> dict[str, str]:
        """Every student's answer text to `question` in `run`."""
        rows = self._execute(
            "SELECT a.submission, t.text FROM answers a JOIN texts t ON t.hash = a.text_hash"
            " WHERE a.run_id = ? AND a.question = ? ORDER BY a.submission",
            (run.id, question),
        )
        return {str(s): str(t) for s, t in rows}

    def current_report(self, run: RunInfo) -> Report:
        """The latest automatic grades of `run` with today's overrides: what export shows."""
        rubric = self.run_rubric(run)
        return apply_overrides(
            self.run_report(run, final=False),
            rubric,
            self.overrides(run.rubric_id),
            self.run_hashes(run),
        )

    # --- overrides ---------------------------------------------------------------------

    def overrides(self, rubric_id: str) -> list[ManualGrade]:
        rows = self._execute(
            "SELECT submission, question, points, comment, author, answer_hash, auto_score"
            " FROM overrides WHERE rubric_id = ? ORDER BY submission, question",
            (rubric_id,),
        )
        return [ManualGrade(*row) for row in rows]

    def set_override(self, rubric_id: str, grade: ManualGrade, *, at: str | None = None) -> None:
        self._execute(
            "INSERT OR REPLACE INTO overrides (rubric_id, submission, question, points, comment,"
            " author, answer_hash, auto_score) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                rubric_id,
                grade.submission,
                grade.question,
                grade.points,
                grade.comment,
                grade.by,
                grade.answer_hash,
                grade.auto_score,
            ),
        )
        self._log_event(
            rubric_id, "set", grade.submission, grade.question, at, grade.by, grade=grade
        )

    def clear_override(
        self,
        rubric_id: str,
        submission: str,
        question: str,
        *,
        by: str | None = None,
        at: str | None = None,
    ) -> bool:
        """Remove an override; False when there was none."""
        cursor = self._execute(
            "DELETE FROM overrides WHERE rubric_id = ? AND submission = ? AND question = ?",
            (rubric_id, submission, question),
        )
        if cursor.rowcount == 0:
            return False
        self._log_event(rubric_id, "clear", submission, question, at, by)
        return True

    def override_events(self, rubric_id: str, submission: str) -> list[OverrideEvent]:
        rows = self._execute(
            "SELECT id, at, action, question, points, comment, author, auto_score"
            " FROM override_events WHERE rubric_id = ? AND submission = ? ORDER BY id",
            (rubric_id, submission),
        )
        return [OverrideEvent(*row) for row in rows]

    def _log_event(
        self,
        rubric_id: str,
        action: str,
        submission: str,
        question: str,
        at: str | None,
        by: str | None,
        *,
        grade: ManualGrade | None = None,
    ) -> None:
        self._execute(
            "INSERT INTO override_events (at, action, rubric_id, submission, question, points,"
            " comment, author, auto_score) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                at or now_utc(),
                action,
                rubric_id,
                submission,
                question,
                grade.points if grade else None,
                grade.comment if grade else None,
                by,
                grade.auto_score if grade else None,
            ),
        )

    # --- students: ids and pseudonyms --------------------------------------------------

    def pseudonyms(self, submissions: Iterable[str]) -> dict[str, str]:
        """A stable pseudonym for each student, created on first sight and kept forever."""
        known = dict(self._execute("SELECT submission, pseudonym FROM pseudonyms").fetchall())
        taken = set(known.values())
        result: dict[str, str] = {}
        for sid in sorted(set(submissions)):
            if sid not in known:
                pseudonym = _new_pseudonym(taken)
                self._execute(
                    "INSERT INTO pseudonyms (submission, pseudonym) VALUES (?, ?)",
                    (sid, pseudonym),
                )
                known[sid] = pseudonym
                taken.add(pseudonym)
            result[sid] = known[sid]
        return result

    def pseudonym_map(self) -> dict[str, str]:
        """Every student id → pseudonym known to this gradebook."""
        rows = self._execute("SELECT submission, pseudonym FROM pseudonyms").fetchall()
        return {str(sid): str(alias) for sid, alias in rows}

    def resolve_student(self, name: str) -> str:
        """A student id from what a grader typed: the id itself or its pseudonym."""
        row = self._execute(
            "SELECT submission FROM pseudonyms WHERE pseudonym = ?", (name,)
        ).fetchone()
        return str(row[0]) if row else name

    def known_students(self, rubric_id: str) -> list[str]:
        rows = self._execute(
            "SELECT DISTINCT r.submission FROM results r JOIN runs ON runs.id = r.run_id"
            " WHERE runs.rubric_id = ? ORDER BY r.submission",
            (rubric_id,),
        )
        return [str(r[0]) for r in rows]

    # --- review groups -----------------------------------------------------------------

    def save_review_groups(
        self, rubric_id: str, question: str, run_id: int, groups: Sequence[tuple[str, list[str]]]
    ) -> None:
        self._execute(
            "DELETE FROM review_groups WHERE rubric_id = ? AND question = ?", (rubric_id, question)
        )
        self.connection.executemany(
            "INSERT INTO review_groups (rubric_id, question, run_id, label, submission)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (rubric_id, question, run_id, label, sid)
                for label, members in groups
                for sid in members
            ],
        )

    def review_group(self, rubric_id: str, question: str, label: str) -> tuple[int, list[str]]:
        """The run and the members of the group `label` that `grader review` last showed."""
        rows = self._execute(
            "SELECT run_id, submission FROM review_groups"
            " WHERE rubric_id = ? AND question = ? AND upper(label) = upper(?) ORDER BY submission",
            (rubric_id, question, label),
        ).fetchall()
        if not rows:
            labels = self._execute(
                "SELECT DISTINCT label FROM review_groups WHERE rubric_id = ? AND question = ?",
                (rubric_id, question),
            ).fetchall()
            if not labels:
                raise GradebookError(
                    f"{self.where}: no review groups for {question}; run `grader review {question}`"
                    " first"
                )
            known = ", ".join(sorted((str(r[0]) for r in labels), key=_label_order))
            raise GradebookError(
                f"{self.where}: no group {label!r} for {question}; the groups are {known}"
            )
        return int(rows[0][0]), [str(r[1]) for r in rows]

    # --- internals ---------------------------------------------------------------------

    def _execute(self, sql: str, parameters: Sequence[object] = ()) -> sqlite3.Cursor:
        with self._busy_is_an_error():
            return self.connection.execute(sql, parameters)

    def _execute_many(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        with self._busy_is_an_error():
            self.connection.executemany(sql, rows)

    @contextmanager
    def _busy_is_an_error(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise GradebookError(
                    f"{self.where}: the gradebook is busy (another grader is writing to it); "
                    "try again when it has finished"
                ) from None
            raise


def _label_order(label: str) -> tuple[int, str]:
    digits = "".join(ch for ch in label if ch.isdigit())
    return (int(digits) if digits else 0, label)


#: Pseudonyms read like "anon-K7QX4M": no 0/O or 1/I/L to misread when typed back.
_PSEUDONYM_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def _new_pseudonym(taken: set[str]) -> str:
    while True:
        pseudonym = "anon-" + "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(6))
        if pseudonym not in taken:
            return pseudonym


def pseudonymize_report(report: Report, pseudonyms: dict[str, str]) -> Report:
    """`report` as a grader sees it in anonymous grading: every submission under its pseudonym,
    with nothing that reveals the student (see `pseudonymize_result`)."""
    if not pseudonyms:
        return report
    submissions = [pseudonymize_result(s, pseudonyms) for s in report.submissions]
    submissions.sort(key=lambda s: (s.id, s.source))
    return report.model_copy(update={"submissions": submissions})


def pseudonymize_result(result: SubmissionResult, pseudonyms: dict[str, str]) -> SubmissionResult:
    """One submission under its pseudonym. File names hold student names (LMS downloads are
    named after the student), so the source, every file, the other hand-ins of the same id
    (duplicates) and every mention of them, of the id and of the LMS name in the notes and the
    error are replaced; the LMS name itself is dropped. The answers are left as written."""
    alias = pseudonyms.get(result.id)
    if alias is None:
        return result
    renamed = _renamed_sources(alias, result.source, result.duplicates)
    stem = renamed[result.source].removesuffix(_extension(result.source))
    if result.files == [result.source]:
        files = [renamed[result.source]]
    else:  # numbered in the submission's order of reading
        files = [f"{stem}/file{n}{_extension(f)}" for n, f in enumerate(result.files, start=1)]
    words = dict(renamed)
    for file, shown in zip(result.files, files, strict=True):
        words[file] = shown
        words.setdefault(_base_name(file), shown.rpartition("/")[2])
    for source, shown in renamed.items():
        words.setdefault(_base_name(source), shown)
    words[result.id] = alias
    if result.name:
        words[result.name] = alias
    scrub = _replacer(words)
    return result.model_copy(
        update={
            "id": alias,
            "source": renamed[result.source],
            "name": None,
            "files": files,
            "duplicates": [renamed[d] for d in result.duplicates],
            "superseded_by": result.superseded_by and renamed.get(result.superseded_by, alias),
            "notes": [scrub(note) for note in result.notes],
            "error": None if result.error is None else scrub(result.error),
        }
    )


def pseudonymous_name(
    submission: str, source: str, duplicates: Sequence[str], pseudonyms: dict[str, str]
) -> tuple[str, str]:
    """The (id, source) a submission is shown under, known before it is graded: its pseudonym
    and renamed file in anonymous grading, else its own."""
    alias = pseudonyms.get(submission)
    if alias is None:
        return submission, source
    return alias, _renamed_sources(alias, source, duplicates)[source]


def _renamed_sources(alias: str, source: str, duplicates: Sequence[str]) -> dict[str, str]:
    # Every hand-in of this id gets the same name whichever of them is being shown: the
    # pseudonym, numbered in a fixed order when the student handed in more than once.
    sources = sorted({source, *duplicates})
    return {
        s: alias + (f"-{n}" if len(sources) > 1 else "") + _extension(s)
        for n, s in enumerate(sources, start=1)
    }


def _extension(path: str) -> str:
    """'.pdf' for 'ana.pdf' and 'download.zip!ana/hw.pdf'; '' for a folder."""
    suffix = PurePosixPath(_base_name(path)).suffix
    return suffix if suffix[1:].isalnum() else ""


def _base_name(path: str) -> str:
    """The last part of a path as reports show it (a folder, or 'archive.zip!inner/name')."""
    return re.split(r"[/\\!]", path.rstrip("/\\"))[-1]


def _replacer(words: dict[str, str]) -> Callable[[str], str]:
    """Replace each key of `words` where it stands as a whole word, longest first."""
    keys = sorted((k for k in words if k), key=lambda k: (-len(k), k))
    if not keys:
        return lambda text: text
    pattern = re.compile(r"(?<![\w.-])(?:" + "|".join(re.escape(k) for k in keys) + r")(?![\w-])")
    return lambda text: pattern.sub(lambda m: words[m.group(0)], text)


# --- opening, creating, upgrading --------------------------------------------------------


def open_gradebook(
    path: Path | str, *, create: bool = True, in_memory_copy: bool = False
) -> Gradebook:
    """Open (and create, and upgrade) the gradebook at `path`.

    `in_memory_copy` works on a copy in memory, for a dry run: the file is never written.
    Raises `GradebookError` for a file that is not a gradebook or comes from a newer grader.
    """
    path = Path(path)
    exists = path.is_file()
    if not exists and not create:
        raise GradebookError(
            f"{path}: no gradebook here; run `grader grade` first or pass --db PATH"
        )
    if path.exists() and not exists:
        raise GradebookError(f"{path}: is a folder, not a gradebook file; pass --db PATH")
    try:
        if in_memory_copy:
            connection = sqlite3.connect(":memory:", isolation_level=None)
            if exists:
                source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
                try:
                    source.backup(connection)
                finally:
                    source.close()
            book = Gradebook(connection, None)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(path, timeout=LOCK_TIMEOUT, isolation_level=None)
            book = Gradebook(connection, path)
        connection.execute("PRAGMA foreign_keys = ON")
        version = _check_version(connection, path)
        if version < SCHEMA_VERSION:
            if version > 0 and book.path is not None:
                book.backup_path = _backup(connection, path, version)
            _migrate(book, version)
            book.upgraded_from = version if version > 0 else None
    except sqlite3.DatabaseError as exc:
        raise GradebookError(
            f"{path}: not a readable gradebook ({exc}); pass another --db PATH"
        ) from None
    return book


def _check_version(connection: sqlite3.Connection, path: Path) -> int:
    version = int(connection.execute("PRAGMA user_version").fetchone()[0])
    application = int(connection.execute("PRAGMA application_id").fetchone()[0])
    tables = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if application != APPLICATION_ID and (tables or version):
        connection.close()
        raise GradebookError(
            f"{path}: this SQLite database is not a grader gradebook; pass another --db PATH"
        )
    if version > SCHEMA_VERSION:
        connection.close()
        raise GradebookError(
            f"{path}: this gradebook was written by a newer grader (schema version {version}; "
            f"this grader reads up to version {SCHEMA_VERSION}). Upgrade grader "
            "(pip install -U grader) to use it; it was left untouched."
        )
    return version


def _backup(connection: sqlite3.Connection, path: Path, version: int) -> Path:
    """Copy the database beside itself before an upgrade: gradebook.db.v1.bak (then .v1.2.bak)."""
    target = path.with_name(f"{path.name}.v{version}.bak")
    counter = 2
    while target.exists():
        target = path.with_name(f"{path.name}.v{version}.{counter}.bak")
        counter += 1
    destination = sqlite3.connect(target)
    try:
        connection.backup(destination)
    finally:
        destination.close()
    return target


def _migrate(book: Gradebook, version: int) -> None:
    with book.transaction():
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[target]:
                book.connection.execute(statement)
        book.connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        book.connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


# --- one grading run, end to end ---------------------------------------------------------


def record_grading(
    book: Gradebook,
    rubric: Rubric,
    report: Report,
    *,
    source: str,
    anonymous: bool = False,
    at: str | None = None,
    grader_version: str = "",
) -> GradingOutcome:
    """Apply the overrides to a fresh automatic `report`, compare it with the last run of the
    same rubric, and record it. Call inside `book.transaction()`. (`RunRecorder` does the same
    one result at a time, for a class too large to hold.)

    The gradebook holds one result per student: an older hand-in of a student id that also
    handed in a newer one (`superseded_by`) is left out of the overrides, the diff and the
    record, and stays in the returned report as the error row that says so."""
    pseudonyms = (
        book.pseudonyms(s.id for s in report.submissions if s.superseded_by is None)
        if anonymous
        else {}
    )
    recorder = RunRecorder(
        book,
        rubric,
        source=source,
        anonymous=anonymous,
        at=at,
        grader_version=grader_version,
        pseudonyms=pseudonyms,
    )
    finals = [recorder.add(s) for s in report.submissions]
    finals.sort(key=lambda s: (s.id, s.source))
    return recorder.finish(report.model_copy(update={"submissions": finals}))


class RunRecorder:
    """Records one grading run result by result, inside `book.transaction()`: applies the TA's
    overrides to each fresh result, compares it with the student's result in the last run of the
    same rubric, and stores both. Holds only the list of changes, never the results."""

    def __init__(
        self,
        book: Gradebook,
        rubric: Rubric,
        *,
        source: str,
        anonymous: bool = False,
        at: str | None = None,
        grader_version: str = "",
        pseudonyms: dict[str, str] | None = None,
    ) -> None:
        self.book = book
        self.rubric = rubric
        self.pseudonyms = pseudonyms or {}
        self.overrides: dict[str, dict[str, ManualGrade]] = {}
        for grade in book.overrides(rubric.id):
            self.overrides.setdefault(grade.submission, {})[grade.question] = grade
        self.previous = book.latest_run(rubric.id)
        self.run_id = book.begin_run(
            rubric, source=source, anonymous=anonymous, at=at, grader_version=grader_version
        )
        self.diff = DiffBuilder(first_run=self.previous is None)
        self.seen: set[str] = set()

    def add(self, result: SubmissionResult) -> SubmissionResult:
        """Record one fresh result; returns it as reported (overrides applied)."""
        if result.superseded_by is not None:
            return result
        hashes = answer_hashes_of(result)
        grades = self.overrides.get(result.id)
        final = apply_overrides_to(result, self.rubric, grades, hashes) if grades else result
        old, old_hashes = None, {}
        if self.previous is not None:
            old = self.book.run_result(self.previous, final.id)
            if old is not None:
                old_hashes = self.book.result_hashes(self.previous, final.id)
        self.diff.compare(old, final, old_hashes, hashes)
        self.book.add_result(self.run_id, result, final, hashes)
        self.seen.add(result.id)
        return final

    def finish(self, report: Report | None = None) -> GradingOutcome:
        """The outcome once every result is in: the diff (students gone since the last run
        included), the run and the pseudonyms."""
        previous = self.previous
        if previous is not None:
            for sid, score in self.book.run_scores(previous):
                if sid not in self.seen:
                    self.diff.gone(sid, score)
        return GradingOutcome(
            report=report,
            rubric_id=self.rubric.id,
            diff=self.diff.result(),
            run_id=self.run_id,
            previous=previous,
            rubric_changed=previous is not None
            and previous.rubric_hash != rubric_hash(self.rubric),
            pseudonyms=self.pseudonyms,
        )


def make_override(
    book: Gradebook,
    run: RunInfo,
    submission: str,
    question: str,
    points: float,
    *,
    comment: str,
    by: str | None,
    at: str | None = None,
) -> ManualGrade:
    """Validate and record a TA's grade for one answer of the latest run."""
    rubric = book.run_rubric(run)
    try:
        max_score = rubric.question(question).max_score
    except KeyError:
        known = ", ".join(q.id for q in rubric.questions)
        raise GradebookError(
            f"no question {question!r} in rubric {rubric.id!r}; use one of: {known}"
        ) from None
    if not 0 <= points <= max_score:
        raise GradebookError(
            f"{points:g} points is outside 0..{max_score:g}, the range of {question}; "
            "give a number in that range"
        )
    report = book.run_report(run, final=False)
    result = next((s for s in report.submissions if s.id == submission), None)
    if result is None:
        raise GradebookError(_unknown_student(book, run.rubric_id, submission))
    auto = next((q.score for q in result.questions if q.id == question), None)
    grade = ManualGrade(
        submission=submission,
        question=question,
        points=points,
        comment=comment,
        by=by,
        answer_hash=book.run_hashes(run).get((submission, question)),
        auto_score=auto,
    )
    book.set_override(run.rubric_id, grade, at=at)
    return grade


def _unknown_student(book: Gradebook, rubric_id: str, submission: str) -> str:
    known = book.known_students(rubric_id)
    close = difflib.get_close_matches(submission, known, n=1, cutoff=0.6)
    hint = (
        f"did you mean {close[0]!r}?" if close else "check the id (the file name without extension)"
    )
    return f"no submission {submission!r} in the latest run of {rubric_id!r}; {hint}"


def pick_rubric_id(book: Gradebook, rubric_id: str | None) -> str:
    """The assignment a command is about: the one given, or the only one in the gradebook."""
    known = book.rubric_ids()
    if rubric_id is not None:
        if rubric_id not in known:
            listed = ", ".join(known) or "none yet"
            raise GradebookError(
                f"{book.where}: no runs of rubric {rubric_id!r}; the gradebook has: {listed}"
            )
        return rubric_id
    if not known:
        raise GradebookError(f"{book.where}: no grading runs yet; run `grader grade` first")
    if len(known) > 1:
        raise GradebookError(
            f"{book.where}: holds several assignments ({', '.join(known)}); pass --rubric-id ID"
        )
    return known[0]
