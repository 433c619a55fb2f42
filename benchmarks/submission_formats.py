"""Do the same answers get the same grade in every format? Converts every Markdown submission of a
folder to .docx, .ipynb, .pdf and .html with the test builders, grades each, and counts the
submissions whose per-question scores equal the Markdown's.

    python benchmarks/submission_formats.py ../shared/data/dl14/submissions rubrics/dl_assignment_14.yaml
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader import Grader, load_rubric
from tests.builders import (
    markdown_to_docx,
    markdown_to_html,
    markdown_to_notebook,
    markdown_to_pdf,
)

BUILDERS = {
    "docx": markdown_to_docx,
    "ipynb": markdown_to_notebook,
    "pdf": markdown_to_pdf,
    "html": markdown_to_html,
}


def main(folder: Path, rubric_path: Path) -> None:
    grader = Grader(load_rubric(rubric_path))
    same = dict.fromkeys(BUILDERS, 0)
    worst = dict.fromkeys(BUILDERS, 0.0)
    paths = sorted(folder.glob("*.md"))
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            markdown = path.read_text(encoding="utf-8-sig")
            base = grader.grade_file(path)
            for fmt, build in BUILDERS.items():
                other = Path(tmp, f"{path.stem}.{fmt}")
                other.write_bytes(build(markdown))
                result = grader.grade_file(other)
                if [q.score for q in result.questions] == [q.score for q in base.questions]:
                    same[fmt] += 1
                else:
                    worst[fmt] = max(worst[fmt], abs((result.score or 0) - (base.score or 0)))
    for fmt in BUILDERS:
        print(
            f"{fmt}: {same[fmt]}/{len(paths)} identical per question; "
            f"largest total difference {worst[fmt]:.3f}"
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
