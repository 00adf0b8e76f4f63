"""The reward (grader) Lambda as a CDK construct, beside the runtime code it deploys."""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

from aws_cdk import Annotations, Duration, RemovalPolicy, Stack, aws_iam as iam, aws_lambda as lambda_
from constructs import Construct

from lambda_reward.runtime.contract import METRICS_NAMESPACE
from lambda_reward.runtime.tasks import PROMPT_OPENS_REASONING_ENV, TASK_ENV, Task
from stacks.config import GraderConfig
from stacks.python_asset import code_fingerprint, handler_path
from stacks.python_function import PythonFunction

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
HANDLER = handler_path(RUNTIME_DIR, "handler.handler")
# Files besides the code that tasks read at run time (the llm-judge rubric templates).
TASK_DATA_FILES = ("tasks/*.md",)
TASKS_FOLDER = "tasks"


def grader_code_fingerprint(runtime_dir: Path, task: Task) -> str:
    """The grader's code as far as it defines what ``task`` scores: everything but the modules and data
    files of other tasks (they ship, but adding or editing one must not restart this task's job)."""

    modules = task_modules(runtime_dir / TASKS_FOLDER, task.modules)

    def other_tasks(relative: Path) -> bool:
        if len(relative.parts) != 2 or relative.parts[0] != TASKS_FOLDER:
            return False
        name = relative.name
        if name.endswith(".py"):
            return not name.startswith("_") and relative.stem not in modules
        return name not in task.data_files

    return code_fingerprint(runtime_dir, TASK_DATA_FILES, ignore=other_tasks)


def task_modules(tasks_dir: Path, roots: frozenset[str]) -> set[str]:
    """``roots`` and every task module they import, directly or through each other (read from the
    source, not by importing it: a task that reuses another's code depends on that code)."""
    package = "lambda_reward.runtime.tasks"
    found, pending = set(roots), list(roots)
    while pending:
        path = tasks_dir / f"{pending.pop()}.py"
        if not path.is_file():
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name.removeprefix(package + ".") for alias in node.names
                         if alias.name.startswith(package + ".")]
            elif isinstance(node, ast.ImportFrom):
                if node.module == package or (node.level == 1 and node.module is None):
                    names = [alias.name for alias in node.names]  # `from ...tasks import x`: x may be a module
                elif node.module and node.module.startswith(package + "."):
                    names = [node.module.removeprefix(package + ".")]
                elif node.level == 1 and node.module:
                    names = [node.module]
            for name in (name.split(".")[0] for name in names):
                if name not in found and (tasks_dir / f"{name}.py").is_file():
                    found.add(name)
                    pending.append(name)
    return found



class RewardFunction(Construct):
    """Scores the model's sampled answers for Bedrock RFT.

    `version` is the published version a job must call: versions are immutable, so a later
    deploy of new grader code never changes the reward of a job already running. Old versions
    are retained for the same reason (a running job keeps calling the one it started with).
    `code_sha256` identifies the grader's code (runtime files, every task module among them, and
    pinned dependencies); `task` is what it scores, set in its environment (RFT_TASK).
    Concurrency (rft:grader.reservedConcurrency) is neither: a reservation is not part of a version, so
    a change never starts a new job.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: GraderConfig, task: Task, service_name: str,
        prompt_opens_reasoning: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self.task = task
        self.service_name = service_name  # Powertools' `service`: the dimension of the grader's own metrics
        self.timeout_seconds = settings.timeout_seconds or task.grader_timeout_seconds
        self.code_sha256 = grader_code_fingerprint(RUNTIME_DIR, task)
        if prompt_opens_reasoning:  # it changes what the grader scores: part of its identity (Qwen3 only)
            self.code_sha256 = hashlib.sha256(f"{self.code_sha256}:prompt-opens-reasoning".encode()).hexdigest()
        self.python = PythonFunction(
            self, "Grader",
            runtime_dir=RUNTIME_DIR,
            handler=HANDLER,
            data=TASK_DATA_FILES,
            # The role's description repeats it, and IAM takes Latin-1 only: the task's name, not its docstring.
            description=f"Bedrock RFT reward: scores each sampled answer with the {task.name} task",
            # rft:grader's memory and timeout, else what the task needs (Task.grader_memory_mb and
            # grader_timeout_seconds): 512 MB and 60 s for pure scoring, microseconds per sample, failing
            # fast (AWS advice: answer in seconds, not minutes); minutes and vCPUs for a judge or test runs.
            memory_mb=settings.memory_mb or task.grader_memory_mb,
            timeout=Duration.seconds(self.timeout_seconds),
            log_retention_days=settings.log_retention_days,
            environment={
                "POWERTOOLS_SERVICE_NAME": service_name,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                TASK_ENV: task.spec_json(),
                # Only for a model whose chat template opens <think> in the prompt (stacks/models.py).
                **({PROMPT_OPENS_REASONING_ENV: "true"} if prompt_opens_reasoning else {}),
            },
            current_version_options=lambda_.VersionOptions(
                removal_policy=RemovalPolicy.RETAIN,
                description=f"grader code sha256 {self.code_sha256[:16]}",
            ),
            # What the handler never imports, left out of the zip (about half its size). The handler
            # loads Powertools' package root, logging, metrics, tracing (the root imports Tracer),
            # shared, exceptions, warnings and utilities.typing / utilities.jmespath_utils: those
            # ship whole. Dropped: the other top-level subpackages and the other utilities, and
            # regex's, jsonschema's and referencing's own test suites. Not part of code_sha256 (the grader's
            # behaviour is the same),
            # but part of the asset hash; tests/stacks/test_lambda_assets.py runs the pruned asset.
            prune=(
                "aws_lambda_powertools/event_handler",
                "aws_lambda_powertools/middleware_factory",
                *(f"aws_lambda_powertools/utilities/{name}" for name in (
                    "auth_alpha", "batch", "circuit_breaker", "data_classes", "data_masking", "feature_flags",
                    "idempotency", "kafka", "metadata", "parameters", "parser", "serialization.py", "streaming",
                    "validation")),
                "regex/tests",
                # jsonschema's and referencing's own test suites and benchmarks.
                "jsonschema/tests", "jsonschema/benchmarks", "referencing/tests",
            ),
        )
        self.function = self.python.function
        if settings.reserved_concurrency is not None:
            # Not a version property: it applies at once, to a running job too, and leaves the version
            # (and so the job's spec and fingerprint) as it is. None, the default, reserves nothing.
            cfn_function = self.function.node.default_child
            assert isinstance(cfn_function, lambda_.CfnFunction)
            cfn_function.reserved_concurrent_executions = settings.reserved_concurrency
        self.version = self.function.current_version
        for setting, given, needed, unit in (("memoryMb", settings.memory_mb, task.grader_memory_mb, "MB"),
                                             ("timeoutSeconds", settings.timeout_seconds,
                                              task.grader_timeout_seconds, "s")):
            if given is not None and given < needed:
                Annotations.of(self).add_warning_v2(
                    f"rft:grader-{setting}",
                    f"rft:grader.{setting} is {given} {unit}, below the {needed} {unit} the {task.name} task needs: "
                    "samples may run out of time (they are then flagged, with a neutral score, not scored)",
                )
        # What the task itself calls (llm-judge: its judge model), and nothing else.
        stack = Stack.of(self)
        for statement in task.iam_statements(region=stack.region, account=stack.account, partition=stack.partition):
            self.python.role.add_to_policy(iam.PolicyStatement.from_json(statement))
