"""Rubric lint: a valid rubric can still grade badly. Warn where it will."""

from __future__ import annotations

from dataclasses import dataclass

from grader.matching import phrasing_similarity
from grader.models import Rubric
from grader.text import content_tokens, marked_content_tokens

#: A phrasing this close to its own description is dropped as a pasted hint (the matcher cuts
#: at 0.9 on characters; words in another order come out a little lower, hence 0.85).
HINT_COPY = 0.85


@dataclass(frozen=True)
class LintWarning:
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


def lint_rubric(rubric: Rubric) -> list[LintWarning]:
    """Warnings about weak spots, in rubric order."""
    warnings: list[LintWarning] = []
    for qi, question in enumerate(rubric.questions):
        if not question.key_points and question.reference_answer:
            warnings.append(
                LintWarning(
                    f"questions[{qi}]",
                    f"question {question.id!r} has no key points: grading derives them from "
                    "its reference_answer; `grader rubric init` writes them out for you to refine",
                )
            )
        elif not question.key_points:
            warnings.append(
                LintWarning(f"questions[{qi}]", f"question {question.id!r} has no key points")
            )
        items = [("key_points", i, kp) for i, kp in enumerate(question.key_points)] + [
            ("misconceptions", i, m) for i, m in enumerate(question.misconceptions)
        ]
        for kind, index, item in items:
            where = f"questions[{qi}].{kind}[{index}]"
            if len(item.phrasings) == 1:
                warnings.append(
                    LintWarning(
                        where,
                        f"{item.id!r} has a single phrasing; add the other ways students say it",
                    )
                )
            for pi, phrasing in enumerate(item.phrasings):
                if (
                    kind == "key_points"
                    and phrasing_similarity(phrasing, item.description) >= HINT_COPY
                ):
                    warnings.append(
                        LintWarning(
                            f"{where}.phrasings[{pi}]",
                            f"{phrasing!r} repeats the description, which students see as a hint; "
                            "a pasted hint earns nothing, so reword one of them",
                        )
                    )
                if not content_tokens(phrasing):
                    warnings.append(
                        LintWarning(
                            f"{where}.phrasings[{pi}]",
                            f"{phrasing!r} has no content words and can never match",
                        )
                    )
        for a in range(len(items)):
            for b in range(a + 1, len(items)):
                _, _, first = items[a]
                _, _, second = items[b]
                for pa in first.phrasings:
                    for pb in second.phrasings:
                        if set(marked_content_tokens(pa)) == set(marked_content_tokens(pb)):
                            warnings.append(
                                LintWarning(
                                    f"questions[{qi}]",
                                    f"{first.id!r} phrasing {pa!r} and {second.id!r} phrasing "
                                    f"{pb!r} use the same words with the same polarity; the "
                                    "matcher cannot tell them apart",
                                )
                            )
    return warnings
