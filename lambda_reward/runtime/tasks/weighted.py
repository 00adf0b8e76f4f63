"""A weighted combination of other tasks: a weighted mean or product of their rewards.

The default is char-limit x llm-judge (product): an answer within its limit, as good as the judge says.

``{"name": "weighted", "tasks": [{"name": "char-limit"}, {"name": "llm-judge", "weight": 2}],
"combine": "product"}``: each entry is a task spec (its own options beside ``name``) with an
optional ``weight`` (default 1). ``sum`` is the weighted mean of the rewards; ``product`` the
weighted geometric mean, so any one task at 0 makes the whole 0: with char-limit and a quality
task, length is a constraint an answer must meet, not the goal a short empty answer reaches.

Metrics: each task's reward and metrics, prefixed with its name (``char-limit.reward``,
``char-limit.char_count``, ...). A sample passes when it passes every task; a task's flag is the
sample's flag; a task that finds a sample malformed makes it malformed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from lambda_reward.runtime.samples import ParsedSample
from lambda_reward.runtime.tasks import (
    NAME_KEY,
    Deadline,
    Malformed,
    Score,
    Task,
    TaskError,
    TaskFailure,
    load_task,
)

WEIGHT_KEY: Final = "weight"
OPTIONS: Final = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "tasks": {
            "type": "array",
            "minItems": 1,
            "maxItems": 8,
            "items": {
                "type": "object",
                "required": [NAME_KEY],
                "properties": {NAME_KEY: {"type": "string"}, WEIGHT_KEY: {"type": "number", "minimum": 0}},
            },
            # The example: length is a constraint, quality the goal.
            "default": [{NAME_KEY: "char-limit"}, {NAME_KEY: "llm-judge"}],
            "description": "the tasks combined: each a task spec with an optional weight (default 1)",
        },
        "combine": {"enum": ["sum", "product"], "default": "product",
                    "description": "sum: weighted mean; product: weighted geometric mean (any 0 gives 0)"},
    },
}


class Weighted:
    def __init__(self, options: Mapping[str, Any]) -> None:
        self.parts: list[tuple[Task, float]] = []
        problems: list[str] = []
        for index, entry in enumerate(options["tasks"]):
            spec = {key: value for key, value in entry.items() if key != WEIGHT_KEY}
            if spec[NAME_KEY].replace("_", "-") == "weighted":
                problems.append(f"tasks[{index}]: a weighted task cannot contain another (flatten it)")
                continue
            try:
                self.parts.append((load_task(spec), float(entry.get(WEIGHT_KEY, 1))))
            except TaskError as error:
                problems.extend(f"tasks[{index}]: {problem}" for problem in error.problems)
        if not problems and sum(weight for _, weight in self.parts) <= 0:
            problems.append("tasks: at least one weight must be above 0")
        if problems:
            raise TaskError(problems)
        self.product = options["combine"] == "product"
        # Its tasks score one after the other within one invocation: the slowest sets the need.
        self.GRADER_TIMEOUT_SECONDS = max(task.grader_timeout_seconds for task, _ in self.parts)
        self.GRADER_MEMORY_MB = max(task.grader_memory_mb for task, _ in self.parts)
        self.USES_MODULES = frozenset(module for task, _ in self.parts for module in task.modules)
        self.DATA_FILES = frozenset(name for task, _ in self.parts for name in task.data_files)
        self.DESCRIPTION = ("weighted " + options["combine"] + " of "
                            + ", ".join(f"{task.name} x{weight:g}" for task, weight in self.parts))

    def score_batch(self, samples: list[ParsedSample], deadline: Deadline) -> list[Any]:
        per_task = []
        for task, _ in self.parts:
            try:
                scores: Sequence[Any] = task.score_batch(samples, deadline)
                if len(scores) != len(samples):
                    raise ValueError(f"returned {len(scores)} scores for {len(samples)} samples")
            except Exception as error:  # one task's bug costs its samples, reported as such
                scores = [TaskFailure(f"task {task.name}: {type(error).__name__}: {error}")] * len(samples)
            per_task.append(scores)
        return [self._combine([scores[index] for scores in per_task]) for index in range(len(samples))]

    def _combine(self, scores: list[Any]) -> Any:
        metrics: dict[str, float] = {}
        passed = True
        flag = None
        weighted_total = total_weight = 0.0
        log_total = 0.0
        zero = False
        for (task, weight), score in zip(self.parts, scores, strict=True):
            if isinstance(score, (Malformed, TaskFailure)):
                return type(score)(f"task {task.name}: {score.reason}")
            if isinstance(score, Score):
                reward, own_passed = score.reward, score.passed
                for name, value in score.metrics.items():
                    metrics[f"{task.name}.{name}"] = value
                flag = flag or score.flag
            else:
                reward, own_passed = score, None
            if isinstance(reward, bool) or not isinstance(reward, (int, float)) or math.isnan(reward):
                return TaskFailure(f"task {task.name} returned {reward!r}, not a number")
            reward = min(max(float(reward), 0.0), 1.0)
            metrics[f"{task.name}.reward"] = reward
            passed = passed and (own_passed if own_passed is not None else reward >= task.pass_at)
            weighted_total += weight * reward
            total_weight += weight
            if weight > 0:
                if reward == 0.0:
                    zero = True
                else:
                    log_total += weight * math.log(reward)
        if self.product:
            combined = 0.0 if zero else math.exp(log_total / total_weight)
        else:
            combined = weighted_total / total_weight
        return Score(combined, metrics, passed=passed, flag=flag)

    def iam_statements(self, *, region: str, account: str, partition: str) -> list[dict[str, Any]]:
        """Every part's statements, each once (two judges of one model need one grant), Sids kept unique."""
        found: list[dict[str, Any]] = []
        seen: set[str] = set()
        for index, (task, _) in enumerate(self.parts):
            for statement in task.iam_statements(region=region, account=account, partition=partition):
                grant = json.dumps({k: v for k, v in statement.items() if k != "Sid"}, sort_keys=True)
                if grant in seen:
                    continue
                seen.add(grant)
                found.append({**statement, "Sid": f"Part{index}{statement.get('Sid', 'Task')}"})
        return found

    def check_record(self, record: dict[str, Any]) -> list[str]:
        return [f"{task.name}: {problem}" for task, _ in self.parts for problem in task.check_record(record)]


def configure(options: Mapping[str, Any]) -> Weighted:
    return Weighted(options)
