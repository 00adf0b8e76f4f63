"""Launcher, Nova variant: real boto3 clients behind botocore Stubbers (service-model checked)."""

from __future__ import annotations

import json
import re

import pytest
from botocore.stub import ANY

from stacks.rft_job.runtime import launcher, ledger as ledger_module
from stacks.rft_job.runtime.errors import LaunchFailure
from stacks.rft_job.runtime.job_spec import fingerprint, parse_job_spec
from stacks.rft_job.runtime.naming import launch_names, request_token
from tests.stacks.rft_job import builders
from tests.stacks.rft_job.builders import (
    ALL_NOVA_HYPERPARAMETERS,
    GRADER_V7,
    GRADER_V8,
    NOVA_BASE_MODEL,
    NOVA_JOB_ARN,
    NOVA_JOB_ARN_2,
    NOVA_ROLE_ARN,
    PLACEHOLDER_PHYSICAL_ID,
    STATE_MACHINE_ARN,
    StubbedAws,
    cfn_event,
    nova_job_description as job_description,
    nova_spec,
    stack_status_is,
)

# The patterns from the Bedrock API reference (botocore's Stubber checks types and lengths,
# not patterns, so the tests check these themselves).
JOB_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9\+\-\.])*$")
CUSTOM_MODEL_NAME_PATTERN = re.compile(r"^([0-9a-zA-Z][_-]?)+$")
TOKEN_PATTERN = re.compile(r"^[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?$")
EXECUTION_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


# What CreateModelCustomizationJob must receive for nova_spec(), written out literally.
FULL_CREATE_PARAMS = {
    "jobName": ANY,
    "customModelName": ANY,
    "roleArn": NOVA_ROLE_ARN,
    "clientRequestToken": ANY,
    "baseModelIdentifier": NOVA_BASE_MODEL,
    "customizationType": "REINFORCEMENT_FINE_TUNING",
    "trainingDataConfig": {"s3Uri": "s3://rft-data-bucket/training-data/char-limit/training.jsonl"},
    "validationDataConfig": {"validators": [{"s3Uri": "s3://rft-data-bucket/training-data/char-limit/validation.jsonl"}]},
    "outputDataConfig": {"s3Uri": "s3://rft-data-bucket/output/"},
    "customizationConfig": {
        "rftConfig": {
            "graderConfig": {"lambdaGrader": {"lambdaArn": GRADER_V7}},
            "hyperParameters": {
                "epochCount": 10,
                "batchSize": 64,
                "learningRate": 1e-5,
                "maxPromptLength": 2048,
                "trainingSamplePerPrompt": 8,
                "inferenceMaxTokens": 1024,
                "reasoningEffort": "medium",
                "evalInterval": 5,
            },
        }
    },
    "jobTags": [{"key": "owner", "value": "ml-team"}, {"key": "project", "value": "char-limit"}],
    "customModelTags": [{"key": "owner", "value": "ml-team"}, {"key": "project", "value": "char-limit"}],
}


def expect_create(aws: StubbedAws, job_arn: str = NOVA_JOB_ARN, params: dict | None = None) -> None:
    aws.stub("bedrock").add_response(
        "create_model_customization_job", {"jobArn": job_arn}, FULL_CREATE_PARAMS if params is None else params
    )


def expect_tracker_start(aws: StubbedAws, *, already_exists: bool = False) -> None:
    builders.expect_tracker_start(aws, STATE_MACHINE_ARN, already_exists=already_exists)


def create_and_capture(aws: StubbedAws, lambda_context, spec: dict, request_id: str = "req-0001") -> tuple[dict, dict]:
    expect_create(aws)
    expect_tracker_start(aws)
    result = launcher.on_event(cfn_event("Create", spec, request_id=request_id), lambda_context)
    return result, aws.calls("CreateModelCustomizationJob")[-1]


# --- Create ------------------------------------------------------------------------------


def test_create_sends_every_option_and_starts_the_tracker(nova_aws: StubbedAws, lambda_context) -> None:
    expect_create(nova_aws)
    expect_tracker_start(nova_aws)

    result = launcher.on_event(cfn_event("Create", nova_spec()), lambda_context)

    nova_aws.assert_done()
    sent = nova_aws.calls("CreateModelCustomizationJob")[0]
    job_name = sent["jobName"]
    assert JOB_NAME_PATTERN.match(job_name) and len(job_name) <= 63
    assert CUSTOM_MODEL_NAME_PATTERN.match(sent["customModelName"]) and len(sent["customModelName"]) <= 63
    assert job_name.startswith("bedrock-rft-nova2lite-")
    assert TOKEN_PATTERN.match(sent["clientRequestToken"])

    execution = nova_aws.calls("StartExecution")[0]
    assert EXECUTION_NAME_PATTERN.match(execution["name"])
    assert json.loads(execution["input"]) == {"variant": "nova", "jobId": NOVA_JOB_ARN, "jobName": job_name, "polls": 0}

    assert result["PhysicalResourceId"] == NOVA_JOB_ARN
    data = result["Data"]
    assert data["JobId"] == NOVA_JOB_ARN
    assert data["JobName"] == job_name
    assert data["CustomModelName"] == sent["customModelName"]
    assert data["ConsoleUrl"].startswith("https://us-east-1.console.aws.amazon.com/bedrock/")
    assert data["Fingerprint"] == fingerprint(parse_job_spec(nova_spec()))
    assert len(json.dumps(result).encode()) < 4096


