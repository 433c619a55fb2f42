"""The sample submission the project started from (in ../shared, not in the repo)."""

from __future__ import annotations

from .conftest import shared_path


def test_seed_submission_mistakes_are_caught(dl14_grader) -> None:
    seed = shared_path("seed", "DL_Assignment_14_sample_submission.md")
    result = dl14_grader.grade_file(seed)
    assert result.status == "graded"
    flagged = {m.id for q in result.questions for m in q.misconceptions}
    assert flagged >= {
        "q2.m.bias_breaks_symmetry",
        "q3.m.relu_discontinuous",
        "q5.m.smaller_steps",
        "q6.m.quantization",
        "q6.m.distillation",
    }
    assert "q7.m.slows_inference" not in flagged
    q7 = next(q for q in result.questions if q.id == "q7")
    assert {kp.id for kp in q7.key_points if kp.credit >= 0.5} >= {"q7.inference"}
