"""Choosing the task: each built-in task synthesizes with `-c rft:task=<name>` and its own dataset."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lambda_reward.runtime.tasks import TASK_ENV, load_task, task_names
from rftctl.deployment_plan import job_fingerprint_of
from stacks.config import PROJECT_ROOT, TASK_DATA_DIRECTORY, build_config
from stacks.dataset import validate_training_set
from stacks.rft_job.runtime.contract import Output
from stacks.rft_job.runtime.job_spec import SpecKey
from tests.conftest import CDK_CONTEXT, synth

# A task may be listed without data of its own only if it is a helper kind (none are today).
TASKS_WITH_DATA = sorted(name for name in task_names() if (TASK_DATA_DIRECTORY / name).is_dir())


def test_every_built_in_task_brings_a_dataset() -> None:
    assert TASKS_WITH_DATA == task_names()


@pytest.mark.parametrize("name", TASKS_WITH_DATA)
def test_each_task_configures_with_its_own_dataset_and_the_dataset_validates(name: str) -> None:
    config = build_config({**CDK_CONTEXT, "rft:task": name})
    for stack in config.stacks:
        assert stack.task.name == name
        assert stack.dataset.training_key == f"{name}/training.jsonl"
        training, validation = validate_training_set(stack.dataset.training_path, stack.dataset.validation_path,
                                                     stack.task)
        assert training.records >= 100 and validation is not None and validation.records >= 10
        assert training.task == name


def test_a_stack_with_another_task_carries_it_everywhere(tmp_path: Path) -> None:
    templates = synth(tmp_path, {"rft:task": "exact-match"}, nag=False)
    for template in templates.values():
        spec_json = load_task("exact-match").spec_json()
        (grader,) = [r for r in template.find_resources("AWS::Lambda::Function").values()
                     if TASK_ENV in r["Properties"].get("Environment", {}).get("Variables", {})]
        assert grader["Properties"]["Environment"]["Variables"][TASK_ENV] == spec_json
        assert template.find_outputs(Output.GRADER_TASK)[Output.GRADER_TASK]["Value"] == spec_json
        (job,) = template.find_resources("Custom::BedrockRftJob").values()
        # The spec is an Fn::Join of JSON text around the resources' tokens.
        expected = f'\\"{SpecKey.GRADER_TASK}\\":{{\\"name\\":\\"exact-match\\"}}'
        assert expected in json.dumps(job["Properties"]["JobSpec"])
        uploads = json.dumps(template.find_resources("Custom::CDKBucketDeployment"))
        assert "training-data/" in uploads


def test_the_generated_datasets_are_what_their_generators_write() -> None:
    run = subprocess.run([sys.executable, str(PROJECT_ROOT / "scripts" / "make_datasets.py"), "--check"],
                         capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_llm_judge_gets_exactly_its_judge_model_and_a_longer_timeout(tmp_path: Path) -> None:
    templates = synth(tmp_path, {"rft:task": "llm-judge", "rft:mantle": {"models": []}}, nag=True)
    (template,) = templates.values()
    (grader,) = [r for r in template.find_resources("AWS::Lambda::Function").values()
                 if TASK_ENV in r["Properties"].get("Environment", {}).get("Variables", {})]
    assert grader["Properties"]["Timeout"] == 300
    role_id = grader["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = [statement
                  for policy in template.find_resources("AWS::IAM::Policy").values()
                  if any(role["Ref"] == role_id for role in policy["Properties"]["Roles"])
                  for statement in policy["Properties"]["PolicyDocument"]["Statement"]]
    invoke = [s for s in statements if s["Action"] == "bedrock:InvokeModel"]
    assert len(invoke) == 2
    text = json.dumps(invoke)
    assert "inference-profile/us.amazon.nova-2-lite-v1:0" in text
    assert "foundation-model/amazon.nova-2-lite-v1:0" in text and "*" not in text.replace('"*"', "")
    assert "bedrock:InferenceProfileArn" in text


def test_a_grader_timeout_set_in_the_config_wins_over_the_tasks(tmp_path: Path) -> None:
    templates = synth(tmp_path, {"rft:task": "llm-judge", "rft:grader.timeoutSeconds": "120",
                                 "rft:mantle": {"models": []}}, nag=False)
    (template,) = templates.values()
    timeouts = [r["Properties"].get("Timeout") for r in template.find_resources("AWS::Lambda::Function").values()
                if TASK_ENV in r["Properties"].get("Environment", {}).get("Variables", {})]
    assert timeouts == [120]


def test_code_tests_gets_two_vcpus_unless_the_config_says(tmp_path: Path) -> None:
    def grader_memory(overrides: dict[str, object], out: Path) -> list[int]:
        (template,) = synth(out, {"rft:task": "code-tests", "rft:mantle": {"models": []}, **overrides},
                            nag=False).values()
        return [r["Properties"]["MemorySize"] for r in template.find_resources("AWS::Lambda::Function").values()
                if TASK_ENV in r["Properties"].get("Environment", {}).get("Variables", {})]

    assert grader_memory({}, tmp_path / "a") == [3538]
    assert grader_memory({"rft:grader.memoryMb": "1024"}, tmp_path / "b") == [1024]


@pytest.mark.parametrize("name", TASKS_WITH_DATA)
def test_each_task_synthesizes_clean_under_cdk_nag_and_cfn_lint(name: str, tmp_path: Path) -> None:
    """-c rft:task=<name> as a user types it: both stacks, cdk-nag with nothing unacknowledged, cfn-lint clean."""
    from cfnlint.api import lint_all

    from tests.stacks.test_validators import IGNORED_CFN_LINT_RULES

    synth(tmp_path, {"rft:task": name}, nag=True)  # an unacknowledged cdk-nag finding fails the synth
    for path in sorted(tmp_path.glob("*.template.json")):
        # The fingerprint the stack declares is the one rftctl plan and the launcher read from the spec
        # as the template holds it (json-schema's null option once made the launcher refuse every job).
        template = json.loads(path.read_text())
        (job,) = [r for r in template["Resources"].values() if r["Type"] == "Custom::BedrockRftJob"]
        assert job_fingerprint_of(template)[1] == job["Properties"]["JobFingerprint"], (name, path.name)
        matches = [m for m in lint_all(path.read_text())
                   if m.rule.id[0] in "EW" and m.rule.id not in IGNORED_CFN_LINT_RULES]
        assert not matches, f"{name} {path.name}:\n" + "\n".join(str(m) for m in matches)


def test_only_a_model_whose_template_opens_reasoning_tells_its_grader(tmp_path: Path) -> None:
    from lambda_reward.runtime.tasks import PROMPT_OPENS_REASONING_ENV

    templates = synth(tmp_path, {"rft:mantle": {"models": ["openai.gpt-oss-20b", "qwen.qwen3-32b"]}}, nag=False)
    found = {}
    for name, template in templates.items():
        (grader,) = [r for r in template.find_resources("AWS::Lambda::Function").values()
                     if TASK_ENV in r["Properties"].get("Environment", {}).get("Variables", {})]
        found[name] = grader["Properties"]["Environment"]["Variables"].get(PROMPT_OPENS_REASONING_ENV)
    assert found == {"BedrockRft-Nova2Lite": None, "BedrockRft-GptOss20b": None, "BedrockRft-Qwen3-32b": "true"}


def test_the_graders_code_fingerprint_covers_its_task_not_the_others(tmp_path: Path) -> None:
    """Adding or editing another task's module must never restart this task's paid job."""
    import shutil

    from lambda_reward.infrastructure import grader_code_fingerprint

    runtime = tmp_path / "lambda_reward" / "runtime"
    shutil.copytree(PROJECT_ROOT / "lambda_reward" / "runtime", runtime,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "lambda_reward" / "__init__.py").write_text("")
    char_limit, judge = load_task("char-limit"), load_task("llm-judge")
    weighted = load_task({"name": "weighted", "tasks": [{"name": "char-limit"}, {"name": "llm-judge"}]})
    before = {name: grader_code_fingerprint(runtime, task)
              for name, task in (("char", char_limit), ("judge", judge), ("weighted", weighted))}

    (runtime / "tasks" / "my_team_task.py").write_text("def score(answer, sample):\n    return 1.0\n")
    with (runtime / "tasks" / "llm_judge_rubric.md").open("a", encoding="utf-8") as rubric:
        rubric.write("\nBe strict.\n")
    after = {name: grader_code_fingerprint(runtime, task)
             for name, task in (("char", char_limit), ("judge", judge), ("weighted", weighted))}
    assert after["char"] == before["char"]  # a new task and another task's rubric: not char-limit's code
    assert after["judge"] != before["judge"] and after["weighted"] != before["weighted"]

    with (runtime / "tasks" / "_text.py").open("a", encoding="utf-8") as shared:
        shared.write("\n# a shared helper changed\n")
    assert grader_code_fingerprint(runtime, char_limit) != after["char"]  # private helpers count for all
    with (runtime / "grader.py").open("a", encoding="utf-8") as grader:
        grader.write("\n# the grader changed\n")
    assert grader_code_fingerprint(runtime, judge) != after["judge"]

    # A team's task that reuses another task's code depends on it.
    import types

    from lambda_reward.runtime.tasks import task_from_module

    (runtime / "tasks" / "reuses.py").write_text(
        "from lambda_reward.runtime.tasks.char_limit import count_characters\n\n"
        "def score(answer, sample):\n    return float(count_characters(answer) < 10)\n")
    module = types.ModuleType("lambda_reward.runtime.tasks.reuses")
    module.score = lambda answer, sample: 1.0  # type: ignore[attr-defined]
    reuses = task_from_module(module, "reuses", {})
    first, judge_first = grader_code_fingerprint(runtime, reuses), grader_code_fingerprint(runtime, judge)
    with (runtime / "tasks" / "char_limit.py").open("a", encoding="utf-8") as imported:
        imported.write("\n# char-limit changed\n")
    assert grader_code_fingerprint(runtime, reuses) != first
    assert grader_code_fingerprint(runtime, judge) == judge_first  # llm-judge does not use char-limit


def test_a_grader_smaller_than_its_task_needs_is_a_synth_warning(tmp_path: Path) -> None:
    from aws_cdk.assertions import Annotations, Match

    from tests.conftest import synth_stacks

    stacks = synth_stacks(tmp_path, {"rft:task": "code-tests", "rft:grader.memoryMb": "512",
                                     "rft:mantle": {"models": []}}, nag=False)
    (stack,) = stacks.values()
    Annotations.from_stack(stack).has_warning("*", Match.string_like_regexp("memoryMb is 512 MB, below the 3538 MB"))