def test_create_without_optional_fields_omits_them(nova_aws: StubbedAws, lambda_context) -> None:
    spec = nova_spec(
        validationDataUri=None, datasetSha256={"training": "a" * 64, "validation": None}, tags={}, hyperParameters={}
    )
    minimal = {
        key: value
        for key, value in FULL_CREATE_PARAMS.items()
        if key not in ("validationDataConfig", "jobTags", "customModelTags")
    }
    minimal["customizationConfig"] = {"rftConfig": {"graderConfig": {"lambdaGrader": {"lambdaArn": GRADER_V7}}}}
    expect_create(nova_aws, params=minimal)
    expect_tracker_start(nova_aws)

    launcher.on_event(cfn_event("Create", spec), lambda_context)

    sent = nova_aws.calls("CreateModelCustomizationJob")[0]
    assert "validationDataConfig" not in sent and "jobTags" not in sent and "customModelTags" not in sent
    nova_aws.assert_done()


def test_retry_of_the_same_event_reuses_token_and_names(nova_aws: StubbedAws, lambda_context) -> None:
    expect_create(nova_aws)
    expect_tracker_start(nova_aws)
    first = launcher.on_event(cfn_event("Create", nova_spec()), lambda_context)
    # Re-invoked with the same request: its ledger entry names the job, which is the answer; the
    # tracker already runs.
    expect_tracker_start(nova_aws, already_exists=True)
    second = launcher.on_event(cfn_event("Create", nova_spec()), lambda_context)
    assert len(nova_aws.calls("CreateModelCustomizationJob")) == 1
    assert nova_aws.calls("StartExecution")[0]["name"] == nova_aws.calls("StartExecution")[1]["name"]
    assert first == second
    nova_aws.assert_done()


def test_a_retry_without_a_ledger_entry_sends_the_same_token(nova_aws: StubbedAws, lambda_context) -> None:
    """The first attempt died before recording anything: the same token makes the create one job."""
    expect_create(nova_aws)
    expect_tracker_start(nova_aws)
    first = launcher.on_event(cfn_event("Create", nova_spec()), lambda_context)
    nova_aws.ledger_bucket.objects.clear()
    expect_create(nova_aws)
    expect_tracker_start(nova_aws, already_exists=True)
    second = launcher.on_event(cfn_event("Create", nova_spec()), lambda_context)
    sent_first, sent_second = nova_aws.calls("CreateModelCustomizationJob")
    assert sent_first == sent_second and first == second
    nova_aws.assert_done()


def test_each_launch_gets_unique_names(nova_aws: StubbedAws, lambda_context) -> None:
    _, first = create_and_capture(nova_aws, lambda_context, nova_spec(), request_id="req-a")
    _, second = create_and_capture(nova_aws, lambda_context, nova_spec(), request_id="req-b")
    assert first["jobName"] != second["jobName"]
    assert first["customModelName"] != second["customModelName"]
    assert first["clientRequestToken"] != second["clientRequestToken"]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("graderArn", "arn:aws:lambda:us-east-1:123456789012:function:BedrockRft-Grader:$LATEST", "JobSpec.graderArn"),
        ("graderArn", "arn:aws:lambda:us-east-1:123456789012:function:BedrockRft-Grader", "JobSpec.graderArn"),
        ("variant", "sagemaker", "JobSpec.variant"),
        ("namePrefix", "Bedrock_RFT", "JobSpec.namePrefix"),
        ("roleArn", None, "JobSpec.roleArn"),
        ("trainingDataUri", "https://example.com/train.jsonl", "JobSpec.trainingDataUri"),
        # Value rules are the config's; the launcher checks the shape (scalars only).
        ("hyperParameters", {"epochCount": {"value": 2}}, "JobSpec.hyperParameters.epochCount"),
        ("hyperParameters", {"n_epochs": [2]}, "JobSpec.hyperParameters.n_epochs"),
        ("datasetSha256", {"training": "a" * 64, "validation": None}, "JobSpec.datasetSha256.validation"),
    ],
)
def test_invalid_spec_fails_before_any_aws_call(
    nova_aws: StubbedAws, lambda_context, field: str, value: object, expected: str
) -> None:
    with pytest.raises(LaunchFailure) as failure:
        launcher.on_event(cfn_event("Create", nova_spec(**{field: value})), lambda_context)
    assert str(failure.value).startswith(f"Invalid JobSpec: {expected}")
    assert nova_aws.captured == []


def test_job_spec_that_is_not_json_is_reported(nova_aws: StubbedAws, lambda_context) -> None:
    with pytest.raises(LaunchFailure, match="JobSpec is not valid JSON"):
        launcher.on_event(cfn_event("Create", "{not json"), lambda_context)


# --- Create failures ---------------------------------------------------------------------


