"""JobSpec parsing, fingerprint and derived names."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings, strategies as st

from stacks.rft_job.runtime.job_spec import JobSpecError, fingerprint, parse_job_spec
from stacks.rft_job.runtime.mantle import is_job_id as is_mantle_job_id, mantle_metadata
from stacks.rft_job.runtime.naming import (
    deployment_name,
    fingerprint_prefix_from_job_name,
    launch_names,
    request_token,
    tracker_execution_name,
)
from stacks.rft_job.runtime.nova import is_job_arn as is_nova_job_arn
from tests.stacks.rft_job.builders import (
    NOVA_JOB_ARN,
    PLACEHOLDER_PHYSICAL_ID,
    STACK_ID,
    mantle_spec,
    nova_spec,
)

JOB_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9\+\-\.])*$")
CUSTOM_MODEL_NAME_PATTERN = re.compile(r"^([0-9a-zA-Z][_-]?)+$")
DEPLOYMENT_NAME_PATTERN = re.compile(r"^([0-9a-zA-Z][_-]?){1,63}$")
EXECUTION_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
HEX64 = st.text("0123456789abcdef", min_size=64, max_size=64)
NAME_PREFIXES = st.from_regex(r"\A[a-z0-9](-?[a-z0-9]){0,31}\Z").filter(lambda p: len(p) <= 32)


def test_the_spec_is_read_from_a_json_string() -> None:
    spec = parse_job_spec(json.dumps(nova_spec()))
    assert spec.variant == "nova"
    assert spec.hyper_parameters["learningRate"] == 1e-5
    assert spec.role_arn and spec.output_data_uri


def test_hyperparameters_are_taken_as_the_config_validated_them() -> None:
    """The rules are the config's (stacks/config.py, tested there): the runtime keeps no second table.

    A value the config would reject still parses here; a spec edited by hand so that it no longer
    matches what synth computed is refused by the launcher (its JobFingerprint check).
    """
    beyond_the_rules = parse_job_spec(nova_spec(hyperParameters={"batchSize": 8, "reasoningEffort": "max"}))
    assert beyond_the_rules.hyper_parameters == {"batchSize": 8, "reasoningEffort": "max"}
    as_numbers = parse_job_spec(nova_spec(hyperParameters={"epochCount": 10, "learningRate": 0.00001}))
    as_strings = parse_job_spec(nova_spec(hyperParameters={"epochCount": "10", "learningRate": "1e-5"}))
    assert as_strings.hyper_parameters == {"epochCount": "10", "learningRate": "1e-5"}
    assert fingerprint(as_numbers) != fingerprint(as_strings)
    # A number's JSON spelling may change on its way through the template: 10 and 10.0 are one value.
    as_float = parse_job_spec(nova_spec(hyperParameters={"epochCount": 10.0, "learningRate": 1e-5}))
    assert fingerprint(as_float) == fingerprint(as_numbers)


def test_unknown_fields_are_ignored_but_reported() -> None:
    spec = parse_job_spec(nova_spec(futureOption=True))
    assert spec.ignored_fields == ("futureOption",)


def test_nova_fields_are_not_required_for_mantle() -> None:
    spec = parse_job_spec(mantle_spec(hyperParameters={"n_epochs": 1, "compute_multiplier": "auto"}))
    assert spec.role_arn is None and spec.output_data_uri is None
    assert spec.hyper_parameters == {"n_epochs": 1, "compute_multiplier": "auto"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"namePrefix": "rft-"}, "JobSpec.namePrefix"),
        ({"namePrefix": "rft--job"}, "JobSpec.namePrefix"),
        ({"namePrefix": "a" * 33}, "JobSpec.namePrefix"),
        ({"baseModel": ""}, "JobSpec.baseModel"),
        ({"validationDataUri": "s3://bucket/folder/"}, "JobSpec.validationDataUri"),
        ({"datasetSha256": {"training": "xyz"}}, "JobSpec.datasetSha256.training"),
        ({"datasetSha256": "abc"}, "JobSpec.datasetSha256"),
        ({"graderArn": "arn:aws:lambda:us-east-1:123456789012:function:grader:live"}, "JobSpec.graderArn"),
        # Full-width digits, which "\d" alone lets through (fields are stripped before they are checked).
        ({"graderArn": "arn:aws:lambda:us-east-1:123456789012:function:grader:\uff17"}, "JobSpec.graderArn"),
        ({"graderArn": "arn:aws:lambda:us-east-\uff11:123456789012:function:grader:7"}, "JobSpec.graderArn"),
        ({"graderCodeSha256": "not-a-hash"}, "JobSpec.graderCodeSha256"),
        ({"hyperParameters": {"epochCount": [2]}}, "JobSpec.hyperParameters.epochCount must be a string, number"),
        ({"hyperParameters": {"learningRate": float("nan")}}, "JobSpec.hyperParameters.learningRate"),
        ({"hyperParameters": []}, "JobSpec.hyperParameters must be an object"),
        ({"tags": {"bad": 1}}, "JobSpec.tags.bad must be a string"),
        ({"stateMachineArn": "arn:aws:lambda:x"}, "JobSpec.stateMachineArn"),
        ({"outputDataUri": "output/"}, "JobSpec.outputDataUri"),
    ],
)
def test_invalid_fields_are_named(overrides: dict, message: str) -> None:
    with pytest.raises(JobSpecError, match=re.escape(message)):
        parse_job_spec(nova_spec(**overrides))


def test_mantle_hyperparameter_values_are_scalars() -> None:
    with pytest.raises(JobSpecError, match="JobSpec.hyperParameters.schedule"):
        parse_job_spec(mantle_spec(hyperParameters={"schedule": {"nested": 1}}))


def test_fingerprint_ignores_what_does_not_define_the_job() -> None:
    base = fingerprint(parse_job_spec(nova_spec()))
    assert base == fingerprint(
        parse_job_spec(
            nova_spec(
                graderArn="arn:aws:lambda:us-east-1:123456789012:function:BedrockRft-Grader:42",
                roleArn="arn:aws:iam::123456789012:role/Other",
                tags={},
                outputDataUri="s3://other-bucket/out/",
                trainingDataUri="s3://other-bucket/train.jsonl",
                stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:Other",
                namePrefix="other-prefix",
            )
        )
    )


@given(
    order=st.permutations(list(nova_spec()["hyperParameters"])),
    training=HEX64,
)
@settings(max_examples=25, deadline=None)
def test_fingerprint_depends_on_content_not_key_order(order: list[str], training: str) -> None:
    hyper = nova_spec()["hyperParameters"]
    reordered = {key: hyper[key] for key in order}
    dataset = {"training": training, "validation": "b" * 64}
    first = fingerprint(parse_job_spec(nova_spec(hyperParameters=hyper, datasetSha256=dataset)))
    second = fingerprint(parse_job_spec(nova_spec(hyperParameters=reordered, datasetSha256=dataset)))
    assert first == second
    changed = nova_spec(hyperParameters={**hyper, "epochCount": 11}, datasetSha256=dataset)
    assert first != fingerprint(parse_job_spec(changed))


@given(prefix=NAME_PREFIXES, job_fingerprint=HEX64, request_id=st.text(min_size=1, max_size=60))
@settings(max_examples=60, deadline=None)
def test_launch_names_satisfy_nova_patterns(prefix: str, job_fingerprint: str, request_id: str) -> None:
    token = request_token(STACK_ID, "RftJob", request_id, job_fingerprint)
    names = launch_names(prefix, job_fingerprint, token)
    assert len(names.job_name) <= 63 and JOB_NAME_PATTERN.match(names.job_name)
    assert len(names.custom_model_name) <= 63 and CUSTOM_MODEL_NAME_PATTERN.match(names.custom_model_name)
    assert re.fullmatch(r"[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?", token)
    assert fingerprint_prefix_from_job_name(names.job_name) == job_fingerprint[:8]


@given(job_name=st.text(max_size=120), job_id=st.text(min_size=1, max_size=200))
@settings(max_examples=80, deadline=None)
def test_derived_names_are_valid_for_any_input(job_name: str, job_id: str) -> None:
    deployment = deployment_name(job_name, job_id)
    assert DEPLOYMENT_NAME_PATTERN.match(deployment), deployment
    execution = tracker_execution_name(job_name, job_id)
    assert EXECUTION_NAME_PATTERN.match(execution), execution


def test_tokens_differ_per_request_and_per_definition() -> None:
    one = request_token(STACK_ID, "RftJob", "req-1", "f" * 64)
    assert one == request_token(STACK_ID, "RftJob", "req-1", "f" * 64)
    assert one != request_token(STACK_ID, "RftJob", "req-2", "f" * 64)
    assert one != request_token(STACK_ID, "RftJob", "req-1", "e" * 64)
    assert one != request_token(STACK_ID, "OtherJob", "req-1", "f" * 64)


def test_job_id_recognition() -> None:
    assert is_nova_job_arn(NOVA_JOB_ARN)
    assert not is_nova_job_arn(PLACEHOLDER_PHYSICAL_ID)
    assert is_mantle_job_id("ftjob-abc123")
    # Bedrock documents no mantle id format: an id outside OpenAI's shape is still a job id
    # (rejecting it would relaunch on every update and skip the cancel on delete).
    assert is_mantle_job_id("arn:aws:bedrock-mantle:us-west-2:123456789012:fine-tuning-job/abc123")
    assert is_mantle_job_id("ftjob:2026-01-15.abc")
    for not_a_job in (
        PLACEHOLDER_PHYSICAL_ID,
        "NONE",
        "NOT_STARTED",
        "",
        "ab",
        "../files/secret",
        "ftjob abc",
    ):
        assert not is_mantle_job_id(not_a_job), not_a_job


def test_mantle_metadata_keeps_identity_and_fits_limits() -> None:
    names = launch_names("rft", "f" * 64, "t" * 64)
    tags = {f"tag{i:02d}": "v" * 600 if i == 3 else "v" for i in range(20)}
    metadata, dropped = mantle_metadata(
        token="t" * 64,
        names=names,
        job_fingerprint="f" * 64,
        stack_id=STACK_ID,
        logical_resource_id="RftJob",
        tags=tags,
    )
    assert len(metadata) == 16
    assert all(len(k) <= 64 and len(v) <= 512 for k, v in metadata.items())
    assert metadata["rft_request_token"] == "t" * 64 and metadata["rft_job_name"] == names.job_name
    assert "tag03" in dropped and len(dropped) == 20 - 11
