"""The configuration object: defaults from cdk.json, -c overrides, and errors that name the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stacks.config import PROJECT_ROOT as ROOT, ConfigError, Variant, build_config, load_project_context
from tests.conftest import CDK_CONTEXT


def config_with(**overrides: Any):
    context = {**CDK_CONTEXT, **{f"rft:{k}": v for k, v in overrides.items()}}
    return build_config(context)


def problems_of(**overrides: Any) -> list[str]:
    with pytest.raises(ConfigError) as error:
        config_with(**overrides)
    return error.value.problems


def test_defaults_from_cdk_json() -> None:
    config = config_with()
    nova, mantle = config.stacks
    assert (nova.stack_name, nova.variant, nova.region, nova.base_model) == (
        "BedrockRft-Nova2Lite", Variant.NOVA, "us-east-1", "amazon.nova-2-lite-v1:0:256k")
    assert dict(nova.hyperparameters) == {"epochCount": 10, "trainingSamplePerPrompt": 8}
    assert (mantle.stack_name, mantle.variant, mantle.region, mantle.base_model) == (
        "BedrockRft-GptOss20b", Variant.MANTLE, "us-west-2", "openai.gpt-oss-20b")
    assert nova.launch_job and mantle.launch_job
    assert nova.parameter_prefix == "/bedrock-rft/BedrockRft-Nova2Lite"
    assert nova.task.name == mantle.task.name == "char-limit"
    assert nova.dataset.training_path.relative_to(ROOT) == Path("training-data/char-limit/training.jsonl")
    assert nova.dataset.training_key == "char-limit/training.jsonl"
    assert nova.grader.memory_mb is None and nova.grader.timeout_seconds is None  # the task decides: 512 MB, 60 s


def test_cli_strings_are_decoded_as_json() -> None:
    # `cdk synth -c rft:launchJob=false -c 'rft:mantle={"models": [...]}'` gives strings.
    config = config_with(
        launchJob="false", mantle='{"models": ["qwen.qwen3-32b"], "hyperParameters": {"n_epochs": "2"}}'
    )
    assert not any(s.launch_job for s in config.stacks)
    qwen = config.stacks[1]
    assert qwen.stack_name == "BedrockRft-Qwen3-32b" and dict(qwen.hyperparameters) == {"n_epochs": 2}


def test_per_variant_and_per_model_overrides() -> None:
    config = config_with(
        nova={"hyperParameters": {"epochCount": 2}, "launchJob": False, "tags": {"owner": "ml"}},
        mantle={
            "models": ["openai.gpt-oss-20b", "qwen.qwen3-32b"],
            "hyperParameters": {"n_epochs": 1},
            "modelOverrides": {"qwen.qwen3-32b": {"hyperParameters": {"batch_size": 8}, "grader": {"memoryMb": 1024}}},
        },
    )
    nova, gpt, qwen = config.stacks
    assert not nova.launch_job and gpt.launch_job
    assert nova.tags["owner"] == "ml" and nova.tags["project"] == "bedrock-rft" and "owner" not in gpt.tags
    assert dict(qwen.hyperparameters) == {"n_epochs": 1, "batch_size": 8}
    assert qwen.grader.memory_mb == 1024 and gpt.grader.memory_mb is None  # None: the task's 512 MB


@pytest.mark.parametrize(
    "overrides,expected",
    [
        (
            {"nova": {"hyperParameters": {"epochCount": 0}}},
            "rft:nova.hyperParameters.epochCount: 0 is out of range; allowed from 1 to 50",
        ),
        # The rules the launcher once repeated (a whole number, not a boolean) are the config's alone.
        (
            {"nova": {"hyperParameters": {"epochCount": 2.5}}},
            "rft:nova.hyperParameters.epochCount: expected a whole number from 1 to 50, got 2.5",
        ),
        (
            {"nova": {"hyperParameters": {"epochCount": True}}},
            "rft:nova.hyperParameters.epochCount: expected a whole number from 1 to 50, got True",
        ),
        (
            {"nova": {"hyperParameters": {"trainingSamplePerPrompt": 17}}},
            "rft:nova.hyperParameters.trainingSamplePerPrompt: 17 is out of range; allowed from 2 to 16",
        ),
        (
            {"nova": {"hyperParameters": {"learningRate": 0.5}}},
            "rft:nova.hyperParameters.learningRate: 0.5 is out of range; allowed from 1e-07 to 0.001",
        ),
        (
            {"nova": {"hyperParameters": {"reasoningEffort": "max"}}},
            "rft:nova.hyperParameters.reasoningEffort: expected one of low, medium, high, got 'max'",
        ),
        ({"nova": {"hyperParameters": {"epochs": 3}}}, "rft:nova.hyperParameters.epochs: unknown setting"),
        (
            {"nova": {"hyperParameters": {"batchSize": 8}}},
            "rft:nova.hyperParameters.batchSize: 8 is out of range; allowed from 16 to 512",
        ),
        (
            {"nova": {"hyperParameters": {"epochCount": True}}},
            "rft:nova.hyperParameters.epochCount: expected a whole number",
        ),
        (
            {"nova": {"baseModel": "amazon.nova-pro-v1:0"}},
            "rft:nova.baseModel: expected one of amazon.nova-2-lite-v1:0:256k",
        ),
        ({"mantle": {"models": ["meta.llama3"]}}, "rft:mantle.models: 'meta.llama3' is not an RFT model"),
        (
            {"mantle": {"models": ["openai.gpt-oss-20b"], "hyperParameters": {"n_epochs": 0}}},
            "rft:mantle.hyperParameters.n_epochs: 0 is out of range; allowed 1 to 50",
        ),
        (
            # OpenAI's reinforcement schema stops at 256: a bigger batch would be sent and refused.
            {"mantle": {"models": ["openai.gpt-oss-20b"], "hyperParameters": {"batch_size": 257}}},
            "rft:mantle.hyperParameters.batch_size: 257 is out of range; allowed 1 to 256",
        ),
        (
            {"mantle": {"models": ["openai.gpt-oss-20b"], "hyperParameters": {"suffix": "x"}}},
            "rft:mantle.hyperParameters.suffix: unknown setting",
        ),
        (
            {"mantle": {"models": ["openai.gpt-oss-20b"], "baseUrl": "http://x"}},
            "rft:mantle.baseUrl: expected an https:// URL",
        ),
        ({"grader": {"memoryMb": 64}}, "rft:grader.memoryMb: 64 is out of range; allowed 128 to 10240"),
        ({"grader": {"logRetentionDays": 31}}, "rft:grader.logRetentionDays: 31 is not a CloudWatch Logs retention"),
        ({"launchJob": "maybe"}, "rft:launchJob: expected true or false, got 'maybe'"),
        ({"appPrefix": "Bad Prefix"}, "rft:appPrefix: expected 3-32 lowercase letters"),
        ({"notificationEmails": ["not-an-address"]}, "rft:notificationEmails: not an e-mail address: 'not-an-address'"),
        ({"dataset": {"training": "train.csv"}}, "rft:dataset.training: expected a .jsonl file name"),
        ({"dataset": {"training": "missing.jsonl"}}, "rft:dataset.training: file not found"),
        ({"tags": {"aws:owner": "x"}}, "rft:tags.aws:owner: tag keys are"),
        # Bedrock's job and model tags are ASCII only; this would otherwise fail only at deploy.
        ({"tags": {"チーム": "ml"}}, "rft:tags.チーム: tag keys are 1-128 ASCII"),
        ({"tags": {"rft:variant": "x"}}, "rft:tags.rft:variant: tag keys are"),
        ({"nova": {"tags": {"owner": "山田"}}}, "rft:nova.tags.owner: tag values are strings of 0-256 ASCII"),
        ({"tags": {f"k{i}": "v" for i in range(48)}}, "rft:tags: 48 tags; at most 47"),
        (
            {"appPrefix": "aws-rft"},
            "rft:appPrefix: expected 3-32 lowercase letters, digits or hyphens, starting with "
            "a letter and not with aws or ssm",
        ),
        ({"appPrefix": "ssm-rft"}, "rft:appPrefix: expected"),
        ({"nova": {"colour": "red"}}, "rft:nova.colour: unknown setting"),
    ],
)
def test_bad_values_name_the_key_and_what_is_allowed(overrides, expected) -> None:
    problems = problems_of(**overrides)
    assert any(p.startswith(expected) for p in problems), problems


def test_every_problem_is_reported_at_once() -> None:
    problems = problems_of(
        launchJob="maybe", grader={"memoryMb": 1, "timeoutSeconds": 0}, nova={"hyperParameters": {"epochCount": 99}}
    )
    assert len(problems) == 4
    message = str(ConfigError(problems))
    assert message.startswith("invalid configuration in cdk.json context or -c overrides:")


def test_account_must_be_twelve_digits() -> None:
    with pytest.raises(ConfigError, match="CDK_DEFAULT_ACCOUNT: expected a 12-digit account id"):
        build_config(CDK_CONTEXT, account="12345")


def test_a_stack_name_may_not_repeat() -> None:
    problems = problems_of(nova={"stackName": "BedrockRft-GptOss20b"})
    assert "stack names: 'BedrockRft-GptOss20b' is used by more than one stack" in problems


def test_stacks_in_one_region_need_distinct_name_prefixes() -> None:
    # Both name their tracker state machine "bedrockrft-qwen3-32b-job-tracker" in us-west-2.
    problems = problems_of(
        mantle={
            "models": ["openai.gpt-oss-20b", "qwen.qwen3-32b"],
            "modelOverrides": {"openai.gpt-oss-20b": {"stackName": "bedrockrft-Qwen3-32b"}},
        }
    )
    assert problems == [
        "stack names: more than one stack in us-west-2 gets the name prefix 'bedrockrft-qwen3-32b' "
        "(lowercased, first 32 characters); make the stack names differ there"
    ]
    # The same prefix in different regions is fine.
    config_with(
        nova={"stackName": "BedrockRft-GptOss20b"},
        mantle={
            "models": ["openai.gpt-oss-20b"],
            "modelOverrides": {"openai.gpt-oss-20b": {"stackName": "bedrockrft-gptoss20b"}},
        },
    )


def test_nothing_configured_is_an_error() -> None:
    assert problems_of(nova={"enabled": False}, mantle={"models": []}) == [
        "rft:nova.enabled / rft:mantle.models: no stack is configured"
    ]


def test_name_prefix_is_valid_for_job_names() -> None:
    for stack in config_with(mantle={"models": ["openai.gpt-oss-20b", "qwen.qwen3-32b"]}).stacks:
        assert stack.name_prefix.replace("-", "").isalnum() and len(stack.name_prefix) <= 32


# ---- how cdk.json, -c objects and dotted keys combine (issue: unknown keys, merges) ----


def merged_config(**context: Any):
    """The configuration as app.py builds it: the CLI's context over cdk.json, cdk.json merged back."""
    return build_config({**CDK_CONTEXT, **context}, project_context=CDK_CONTEXT)


