"""rftctl status / watch: where the stack's RFT job is, once or until it ends."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..console import ProgressBar, add_json_argument
from ..context import CommandContext
from ..errors import EXIT_CHECK_FAILED, EXIT_OK, EXIT_STILL_RUNNING, CliError

if TYPE_CHECKING:
    from ..jobs import JobProgress
    from ..stack import DeployedStack


STATUS_HELP = "show the RFT job's state, progress, latest rewards and failure message"
WATCH_HELP = "poll the RFT job until it ends; exit 0 if it succeeded, 1 if it failed or was stopped"
_JOB_HELP = "job to show: Nova job ARN or mantle job id (default: the stack's current job)"
JSON_KIND, JSON_VERSION = "status", 1


def register(subparsers: argparse._SubParsersAction) -> None:
    status = subparsers.add_parser(
        "status",
        help=STATUS_HELP,
        description=(
            "Show the stack's RFT job (the tracker's job-id parameter, else the JobId output, or --job): "
            "status, Nova stages and elapsed time or mantle step/total_steps with the newest reward "
            "metrics, the trained model once it succeeded, the failure message if it failed."
        ),
    )
    status.add_argument("--job", metavar="JOB_ID", help=_JOB_HELP)
    add_json_argument(status)
    status.set_defaults(run=run_status)

    watch = subparsers.add_parser(
        "watch",
        help=WATCH_HELP,
        description=(
            "Poll the stack's RFT job every --interval seconds with a progress bar on stderr until it "
            "ends, then print the final status. Exit code: 0 succeeded, 1 failed or stopped/cancelled, "
            "3 still running when --timeout ran out, 130 on Ctrl-C (the job keeps running)."
        ),
    )
    watch.add_argument("--job", metavar="JOB_ID", help=_JOB_HELP)
    watch.add_argument(
        "--interval", type=float, default=60.0, metavar="SECONDS", help="seconds between polls (default 60)"
    )
    watch.add_argument(
        "--timeout", type=float, metavar="MINUTES", help="give up after this many minutes (default: never)"
    )
    watch.add_argument(
        "--json", action="store_true",
        help="print the final status (or, after --timeout, the last one) as the JSON document status --json "
        "prints, instead of its lines (progress stays on stderr)",
    )
    watch.set_defaults(run=run_watch)


def _exit_code(progress: JobProgress) -> int:
    return EXIT_OK if progress.state.succeeded else EXIT_CHECK_FAILED


def _print_status(ctx: CommandContext, stack: DeployedStack, progress: JobProgress, as_json: bool) -> None:
    from ..jobs import status_data, status_lines

    now = ctx.utc_now()
    if as_json:
        ctx.print_json(JSON_KIND, JSON_VERSION, status_data(stack, progress, now))
        return
    for line in status_lines(stack, progress, now):
        ctx.print(line)


def run_status(ctx: CommandContext, args: argparse.Namespace) -> int:
    from ..jobs import job_id_for, job_progress

    stack = ctx.stack()
    job_id = job_id_for(ctx, stack, args.job)
    progress = job_progress(ctx, stack, job_id)
    _print_status(ctx, stack, progress, args.json)
    return EXIT_OK


def run_watch(ctx: CommandContext, args: argparse.Namespace) -> int:
    from ..jobs import job_id_for, job_progress

    if args.interval <= 0:
        raise CliError("--interval must be positive")
    stack = ctx.stack()
    job_id = job_id_for(ctx, stack, args.job)
    deadline = None if args.timeout is None else ctx.monotonic() + args.timeout * 60
    ctx.note(f"watching {job_id} on {stack.describe()} every {args.interval:g}s (Ctrl-C stops watching, not the job)")
    bar = ProgressBar(ctx.err)
    try:
        while True:
            progress = job_progress(ctx, stack, job_id)
            bar.update(progress.fraction(), progress.progress_label(ctx.utc_now()))
            if progress.state.terminal:
                break
            if deadline is not None and ctx.monotonic() >= deadline:
                bar.close()
                ctx.note(
                    f"still {progress.state.status} after {args.timeout:g} minutes; run watch again to keep waiting"
                )
                if args.json:
                    _print_status(ctx, stack, progress, True)
                return EXIT_STILL_RUNNING
            ctx.sleep(args.interval)
    finally:
        bar.close()
    _print_status(ctx, stack, progress, args.json)
    return _exit_code(progress)