def test_access_denied_names_permissions_and_model_access(nova_aws: StubbedAws, lambda_context) -> None:
    nova_aws.stub("bedrock").add_client_error(
        "create_model_customization_job",
        "AccessDeniedException",
        "User: arn:aws:sts::123456789012:assumed-role/launcher is not authorized to perform: iam:PassRole",
        403,
    )
    with pytest.raises(LaunchFailure) as failure:
        launcher.on_event(cfn_event("Create", nova_spec()), lambda_context)
    reason = str(failure.value)
    assert reason.startswith(
        "CreateModelCustomizationJob was denied (AccessDeniedException): check the launcher role's "
        "bedrock:CreateModelCustomizationJob and iam:PassRole permissions and that model access to "
        "amazon.nova-2-lite-v1:0:256k is enabled in us-east-1."
    )
    assert "not authorized to perform: iam:PassRole" in reason
    assert nova_aws.calls("StartExecution") == []


def test_validation_error_carries_the_service_message(nova_aws: StubbedAws, lambda_context) -> None:
    nova_aws.stub("bedrock").add_client_error(
        "create_model_customization_job",
        "ValidationException",
        "The provided training data has 42 records; at least 100 are required.",
        400,
    )
    with pytest.raises(LaunchFailure) as failure:
        launcher.on_event(cfn_event("Create", nova_spec()), lambda_context)
    assert str(failure.value) == (
        "CreateModelCustomizationJob rejected the request (ValidationException): The provided training data has 42 "
        "records; at least 100 are required. Check the JobSpec values it names. If it is the validation data it "
        "rejects (AWS's Nova SDK sends none for Nova 2 Lite), leave it out with -c rft:nova.sendValidationData=false."
    )
    # Without validation data there is no such switch to name.
    nova_aws.stub("bedrock").add_client_error("create_model_customization_job", "ValidationException", "No.", 400)
    spec = nova_spec(validationDataUri=None, datasetSha256={"training": "a" * 64, "validation": None})
    with pytest.raises(LaunchFailure, match=r"Check the JobSpec values it names\.$"):
        launcher.on_event(cfn_event("Create", spec), lambda_context)


@pytest.mark.parametrize("word", ["bad value ", "値が不正です。", "🙅‍♀️ "])
def test_long_service_messages_are_trimmed_to_a_short_reason(nova_aws: StubbedAws, lambda_context, word: str) -> None:
    nova_aws.stub("bedrock").add_client_error(
        "create_model_customization_job", "ValidationException", word * 500 + "\nsecond line", 400
    )
    with pytest.raises(LaunchFailure) as failure:
        launcher.on_event(cfn_event("Create", nova_spec()), lambda_context)
    reason = str(failure.value)
    # Bytes, not characters: the whole custom resource response must fit 4096 bytes.
    assert len(reason.encode("utf-8")) <= 1000 and "\n" not in reason
    assert reason.startswith(f"CreateModelCustomizationJob rejected the request (ValidationException): {word.strip()}")
    assert reason.endswith("leave it out with -c rft:nova.sendValidationData=false.")


def test_throttling_says_retries_were_exhausted(nova_aws: StubbedAws, lambda_context) -> None:
    # botocore's earlier attempts may have hit a 5xx after Bedrock acted: the job is looked up
    # by name after each attempt, and the create sent once more (the token keeps it one job).
    bedrock = nova_aws.stub("bedrock")
    for _ in range(2):
        bedrock.add_client_error("create_model_customization_job", "ThrottlingException", "Rate exceeded", 429)
        bedrock.add_client_error("get_model_customization_job", "ResourceNotFoundException", "No such job", 404)
    with pytest.raises(LaunchFailure) as failure:
        launcher.on_event(cfn_event("Create", nova_spec()), lambda_context)
    nova_aws.assert_done()
    reason = str(failure.value)
    assert reason.startswith("Most likely no job was started: job bedrock-rft-nova2lite-")
    assert "CreateModelCustomizationJob was throttled (ThrottlingException)" in reason
    assert "retries were exhausted (5 attempts, standard mode)" in reason
    [first, second] = nova_aws.calls("CreateModelCustomizationJob")
    assert first == second
    assert [c["jobIdentifier"] for c in nova_aws.calls("GetModelCustomizationJob")] == [first["jobName"]] * 2


def test_quota_exceeded_points_at_service_quotas(nova_aws: StubbedAws, lambda_context) -> None:
    nova_aws.stub("bedrock").add_client_error(
        "create_model_customization_job",
        "ServiceQuotaExceededException",
        "Limit of 2 concurrent customization jobs reached",
        400,
    )
    with pytest.raises(LaunchFailure) as failure:
        launcher.on_event(cfn_event("Create", nova_spec()), lambda_context)
    reason = str(failure.value)
    assert (
        "hit a service quota (ServiceQuotaExceededException): Limit of 2 concurrent customization jobs reached"
        in reason
    )
    assert "Service Quotas" in reason


