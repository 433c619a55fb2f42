"""The `grader` command: parse options, call one library function, render. The only module
that prints or exits."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from grader import __version__
from grader.benchmarking import (
    ClassificationResult,
    RegressionResult,
    evaluate_folds,
    evaluate_split,
)
from grader.datasets import load_dataset, load_questions
from grader.drafting import complete_rubric, draft_rubric, render_rubric_yaml, rubric_id_for
from grader.errors import GraderError, UsageError
from grader.grading import Grader, grade_folder
from grader.linting import lint_rubric
from grader.loading import (
    DEFAULT_MAX_BYTES,
    find_rubric,
    iter_submission_files,
    load_rubric,
    rubric_json_schema,
)
from grader.models import Report, Rubric, SubmissionResult
from grader.report import format_number, submission_to_dict, write_atomic, write_reports

app = typer.Typer(
    help="Grade free-text answers against a rubric of key points and misconceptions.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
rubric_app = typer.Typer(help="Check and describe rubric files.", no_args_is_help=True)
app.add_typer(rubric_app, name="rubric")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

#: Batches at least this long get a progress bar (on a terminal only).
PROGRESS_MIN = 20
EXIT_SOME_ERRORS = 3

RubricOption = Annotated[
    Path | None,
    typer.Option("--rubric", "-r", help="Rubric YAML. Default: the one file in rubrics/."),
]


def _fail(error: GraderError) -> NoReturn:
    err.print(f"error: {error}", style="red" if err.is_terminal else None, markup=False)
    raise typer.Exit(error.exit_code)


def _resolve_rubric(path: Path | None) -> tuple[Path, Rubric]:
    rubric_path = path if path is not None else find_rubric(Path("rubrics"))
    return rubric_path, load_rubric(rubric_path)


def _version_callback(value: bool) -> None:
    if value:
        out.print(f"grader {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
) -> None:
    """Grade free-text answers against a rubric of key points and misconceptions."""


@app.command()
def grade(
    submissions: Annotated[
        Path, typer.Argument(help="Folder of submissions, one file per student.")
    ] = Path("submissions"),
    rubric: RubricOption = None,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the reports.")] = Path(
        "reports"
    ),
    max_bytes: Annotated[
        int, typer.Option("--max-bytes", help="Largest submission file read, in bytes.", min=1)
    ] = DEFAULT_MAX_BYTES,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Grade every file in SUBMISSIONS into OUT/report.json and OUT/grades.csv.

    Example: grader grade submissions/ --rubric rubrics/dl_assignment_14.yaml --out reports/

    Exit codes: 0 all graded; 3 some submissions could not be graded (they have an error row);
    2 bad usage or a bad rubric.
    """
    try:
        _, loaded = _resolve_rubric(rubric)
        paths = list(iter_submission_files(submissions))
        if not paths:
            raise UsageError(f"{submissions}: no submission files found")
        with _progress(len(paths), quiet) as advance:
            report = grade_folder(loaded, submissions, max_bytes=max_bytes, on_progress=advance)
        written = write_reports(report, loaded, out_dir)
    except GraderError as error:
        _fail(error)
    if not quiet:
        _print_summary(report, loaded)
        out.print("wrote " + ", ".join(str(p) for p in written))
    if report.error_count:
        raise typer.Exit(EXIT_SOME_ERRORS)


