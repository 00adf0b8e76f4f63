"""rftctl grade: score samples with the grader, locally or through the deployed Lambda."""

from __future__ import annotations

import argparse
import base64
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lambda_reward.runtime.contract import ResultKey
from stacks.rft_job.runtime.contract import Output

if TYPE_CHECKING:
    from lambda_reward.runtime.tasks import Task

from ..console import add_json_argument
from ..context import CommandContext
from ..errors import EXIT_CHECK_FAILED, EXIT_OK, CliError
from ..grading import reply_problems, results_data, results_table, summarize
from ..task_choice import DEFAULT_DEPLOYED, DEFAULT_OFFLINE, add_task_argument, offline_task, stack_task

HELP = "score a JSONL of answers with the grader (locally, or --remote via the deployed Lambda)"
# Lambda's synchronous (RequestResponse) payload limit.
LAMBDA_PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024
JSON_KIND, JSON_VERSION = "grade", 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "grade",
        help=HELP,
        description=(
            "Score each sample of FILE with the reward grader and print its reward, pass mark and "
            "metrics, then count, mean reward and pass rate. A line is a Bedrock grader sample "
            '{"id", "messages": [..., user, assistant], ...} or simply {"prompt", "answer", ...}; '
            "other fields (char_limit, reference_answer, ...) are passed on. Locally the repo's "
            "lambda_reward.runtime.grader scores them with the task (--task, else cdk.json's rft:task). "
            "With --remote the same samples go, as the JSON list "
            "Bedrock sends, to the stack's published grader version (GraderVersionArn), and the reply "
            "is checked against the Lambda contract: one result per sample, same ids in the same "
            "order, score in [0, 1], well-formed metrics."
        ),
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="JSONL of samples")
    parser.add_argument(
        "--remote", action="store_true", help="invoke the deployed grader Lambda instead of the local code"
    )
    add_task_argument(parser, default=f"{DEFAULT_OFFLINE}; with --remote, the local comparison uses {DEFAULT_DEPLOYED}")
    add_json_argument(parser)
    parser.set_defaults(run=run)


def run(ctx: CommandContext, args: argparse.Namespace) -> int:
    from lambda_reward.runtime.grader import grade_batch

    from ..samples import read_grader_samples

    samples = read_grader_samples(args.file)
    if args.remote:
        return _grade_remotely(ctx, samples, args)

    def report_malformed(index: int, sample_id: Any, reason: str) -> None:
        ctx.note(f"warning: sample {sample_id!r} (line {index + 1} of the batch) is malformed: {reason}")

    task = offline_task(args)
    ctx.note(f"task {task.name}: {task.description}")
    results = grade_batch(samples, task, on_malformed=report_malformed)
    if args.json:
        ctx.print_json(JSON_KIND, JSON_VERSION, _document(args, task=task.spec, results=results))
        return EXIT_OK
    ctx.print(results_table(results))
    ctx.print()
    ctx.print(summarize(results).line())
    return EXIT_OK