def test_resource_not_found_on_create_names_what_to_check(nova_aws: StubbedAws, lambda_context) -> None:
    nova_aws.stub("bedrock").add_client_error(
        "create_model_customization_job", "ResourceNotFoundException", "Model not found", 404
    )
    with pytest.raises(LaunchFailure) as failure:
        launcher.on_event(cfn_event("Create", nova_spec()), lambda_context)
    reason = str(failure.value)
    assert "could not find a resource (ResourceNotFoundException): Model not found." in reason
    assert f"{NOVA_BASE_MODEL} supports reinforcement fine-tuning in us-east-1" in reason
    assert GRADER_V7 in reason


def test_tracker_that_cannot_start_stops_the_new_job(nova_aws: StubbedAws, lambda_context) -> None:
    expect_create(nova_aws)
    nova_aws.stub("stepfunctions").add_client_error(
        "start_execution", "AccessDeniedException", "not authorized to perform: states:StartExecution", 400
    )
    nova_aws.stub("bedrock").add_response(
        "get_model_customization_job", job_description(NOVA_JOB_ARN, "x", "InProgress"), {"jobIdentifier": NOVA_JOB_ARN}
    )
    nova_aws.stub("bedrock").add_response("stop_model_customization_job", {}, {"jobIdentifier": NOVA_JOB_ARN})

    with pytest.raises(LaunchFailure) as failure:
        launcher.on_event(cfn_event("Create", nova_spec()), lambda_context)

    reason = str(failure.value)
    assert "was started but its tracker was not, so the job was stopped" in reason
    assert f"states:StartExecution permissions on {STATE_MACHINE_ARN}" in reason
    assert len(reason) <= 1000
    nova_aws.assert_done()


# --- Update ------------------------------------------------------------------------------


def test_update_without_job_defining_change_keeps_the_job(nova_aws: StubbedAws, lambda_context) -> None:
    created, sent = create_and_capture(nova_aws, lambda_context, nova_spec())
    # New grader version with the same code, new role, new tags, data moved: nothing to retrain.
    new_spec = nova_spec(
        graderArn=GRADER_V8,
        roleArn="arn:aws:iam::123456789012:role/OtherRole",
        tags={"project": "renamed"},
        trainingDataUri="s3://rft-data-bucket/moved/char-limit/training.jsonl",
    )
    nova_aws.stub("bedrock").add_response(
        "get_model_customization_job",
        job_description(NOVA_JOB_ARN, sent["jobName"], "InProgress"),
        {"jobIdentifier": NOVA_JOB_ARN},
    )

    result = launcher.on_event(
        cfn_event("Update", new_spec, request_id="req-0002", physical_id=NOVA_JOB_ARN, old_spec=nova_spec()),
        lambda_context,
    )

    assert result == created
    assert nova_aws.operations().count("CreateModelCustomizationJob") == 1
    assert nova_aws.operations().count("StartExecution") == 1
    nova_aws.assert_done()


def test_update_keeps_the_job_id_even_when_describing_fails(nova_aws: StubbedAws, lambda_context) -> None:
    nova_aws.stub("bedrock").add_client_error("get_model_customization_job", "AccessDeniedException", "denied", 403)
    spec = nova_spec()
    result = launcher.on_event(
        cfn_event("Update", spec, request_id="req-0002", physical_id=NOVA_JOB_ARN, old_spec=spec), lambda_context
    )
    assert result["PhysicalResourceId"] == NOVA_JOB_ARN
    assert result["Data"]["JobId"] == NOVA_JOB_ARN
    assert result["Data"]["Fingerprint"] == fingerprint(parse_job_spec(spec))
    assert "CreateModelCustomizationJob" not in nova_aws.operations()


def test_update_with_a_change_starts_nothing_when_the_job_cannot_be_read(nova_aws: StubbedAws, lambda_context) -> None:
    # Changed fingerprint, but the current job cannot be read: this may be the rollback of a
    # failed update (whose "old" properties are the failed ones), which must keep the job.
    nova_aws.stub("bedrock").add_client_error(
        "get_model_customization_job",
        "AccessDeniedException",
        "not authorized",
        403,
        expected_params={"jobIdentifier": NOVA_JOB_ARN},
    )
    new_spec = nova_spec(hyperParameters={**ALL_NOVA_HYPERPARAMETERS, "epochCount": 3})
    with pytest.raises(LaunchFailure) as failure:
        launcher.on_event(
            cfn_event("Update", new_spec, request_id="req-0002", physical_id=NOVA_JOB_ARN, old_spec=nova_spec()),
            lambda_context,
        )
    reason = str(failure.value)
    assert reason.startswith(f"No new job was started: reading the current job {NOVA_JOB_ARN} failed")
    assert (
        "GetModelCustomizationJob was denied (AccessDeniedException): check the launcher role's "
        f"bedrock:GetModelCustomizationJob permissions on {NOVA_JOB_ARN}" in reason
    )
    assert len(reason.encode()) <= 1000
    assert "CreateModelCustomizationJob" not in nova_aws.operations()
    nova_aws.assert_done()


