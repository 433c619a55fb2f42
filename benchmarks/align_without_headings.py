"""How well are answers found when a submission has no headings? Takes every submission of a
folder, removes its question headings (answers joined in question order, or shuffled with
--shuffle), lets the grader align the paragraphs, and compares with the graded-with-headings
result.

    python benchmarks/align_without_headings.py ../shared/data/dl14/submissions rubrics/dl_assignment_14.yaml
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader import Grader, load_rubric
from grader.loading import load_submission
from grader.matching import align_answers
from grader.models import Submission
from grader.parsing import split_answers
from grader.text import normalize_text


def main(folder: Path, rubric_path: Path, shuffle: bool) -> None:
    rubric = load_rubric(rubric_path)
    grader = Grader(rubric)
    rng = random.Random(0)
    right = total = 0
    differences: list[float] = []
    seconds: list[float] = []
    for path in sorted(folder.glob("*.md")):
        parsed = split_answers(normalize_text(path.read_text(encoding="utf-8-sig")), rubric)
        order = [q.id for q in rubric.questions if parsed.answers.get(q.id, "").strip()]
        if not order:
            continue
        if shuffle:
            rng.shuffle(order)
        truth = [
            (qid, " ".join(p.split()))
            for qid in order
            for p in parsed.answers[qid].split("\n\n")
            if p.strip()
        ]
        text = "\n\n".join(p for _, p in truth)
        start = time.perf_counter()
        alignment = align_answers(grader.matcher, rubric, text)
        seconds.append(time.perf_counter() - start)
        if len(alignment.blocks) == len(truth):
            right += sum(a[0] == t[0] for a, t in zip(alignment.blocks, truth, strict=True))
        total += len(truth)
        headed = grader.grade_submission(load_submission(path, rubric))
        aligned = grader.grade_submission(
            Submission(id=path.stem, source=str(path), unsplit_text=text, needs_review=True)
        )
        differences.append(abs((headed.score or 0) - (aligned.score or 0)))
    print(f"paragraphs aligned to their question: {right}/{total} = {right / total:.3f}")
    print(
        f"|total with headings - total aligned|: mean {sum(differences) / len(differences):.2f}, "
        f"max {max(differences):.2f} (of {rubric.max_score:g}), {len(differences)} submissions"
    )
    print(f"alignment time: mean {sum(seconds) / len(seconds):.2f} s, max {max(seconds):.2f} s")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), "--shuffle" in sys.argv)
