from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from grader.calibration import (
    calibrated_grader,
    calibration_path,
    cross_validate,
    fit_calibration,
    load_grader,
    rubric_fingerprint,
)
from grader.cli import app
from grader.evaluation import load_gold, load_labelled

from .conftest import DATA, DL14_RUBRIC, ROOT

GOLD = DATA / "gold" / "examples.json"
runner = CliRunner()


def test_fit_learns_weights_and_thresholds(dl14) -> None:
    gold = load_gold(GOLD)
    calibration = fit_calibration(dl14, load_labelled(ROOT / "submissions", dl14, gold), gold)
    assert calibration.rubric_fingerprint == rubric_fingerprint(dl14)
    assert (
        sum(calibration.feature_weights) == 1.0 or abs(sum(calibration.feature_weights) - 1) < 1e-3
    )
    assert all(w >= 0 for w in calibration.feature_weights)
    policy = calibration.policy
    assert 0 <= policy.credit_low < policy.credit_high <= 1
    assert calibration.submissions == 5 and calibration.answers == 35
    # the calibrated grader still grades
    assert (
        calibrated_grader(dl14, calibration)
        .grade_file(ROOT / "submissions" / "ben_good.txt")
        .status
        == "graded"
    )


def test_cross_validation_scores_every_labelled_answer(dl14) -> None:
    gold = load_gold(GOLD)
    result = cross_validate(dl14, load_labelled(ROOT / "submissions", dl14, gold), gold, 5)
    assert result.answers == 35 and result.submissions == 5


def test_calibrate_writes_beside_the_rubric_and_grade_uses_it(tmp_path: Path) -> None:
    rubric = tmp_path / "dl14.yaml"
    rubric.write_text(DL14_RUBRIC.read_text())
    result = runner.invoke(
        app, ["calibrate", str(ROOT / "submissions"), "-r", str(rubric), "-g", str(GOLD)]
    )
    assert result.exit_code == 0, result.output
    written = calibration_path(rubric)
    assert written.name == "dl14.calibration.json"
    data = json.loads(written.read_text())
    assert set(data) >= {"feature_weights", "policy", "rubric_fingerprint"}
    _, _, notes = load_grader(rubric)
    assert notes and "fitted on 5 labelled submissions" in notes[0]
    _, _, ignored = load_grader(rubric, use_calibration=False)
    assert ignored == []


def test_a_stale_calibration_is_ignored_with_a_warning(tmp_path: Path) -> None:
    rubric = tmp_path / "dl14.yaml"
    rubric.write_text(DL14_RUBRIC.read_text())
    runner.invoke(app, ["calibrate", str(ROOT / "submissions"), "-r", str(rubric), "-g", str(GOLD)])
    rubric.write_text(DL14_RUBRIC.read_text().replace("penalty: 1\n", "penalty: 2\n", 1))
    _, grader, notes = load_grader(rubric)
    assert "another version of the rubric" in notes[0]
    assert grader.policy.credit_low == 0.30


def test_eval_json_keeps_the_contracted_names() -> None:
    result = runner.invoke(
        app, ["eval", str(ROOT / "submissions"), "-r", str(DL14_RUBRIC), "-g", str(GOLD), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data["key_points"]) >= {"precision", "recall", "f1", "kappa"}
    assert set(data["misconceptions"]) >= {"precision", "recall", "f1"}
    assert set(data["questions"]) >= {"mae", "qwk", "pearson"}


def test_eval_cv_runs_from_the_cli() -> None:
    result = runner.invoke(
        app,
        [
            "eval",
            str(ROOT / "submissions"),
            "-r",
            str(DL14_RUBRIC),
            "-g",
            str(GOLD),
            "--cv",
            "5",
            "--show",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "key points:" in result.output and "QWK" in result.output
