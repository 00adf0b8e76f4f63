"""Which task rftctl grades with: --task, else the deployed grader's (GraderTask), else cdk.json's."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field

import pytest

from lambda_reward.runtime.tasks import load_task
from rftctl.errors import CliError
from rftctl.task_choice import offline_task, opens_reasoning, stack_task


@dataclass
class Stack:
    outputs: dict[str, str] = field(default_factory=dict)

    def optional_output(self, key: str) -> str | None:
        return self.outputs.get(key) or None


def args(task: str | None = None) -> argparse.Namespace:
    return argparse.Namespace(task=task)


def test_task_by_name_or_json() -> None:
    assert offline_task(args("math_answer")).name == "math-answer"
    task = offline_task(args('{"name": "char-limit", "minShare": 0.5}'))
    assert (task.name, task.options["minShare"]) == ("char-limit", 0.5)


def test_without_task_the_offline_commands_use_cdk_json() -> None:
    assert offline_task(args()).name == "char-limit"  # cdk.json's rft:task


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("nope", "--task: unknown task 'nope'"),
        ('{"name": "char-limit", "minShare": 5}', "--task: task char-limit: minShare: 5 is greater than the maximum"),
        ("{not json", "--task: not a task name nor a JSON object"),
    ],
)
def test_a_bad_task_is_an_error_naming_the_option(given: str, message: str) -> None:
    with pytest.raises(CliError) as error:
        offline_task(args(given))
    assert str(error.value).startswith(message)


def test_a_stack_grades_with_its_deployed_task_unless_told() -> None:
    deployed = Stack({"GraderTask": load_task({"name": "math-answer", "partialCredit": 0.1}).spec_json()})
    task = stack_task(args(), deployed)  # type: ignore[arg-type]
    assert (task.name, task.options["partialCredit"]) == ("math-answer", 0.1)
    assert stack_task(args("exact-match"), deployed).name == "exact-match"  # type: ignore[arg-type]


def test_a_stack_from_before_tasks_scored_the_character_limit() -> None:
    task = stack_task(args(), Stack())  # type: ignore[arg-type]
    assert (task.name, dict(task.options)) == ("char-limit", dict(load_task("char-limit").options))


def test_a_broken_grader_task_output_names_the_output() -> None:
    with pytest.raises(CliError) as error:
        stack_task(args(), Stack({"GraderTask": json.dumps({"name": "gone"})}))  # type: ignore[arg-type]
    assert str(error.value).startswith("stack output GraderTask: unknown task 'gone'")


def test_only_qwen3_opens_its_reasoning_in_the_prompt() -> None:
    assert opens_reasoning("qwen.qwen3-32b") and not opens_reasoning("openai.gpt-oss-20b")
    assert not opens_reasoning("amazon.nova-2-lite-v1:0:256k") and not opens_reasoning("unknown.model")
