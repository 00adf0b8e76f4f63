"""rftctl metrics: the job's reward metrics as tables and as a PNG of the reward curves."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..console import format_number, format_table
from ..context import CommandContext
from ..errors import EXIT_CHECK_FAILED, EXIT_OK, CliError

HELP = "print the job's reward metrics and plot training/validation reward curves to a PNG"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "metrics",
        help=HELP,
        description=(
            "Fetch the job's metrics and print them: Nova reads every *.csv of the job under the "
            "stack's OutputDataUri (columns recognised by name: an x axis step/step_number/epoch and "
            "every column containing 'reward'); mantle reads the job's metrics events and checkpoints. "
            "Training and validation reward curves are drawn to --out."
        ),
    )
    parser.add_argument(
        "--job", metavar="JOB_ID", help="Nova job ARN or mantle job id (default: the stack's current job)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("reward.png"), metavar="PNG", help="PNG to write (default reward.png)"
    )
    parser.add_argument("--tail", type=int, metavar="N", help="print only the last N rows of each table")
    parser.set_defaults(run=run)


def run(ctx: CommandContext, args: argparse.Namespace) -> int:
    from ..jobs import job_id_for
    from ..reward_metrics import build_reward_figure, job_metrics

    if not args.out.parent.is_dir():
        raise CliError(f"--out {args.out}: directory {args.out.parent} does not exist")
    stack = ctx.stack()
    job_id = job_id_for(ctx, stack, args.job)
    metrics = job_metrics(ctx, stack, job_id)
    for note in metrics.notes:
        ctx.note(note)
    for table in metrics.tables:
        rows = table.rows[-args.tail :] if args.tail else table.rows
        ctx.print(f"== {table.source} ({len(table.rows)} rows)")
        formatted = [[cell if isinstance(cell, str) else format_number(cell) for cell in row] for row in rows]
        numeric = [i for i in range(len(table.columns)) if not any(isinstance(row[i], str) for row in rows)]
        ctx.print(format_table(table.columns, formatted, right_align=numeric))
        ctx.print()
    if not metrics.series:
        ctx.note(f"no reward metrics for {job_id} yet; nothing plotted")
        return EXIT_CHECK_FAILED
    figure = build_reward_figure(metrics.series, title=f"{stack.name}: {job_id.rsplit('/', 1)[-1]}")
    try:
        figure.savefig(args.out, dpi=110, format="png")  # PNG whatever the file name ends in
    except OSError as error:
        raise CliError(f"cannot write {args.out}: {error.strerror or error}") from error
    ctx.print(f"reward curves: {args.out} ({len(metrics.series)} series)")
    return EXIT_OK
