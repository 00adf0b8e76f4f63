"""rftctl stop: stop the stack's RFT job (or another one it launched), after asking."""

from __future__ import annotations

import argparse

from stacks.rft_job.runtime.contract import Output
from stacks.rft_job.runtime.job_state import NOT_FOUND, STOP_REQUESTED

from ..context import CommandContext
from ..errors import EXIT_CHECK_FAILED, EXIT_OK, CliError

HELP = "stop the stack's running RFT job (asks first; a stopped job cannot be resumed)"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "stop",
        help=HELP,
        description=(
            "Stop (Nova) or cancel (mantle) the stack's current RFT job, or the one --job names (an id, a Nova "
            "job ARN, or a job name from rftctl history). Shows the job and asks you to type 'stop'; --yes skips "
            "the question. A job that already ended is left alone. The stack keeps the stopped job as its job "
            "until the next job-defining deploy; its tracker records the final status and notifies the topic."
        ),
    )
    parser.add_argument("--job", metavar="JOB", help="job id, ARN or name (default: the stack's current job)")
    parser.add_argument("--yes", action="store_true", help="do not ask (non-interactive use)")
    parser.set_defaults(run=run)


def run(ctx: CommandContext, args: argparse.Namespace) -> int:
    from ..jobs import resolve_job, stop_job
    from ..stack import read_live_value

    stack = ctx.stack()
    job_id = resolve_job(ctx, stack, args.job)
    state = ctx.job_api(stack).describe(job_id)
    if state is None:
        raise CliError(f"job {job_id} does not exist in {stack.region} (nothing to stop)", EXIT_CHECK_FAILED)
    name = state.job_name or job_id
    if not state.running:
        ctx.print(f"job {name} is {state.status}: nothing to stop")
        return EXIT_OK
    current = read_live_value(ctx.clients, stack, Output.JOB_ID_PARAMETER_NAME) == state.job_id
    which = "the stack's current job" if current else "not the stack's current job"
    question = (f"Stop job {name} ({state.job_id}, {state.status}; {which}) of {stack.describe()}? "
                "A stopped job cannot be resumed.")
    if not ctx.confirm(question, word="stop", assume_yes=args.yes):
        ctx.note("not stopped" + ("" if args.yes else " (type 'stop' to confirm, or pass --yes)"))
        return EXIT_CHECK_FAILED
    outcome = stop_job(ctx, stack, state.job_id)
    if outcome == STOP_REQUESTED:
        ctx.print(f"stop requested for job {name}; rftctl status shows when it has stopped")
    elif outcome == NOT_FOUND:
        ctx.print(f"job {name} no longer exists")
    else:
        ctx.print(f"job {name} had already ended")
    return EXIT_OK