def merged_problems(**context: Any) -> list[str]:
    with pytest.raises(ConfigError) as error:
        merged_config(**context)
    return error.value.problems


def test_an_unknown_key_stops_synth_and_names_the_nearest_known_key() -> None:
    # `-c rft:launchjob=false` once synthesized a paid job: the typo was ignored.
    problems = merged_problems(**{"rft:launchjob": "false"})
    assert problems == [
        "rft:launchjob: unknown context key; did you mean rft:launchJob? known keys: rft:appPrefix, "
        "rft:launchJob, rft:notificationEmails, rft:trackerPollMinutes, rft:task, rft:tags, rft:dataset, rft:grader, "
        "rft:alarms, rft:nova, rft:mantle"
    ]
    assert merged_problems(**{"rft:Nova.hyperParameters.epochCount": "3"})[0].startswith(
        "rft:Nova.hyperParameters.epochCount: unknown context key; did you mean rft:nova.hyperParameters.epochCount?"
    )
    assert merged_problems(**{"rft:colour": "red"})[0].startswith("rft:colour: unknown context key; known keys:")


def test_unknown_nested_settings_name_the_nearest_one() -> None:
    problems = merged_problems(**{"rft:nova": '{"hyperParameters": {"epochcount": 3}}'})
    assert problems[0].startswith("rft:nova.hyperParameters.epochcount: unknown setting; did you mean epochCount?")
    problems = merged_problems(**{"rft:mantle": {"sendMetaData": False}})
    assert problems[0].startswith("rft:mantle.sendMetaData: unknown setting; did you mean sendMetadata?")


