"""rftctl history: every RFT job the stack launched, from its job ledger, with live status."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from stacks.rft_job.runtime.contract import NOT_FOUND_STATUS, Output

from ..console import format_table
from ..context import CommandContext
from ..errors import EXIT_OK

if TYPE_CHECKING:
    from stacks.rft_job.runtime.job_api import JobApi
    from stacks.rft_job.runtime.job_state import JobState
    from stacks.rft_job.runtime.ledger import LedgerEntry

HELP = "list every RFT job the stack launched: name, status, fingerprint, models and times"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "history",
        help=HELP,
        description=(
            "Read the stack's job ledger (the JobLedgerUri output: one entry per launch, written before the "
            "create request and updated by the tracker) and ask the service for the status of every job that "
            "has not ended. '*' marks the stack's current job. A launch whose create got no definite answer is "
            "listed as 'may exist': look for it and stop it (rftctl stop --job NAME) if it runs."
        ),
    )
    parser.add_argument(
        "--no-refresh", action="store_true", help="show the ledger as recorded, without asking the service"
    )
    parser.set_defaults(run=run)


def run(ctx: CommandContext, args: argparse.Namespace) -> int:
    import botocore.exceptions
    import openai

    from stacks.rft_job.runtime.errors import short_error
    from stacks.rft_job.runtime.ledger import REJECTED

    from ..jobs import job_ledger
    from ..stack import read_live_value

    stack = ctx.stack()
    ledger = job_ledger(ctx, stack)
    entries, unreadable = ledger.entries()
    current = read_live_value(ctx.clients, stack, Output.JOB_ID_PARAMETER_NAME)
    api = ctx.job_api(stack)
    # A status after which nothing changes: the ledger's copy is final, no need to ask the service.
    final = api.statuses.terminal | {NOT_FOUND_STATUS}
    rows = []
    for entry in sorted(entries, key=lambda e: e.launched_at):
        status, trained = _status(entry), entry.output_model
        settled = entry.request == REJECTED or (entry.status or "").split(":")[0] in final
        if not settled and not args.no_refresh:
            try:
                state = _live_state(api, entry)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, openai.OpenAIError) as error:
                # One job the service would not describe must not hide the others.
                state, status = None, f"{status} (could not refresh: {short_error(error)})"
            if state is not None:
                status, trained = state.status, state.output_model or trained
        rows.append(
            [
                "*" if current and entry.job_id == current else "",
                entry.job_name,
                status,
                entry.fingerprint[:12],
                entry.base_model,
                trained or "-",
                entry.launched_at,
                entry.ended_at or "-",
            ]
        )
    if not rows:
        ctx.print(f"{stack.describe()} has launched no job (its ledger {ledger.uri} is empty)")
    else:
        ctx.print(
            format_table(["", "job", "status", "fingerprint", "base model", "trained model", "launched", "ended"], rows)
        )
    for key in unreadable:
        ctx.note(f"warning: ledger entry s3://{ledger.bucket}/{key} is not readable JSON; look at it by hand")
    return EXIT_OK


def _live_state(api: JobApi, entry: LedgerEntry) -> JobState | None:
    """The job as the service reports it now. One whose create answer was lost is looked for as
    the launcher would (a Nova job by its name, a mantle job by its request token and training file)."""
    if entry.job_id:
        return api.describe(entry.job_id)
    return api.find(entry)


def _status(entry: LedgerEntry) -> str:
    from stacks.rft_job.runtime.ledger import CREATED, REJECTED, UNKNOWN

    if entry.request == UNKNOWN:
        return "may exist (create answer lost)"
    if entry.request == REJECTED:
        return "not created (rejected)"
    if entry.request != CREATED:
        return "may exist (launch interrupted)"
    return entry.status or "created"
