"""rftctl metrics: the job's reward metrics as tables, as a PNG of the reward curves, and as JSON."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from ..console import add_json_argument, format_number, format_table, json_text
from ..context import CommandContext
from ..errors import EXIT_CHECK_FAILED, EXIT_OK

HELP = "print the job's reward metrics and plot training/validation reward curves to a PNG"
DEFAULT_PNG = Path("reward.png")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "metrics",
        help=HELP,
        description=(
            "Fetch the job's metrics and print them: Nova reads every *.csv of the job under the "
            "stack's OutputDataUri (columns recognised by name: an x axis step/step_number/epoch and "
            "every column containing 'reward'); mantle reads the job's metrics events and checkpoints. "
            "Every reward column is printed; the reward means (not std, min or max) are drawn to --out, "
            "training and validation on one 0-1 axis, smoothed."
        ),
    )
    parser.add_argument(
        "--job", metavar="JOB_ID", help="Nova job ARN or mantle job id (default: the stack's current job)"
    )
    parser.add_argument(
        "--out", type=Path, metavar="PNG",
        help=f"PNG to write (default {DEFAULT_PNG}; with --json, only when given)",
    )
    parser.add_argument("--tail", type=int, metavar="N", help="print only the last N rows of each table")
    add_json_argument(parser)
    parser.add_argument(
        "--json-out", type=Path, metavar="FILE",
        help="also write the rftctl.metrics JSON document to FILE (rftctl report reads it offline)",
    )
    parser.set_defaults(run=run)


def run(ctx: CommandContext, args: argparse.Namespace) -> int:
    from ..documents import check_output_directory, write_atomically, write_json_document
    from ..jobs import job_id_for
    from ..reward_metrics import build_reward_figure, job_metrics, metrics_document

    png = args.out if args.out is not None else (None if args.json else DEFAULT_PNG)
    for path, flag in ((png, "--out"), (args.json_out, "--json-out")):
        if path is not None:
            check_output_directory(path, flag)
    stack = ctx.stack()
    job_id = job_id_for(ctx, stack, args.job)
    metrics = job_metrics(ctx, stack, job_id)
    for note in metrics.notes:
        ctx.note(note)
    document = metrics_document(metrics, stack=stack, job_id=job_id, created_at=ctx.utc_now().isoformat())
    if args.json_out is not None:
        write_json_document(args.json_out, document, "--json-out")
        ctx.note(f"metrics document: {args.json_out}")
    if args.json:
        ctx.print(json_text(document))
    else:
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
    if png is None:
        return EXIT_OK
    figure = build_reward_figure(
        metrics.series, title=f"{stack.name}: {job_id.rsplit('/', 1)[-1]}", total_steps=metrics.total_steps
    )
    buffer = io.BytesIO()
    figure.savefig(buffer, dpi=110, format="png")  # PNG whatever the file name ends in
    write_atomically(png, buffer.getvalue(), "--out")
    message = f"reward curves: {png} ({len(metrics.series)} series)"
    if args.json:
        ctx.note(message)
    else:
        ctx.print(message)
    return EXIT_OK