def test_a_c_object_merges_into_the_cdk_json_object() -> None:
    # Replacing the whole object would drop cdk.json's hyperparameters and change the job.
    nova = merged_config(**{"rft:nova": '{"createModelDeployment": true}'}).stacks[0]
    assert nova.create_model_deployment
    assert dict(nova.hyperparameters) == {"epochCount": 10, "trainingSamplePerPrompt": 8}
    # Nested objects merge too; lists replace; null puts a field back to its default.
    config = merged_config(
        **{
            "rft:nova": {"hyperParameters": {"epochCount": 2, "trainingSamplePerPrompt": None}},
            "rft:tags": {"team": "ml"},
            "rft:mantle": {"models": ["qwen.qwen3-32b"]},
        }
    )
    nova, qwen = config.stacks
    assert dict(nova.hyperparameters) == {"epochCount": 2}
    assert dict(nova.tags) == {"project": "bedrock-rft", "team": "ml"}
    assert qwen.base_model == "qwen.qwen3-32b" and dict(qwen.hyperparameters) == {"n_epochs": 1}
    assert qwen.grader_principal == "bedrock.amazonaws.com"


def test_dotted_keys_set_one_field() -> None:
    config = merged_config(
        **{
            "rft:nova.hyperParameters.epochCount": "3",
            "rft:dataset.validation": "",
            "rft:mantle.models": '["openai.gpt-oss-20b", "qwen.qwen3-32b"]',
            "rft:mantle.modelOverrides.qwen.qwen3-32b.hyperParameters.batch_size": "8",
            "rft:mantle.modelOverrides.qwen.qwen3-32b.sendMetadata": "false",
        }
    )
    nova, gpt, qwen = config.stacks
    assert dict(nova.hyperparameters) == {"epochCount": 3, "trainingSamplePerPrompt": 8}
    assert nova.dataset.validation_file is None
    assert dict(qwen.hyperparameters) == {"n_epochs": 1, "batch_size": 8}
    assert not qwen.send_metadata and gpt.send_metadata


