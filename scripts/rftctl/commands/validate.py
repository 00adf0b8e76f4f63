"""rftctl validate: check training data with the validator the CDK synth runs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stacks.dataset import (
        DatasetSummary,
    )


from ..context import CommandContext
from ..errors import EXIT_CHECK_FAILED, EXIT_OK, CliError
from ..task_choice import DEFAULT_OFFLINE, add_task_argument, offline_task

HELP = "check JSONL training data (and the train/validation split) as cdk synth does"


def register(subparsers: argparse._SubParsersAction) -> None:
    from stacks.dataset import MAX_RECORDS, TRAINING_MIN_RECORDS

    parser = subparsers.add_parser(
        "validate",
        help=HELP,
        description=(
            "Validate RFT prompt files with stacks/dataset.py, the validator cdk synth runs, for the task "
            "(--task, else cdk.json's rft:task): the file, its lines and messages, then the task's own "
            "check of each record. One file is checked as a training file (Bedrock: 100 to 20,000 "
            "records). Two files are TRAIN VALIDATION: both are checked (validation needs at least 10 "
            "records) and no prompt may appear in both. Every problem is printed as file:line: message."
        ),
    )
    parser.add_argument(
        "files", nargs="+", type=Path, metavar="FILE", help="training file, then optionally the validation file"
    )
    parser.add_argument(
        "--min-records",
        type=int,
        default=TRAINING_MIN_RECORDS,
        help=f"one-file mode: minimum records (default {TRAINING_MIN_RECORDS}, Bedrock's training minimum; "
        "use 10 for a validation file)",
    )
    parser.add_argument(
        "--max-records", type=int, default=MAX_RECORDS, help=f"one-file mode: maximum records (default {MAX_RECORDS})"
    )
    add_task_argument(parser, default=DEFAULT_OFFLINE)
    parser.set_defaults(run=run)


def _describe(summary: DatasetSummary) -> str:
    return f"ok  {summary.path}: {summary.records} records, task {summary.task}, sha256 {summary.sha256[:12]}"


def run(ctx: CommandContext, args: argparse.Namespace) -> int:
    from stacks.dataset import DatasetError, validate_dataset, validate_training_set

    files: list[Path] = args.files
    if len(files) > 2:
        raise CliError("validate takes one file, or two: TRAIN VALIDATION")
    if not 1 <= args.min_records <= args.max_records:
        raise CliError("need 1 <= --min-records <= --max-records")
    task = offline_task(args)
    try:
        if len(files) == 2:
            training, validation = validate_training_set(files[0], files[1], task)
            summaries = [training] + ([validation] if validation else [])
        else:
            summaries = [
                validate_dataset(files[0], min_records=args.min_records, max_records=args.max_records, task=task)
            ]
    except DatasetError as error:
        for problem in error.problems:
            ctx.print(str(problem))
        count = len(error.problems)
        ctx.note(f"{count} problem{'s' if count != 1 else ''} found, checking for the {task.name} task "
                 "(--task chooses another)")
        return EXIT_CHECK_FAILED
    for summary in summaries:
        ctx.print(_describe(summary))
    if len(files) == 2:
        ctx.print("ok  no prompt is in both files")
    return EXIT_OK