def test_update_launches_when_the_job_no_longer_exists(nova_aws: StubbedAws, lambda_context) -> None:
    nova_aws.stub("bedrock").add_client_error(
        "get_model_customization_job",
        "ResourceNotFoundException",
        "no such job",
        404,
        expected_params={"jobIdentifier": NOVA_JOB_ARN},
    )
    expect_create(nova_aws, job_arn=NOVA_JOB_ARN_2, params={**FULL_CREATE_PARAMS, "customizationConfig": ANY})
    expect_tracker_start(nova_aws)
    new_spec = nova_spec(hyperParameters={**ALL_NOVA_HYPERPARAMETERS, "epochCount": 3})
    result = launcher.on_event(
        cfn_event("Update", new_spec, request_id="req-0002", physical_id=NOVA_JOB_ARN, old_spec=nova_spec()),
        lambda_context,
    )
    assert result["PhysicalResourceId"] == NOVA_JOB_ARN_2
    nova_aws.assert_done()


def test_update_with_new_hyperparameters_launches_a_new_job(nova_aws: StubbedAws, lambda_context) -> None:
    _, first = create_and_capture(nova_aws, lambda_context, nova_spec())
    new_spec = nova_spec(hyperParameters={**ALL_NOVA_HYPERPARAMETERS, "epochCount": 3})
    nova_aws.stub("bedrock").add_response(
        "get_model_customization_job",
        job_description(NOVA_JOB_ARN, first["jobName"], "InProgress"),
        {"jobIdentifier": NOVA_JOB_ARN},
    )
    expect_create(nova_aws, job_arn=NOVA_JOB_ARN_2, params={**FULL_CREATE_PARAMS, "customizationConfig": ANY})
    expect_tracker_start(nova_aws)

    result = launcher.on_event(
        cfn_event("Update", new_spec, request_id="req-0002", physical_id=NOVA_JOB_ARN, old_spec=nova_spec()),
        lambda_context,
    )

    assert result["PhysicalResourceId"] == NOVA_JOB_ARN_2
    second = nova_aws.calls("CreateModelCustomizationJob")[1]
    assert second["customizationConfig"]["rftConfig"]["hyperParameters"]["epochCount"] == 3
    assert second["jobName"] != first["jobName"]
    assert result["Data"]["Fingerprint"] != fingerprint(parse_job_spec(nova_spec()))
    nova_aws.assert_done()


@pytest.mark.parametrize(
    "change",
    [
        {"baseModel": "amazon.nova-2-lite-v1:0"},
        {"graderCodeSha256": "d" * 64},
        {"datasetSha256": {"training": "e" * 64, "validation": "b" * 64}},
        {"validationDataUri": None, "datasetSha256": {"training": "a" * 64, "validation": None}},
    ],
)
def test_each_job_defining_field_triggers_a_new_job(nova_aws: StubbedAws, lambda_context, change: dict) -> None:
    nova_aws.stub("bedrock").add_response(
        "get_model_customization_job",
        job_description(NOVA_JOB_ARN, "bedrock-rft-nova2lite-00000000-11111111", "Completed"),
        {"jobIdentifier": NOVA_JOB_ARN},
    )
    expected = {**FULL_CREATE_PARAMS, "baseModelIdentifier": change.get("baseModel", NOVA_BASE_MODEL)}
    expected["customizationConfig"] = ANY
    if "validationDataUri" in change:
        del expected["validationDataConfig"]
    expect_create(nova_aws, job_arn=NOVA_JOB_ARN_2, params=expected)
    expect_tracker_start(nova_aws)
    result = launcher.on_event(
        cfn_event("Update", nova_spec(**change), request_id="req-0002", physical_id=NOVA_JOB_ARN, old_spec=nova_spec()),
        lambda_context,
    )
    assert result["PhysicalResourceId"] == NOVA_JOB_ARN_2
    nova_aws.assert_done()


def test_rollback_update_keeps_the_job_that_matches(nova_aws: StubbedAws, lambda_context) -> None:
    # A failed update rolls back: the "new" properties are the job's own, the "old" ones are
    # the failed attempt's. The job still matches, so nothing is launched.
    _, first = create_and_capture(nova_aws, lambda_context, nova_spec())
    failed_spec = nova_spec(hyperParameters={"epochCount": 1})
    nova_aws.stub("bedrock").add_response(
        "get_model_customization_job",
        job_description(NOVA_JOB_ARN, first["jobName"], "InProgress"),
        {"jobIdentifier": NOVA_JOB_ARN},
    )
    result = launcher.on_event(
        cfn_event("Update", nova_spec(), request_id="req-0003", physical_id=NOVA_JOB_ARN, old_spec=failed_spec),
        lambda_context,
    )
    assert result["PhysicalResourceId"] == NOVA_JOB_ARN
    assert nova_aws.operations().count("CreateModelCustomizationJob") == 1
    nova_aws.assert_done()


# --- Delete ------------------------------------------------------------------------------


def delete_event(physical_id: str) -> dict:
    return cfn_event("Delete", nova_spec(), request_id="req-0009", physical_id=physical_id)