@pytest.mark.parametrize(
    "key,expected",
    [
        ("rft:launchJob.value", "rft:launchJob.value: rft:launchJob takes one value; only rft:task, rft:tags"),
        ("rft:nova.", "rft:nova.: rft:nova takes one value"),
        ("rft:nova.hyperParameters..epochCount", "rft:nova.hyperParameters..epochCount: rft:nova takes one value"),
        ("rft:nova.baseModel.id", "rft:nova.baseModel.id: baseModel is not an object here, so it has no sub-key id"),
    ],
)
def test_dotted_keys_that_cannot_work_are_rejected(key: str, expected: str) -> None:
    assert any(p.startswith(expected) for p in merged_problems(**{key: "x"}))


def test_dotted_key_typos_are_reported_not_ignored() -> None:
    problems = merged_problems(**{"rft:nova.hyperParameters.epochcount": "3"})
    assert problems[0].startswith("rft:nova.hyperParameters.epochcount: unknown setting; did you mean epochCount?")


def test_request_field_switches() -> None:
    config = merged_config(
        **{
            "rft:nova.sendValidationData": "false",
            "rft:mantle": {"sendValidationFile": False, "pinGraderVersion": False},
        }
    )
    nova, gpt = config.stacks
    assert not nova.send_validation_data
    assert (gpt.send_validation_data, gpt.send_metadata, gpt.pin_grader_version) == (False, True, False)
    defaults = merged_config().stacks
    assert all(s.send_validation_data and s.send_metadata and s.pin_grader_version for s in defaults)
    assert merged_problems(**{"rft:mantle.pinGraderVersion": "sometimes"}) == [
        "rft:mantle.pinGraderVersion: expected true or false, got 'sometimes'"
    ]


