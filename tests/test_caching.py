"""The fitted-grader cache: a hit grades exactly like a fresh fit, and nothing stale is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.caching import cache_dir, cached_grader
from grader.grading import Grader
from grader.loading import load_rubric

from .conftest import DL14_RUBRIC, ROOT


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("GRADER_CACHE_DIR", str(folder))
    return folder


def _counting_fit(rubric, fits: list[int]):
    def fit() -> Grader:
        fits.append(1)
        return Grader(rubric)

    return fit


def test_second_load_reads_the_cache_and_grades_identically(cache: Path) -> None:
    rubric = load_rubric(DL14_RUBRIC)
    fits: list[int] = []
    first = cached_grader(rubric, None, _counting_fit(rubric, fits))
    second = cached_grader(rubric, None, _counting_fit(rubric, fits))
    assert fits == [1]  # fitted once, then read back
    assert second is not first
    answer = ROOT / "submissions" / "dev_weak.md"
    assert second.grade_file(answer) == first.grade_file(answer)
    assert len(list(cache.glob("fitted-*.pickle"))) == 1


def test_a_changed_rubric_is_fitted_again(cache: Path) -> None:
    rubric = load_rubric(DL14_RUBRIC)
    fits: list[int] = []
    cached_grader(rubric, None, _counting_fit(rubric, fits))
    changed = rubric.model_copy(update={"title": rubric.title + " (v2)"})
    cached_grader(changed, None, _counting_fit(changed, fits))
    assert fits == [1, 1]
    assert len(list(cache.glob("fitted-*.pickle"))) == 2


def test_a_damaged_cache_file_is_ignored_and_replaced(cache: Path) -> None:
    rubric = load_rubric(DL14_RUBRIC)
    fits: list[int] = []
    cached_grader(rubric, None, _counting_fit(rubric, fits))
    (path,) = cache.glob("fitted-*.pickle")
    path.write_bytes(b"not a pickle")
    grader = cached_grader(rubric, None, _counting_fit(rubric, fits))
    assert fits == [1, 1]
    assert isinstance(grader, Grader)
    assert path.read_bytes() != b"not a pickle"


def test_an_empty_cache_setting_turns_the_cache_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_CACHE_DIR", "")
    assert cache_dir() is None
    rubric = load_rubric(DL14_RUBRIC)
    fits: list[int] = []
    cached_grader(rubric, None, _counting_fit(rubric, fits))
    cached_grader(rubric, None, _counting_fit(rubric, fits))
    assert fits == [1, 1]


def test_an_unwritable_cache_never_fails_the_command(tmp_path: Path, monkeypatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("GRADER_CACHE_DIR", str(blocker / "cache"))
    rubric = load_rubric(DL14_RUBRIC)
    assert isinstance(cached_grader(rubric, None, lambda: Grader(rubric)), Grader)
