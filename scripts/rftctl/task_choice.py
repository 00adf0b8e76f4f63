"""Which task the grading commands score with: --task, else the deployed grader's, else cdk.json's."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from stacks.rft_job.runtime.contract import Output

from .errors import EXIT_CHECK_FAILED, CliError

if TYPE_CHECKING:
    from lambda_reward.runtime.tasks import Task

    from .stack import DeployedStack

TASK_CONTEXT_KEY = "rft:task"


def add_task_argument(parser: argparse.ArgumentParser, *, default: str) -> None:
    parser.add_argument(
        "--task",
        metavar="TASK",
        help=f"task to grade with: a name (char-limit, math-answer, ...) or its JSON object with options "
        f"(default: {default})",
    )


# What --task defaults to, by where the command takes its task from.
DEFAULT_OFFLINE = "cdk.json's rft:task (the app-wide one; a stack's own rft:nova.task is not read)"
DEFAULT_DEPLOYED = "the deployed grader's, its stack output GraderTask"


def project_task_spec() -> Any:
    """cdk.json's rft:task (a name or an object); None when it sets none (the default task)."""
    from stacks.config import load_project_context

    raw = load_project_context().get(TASK_CONTEXT_KEY)
    return _decoded(raw, "cdk.json rft:task") if isinstance(raw, str) else raw


def _decoded(text: str, where: str) -> Any:
    if not text.lstrip().startswith("{"):
        return text
    try:
        return json.loads(text)
    except ValueError as error:
        raise CliError(f"{where}: not a task name nor a JSON object: {error}") from None


def load(spec: Any, where: str) -> Task:
    from lambda_reward.runtime.tasks import TaskError, load_task

    try:
        return load_task(spec)
    except TaskError as error:
        raise CliError(f"{where}: {'; '.join(error.problems)}", EXIT_CHECK_FAILED) from None


def offline_task(args: argparse.Namespace) -> Task:
    """--task, else cdk.json's rft:task: for what needs no AWS (validate, grade, checking a prompt file)."""
    if getattr(args, "task", None):
        return load(_decoded(args.task, "--task"), "--task")
    return load(project_task_spec(), "cdk.json rft:task")


def stack_task(args: argparse.Namespace, stack: DeployedStack) -> Task:
    """--task, else the task the stack's grader was deployed with; a stack from before tasks (no
    GraderTask output) scored the character limit, so char-limit with its defaults."""
    if getattr(args, "task", None):
        return offline_task(args)
    deployed = stack.optional_output(Output.GRADER_TASK)
    if deployed:
        return load(_decoded(deployed, f"stack output {Output.GRADER_TASK}"), f"stack output {Output.GRADER_TASK}")
    return load(None, "the default task")


def opens_reasoning(base_model: str) -> bool:
    """Whether the model's chat template opens its reasoning block in the prompt (as its grader is told)."""
    from stacks.models import rft_model

    model = rft_model(base_model)
    return bool(model and model.prompt_opens_reasoning)