def test_delete_stops_a_running_job(nova_aws: StubbedAws, lambda_context) -> None:
    bedrock = nova_aws.stub("bedrock")
    bedrock.add_response(
        "get_model_customization_job", job_description(NOVA_JOB_ARN, "j", "InProgress"), {"jobIdentifier": NOVA_JOB_ARN}
    )
    bedrock.add_response("stop_model_customization_job", {}, {"jobIdentifier": NOVA_JOB_ARN})
    stack_status_is(nova_aws, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")  # a replaced job: its tracker lives on
    assert launcher.on_event(delete_event(NOVA_JOB_ARN), lambda_context) == {"PhysicalResourceId": NOVA_JOB_ARN}
    nova_aws.assert_done()


@pytest.mark.parametrize("status", ["Completed", "Failed", "Stopped", "Stopping"])
def test_delete_leaves_a_finished_job_alone(nova_aws: StubbedAws, lambda_context, status: str) -> None:
    nova_aws.stub("bedrock").add_response(
        "get_model_customization_job", job_description(NOVA_JOB_ARN, "j", status), {"jobIdentifier": NOVA_JOB_ARN}
    )
    launcher.on_event(delete_event(NOVA_JOB_ARN), lambda_context)
    assert "StopModelCustomizationJob" not in nova_aws.operations()
    nova_aws.assert_done()


def test_delete_of_a_job_that_no_longer_exists_succeeds(nova_aws: StubbedAws, lambda_context) -> None:
    nova_aws.stub("bedrock").add_client_error(
        "get_model_customization_job", "ResourceNotFoundException", "Job not found", 404
    )
    assert launcher.on_event(delete_event(NOVA_JOB_ARN), lambda_context) == {"PhysicalResourceId": NOVA_JOB_ARN}


def test_delete_tolerates_the_job_ending_before_the_stop(nova_aws: StubbedAws, lambda_context) -> None:
    bedrock = nova_aws.stub("bedrock")
    bedrock.add_response(
        "get_model_customization_job", job_description(NOVA_JOB_ARN, "j", "InProgress"), {"jobIdentifier": NOVA_JOB_ARN}
    )
    bedrock.add_client_error("stop_model_customization_job", "ValidationException", "Job is not in progress", 400)
    bedrock.add_response(
        "get_model_customization_job", job_description(NOVA_JOB_ARN, "j", "Completed"), {"jobIdentifier": NOVA_JOB_ARN}
    )
    launcher.on_event(delete_event(NOVA_JOB_ARN), lambda_context)
    nova_aws.assert_done()


@pytest.mark.parametrize("physical_id", [PLACEHOLDER_PHYSICAL_ID, "", "RftJob-1A2B3C", "arn:aws:bedrock:garbage"])
def test_delete_of_a_placeholder_calls_nothing(nova_aws: StubbedAws, lambda_context, physical_id: str) -> None:
    assert launcher.on_event(delete_event(physical_id), lambda_context) == {"PhysicalResourceId": physical_id}
    assert nova_aws.captured == []


def test_delete_that_is_denied_fails_with_a_reason(nova_aws: StubbedAws, lambda_context) -> None:
    bedrock = nova_aws.stub("bedrock")
    bedrock.add_response(
        "get_model_customization_job", job_description(NOVA_JOB_ARN, "j", "InProgress"), {"jobIdentifier": NOVA_JOB_ARN}
    )
    bedrock.add_client_error("stop_model_customization_job", "AccessDeniedException", "not authorized", 403)
    with pytest.raises(LaunchFailure) as failure:
        launcher.on_event(delete_event(NOVA_JOB_ARN), lambda_context)
    assert str(failure.value).startswith(
        "StopModelCustomizationJob was denied (AccessDeniedException): check the launcher role's "
        f"bedrock:GetModelCustomizationJob and bedrock:StopModelCustomizationJob permissions on {NOVA_JOB_ARN}."
    )


def test_unknown_request_type_is_rejected(lambda_context) -> None:
    with pytest.raises(LaunchFailure, match="Unsupported RequestType"):
        launcher.on_event(cfn_event("Replace", nova_spec()), lambda_context)


def test_a_job_starts_only_for_the_fingerprint_the_stack_showed(nova_aws: StubbedAws, lambda_context) -> None:
    """JobFingerprint is what `cdk diff` and `rftctl plan` showed; a JobSpec that disagrees starts nothing."""
    event = cfn_event("Create", nova_spec(), job_fingerprint="0" * 64)
    with pytest.raises(LaunchFailure, match=r"^No job was started: the JobFingerprint property \(0{64}\) differs"):
        launcher.on_event(event, lambda_context)
    assert nova_aws.operations() == []
    # Without the property (a stack synthesized before it existed) the spec alone decides.
    expect_create(nova_aws)
    expect_tracker_start(nova_aws)
    launcher.on_event(cfn_event("Create", nova_spec(), job_fingerprint=False), lambda_context)
    nova_aws.assert_done()


# --- the job ledger, and creates whose answer was lost -----------------------------------


def ledger_entry(aws: StubbedAws) -> dict:
    [entry] = aws.ledger_bucket.entries().values()
    return entry


def test_every_launch_is_recorded_before_and_after_the_create(nova_aws: StubbedAws, lambda_context) -> None:
    expect_create(nova_aws)
    expect_tracker_start(nova_aws)
    launcher.on_event(cfn_event("Create", nova_spec()), lambda_context)
    sent = nova_aws.calls("CreateModelCustomizationJob")[0]
    puts = [c["Key"] for c in nova_aws.calls("PutObject")]
    # Recorded first (the create comes after it), then updated with the job, then indexed by id.
    assert puts[0] == puts[1] == f"jobs/{sent['jobName']}.json" and puts[2].startswith("jobs/by-id/")
    assert nova_aws.operations().index("PutObject") < nova_aws.operations().index("CreateModelCustomizationJob")
    entry = ledger_entry(nova_aws)
    assert entry["request"] == "created" and entry["jobId"] == NOVA_JOB_ARN
    assert entry["fingerprint"] == fingerprint(parse_job_spec(nova_spec()))
    assert entry["requestToken"] == sent["clientRequestToken"] and entry["variant"] == "nova"


def test_a_launch_that_cannot_be_recorded_starts_nothing(nova_aws: StubbedAws, lambda_context) -> None:
    nova_aws.ledger_bucket.fail("PutObject", "AccessDenied")
    with pytest.raises(LaunchFailure) as failure:
        launcher.on_event(cfn_event("Create", nova_spec()), lambda_context)
    assert str(failure.value).startswith(
        "Recording the launch in the job ledger s3://rft-data-bucket/jobs/ (s3:PutObject, before any job was "
        "created) was denied (AccessDenied): check the launcher role's s3:GetObject, s3:ListBucket and "
        "s3:PutObject permissions on s3://rft-data-bucket/jobs/*."
    )
    assert "CreateModelCustomizationJob" not in nova_aws.operations()


def test_a_rejected_create_is_recorded_as_rejected(nova_aws: StubbedAws, lambda_context) -> None:
    nova_aws.stub("bedrock").add_client_error("create_model_customization_job", "AccessDeniedException", "No.", 403)
    with pytest.raises(LaunchFailure):
        launcher.on_event(cfn_event("Create", nova_spec()), lambda_context)
    entry = ledger_entry(nova_aws)
    assert entry["request"] == "rejected" and entry["jobId"] is None
    assert entry["note"].startswith("CreateModelCustomizationJob was denied (AccessDeniedException)")


@pytest.mark.parametrize(
    "code,status,message",
    [
        ("InternalServerException", 500, "Internal error"),  # Bedrock acted, then its answer failed
        ("ConflictException", 409, "A job with this name already exists"),  # a retry after it acted
        ("ValidationException", 400, "Job name bedrock-rft already exists in this account"),
    ],
)
def test_a_job_created_despite_an_error_is_found_by_name_and_adopted(
    nova_aws: StubbedAws, lambda_context, code: str, status: int, message: str
) -> None:
    # The request's token and name are deterministic: what the lookup must find.
    job_fingerprint = fingerprint(parse_job_spec(nova_spec()))
    token = request_token(builders.STACK_ID, builders.LOGICAL_ID, "req-0001", job_fingerprint)
    name = launch_names("bedrock-rft-nova2lite", job_fingerprint, token).job_name
    bedrock = nova_aws.stub("bedrock")
    bedrock.add_client_error("create_model_customization_job", code, message, status)
    bedrock.add_response(
        "get_model_customization_job",
        {**job_description(NOVA_JOB_ARN, name, "InProgress"), "clientRequestToken": token},
        {"jobIdentifier": name},
    )
    expect_tracker_start(nova_aws)
    result = launcher.on_event(cfn_event("Create", nova_spec()), lambda_context)

    nova_aws.assert_done()
    assert result["PhysicalResourceId"] == NOVA_JOB_ARN
    assert len(nova_aws.calls("CreateModelCustomizationJob")) == 1
    assert nova_aws.calls("CreateModelCustomizationJob")[0]["jobName"] == name
    assert ledger_entry(nova_aws)["request"] == "created"


def test_a_lost_answer_that_cannot_be_looked_up_says_the_job_may_exist(nova_aws: StubbedAws, lambda_context) -> None:
    bedrock = nova_aws.stub("bedrock")
    bedrock.add_client_error("create_model_customization_job", "InternalServerException", "Internal error", 500)
    bedrock.add_client_error("get_model_customization_job", "AccessDeniedException", "Not allowed", 403)
    with pytest.raises(LaunchFailure) as failure:
        launcher.on_event(cfn_event("Create", nova_spec()), lambda_context)
    name = nova_aws.calls("CreateModelCustomizationJob")[0]["jobName"]
    assert str(failure.value) == (
        f"Job {name} MAY EXIST and bill: CreateModelCustomizationJob got no definite answer "
        "(InternalServerException (500)) and looking it up failed too (AccessDeniedException (403)). Check with "
        f"`rftctl history` or `aws bedrock get-model-customization-job --job-identifier {name} --region us-east-1`; "
        f"stop it with `rftctl stop --job {name}` before you redeploy, which starts a new job."
    )
    entry = ledger_entry(nova_aws)
    assert entry["request"] == "unknown" and entry["note"] == str(failure.value)
    # No tracker was started for a job nobody can name by id, and nothing was stopped blindly.
    assert "StartExecution" not in nova_aws.operations() and "StopModelCustomizationJob" not in nova_aws.operations()


class CreateFailsFirst:
    """The stubbed bedrock client, whose first create fails in the transport (no Stubber can raise that)."""

    def __init__(self, client, error: Exception) -> None:
        self._client, self._error = client, error

    def __getattr__(self, name: str):
        return getattr(self._client, name)

    def create_model_customization_job(self, **params):
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return self._client.create_model_customization_job(**params)


def test_a_connection_closed_mid_answer_is_looked_up_not_called_rejected(
    nova_aws: StubbedAws, lambda_context, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ConnectionClosedError

    from stacks.rft_job.runtime import clients

    flaky = CreateFailsFirst(nova_aws.client("bedrock"), ConnectionClosedError(endpoint_url="https://bedrock"))
    monkeypatch.setattr(
        clients,
        "aws_client",
        lambda service, region=None: flaky if service == "bedrock" else nova_aws.client(service, region),
    )
    job_fingerprint = fingerprint(parse_job_spec(nova_spec()))
    token = request_token(builders.STACK_ID, builders.LOGICAL_ID, "req-0001", job_fingerprint)
    name = launch_names("bedrock-rft-nova2lite", job_fingerprint, token).job_name
    nova_aws.stub("bedrock").add_client_error(
        "get_model_customization_job", "ResourceNotFoundException", "no", 404, expected_params={"jobIdentifier": name}
    )
    expect_create(nova_aws)  # sent again with the same token: Bedrock answers with the one job
    expect_tracker_start(nova_aws)
    result = launcher.on_event(cfn_event("Create", nova_spec()), lambda_context)
    assert result["PhysicalResourceId"] == NOVA_JOB_ARN
    assert ledger_entry(nova_aws)["request"] == "created"


def test_a_name_taken_by_another_request_is_a_definite_refusal(nova_aws: StubbedAws, lambda_context) -> None:
    job_fingerprint = fingerprint(parse_job_spec(nova_spec()))
    token = request_token(builders.STACK_ID, builders.LOGICAL_ID, "req-0001", job_fingerprint)
    name = launch_names("bedrock-rft-nova2lite", job_fingerprint, token).job_name
    bedrock = nova_aws.stub("bedrock")
    bedrock.add_client_error("create_model_customization_job", "ConflictException", "name exists", 409)
    bedrock.add_response(
        "get_model_customization_job",
        {**job_description(NOVA_JOB_ARN_2, name, "InProgress"), "clientRequestToken": "f" * 64},
        {"jobIdentifier": name},
    )
    with pytest.raises(LaunchFailure) as failure:
        launcher.on_event(cfn_event("Create", nova_spec()), lambda_context)
    assert str(failure.value) == (
        f"CreateModelCustomizationJob started no job: the job name {name} is already used by {NOVA_JOB_ARN_2}, "
        "which another request started (its request token differs). Redeploy: a new request gets a new name."
    )
    assert ledger_entry(nova_aws)["request"] == "rejected"
    assert "StopModelCustomizationJob" not in nova_aws.operations()  # not ours: never stopped


def test_a_reinvoked_launch_keeps_the_first_attempts_launch_time(
    nova_aws: StubbedAws, lambda_context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(launcher, "utc_now", lambda: "2026-12-01T08:00:00+00:00")
    bedrock = nova_aws.stub("bedrock")
    bedrock.add_client_error("create_model_customization_job", "InternalServerException", "oops", 500)
    bedrock.add_client_error("get_model_customization_job", "AccessDeniedException", "no", 403)
    with pytest.raises(LaunchFailure):
        launcher.on_event(cfn_event("Create", nova_spec()), lambda_context)
    assert ledger_entry(nova_aws)["request"] == "unknown"

    monkeypatch.setattr(launcher, "utc_now", lambda: "2026-12-01T08:20:00+00:00")
    expect_create(nova_aws)
    expect_tracker_start(nova_aws)
    launcher.on_event(cfn_event("Create", nova_spec()), lambda_context)
    entry = ledger_entry(nova_aws)
    assert (entry["request"], entry["jobId"]) == ("created", NOVA_JOB_ARN)
    assert entry["launchedAt"] == "2026-12-01T08:00:00+00:00"


def test_a_failure_never_replaces_an_entry_that_names_a_job(
    nova_aws: StubbedAws, lambda_context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two copies of one request at once: B creates the job; A's create is then refused (quota)."""
    real_claim = ledger_module.LaunchRecord.claim
    ran: list[bool] = []

    def claim_after_the_other_copy(record) -> None:
        if not ran:
            ran.append(True)
            expect_create(nova_aws)
            expect_tracker_start(nova_aws)
            launcher.on_event(cfn_event("Create", nova_spec()), lambda_context)
            nova_aws.stub("bedrock").add_client_error(
                "create_model_customization_job", "ServiceQuotaExceededException", "Limit of 1 job", 400
            )
        real_claim(record)

    monkeypatch.setattr(ledger_module.LaunchRecord, "claim", claim_after_the_other_copy)
    with pytest.raises(LaunchFailure, match="hit a service quota"):
        launcher.on_event(cfn_event("Create", nova_spec()), lambda_context)
    entry = ledger_entry(nova_aws)
    assert (entry["request"], entry["jobId"]) == ("created", NOVA_JOB_ARN)