@app.command()
def check(
    file: Annotated[Path, typer.Argument(help="Your answer file (.md or .txt).")],
    rubric: RubricOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Self-check one answer file before you submit it: score, hints, misconceptions.

    Example: grader check my_answers.md --rubric rubrics/dl_assignment_14.yaml
    """
    try:
        _, loaded = _resolve_rubric(rubric)
        if not file.is_file():
            raise UsageError(f"{file}: no such file")
        result = Grader(loaded).grade_file(file)
    except GraderError as error:
        _fail(error)
    if as_json:
        out.print_json(json.dumps(submission_to_dict(result)))
    else:
        _print_check(result, loaded)
    if result.status == "error":
        raise typer.Exit(EXIT_SOME_ERRORS)


@app.command("eval")
def eval_(
    submissions: Annotated[
        Path | None,
        typer.Argument(help="Folder of submissions (gold-label mode; see --gold)."),
    ] = None,
    dataset: Annotated[
        Path | None,
        typer.Option(
            "--dataset",
            help="CSV of graded answers: question_id, question, reference_answer, "
            "student_answer, score or label (cv_fold for --protocol mohler).",
        ),
    ] = None,
    protocol: Annotated[
        str, typer.Option("--protocol", help="Evaluation protocol for --dataset: mohler.")
    ] = "mohler",
    train: Annotated[
        Path | None, typer.Option("--train", help="Training CSV (with --test).")
    ] = None,
    test: Annotated[Path | None, typer.Option("--test", help="Test CSV (with --train).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Measure grader's accuracy against human grades on a benchmark dataset.

    --dataset DATA.csv --protocol mohler: 12-fold cross-validation by cv_fold; Pearson r, RMSE
    and median per-question RMSE. --train TRAIN.csv --test TEST.csv: accuracy, macro-F1 and
    weighted-F1 of the label column. Rubrics are drafted from the reference answers and a
    model is trained on grader's features of the training answers only.

    Example: grader eval --dataset mohler_v2.csv --protocol mohler
    """
    try:
        if submissions is not None:
            raise UsageError("pass --dataset DATA.csv or --train TRAIN.csv --test TEST.csv")
        if dataset is not None and (train is not None or test is not None):
            raise UsageError("pass either --dataset or --train/--test, not both")
        if dataset is None and (train is None or test is None):
            raise UsageError(
                "pass --dataset DATA.csv, or both --train TRAIN.csv and --test TEST.csv"
            )
        progress = (lambda m: err.print(m, markup=False)) if err.is_terminal else None
        result: RegressionResult | ClassificationResult
        if dataset is not None:
            data = load_dataset(dataset, target="score")
            _warn_skipped(data.skipped)
            result = evaluate_folds(data, protocol=protocol, progress=progress)
        else:
            assert train is not None and test is not None
            train_data = load_dataset(train, target="label")
            test_data = load_dataset(test, target="label")
            _warn_skipped([*train_data.skipped, *test_data.skipped])
            result = evaluate_split(train_data, test_data, progress=progress)
    except GraderError as error:
        _fail(error)
    if as_json:
        sys.stdout.write(json.dumps(result.model_dump(), indent=2) + "\n")
    else:
        _print_evaluation(result)


def _warn_skipped(skipped: list[str]) -> None:
    for message in skipped[:10]:
        err.print(f"warning: skipped {message}", markup=False)
    if len(skipped) > 10:
        err.print(f"warning: skipped {len(skipped) - 10} more row(s)", markup=False)


def _print_evaluation(result: RegressionResult | ClassificationResult) -> None:
    if isinstance(result, RegressionResult):
        out.print(
            f"{result.dataset}: {result.protocol} protocol, {result.folds}-fold cross-validation, "
            f"{result.answers} answers to {result.questions} questions",
            markup=False,
        )
        figures = [
            ("pearson r", result.pearson),
            ("rmse", result.rmse),
            ("median question rmse", result.median_question_rmse),
        ]
    else:
        out.print(
            f"train {result.train} ({result.train_answers} answers), test {result.test} "
            f"({result.test_answers} answers, {result.test_questions_seen_in_train:.0%} to "
            "questions seen in training)",
            markup=False,
        )
        figures = [
            ("accuracy", result.accuracy),
            ("macro-F1", result.macro_f1),
            ("weighted-F1", result.weighted_f1),
            ("majority-class accuracy", result.majority_accuracy),
        ]
    for name, value in figures:
        out.print(f"  {name:<24}{value:.3f}", markup=False)
    models = ", ".join(f"{name} ×{count}" for name, count in result.models.items())
    out.print(f"  model (chosen by cross-validation on the training data): {models}", markup=False)


@rubric_app.command("lint")
def rubric_lint(
    path: Annotated[Path, typer.Argument(help="Rubric YAML file.")],
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 when there are warnings.")
    ] = False,
) -> None:
    """Validate a rubric and warn about weak spots (single phrasings, near-duplicates).

    Example: grader rubric lint rubrics/dl_assignment_14.yaml
    """
    try:
        loaded = load_rubric(path, derive_key_points=False)
    except GraderError as error:
        _fail(error)
    warnings = lint_rubric(loaded)
    for warning in warnings:
        out.print(f"{path}: warning: {warning}")
    loaded = complete_rubric(loaded)  # count the key points grading derives
    items = sum(len(q.key_points) + len(q.misconceptions) for q in loaded.questions)
    out.print(
        f"{path}: valid: {len(loaded.questions)} questions, {items} items, "
        f"max score {format_number(loaded.max_score)}; {len(warnings)} warning(s)"
    )
    if strict and warnings:
        raise typer.Exit(1)


