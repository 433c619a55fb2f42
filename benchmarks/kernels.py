"""The bare matching kernels on a folder of submissions: the floor grader's overhead is
measured against.

What counts as kernel: per question, across all answers at once, one TF-IDF transform (word 1-2
grams and char_wb 3-5 grams, the matcher's settings) of every answer unit, its sparse product with
the rubric phrasings, and one RapidFuzz `process.cdist` of the distinct answer words against the
phrasings' words. Everything else (reading, decoding, heading detection, splitting into units,
tokenising, scoring, reports) is overhead and is not timed here. Submissions are processed in
chunks so that memory stays bounded; the CPU time is summed over chunks.

    python -m benchmarks.kernels /tmp/grader-bench/dl-n1000-s0 rubrics/dl_assignment_14.yaml
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process
from sklearn.feature_extraction.text import TfidfVectorizer

from grader.loading import iter_submission_files, load_rubric, load_submission
from grader.models import Rubric
from grader.text import content_tokens, normalize_text, split_units

CHUNK = 5000


def _fit(rubric: Rubric) -> tuple[TfidfVectorizer, TfidfVectorizer, dict[str, Any]]:
    corpus: list[str] = []
    phrasings: dict[str, list[str]] = {}
    for question in rubric.questions:
        corpus.append(question.text)
        items = [*question.key_points, *question.misconceptions]
        phrasings[question.id] = [p for item in items for p in item.phrasings]
        for item in items:
            corpus.append(item.description)
            corpus.extend(item.phrasings)
    corpus = [normalize_text(t).lower() for t in corpus]
    word = TfidfVectorizer(
        analyzer="word", ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"[a-z0-9]+"
    ).fit(corpus)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True).fit(corpus)
    per_question = {}
    for qid, texts in phrasings.items():
        lowered = [t.lower() for t in texts]
        vocabulary = sorted({s for t in texts for s in content_tokens(t)})
        per_question[qid] = (word.transform(lowered), char.transform(lowered), vocabulary)
    return word, char, per_question


def _units_by_question(rubric: Rubric, paths: list[Path]) -> dict[str, list[str]]:
    units: dict[str, list[str]] = {q.id: [] for q in rubric.questions}
    for path in paths:
        submission = load_submission(path, rubric)
        for qid, answer in submission.answers.items():
            if qid in units and answer.strip():
                units[qid].extend(u.text.lower() for u in split_units(normalize_text(answer)))
    return units


def time_kernels(folder: Path, rubric_path: Path) -> dict[str, float]:
    """CPU seconds of the kernels over every submission in `folder` (and of their preparation)."""
    rubric = load_rubric(rubric_path)
    word, char, per_question = _fit(rubric)
    paths = list(iter_submission_files(folder))
    kernel = preparation = 0.0
    units_total = 0
    for start in range(0, len(paths), CHUNK):
        began = time.process_time()
        units = _units_by_question(rubric, paths[start : start + CHUNK])
        tokens = {
            qid: sorted({t for u in texts for t in content_tokens(u)})
            for qid, texts in units.items()
        }
        preparation += time.process_time() - began
        began = time.process_time()
        for qid, texts in units.items():
            if not texts:
                continue
            word_matrix, char_matrix, vocabulary = per_question[qid]
            (word.transform(texts) @ word_matrix.T).toarray()
            (char.transform(texts) @ char_matrix.T).toarray()
            process.cdist(tokens[qid], vocabulary, scorer=fuzz.ratio, score_cutoff=85, workers=1)
            units_total += len(texts)
        kernel += time.process_time() - began
    return {
        "kernel_cpu_s": kernel,
        "preparation_cpu_s": preparation,
        "submissions": len(paths),
        "units": units_total,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("rubric", type=Path)
    args = parser.parse_args(argv)
    print(json.dumps(time_kernels(args.folder, args.rubric)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
