"""rftctl history: every RFT job the stack launched, from its job ledger, with live status."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from stacks.rft_job.runtime.contract import NOT_FOUND_STATUS, Output

from ..console import add_json_argument, format_table
from ..context import CommandContext
from ..errors import EXIT_OK

if TYPE_CHECKING:
    from stacks.rft_job.runtime.job_api import JobApi
    from stacks.rft_job.runtime.job_state import JobState
    from stacks.rft_job.runtime.ledger import LedgerEntry

HELP = "list every RFT job the stack launched: name, status, fingerprint, models and times"
JSON_KIND, JSON_VERSION = "history", 1
SHOWN_FINGERPRINT = 12


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
    add_json_argument(parser)
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
    jobs = []
    for entry in sorted(entries, key=lambda e: e.launched_at):
        status, trained, job_id, refresh_error = _status(entry), entry.output_model, entry.job_id, None
        settled = entry.request == REJECTED or (entry.status or "").split(":")[0] in final
        refreshed = False
        if not settled and not args.no_refresh:
            try:
                state = _live_state(api, entry)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, openai.OpenAIError) as error:
                # One job the service would not describe must not hide the others.
                state, refresh_error = None, short_error(error)
            if state is not None:
                status, trained, refreshed = state.status, state.output_model or trained, True
                job_id = job_id or state.job_id
        jobs.append(
            {
                "current": bool(current and entry.job_id == current),
                "jobName": entry.job_name,
                "jobId": job_id,
                "status": status,
                "refreshed": refreshed,
                "refreshError": refresh_error,
                "request": entry.request,
                "fingerprint": entry.fingerprint,
                "baseModel": entry.base_model,
                "trainedModel": trained,
                "launchedAt": entry.launched_at,
                "endedAt": entry.ended_at,
            }
        )
    unreadable_uris = [f"s3://{ledger.bucket}/{key}" for key in unreadable]
    if args.json:
        ctx.print_json(JSON_KIND, JSON_VERSION, {
            "stack": stack.name, "region": stack.region, "variant": stack.variant.value, "ledgerUri": ledger.uri,
            "currentJobId": current, "jobs": jobs, "unreadableEntries": unreadable_uris,
        })
    else:
        _print_table(ctx, jobs, f"{stack.describe()} has launched no job (its ledger {ledger.uri} is empty)")
    for uri in unreadable_uris:
        ctx.note(f"warning: ledger entry {uri} is not readable JSON; look at it by hand")
    return EXIT_OK


def _print_table(ctx: CommandContext, jobs: list[dict[str, Any]], empty: str) -> None:
    rows = [
        [
            "*" if job["current"] else "",
            job["jobName"],
            job["status"] + (f" (could not refresh: {job['refreshError']})" if job["refreshError"] else ""),
            job["fingerprint"][:SHOWN_FINGERPRINT],
            job["baseModel"],
            job["trainedModel"] or "-",
            job["launchedAt"],
            job["endedAt"] or "-",
        ]
        for job in jobs
    ]
    if not rows:
        ctx.print(empty)
    else:
        ctx.print(
            format_table(["", "job", "status", "fingerprint", "base model", "trained model", "launched", "ended"], rows)
        )


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