def _document(
    args: argparse.Namespace,
    *,
    task: dict[str, Any] | None,
    results: list[dict[str, Any]] | None = None,
    function_arn: str | None = None,
    problems: list[str] | None = None,
    function_error: dict[str, Any] | None = None,
    reply: Any = None,
    local_comparison: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The rftctl.grade document (version 1) without its kind and version. ``task`` is the task the
    samples were scored with locally (with --remote: the one the deployed grader's reply was checked
    against; None when the reply could not be checked)."""
    summary = summarize(results) if results is not None else None
    return {
        "file": str(args.file),
        "mode": "remote" if args.remote else "local",
        "functionArn": function_arn,
        "task": task,
        # A well-formed reply's results (or the local ones); None when the reply broke the contract.
        "results": results_data(results) if results is not None else None,
        "summary": {
            "count": summary.count,
            "meanReward": summary.mean_reward,
            "passCount": summary.pass_count,
            "passRate": summary.pass_rate,
        } if summary is not None else None,
        "problems": problems or [],
        "functionError": function_error,
        # The reply as received when it broke the contract, to look at.
        "reply": reply,
        "localComparison": local_comparison,
    }


def _function_error_detail(payload: bytes) -> str:
    try:
        error = json.loads(payload)
        detail = f"{error.get('errorType', 'Error')}: {error.get('errorMessage', '')}"
    except (ValueError, AttributeError):
        detail = payload[:300].decode("utf-8", "replace")
    return " ".join(detail.split())


def _grade_remotely(ctx: CommandContext, samples: list[dict[str, Any]], args: argparse.Namespace) -> int:
    stack = ctx.stack()
    function_arn = stack.output(Output.GRADER_VERSION_ARN)
    payload = json.dumps(samples, ensure_ascii=False).encode("utf-8")
    if len(payload) > LAMBDA_PAYLOAD_LIMIT_BYTES:
        raise CliError(
            f"{len(samples)} samples make a {len(payload) / 1e6:.1f} MB payload, over Lambda's 6 MB synchronous "
            "limit: split the file",
            EXIT_CHECK_FAILED,
        )
    ctx.note(f"invoking {function_arn} with {len(samples)} samples")
    response = ctx.clients.client("lambda", stack.region).invoke(
        FunctionName=function_arn, InvocationType="RequestResponse", LogType="Tail", Payload=payload
    )
    body = response["Payload"].read()
    if response.get("FunctionError"):
        kind, detail = response["FunctionError"], _function_error_detail(body)
        log_tail = base64.b64decode(response["LogResult"]).decode("utf-8", "replace").rstrip() \
            if response.get("LogResult") else None
        if args.json:
            ctx.print_json(JSON_KIND, JSON_VERSION, _document(
                args, task=None, function_arn=function_arn,
                function_error={"kind": kind, "message": detail, "logTail": log_tail}))
        else:
            ctx.print(f"the grader function failed ({kind}): {detail}")
        if log_tail:
            ctx.note("last log lines:\n" + log_tail)
        return EXIT_CHECK_FAILED
    try:
        reply = json.loads(body)
    except ValueError:
        problem = f"the grader replied with something that is not JSON: {body[:200]!r}"
        if args.json:
            ctx.print_json(JSON_KIND, JSON_VERSION,
                           _document(args, task=None, function_arn=function_arn, problems=[problem]))
        else:
            ctx.print(problem)
        return EXIT_CHECK_FAILED
    problems = reply_problems(samples, reply)
    if problems:
        if args.json:
            ctx.print_json(JSON_KIND, JSON_VERSION,
                           _document(args, task=None, function_arn=function_arn, problems=problems, reply=reply))
            return EXIT_CHECK_FAILED
        ctx.print(f"the grader's reply breaks the Bedrock contract ({len(problems)} problems):")
        for problem in problems:
            ctx.print(f"  {problem}")
        return EXIT_CHECK_FAILED

    task = stack_task(args, stack)
    differing = _differing_from_local(ctx, samples, reply, task)
    if args.json:
        ctx.print_json(JSON_KIND, JSON_VERSION, _document(
            args, task=task.spec, results=reply, function_arn=function_arn,
            local_comparison={"agrees": not differing, "differingIds": differing}))
    else:
        ctx.print(results_table(reply))
        ctx.print()
        ctx.print(summarize(reply).line())
    if differing:
        shown = ", ".join(repr(sample_id) for sample_id in differing[:10])
        ctx.note(
            f"warning: the deployed grader scores {len(differing)} samples differently from the local code "
            f"(ids {shown}); redeploy if this checkout is newer"
        )
    else:
        ctx.note("the deployed grader agrees with the local code on every sample")
    return EXIT_OK


def _differing_from_local(
    ctx: CommandContext, samples: list[dict[str, Any]], reply: list[dict[str, Any]], task: Task
) -> list[Any]:
    """Ids the deployed grader scores differently from this checkout (a stale deployment)."""
    from lambda_reward.runtime.grader import grade_batch

    from ..task_choice import opens_reasoning

    local = grade_batch(samples, task, prompt_opens_reasoning=opens_reasoning(ctx.stack().base_model))
    return [
        remote["id"]
        for remote, mine in zip(reply, local, strict=True)
        if abs(remote[ResultKey.REWARD] - mine[ResultKey.REWARD]) > 1e-9
    ]