def test_models_come_from_the_model_table() -> None:
    config = merged_config(**{"rft:mantle.models": '["nvidia.nemotron-nano-3-30b"]'})
    nemotron = config.stacks[1]
    assert (nemotron.stack_name, nemotron.region, nemotron.variant) == (
        "BedrockRft-NemotronNano3-30b",
        "us-west-2",
        Variant.MANTLE,
    )
    # A Nova model is not a mantle model, and the other way round.
    assert merged_problems(**{"rft:mantle.models": '["amazon.nova-2-lite-v1:0:256k"]'})[0].startswith(
        "rft:mantle.models: 'amazon.nova-2-lite-v1:0:256k' is not an RFT model of the mantle API; allowed: "
        "openai.gpt-oss-20b, qwen.qwen3-32b, nvidia.nemotron-nano-3-30b"
    )


@pytest.mark.parametrize("key", ["RFT:launchJob", "rft.launchJob", "Rft_launchJob", "rft-launchJob"])
def test_a_mistyped_prefix_is_not_ignored(key: str) -> None:
    problems = merged_problems(**{key: "false"})
    assert problems == [f"{key}: context keys of this app start with 'rft:' exactly; did you mean rft:launchJob?"]


def test_a_tag_set_by_a_dotted_key_keeps_its_text() -> None:
    nova = merged_config(**{"rft:tags.build": "123", "rft:nova.tags.release": "true"}).stacks[0]
    assert nova.tags["build"] == "123" and nova.tags["release"] == "true"


# --- the task ---------------------------------------------------------------------------------


def test_the_task_brings_its_own_dataset_and_a_variant_may_choose_another() -> None:
    config = config_with(task="exact-match", nova={"task": {"name": "char-limit", "minShare": 0.25}})
    nova, mantle = config.stacks
    assert (nova.task.name, nova.task.options["minShare"]) == ("char-limit", 0.25)
    assert nova.dataset.training_key == "char-limit/training.jsonl"
    assert mantle.task.name == "exact-match"
    assert mantle.dataset.training_path == ROOT / "training-data/exact-match/training.jsonl"
    assert mantle.dataset.validation_key == "exact-match/validation.jsonl"


def test_hyphens_and_underscores_name_the_same_task() -> None:
    assert config_with(task="exact_match").stacks[0].task.name == "exact-match"


@pytest.mark.parametrize(
    "task,expected",
    [
        ("char-limt", "rft:task: unknown task 'char-limt'; did you mean char-limit?"),
        ("../etc/passwd", "rft:task: task '../etc/passwd': a task name is lowercase words"),
        ({"name": "char-limit", "minShare": 2}, "rft:task: task char-limit: minShare: 2 is greater than the maximum"),
        ({"name": "char-limit", "minshare": 0.5}, "rft:task: task char-limit: Additional properties are not allowed"),
        ({"name": "exact-match", "strict": True}, "rft:task: task exact-match: takes no options, got strict"),
        (["char-limit"], "rft:task: a task is a name or an object with a name, got list"),
        ({"name": 3}, "rft:task: the task object needs a string 'name', got 3"),
    ],
)
def test_a_bad_task_stops_synth_naming_it(task: Any, expected: str) -> None:
    problems = problems_of(task=task)
    assert any(problem.startswith(expected) for problem in problems), problems


