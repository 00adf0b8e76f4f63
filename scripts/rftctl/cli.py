"""Argument parsing and the top-level error boundary of rftctl."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from stacks.models import Variant

from .aws import AwsClients, ClientFactory
from .commands import (
    compare,
    deploy_model,
    grade,
    history,
    metrics,
    plan,
    preflight,
    report,
    status,
    stop,
    validate,
)
from .context import CommandContext
from .errors import EXIT_INTERRUPTED, explain

COMMANDS = (validate, grade, preflight, plan, status, history, stop, metrics, deploy_model, compare, report)
PROG = "rftctl"

DESCRIPTION = """\
Operate the Bedrock reinforcement fine-tuning stacks: check data and grader, decide whether RFT
is worth it, follow the job, read its reward curves, deploy and compare the tuned model.

The stack is found by its tags (rft:app, rft:variant=nova|mantle): Nova stacks in
us-east-1, mantle stacks in us-west-2. With several deployed, name one with --stack.
"""

EPILOG = """\
exit codes: 0 ok; 1 the check failed (invalid data, malformed grader reply, job failed or
stopped, deployment failed); 2 usage or AWS error (one line says what to do); 3 still running
when --timeout ran out; 130 interrupted (Ctrl-C).
"""


def _global_options(parser: argparse.ArgumentParser, default: Any) -> None:
    group = parser.add_argument_group("stack and AWS options")
    group.add_argument(
        "--stack",
        default=default,
        metavar="NAME",
        help="stack to use (default: the only deployed RFT stack, found by its tags)",
    )
    group.add_argument(
        "--region", default=default, help="AWS region of the stack (default: us-east-1 for nova, us-west-2 for mantle)"
    )
    group.add_argument("--profile", default=default, help="AWS named profile (default: the standard credential chain)")
    group.add_argument(
        "--variant", default=default, choices=[v.value for v in Variant], help="look only for stacks of this variant"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    _global_options(parser, None)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(subparsers)
    for subparser in subparsers.choices.values():
        # Global options are accepted after the command too (`rftctl status --stack X`).
        # SUPPRESS keeps a subcommand from resetting a value given before it.
        _global_options(subparser, argparse.SUPPRESS)
        subparser.epilog = EPILOG
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    clients: ClientFactory | None = None,
    context_options: dict[str, Any] | None = None,
) -> int:
    """Run one command; returns the exit code. ``clients`` and ``context_options`` are for tests."""
    args = build_parser().parse_args(argv)
    ctx = CommandContext(
        clients=clients if clients is not None else AwsClients(args.profile),
        stack_name=args.stack,
        region=args.region,
        variant=Variant(args.variant) if args.variant else None,
        **(context_options or {}),
    )
    ctx.hint.profile = args.profile
    ctx.hint.region = args.region
    try:
        return args.run(ctx, args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted (Ctrl-C)", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        explained = explain(error, ctx.hint)
        if explained is None:
            raise
        print(f"{PROG}: error: {explained}", file=sys.stderr)
        return explained.exit_code