@rubric_app.command("init")
def rubric_init(
    questions_file: Annotated[
        Path,
        typer.Argument(
            help="Markdown (### Q1 + Reference:) or CSV (id,question,reference_answer)."
        ),
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Rubric YAML to write. Default: print it.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite OUTPUT if it exists.")] = False,
) -> None:
    """Draft a starter rubric from questions and model answers: one key point per idea of each
    reference answer, phrasings from its wording, equal weights, TODOs for what to add.

    Example: grader rubric init questions.md -o rubrics/week3.yaml
    """
    try:
        if output is not None and output.exists() and not force:
            raise UsageError(f"{output}: already exists; pass --force to overwrite it")
        source = load_questions(questions_file)
        rubric = draft_rubric(
            [(q.id, q.text, q.reference_answer) for q in source.questions],
            rubric_id=rubric_id_for(questions_file.stem),
            title=source.title or questions_file.stem,
        )
        text = render_rubric_yaml(rubric, source=questions_file.name)
        if output is not None:
            write_atomic(output, text)
    except GraderError as error:
        _fail(error)
    if output is None:
        sys.stdout.write(text)
        return
    points = sum(len(q.key_points) for q in rubric.questions)
    out.print(
        f"wrote {output}: {len(rubric.questions)} questions, {points} key points; "
        f"review its TODOs, then: grader rubric lint {output}",
        markup=False,
    )


@rubric_app.command("schema")
def rubric_schema() -> None:
    """Print the JSON Schema of the rubric format, for editor validation.

    Example: grader rubric schema > rubric.schema.json
    """
    sys.stdout.write(json.dumps(rubric_json_schema(), indent=2) + "\n")


# --- rendering ---------------------------------------------------------------------------


class _progress:
    """A progress bar for long batches on a terminal; silent otherwise."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.enabled = not quiet and total >= PROGRESS_MIN and err.is_terminal
        self.total = total
        self.bar: Progress | None = None

    def __enter__(self) -> Any:
        if not self.enabled:
            return None
        self.bar = Progress(
            TextColumn("grading"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        )
        self.bar.start()
        task = self.bar.add_task("grading", total=self.total)
        bar = self.bar

        def advance(_: SubmissionResult) -> None:
            bar.advance(task)

        return advance

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _print_summary(report: Report, rubric: Rubric) -> None:
    graded = [s for s in report.submissions if s.status == "graded"]
    table = Table(title=f"{rubric.title} — {len(report.submissions)} submission(s)")
    table.add_column("question")
    table.add_column("mean", justify="right")
    table.add_column("max", justify="right")
    table.add_column("answered", justify="right")
    table.add_column("review", justify="right")
    for index, question in enumerate(rubric.questions):
        results = [s.questions[index] for s in graded]
        mean = sum(r.score for r in results) / len(results) if results else 0.0
        table.add_row(
            question.id,
            format_number(mean),
            format_number(question.max_score),
            str(sum(r.answered for r in results)),
            str(sum(r.needs_review for r in results)),
        )
    totals = [s.score or 0.0 for s in graded]
    table.add_row(
        "total",
        format_number(sum(totals) / len(totals) if totals else 0.0),
        format_number(rubric.max_score),
        "",
        str(sum(s.needs_review for s in graded)),
    )
    out.print(table)
    errors = [s for s in report.submissions if s.status == "error"]
    out.print(
        f"{len(graded)} graded, {len(errors)} error(s), "
        f"{sum(s.needs_review for s in graded)} need review"
    )
    for s in errors:
        out.print(f"  error: {s.id} ({s.source}): {s.error}", markup=False)


def _print_check(result: SubmissionResult, rubric: Rubric) -> None:
    if result.status == "error":
        out.print(f"{result.source}: could not be graded: {result.error}", markup=False)
        return
    out.print(
        f"{result.source}: {format_number(result.score or 0)} / {format_number(result.max_score)}",
        markup=False,
    )
    for question, qr in zip(rubric.questions, result.questions, strict=True):
        out.print()
        out.print(
            f"{question.id}: {format_number(qr.score)} / {format_number(qr.max_score)}"
            + ("" if qr.answered else "  (no answer found)")
            + ("  [needs review]" if qr.needs_review else ""),
            markup=False,
        )
        by_id = {kp.id: kp for kp in question.key_points}
        for kp in qr.key_points:
            if kp.credit >= 0.5 and kp.evidence is not None:
                label = "strength" if kp.bonus else "found"
                out.print(f'  {label}: {kp.id} - "{kp.evidence.text}"', markup=False)
        for kp in qr.key_points:
            if kp.credit < 0.5 and not kp.bonus:
                out.print(f"  missing: {kp.id} - {by_id[kp.id].description}", markup=False)
        for m in qr.misconceptions:
            evidence = f' - "{m.evidence.text}"' if m.evidence else ""
            out.print(
                f"  misconception: {m.id} (-{format_number(m.penalty)}){evidence}", markup=False
            )
            out.print(f"    {m.feedback}", markup=False)


def main() -> None:
    app()
