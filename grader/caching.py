"""A cache of fitted graders, so that a self-check does not fit the rubric every time.

Fitting a rubric (vocabularies, IDF, the per-question tables) takes about a tenth of a second;
reading the pickled result back takes about a hundredth. `grader check` runs once per
student keystroke-to-submit cycle, so it keeps the fitted grader in the user's cache folder,
keyed by everything that decides it: the rubric's content, the calibration, grader's version
and the source files of the grader package (a changed matcher never reads an old fit).

The cache lives in ``$GRADER_CACHE_DIR``, else ``$XDG_CACHE_HOME/grader``, else
``~/.cache/grader``; setting ``GRADER_CACHE_DIR`` to an empty string turns it off. A cache file
that cannot be read or written is ignored: the grader is then fitted as before. Only the user's
own cache folder is read (pickles run code when loaded; the folder is as trusted as the user's
own Python installation).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path

from grader import __version__
from grader.grading import Grader
from grader.models import Calibration, Rubric

CACHE_ENV = "GRADER_CACHE_DIR"
#: Fitted graders kept; older files beyond this are removed when a new one is written.
MAX_CACHED = 8


def cache_dir() -> Path | None:
    """Where fitted graders are kept, or None when caching is off."""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "grader"


def cached_grader(
    rubric: Rubric, calibration: Calibration | None, fit: Callable[[], Grader]
) -> Grader:
    """The grader `fit` makes for this rubric and calibration, from the cache when it holds it."""
    folder = cache_dir()
    if folder is None:
        return fit()
    path = folder / f"fitted-{_key(rubric, calibration)}.pickle"
    try:
        with path.open("rb") as handle:
            grader = pickle.load(handle)
        if isinstance(grader, Grader):
            return grader
    except Exception:  # missing, truncated, or pickled by another grader: fit instead
        pass
    grader = fit()
    _store(folder, path, grader)
    return grader


def _key(rubric: Rubric, calibration: Calibration | None) -> str:
    digest = hashlib.sha256()
    digest.update(__version__.encode())
    digest.update(rubric.model_dump_json().encode())
    digest.update(b"\0" + (calibration.model_dump_json().encode() if calibration else b"none"))
    package = Path(__file__).resolve().parent
    for source in sorted(package.rglob("*.py")):
        stat = source.stat()
        digest.update(f"{source.relative_to(package)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:32]


def _store(folder: Path, path: Path, grader: Grader) -> None:
    """Write atomically (a reader never sees half a pickle); never fail the command."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".fitted-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(grader, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        cached = sorted(folder.glob("fitted-*.pickle"), key=lambda p: p.stat().st_mtime)
        for old in cached[:-MAX_CACHED]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
