"""rftctl plan: before a deploy, what it does to each stack's paid RFT job."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..console import add_json_argument
from ..context import CommandContext
from ..errors import EXIT_CHECK_FAILED, EXIT_OK, CliError

HELP = "say, per stack, whether deploying the synthesized app starts a new paid job or keeps the running one"
JSON_KIND, JSON_VERSION = "plan", 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plan",
        help=HELP,
        description=(
            "Compare each stack's JobFingerprint in the synthesized assembly (cdk.out/) with the deployed "
            "stack's and print one line per stack: 'starts a new paid job (stops job X)', 'keeps job X' or "
            "'no job'. With --confirm (make deploy uses it) it asks before a deploy that would start or "
            "stop a job, and exits 1 unless the answer is yes; --yes answers for you. Read-only: it calls "
            "CloudFormation DescribeStacks and GetTemplate and SSM GetParameter."
        ),
    )
    parser.add_argument("--cdk-out", type=Path, default=Path("cdk.out"), metavar="DIR",
                        help="the synthesized cloud assembly (default cdk.out)")
    parser.add_argument("--confirm", action="store_true",
                        help="ask before a deploy that starts or stops a paid job; exit 1 without a yes")
    parser.add_argument("--yes", action="store_true", help="with --confirm: the answer is yes (non-interactive use)")
    add_json_argument(parser)
    parser.set_defaults(run=run)


def run(ctx: CommandContext, args: argparse.Namespace) -> int:
    from ..deployment_plan import STARTS, deployed_job, plan_stack, synthesized_stacks

    stacks = synthesized_stacks(args.cdk_out)
    if ctx.stack_name:
        names = [stack.name for stack in stacks]
        stacks = [stack for stack in stacks if stack.name == ctx.stack_name]
        if not stacks:
            raise CliError(f"{args.cdk_out} has no stack {ctx.stack_name}; it has {', '.join(names)}",
                           EXIT_CHECK_FAILED)
    plans = []
    for stack in stacks:
        ctx.hint.stack_name, ctx.hint.region = stack.name, stack.region
        plans.append(plan_stack(stack, deployed_job(ctx.clients, stack.name, stack.region)))
    paid = [plan for plan in plans if plan.paid_change]
    starts = sum(plan.action == STARTS for plan in paid)
    stops = sum(plan.stops_running_job for plan in paid)
    if args.json:
        # Printed before the question: the plan is what the operator says yes to.
        ctx.print_json(JSON_KIND, JSON_VERSION, {
            "assembly": str(args.cdk_out),
            "stacks": [plan.data() for plan in plans],
            "startsNewJobs": starts,
            "stopsRunningJobs": stops,
            "needsConfirmation": bool(paid),
        })
    else:
        for plan in plans:
            ctx.print(plan.line())
    if not args.confirm or not paid:
        return EXIT_OK
    what = " and ".join(part for part in (f"start {starts} new paid job{'s' * (starts != 1)}" if starts else "",
                                          f"stop {stops} running job{'s' * (stops != 1)}" if stops else "") if part)
    if ctx.confirm(f"This deploy will {what}.", word="yes", assume_yes=args.yes):
        return EXIT_OK
    ctx.note(f"not deploying: this deploy would {what}. Rerun with --yes (make deploy YES=1) if you mean it.")
    return EXIT_CHECK_FAILED
