"""The `grader` command: parse options, call one library function, render. The only module
that prints or exits."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from grader import __version__
from grader.calibration import (
    calibrated_grader,
    calibration_path,
    cross_validate,
    fit_calibration,
    load_grader,
)
from grader.errors import GraderError, UsageError
from grader.evaluation import (
    Evaluation,
    check_gold_ids,
    evaluate_submissions,
    load_gold,
    load_labelled,
)
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
from grader.report import (
    UNMATCHED_FILE,
    Assignment,
    check_gradebook,
    format_number,
    submission_to_dict,
    write_atomic,
    write_reports,
)
from grader.roster import Roster, load_roster, match_roster

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


class GradebookChoice(str, Enum):
    plain = "plain"
    canvas = "canvas"
    moodle = "moodle"
    blackboard = "blackboard"


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


def _resolve_grader(
    path: Path | None, no_calibration: bool, quiet: bool = False
) -> tuple[Rubric, Grader]:
    """The rubric and its grader, calibrated when a calibration file lies beside the rubric."""
    rubric_path = path if path is not None else find_rubric(Path("rubrics"))
    rubric, grader, notes = load_grader(rubric_path, use_calibration=not no_calibration)
    if not quiet:
        for note in notes:
            err.print(note, markup=False)
    return rubric, grader


NoCalibrationOption = Annotated[
    bool,
    typer.Option("--no-calibration", help="Ignore the calibration file beside the rubric."),
]


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
    no_calibration: NoCalibrationOption = False,
    gradebook: Annotated[
        GradebookChoice,
        typer.Option(
            "--gradebook",
            help="Also write OUT/gradebook_FORMAT.csv for an LMS import (needs --roster).",
        ),
    ] = GradebookChoice.plain,
    roster: Annotated[
        Path | None,
        typer.Option(
            "--roster",
            help="CSV mapping submission ids to LMS students: submission, name, id, "
            "sis_user_id, login_id, email, section.",
        ),
    ] = None,
    assignment: Annotated[
        str | None,
        typer.Option("--assignment", help="Assignment name in the LMS. Default: rubric title."),
    ] = None,
    assignment_id: Annotated[
        str | None,
        typer.Option(
            "--assignment-id", help="LMS column id (Canvas assignment id, Blackboard column id)."
        ),
    ] = None,
    reveal: Annotated[
        bool, typer.Option("--reveal", help="Show the reference answers in the feedback.")
    ] = False,
) -> None:
    """Grade every file in SUBMISSIONS into OUT/: report.json, grades.csv, feedback/ (one .md
    and .html per student), overview.html and, with --gradebook, an LMS import file.

    Example: grader grade submissions/ --rubric rubrics/dl_assignment_14.yaml --out reports/

    For Canvas: grader grade --gradebook canvas --roster roster.csv --assignment "DL 14"
    --assignment-id 1234

    Exit codes: 0 all graded; 3 some submissions could not be graded (they have an error row);
    2 bad usage, a bad rubric or a bad roster.
    """
    try:
        loaded, grader = _resolve_grader(rubric, no_calibration, quiet)
        loaded_roster = load_roster(roster) if roster is not None else None
        target = Assignment(assignment or loaded.title, assignment_id)
        check_gradebook(gradebook.value, loaded_roster, target)
        paths = list(iter_submission_files(submissions))
        if not paths:
            raise UsageError(f"{submissions}: no submission files found")
        with _progress(len(paths), quiet) as advance:
            report = grade_folder(
                loaded, submissions, grader=grader, max_bytes=max_bytes, on_progress=advance
            )
        written = write_reports(
            report,
            loaded,
            out_dir,
            gradebook=gradebook.value,
            roster=loaded_roster,
            assignment=target,
            reveal=reveal,
        )
    except GraderError as error:
        _fail(error)
    if not quiet:
        _print_summary(report, loaded)
        if loaded_roster is not None:
            _print_roster(report, loaded_roster, out_dir)
        out.print("wrote " + ", ".join(_describe_output(p) for p in written), markup=False)
    if report.error_count:
        raise typer.Exit(EXIT_SOME_ERRORS)


@app.command()
def check(
    file: Annotated[Path, typer.Argument(help="Your answer file (.md or .txt).")],
    rubric: RubricOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    no_calibration: NoCalibrationOption = False,
) -> None:
    """Self-check one answer file before you submit it: score, hints, misconceptions.

    Example: grader check my_answers.md --rubric rubrics/dl_assignment_14.yaml
    """
    try:
        loaded, grader = _resolve_grader(rubric, no_calibration, quiet=as_json)
        if not file.is_file():
            raise UsageError(f"{file}: no such file")
        result = grader.grade_file(file)
    except GraderError as error:
        _fail(error)
    if as_json:
        out.print_json(json.dumps(submission_to_dict(result)))
    else:
        _print_check(result, loaded)
    if result.status == "error":
        raise typer.Exit(EXIT_SOME_ERRORS)


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
        loaded = load_rubric(path)
    except GraderError as error:
        _fail(error)
    warnings = lint_rubric(loaded)
    for warning in warnings:
        out.print(f"{path}: warning: {warning}")
    items = sum(len(q.key_points) + len(q.misconceptions) for q in loaded.questions)
    out.print(
        f"{path}: valid: {len(loaded.questions)} questions, {items} items, "
        f"max score {format_number(loaded.max_score)}; {len(warnings)} warning(s)"
    )
    if strict and warnings:
        raise typer.Exit(1)


@rubric_app.command("schema")
def rubric_schema() -> None:
    """Print the JSON Schema of the rubric format, for editor validation.

    Example: grader rubric schema > rubric.schema.json
    """
    sys.stdout.write(json.dumps(rubric_json_schema(), indent=2) + "\n")


@app.command("eval")
def eval_command(
    submissions: Annotated[Path, typer.Argument(help="Folder of labelled submissions.")],
    gold: Annotated[
        Path,
        typer.Option(
            "--gold", "-g", help="Gold labels: JSON or CSV (submission,question,item,present)."
        ),
    ],
    rubric: RubricOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    show: Annotated[
        int, typer.Option("--show", help="Disagreements to list (0: none, -1: all).")
    ] = -1,
    cv: Annotated[
        int | None,
        typer.Option(
            "--cv",
            help="K-fold cross-validated calibration: fit on K-1 folds, score the rest.",
            min=2,
        ),
    ] = None,
    no_calibration: NoCalibrationOption = False,
) -> None:
    """Measure agreement with a TA's labels: key points, misconceptions, question scores.

    Example: grader eval answers/ --rubric rubrics/dl_assignment_14.yaml --gold gold.json --cv 5

    A key point counts as found at credit 0.5. With --cv K the labelled submissions are split
    into K folds; each is graded with a calibration fitted on the others.
    """
    try:
        loaded, grader = _resolve_grader(rubric, no_calibration or cv is not None, as_json)
        labels = load_gold(gold)
        check_gold_ids(labels, loaded, gold)
        labelled = load_labelled(submissions, loaded, labels)
        if cv is not None:
            result = cross_validate(loaded, labelled, labels, cv)
        else:
            result = evaluate_submissions(loaded, labelled, labels, lambda _: grader)
    except GraderError as error:
        _fail(error)
    if as_json:
        sys.stdout.write(json.dumps(result.model_dump(mode="json"), indent=2) + "\n")
        return
    _print_evaluation(result, show)


@app.command()
def calibrate(
    submissions: Annotated[Path, typer.Argument(help="Folder of labelled submissions.")],
    gold: Annotated[Path, typer.Option("--gold", "-g", help="Gold labels: JSON or CSV.")],
    rubric: RubricOption = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Where to write it. Default: beside the rubric."),
    ] = None,
) -> None:
    """Learn the feature blend and thresholds that best reproduce a TA's labels.

    Example: grader calibrate answers/ --rubric rubrics/dl_assignment_14.yaml --gold gold.json

    Writes RUBRIC.calibration.json beside the rubric; grade, check and eval use it from then on
    (--no-calibration ignores it). Check how well it generalises with `grader eval --cv K`.
    """
    try:
        rubric_path = rubric if rubric is not None else find_rubric(Path("rubrics"))
        loaded = load_rubric(rubric_path)
        labels = load_gold(gold)
        check_gold_ids(labels, loaded, gold)
        labelled = load_labelled(submissions, loaded, labels)
        calibration = fit_calibration(loaded, labelled, labels)
        target = output or calibration_path(rubric_path)
        write_atomic(target, calibration.model_dump_json(indent=2) + "\n")
        grader = calibrated_grader(loaded, calibration)
        fitted = evaluate_submissions(loaded, labelled, labels, lambda _: grader)
    except GraderError as error:
        _fail(error)
    policy = calibration.policy
    out.print(
        f"wrote {target}: weights {', '.join(f'{w:.2f}' for w in calibration.feature_weights)} "
        f"(coverage, pairs, word tf-idf, char tf-idf); key point found at "
        f"{policy.credit_threshold:.2f}, misconception at {policy.misconception_threshold:.2f}",
        markup=False,
    )
    out.print(
        f"on the {calibration.submissions} labelled submissions: key-point F1 "
        f"{fitted.key_points.f1:.3f} kappa {fitted.key_points.kappa:.3f}; misconception P "
        f"{fitted.misconceptions.precision:.3f} R {fitted.misconceptions.recall:.3f}; QWK "
        f"{fitted.questions.qwk:.3f}. Estimate generalisation with `grader eval --cv K`.",
        markup=False,
    )


# --- rendering ---------------------------------------------------------------------------


def _print_evaluation(result: Evaluation, show: int) -> None:
    kp, mc, qs = result.key_points, result.misconceptions, result.questions
    out.print(f"{result.submissions} submissions, {result.answers} answers", markup=False)
    out.print(
        f"key points:     P {kp.precision:.3f}  R {kp.recall:.3f}  F1 {kp.f1:.3f}  "
        f"kappa {kp.kappa:.3f}  (gold {kp.support}, predicted {kp.predicted}, of {kp.total})",
        markup=False,
    )
    out.print(
        f"misconceptions: P {mc.precision:.3f}  R {mc.recall:.3f}  F1 {mc.f1:.3f}  "
        f"(gold {mc.support}, predicted {mc.predicted})",
        markup=False,
    )
    out.print(
        f"question scores: MAE {qs.mae:.3f}  QWK {qs.qwk:.3f}  Pearson {qs.pearson:.3f}",
        markup=False,
    )
    out.print(
        f"review: {result.review_share:.0%} of answers flagged; "
        f"{result.disagreements_in_review:.0%} of disagreements fall in them",
        markup=False,
    )
    table = Table(title="per item")
    for column in ("item", "P", "R", "F1", "gold", "pred"):
        table.add_column(column, justify="left" if column == "item" else "right")
    for item in result.per_item:
        table.add_row(
            item.item,
            f"{item.precision:.2f}",
            f"{item.recall:.2f}",
            f"{item.f1:.2f}",
            str(item.support),
            str(item.predicted),
        )
    out.print(table)
    listed = result.disagreements if show < 0 else result.disagreements[:show]
    for d in listed:
        verdict = "missed" if d.gold else "extra"
        review = " [review]" if d.in_review else ""
        out.print(
            f"{verdict}: {d.submission} {d.item} ({d.similarity:.2f}){review}: {d.evidence or '-'}",
            markup=False,
        )


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


def _describe_output(path: Path) -> str:
    if path.is_dir():
        return f"{path}/ ({sum(1 for p in path.iterdir() if p.is_file())} files)"
    return str(path)


def _print_roster(report: Report, roster: Roster, out_dir: Path) -> None:
    match = match_roster(report, roster)
    graded = sum(1 for row in match.rows if row.result is not None)
    out.print(
        f"roster: {len(match.rows)} student(s), {graded} with a submission, "
        f"{len(match.missing)} without (their grade is left empty)",
        markup=False,
    )
    if match.missing:
        names = [e.name or e.submission or f"line {e.line}" for e in match.missing]
        shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
        out.print(f"  no submission: {shown}", markup=False)
    for row in match.ambiguous:
        out.print(f"  no grade for roster line {row.entry.line}: {row.problem}", markup=False)
    if match.unmatched:
        style = "yellow" if out.is_terminal else None
        out.print(
            f"{len(match.unmatched)} submission(s) not matched to the roster "
            f"(listed in {out_dir / UNMATCHED_FILE}):",
            style=style,
            markup=False,
        )
        for u in match.unmatched:
            out.print(f"  {u.result.id} ({u.result.source}): {u.reason}", markup=False)


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
