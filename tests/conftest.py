"""Shared fixtures. Paths are resolved from the repository, never from the working directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import Grader, Rubric, load_rubric
from grader.datasets import Dataset, load_dataset

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
DL14_RUBRIC = ROOT / "rubrics" / "dl_assignment_14.yaml"
SHARED = ROOT.parent / "shared"


@pytest.fixture(autouse=True, scope="session")
def _private_grader_cache(tmp_path_factory: pytest.TempPathFactory):
    """Fitted graders cached by `check` and `grade` go to a folder of this test run, never to
    the user's ~/.cache (subprocesses started by tests inherit it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADER_CACHE_DIR", str(tmp_path_factory.mktemp("grader-cache")))
        yield


@pytest.fixture(scope="session")
def dl14() -> Rubric:
    return load_rubric(DL14_RUBRIC)


@pytest.fixture(scope="session")
def dl14_grader(dl14: Rubric) -> Grader:
    return Grader(dl14)


@pytest.fixture(scope="session")
def mini() -> Rubric:
    return load_rubric(DATA / "rubrics" / "valid" / "minimal.yaml")


def shared_path(*parts: str) -> Path:
    """A path in ../shared, or a clean skip where a user's checkout has none."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (CI and developers have ../shared; users do not)")
    return path


@pytest.fixture(scope="session")
def folds() -> Dataset:
    """The small benchmark fixture with Mohler-style folds (written for the tests)."""
    return load_dataset(DATA / "datasets" / "folds.csv")


@pytest.fixture(scope="session")
def split() -> tuple[Dataset, Dataset]:
    """The small SemEval-style train/test fixture (written for the tests)."""
    return (
        load_dataset(DATA / "datasets" / "train.csv", target="label"),
        load_dataset(DATA / "datasets" / "test.csv", target="label"),
    )
