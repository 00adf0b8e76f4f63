"""rftctl deploy-model: reuse, idempotent create, wait with progress, Ctrl-C leaves a clear trail."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from stacks.rft_job.runtime.naming import deployment_name, deployment_request_token
from tests.scripts.fakes import (
    ACCOUNT,
    DEPLOYMENT_ARN,
    MANTLE_REGION,
    MANTLE_STACK,
    NOVA_JOB_ARN,
    NOVA_JOB_NAME,
    NOVA_MODEL_ARN,
    NOVA_REGION,
    NOVA_STACK,
    expect_mantle_stack,
    expect_nova_stack,
    expect_parameter,
    nova_job,
)

DEPLOYMENT_PARAMETER = f"/bedrock-rft/{NOVA_STACK}/job/deployment-arn"
TRACKER_NAME = deployment_name(NOVA_JOB_NAME, NOVA_JOB_ARN)


def deployment(status: str, **fields: Any) -> dict[str, Any]:
    record = {
        "customModelDeploymentArn": DEPLOYMENT_ARN,
        "modelDeploymentName": TRACKER_NAME,
        "modelArn": NOVA_MODEL_ARN,
        "createdAt": datetime(2025, 12, 1, 11, 0, tzinfo=UTC),
        "status": status,
    }
    record.update(fields)
    return record


def expect_completed_job(aws) -> None:
    expect_nova_stack(aws)
    expect_parameter(aws, NOVA_REGION, f"/bedrock-rft/{NOVA_STACK}/job/id", NOVA_JOB_ARN)
    aws.stub("bedrock", NOVA_REGION).add_response(
        "get_model_customization_job",
        nova_job("Completed", outputModelArn=NOVA_MODEL_ARN),
        {"jobIdentifier": NOVA_JOB_ARN},
    )


def expect_no_existing_deployment(aws) -> None:
    expect_parameter(aws, NOVA_REGION, DEPLOYMENT_PARAMETER, "NONE")
    bedrock = aws.stub("bedrock", NOVA_REGION)
    bedrock.add_response(
        "list_custom_model_deployments", {"modelDeploymentSummaries": []}, {"modelArnEquals": NOVA_MODEL_ARN}
    )


def expect_create(aws) -> None:
    bedrock = aws.stub("bedrock", NOVA_REGION)
    # rft_job's NovaJobs.ensure_deployment looks the tracker's name up first.
    bedrock.add_client_error(
        "get_custom_model_deployment",
        "ResourceNotFoundException",
        "not found",
        http_status_code=404,
        expected_params={"customModelDeploymentIdentifier": TRACKER_NAME},
    )
    bedrock.add_response(
        "create_custom_model_deployment",
        {"customModelDeploymentArn": DEPLOYMENT_ARN},
        {
            "modelDeploymentName": TRACKER_NAME,
            "modelArn": NOVA_MODEL_ARN,
            "description": f"On-demand inference for the model trained by RFT job {NOVA_JOB_NAME}",
            "clientRequestToken": deployment_request_token(NOVA_JOB_ARN),
        },
    )


def expect_get(aws, record: dict[str, Any]) -> None:
    aws.stub("bedrock", NOVA_REGION).add_response(
        "get_custom_model_deployment", record, {"customModelDeploymentIdentifier": DEPLOYMENT_ARN}
    )


def test_creates_the_deployment_with_the_trackers_name_and_token_then_waits(rftctl, aws) -> None:
    expect_completed_job(aws)
    expect_no_existing_deployment(aws)
    expect_create(aws)
    expect_get(aws, deployment("Creating"))
    expect_get(aws, deployment("Creating"))
    expect_get(aws, deployment("Active"))
    sleeps: list[float] = []
    result = rftctl("deploy-model", "--stack", NOVA_STACK, "--interval", "10", sleep=sleeps.append)
    assert result.code == 0, result.err
    assert sleeps == [10.0, 10.0]
    assert f"created deployment: {DEPLOYMENT_ARN}" in result.out
    assert f"deployment Active: {DEPLOYMENT_ARN}" in result.out
    assert "aws bedrock-runtime converse --region us-east-1" in result.out
    assert f"--model-id {DEPLOYMENT_ARN}" in result.out
    assert f'runtime.converse(modelId="{DEPLOYMENT_ARN}"' in result.out
    assert "deployment Creating" in result.err  # progress on stderr


def test_reuses_the_deployment_the_tracker_recorded(rftctl, aws) -> None:
    expect_completed_job(aws)
    expect_parameter(aws, NOVA_REGION, DEPLOYMENT_PARAMETER, DEPLOYMENT_ARN)
    expect_get(aws, deployment("Active"))
    result = rftctl("deploy-model", "--stack", NOVA_STACK)
    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == f"reusing deployment {TRACKER_NAME} (Active): {DEPLOYMENT_ARN}"
    assert f"deployment Active: {DEPLOYMENT_ARN}" in result.out


def test_reuses_another_deployment_of_the_same_model(rftctl, aws) -> None:
    expect_completed_job(aws)
    expect_parameter(aws, NOVA_REGION, DEPLOYMENT_PARAMETER, "NONE")
    failed_arn = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model-deployment/0failed0000"
    summary = {"modelArn": NOVA_MODEL_ARN, "createdAt": datetime(2025, 12, 1, tzinfo=UTC)}
    aws.stub("bedrock", NOVA_REGION).add_response(
        "list_custom_model_deployments",
        {
            "modelDeploymentSummaries": [
                {
                    **summary,
                    "customModelDeploymentArn": failed_arn,
                    "customModelDeploymentName": "a-failed",
                    "status": "Failed",
                },
                {
                    **summary,
                    "customModelDeploymentArn": DEPLOYMENT_ARN,
                    "customModelDeploymentName": "console-made",
                    "status": "Creating",
                },
            ]
        },
        {"modelArnEquals": NOVA_MODEL_ARN},
    )
    expect_get(aws, deployment("Creating", modelDeploymentName="console-made"))
    expect_get(aws, deployment("Active", modelDeploymentName="console-made"))
    result = rftctl("deploy-model", "--stack", NOVA_STACK)
    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == f"reusing deployment console-made (Creating): {DEPLOYMENT_ARN}"


def test_ctrl_c_while_waiting_says_what_exists_and_how_to_resume_or_delete(rftctl, aws) -> None:
    expect_completed_job(aws)
    expect_no_existing_deployment(aws)
    expect_create(aws)
    expect_get(aws, deployment("Creating"))

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    result = rftctl("deploy-model", "--stack", NOVA_STACK, sleep=interrupted)
    assert result.code == 130
    assert f"stopped waiting: deployment {DEPLOYMENT_ARN} is Creating and carries on in AWS." in result.err
    assert f"resume waiting: rftctl deploy-model --stack {NOVA_STACK}" in result.err
    assert (
        f"aws bedrock delete-custom-model-deployment --custom-model-deployment-identifier {DEPLOYMENT_ARN} "
        "--region us-east-1"
    ) in result.err
    assert result.err.strip().splitlines()[-1] == "rftctl: interrupted (Ctrl-C)"


def test_gives_up_waiting_after_its_timeout_and_says_how_to_resume(rftctl, aws) -> None:
    expect_completed_job(aws)
    expect_no_existing_deployment(aws)
    expect_create(aws)
    expect_get(aws, deployment("Creating"))
    expect_get(aws, deployment("Creating"))
    clock = iter([0.0, 30.0, 61.0])
    result = rftctl("deploy-model", "--stack", NOVA_STACK, "--timeout", "1", monotonic=lambda: next(clock))
    assert result.code == 3
    assert f"deployment {DEPLOYMENT_ARN} is still Creating after 1 minutes" in result.out
    assert f"resume waiting: rftctl deploy-model --stack {NOVA_STACK}" in result.out


def test_a_failed_deployment_exits_non_zero_with_its_message(rftctl, aws) -> None:
    expect_completed_job(aws)
    expect_no_existing_deployment(aws)
    expect_create(aws)
    expect_get(aws, deployment("Failed", failureMessage="Insufficient capacity"))
    result = rftctl("deploy-model", "--stack", NOVA_STACK)
    assert result.code == 1
    assert f"deployment {DEPLOYMENT_ARN} failed: Insufficient capacity" in result.out


def test_a_running_job_has_nothing_to_deploy(rftctl, aws) -> None:
    expect_nova_stack(aws)
    aws.stub("bedrock", NOVA_REGION).add_response(
        "get_model_customization_job", nova_job("InProgress"), {"jobIdentifier": NOVA_JOB_ARN}
    )
    result = rftctl("deploy-model", "--stack", NOVA_STACK, "--job", NOVA_JOB_ARN)
    assert result.code == 1
    assert result.err.strip() == (
        f"rftctl: error: job {NOVA_JOB_ARN} is InProgress, so it has no trained model yet (rftctl watch waits for it)"
    )


def test_deploy_model_is_for_nova_stacks_only(rftctl, aws) -> None:
    expect_mantle_stack(aws)
    result = rftctl("deploy-model", "--stack", MANTLE_STACK, "--region", MANTLE_REGION)
    assert result.code == 2
    assert (
        result.err.strip() == f"rftctl: error: stack {MANTLE_STACK} is a mantle stack; this command needs a nova stack"
    )