def test_a_task_without_its_dataset_says_which_file_is_missing() -> None:
    problems = problems_of(task="exact-match", dataset={"directory": "training-data/nowhere"})
    assert any("file not found" in p and "training-data/nowhere/training.jsonl" in p for p in problems), problems


def test_task_options_merge_over_cdk_json_only_for_the_same_task() -> None:
    project = {**load_project_context(), "rft:task": {"name": "char-limit", "minShare": 0.5}}
    same = build_config({**project, "rft:task": '{"rejectEcho": false}'}, project_context=project)
    assert same.stacks[0].task.options["minShare"] == 0.5 and same.stacks[0].task.options["rejectEcho"] is False
    other = build_config({**project, "rft:task": '{"name": "exact-match"}'}, project_context=project)
    assert other.stacks[0].task.name == "exact-match"  # minShare is not carried over to a task without it
    project = load_project_context()
    dotted = build_config({**project, "rft:task.minShare": "0.3"}, project_context=project)
    assert (dotted.stacks[0].task.name, dotted.stacks[0].task.options["minShare"]) == ("char-limit", 0.3)


def test_a_task_spec_too_large_for_the_graders_environment_stops_synth() -> None:
    schema = {"type": "object", "properties": {f"field{i}": {"type": "string"} for i in range(200)}}
    problems = problems_of(task={"name": "json-schema", "schema": schema})
    assert any("bytes as JSON; the grader's environment holds at most 3072" in p for p in problems), problems


def test_a_variants_task_object_for_the_same_task_sets_options_over_the_apps() -> None:
    config = config_with(task={"name": "char-limit", "minShare": 0.3},
                         nova={"task": {"name": "char_limit", "rejectEcho": False}})
    nova, mantle = config.stacks
    assert (nova.task.options["minShare"], nova.task.options["rejectEcho"]) == (0.3, False)
    assert (mantle.task.options["minShare"], mantle.task.options["rejectEcho"]) == (0.3, True)
    other = config_with(task={"name": "char-limit", "minShare": 0.3}, nova={"task": "exact-match"})
    assert other.stacks[0].task.name == "exact-match"


def test_an_override_spelled_with_underscores_keeps_cdk_json_options() -> None:
    project = {**load_project_context(), "rft:task": {"name": "char-limit", "minShare": 0.4}}
    config = build_config({**project, "rft:task": '{"name": "char_limit", "rejectEcho": false}'},
                          project_context=project)
    assert (config.stacks[0].task.options["minShare"], config.stacks[0].task.options["rejectEcho"]) == (0.4, False)


def test_a_dataset_named_as_before_tasks_points_to_its_new_place() -> None:
    problems = problems_of(dataset={"directory": "training-data", "training": "char-limit-training.jsonl",
                                    "validation": "char-limit-validation.jsonl"})
    assert any("file not found" in p and "training-data/char-limit/training.jsonl" in p and "drop rft:dataset" in p
               for p in problems), problems


def test_building_the_config_leaves_the_given_context_as_it_was() -> None:
    """Dotted keys are laid over a copy: the caller's objects (cdk.json's, a test's shared context) never change."""
    import copy

    from stacks.config import build_config

    context = {"rft:grader": {"logRetentionDays": 30}, "rft:grader.memoryMb": "1024",
               "rft:nova": {"hyperParameters": {"epochCount": 2}}, "rft:nova.hyperParameters.batchSize": "16"}
    given = copy.deepcopy(context)
    config = build_config(context, project_context={})  # -c objects that cdk.json does not have
    assert context == given
    assert config.stacks[0].grader.memory_mb == 1024 and config.stacks[0].hyperparameters["batchSize"] == 16
