"""Stack discovery, and AWS / mantle failures ending in one actionable line with exit code 2."""

from __future__ import annotations

import pytest

from rftctl.aws import AwsClients
from rftctl.cli import main
from rftctl.context import CommandContext
from rftctl.errors import CliError, ErrorHint, explain
from stacks.config import Variant
from tests.scripts.fakes import (
    MANTLE_JOB_ID,
    MANTLE_REGION,
    MANTLE_STACK,
    NOVA_JOB_ARN,
    NOVA_REGION,
    NOVA_STACK,
    expect_mantle_stack,
    expect_nova_stack,
    mantle_outputs,
    nova_job,
    nova_outputs,
    stack_description,
)
from tests.stacks.rft_job.fake_mantle import ACCESS_KEY, SECRET_KEY, SESSION_TOKEN


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("rftctl: error: ")
    assert "Traceback" not in err
    return lines[0].removeprefix("rftctl: error: ")


def expect_listing(aws, region: str, *stacks: dict) -> None:
    aws.stub("cloudformation", region).add_response("describe_stacks", {"Stacks": list(stacks)}, {})


NOVA_DESCRIPTION = stack_description(NOVA_STACK, "nova", nova_outputs(), NOVA_REGION)
MANTLE_DESCRIPTION = stack_description(MANTLE_STACK, "mantle", mantle_outputs(), MANTLE_REGION)
UNRELATED = {**stack_description("SomethingElse", "nova", {}, NOVA_REGION), "Tags": [{"Key": "team", "Value": "x"}]}


# --- discovery ------------------------------------------------------------------------------


def test_the_only_tagged_stack_is_found_in_either_region(aws) -> None:
    expect_listing(aws, NOVA_REGION, UNRELATED)
    expect_listing(aws, MANTLE_REGION, MANTLE_DESCRIPTION)
    stack = CommandContext(clients=aws).stack()
    assert (stack.name, stack.region, stack.variant) == (MANTLE_STACK, MANTLE_REGION, Variant.MANTLE)
    assert stack.output("JobId") == MANTLE_JOB_ID


def test_a_command_that_needs_nova_searches_only_us_east_1(aws) -> None:
    expect_listing(aws, NOVA_REGION, NOVA_DESCRIPTION, UNRELATED)
    stack = CommandContext(clients=aws).stack(Variant.NOVA)
    assert (stack.name, stack.region) == (NOVA_STACK, NOVA_REGION)


def test_several_stacks_are_listed_as_candidates(rftctl, aws) -> None:
    qwen = stack_description("BedrockRft-Qwen3-32b", "mantle", mantle_outputs(), MANTLE_REGION)
    expect_listing(aws, NOVA_REGION, NOVA_DESCRIPTION)
    expect_listing(aws, MANTLE_REGION, MANTLE_DESCRIPTION, qwen)
    result = rftctl("status")
    assert result.code == 2
    assert one_error_line(result.err) == (
        f"several RFT stacks are deployed: {NOVA_STACK} (us-east-1, nova), {MANTLE_STACK} (us-west-2, mantle), "
        "BedrockRft-Qwen3-32b (us-west-2, mantle); choose one with --stack NAME"
    )


def test_no_stack_at_all(rftctl, aws) -> None:
    expect_listing(aws, MANTLE_REGION)
    result = rftctl("status", "--variant", "mantle")
    assert result.code == 2
    assert one_error_line(result.err) == (
        "no deployed mantle RFT stack (tags rft:app, rft:variant) in us-west-2: deploy one with npx cdk deploy, "
        "or pass --stack / --region"
    )


def test_a_named_stack_is_looked_up_in_the_other_region_too(aws) -> None:
    aws.stub("cloudformation", NOVA_REGION).add_client_error(
        "describe_stacks",
        "ValidationError",
        f"Stack with id {MANTLE_STACK} does not exist",
        expected_params={"StackName": MANTLE_STACK},
    )
    aws.stub("cloudformation", MANTLE_REGION).add_response(
        "describe_stacks", {"Stacks": [MANTLE_DESCRIPTION]}, {"StackName": MANTLE_STACK}
    )
    stack = CommandContext(clients=aws, stack_name=MANTLE_STACK).stack()
    assert stack.region == MANTLE_REGION


def test_a_stack_without_the_project_tags_is_refused(rftctl, aws) -> None:
    aws.stub("cloudformation", NOVA_REGION).add_response(
        "describe_stacks", {"Stacks": [UNRELATED]}, {"StackName": "SomethingElse"}
    )
    result = rftctl("status", "--stack", "SomethingElse", "--region", NOVA_REGION)
    assert result.code == 2
    assert "is not an RFT stack of this project" in one_error_line(result.err)


# --- AWS errors -----------------------------------------------------------------------------


def test_missing_stack(rftctl, aws) -> None:
    for region in (NOVA_REGION, MANTLE_REGION):
        aws.stub("cloudformation", region).add_client_error(
            "describe_stacks",
            "ValidationError",
            "Stack with id BedrockRft-Nova2Lite does not exist",
            expected_params={"StackName": NOVA_STACK},
        )
    result = rftctl("status", "--stack", NOVA_STACK)
    assert result.code == 2
    assert one_error_line(result.err) == (
        f"stack '{NOVA_STACK}' does not exist in us-east-1 or us-west-2: deploy it (npx cdk deploy {NOVA_STACK}) "
        "or pass the right --stack / --region (Nova stacks live in us-east-1, mantle stacks in us-west-2)"
    )


def test_missing_stack_in_the_wrong_region(rftctl, aws) -> None:
    aws.stub("cloudformation", "eu-west-1").add_client_error(
        "describe_stacks",
        "ValidationError",
        "Stack with id BedrockRft-Nova2Lite does not exist",
        expected_params={"StackName": NOVA_STACK},
    )
    result = rftctl("status", "--stack", NOVA_STACK, "--region", "eu-west-1")
    assert result.code == 2
    assert one_error_line(result.err).startswith(f"stack '{NOVA_STACK}' does not exist in eu-west-1:")


def test_access_denied(rftctl, aws) -> None:
    aws.stub("cloudformation", NOVA_REGION).add_client_error(
        "describe_stacks",
        "AccessDenied",
        "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: cloudformation:DescribeStacks",
        http_status_code=403,
        expected_params={"StackName": NOVA_STACK},
    )
    result = rftctl("status", "--stack", NOVA_STACK, "--region", NOVA_REGION)
    assert result.code == 2
    assert one_error_line(result.err) == (
        "AWS denied DescribeStacks in us-east-1: User: arn:aws:iam::123456789012:user/dev is not authorized to "
        "perform: cloudformation:DescribeStacks. Grant that permission to your IAM identity or use a profile "
        "that has it (--profile)"
    )


def test_throttling(rftctl, aws) -> None:
    expect_nova_stack(aws)
    aws.stub("bedrock", NOVA_REGION).add_client_error(
        "get_model_customization_job",
        "ThrottlingException",
        "Rate exceeded",
        http_status_code=429,
        expected_params={"jobIdentifier": NOVA_JOB_ARN},
    )
    result = rftctl("status", "--stack", NOVA_STACK, "--job", NOVA_JOB_ARN)
    assert result.code == 2
    assert one_error_line(result.err).startswith(
        "AWS throttled GetModelCustomizationJob in us-east-1 even after retries (ThrottlingException)"
    )


def test_expired_credentials(rftctl, aws) -> None:
    aws.stub("cloudformation", NOVA_REGION).add_client_error(
        "describe_stacks",
        "ExpiredToken",
        "The security token included in the request is expired",
        http_status_code=403,
        expected_params={"StackName": NOVA_STACK},
    )
    result = rftctl("status", "--stack", NOVA_STACK, "--region", NOVA_REGION)
    assert one_error_line(result.err) == (
        "your AWS credentials have expired (ExpiredToken): refresh them (e.g. aws sso login) and retry"
    )


def test_no_credentials_with_the_real_client_factory(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    code = main(["status", "--stack", NOVA_STACK])
    assert code == 2
    assert one_error_line(capsys.readouterr().err) == (
        "no AWS credentials found: configure credentials (aws configure, aws sso login, AWS_PROFILE) or pass --profile"
    )


def test_unknown_profile_with_the_real_client_factory(capsys) -> None:
    code = main(["status", "--profile", "does-not-exist"])
    assert code == 2
    message = one_error_line(capsys.readouterr().err)
    assert "does-not-exist" in message and "--profile" in message


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, "the Bedrock mantle endpoint rejected the SigV4 signature (401)"),
        (
            403,
            "the Bedrock mantle endpoint denied access (403): "
            "not authorized to perform bedrock-mantle:GetFineTuningJob",
        ),
        (404, "the Bedrock mantle endpoint answered 404"),
    ],
)
def test_mantle_errors(rftctl, aws, mantle_server, status: int, expected: str) -> None:
    expect_mantle_stack(aws)
    mantle_server.add_job(id=MANTLE_JOB_ID, status="running")
    mantle_server.fail_next(
        "GET",
        rf"/fine_tuning/jobs/{MANTLE_JOB_ID}",
        status,
        "not authorized to perform bedrock-mantle:GetFineTuningJob",
    )
    result = rftctl("status", "--stack", MANTLE_STACK, "--region", MANTLE_REGION, "--job", MANTLE_JOB_ID)
    assert result.code == 2
    assert one_error_line(result.err).startswith(expected)


def test_ctrl_c_exits_130_with_one_line(rftctl, aws) -> None:
    expect_nova_stack(aws)
    aws.stub("bedrock", NOVA_REGION).add_response(
        "get_model_customization_job", nova_job("InProgress"), {"jobIdentifier": NOVA_JOB_ARN}
    )

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    result = rftctl("watch", "--stack", NOVA_STACK, "--job", NOVA_JOB_ARN, sleep=interrupt)
    assert result.code == 130
    assert result.err.strip().splitlines()[-1] == "rftctl: interrupted (Ctrl-C)"


def test_unexpected_exceptions_are_not_hidden() -> None:
    assert explain(ValueError("a bug"), ErrorHint()) is None
    error = CliError("already phrased", 1)
    assert explain(error, ErrorHint()) is error


def test_a_named_profile_signs_mantle_requests_too(monkeypatch: pytest.MonkeyPatch, tmp_path, mantle_server) -> None:
    """--profile reaches the mantle client: the request is signed with the profile's keys."""
    credentials = tmp_path / "credentials"
    credentials.write_text(
        f"[operator]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
        f"aws_session_token = {SESSION_TOKEN}\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    mantle_server.add_job(id=MANTLE_JOB_ID, status="queued")
    job = AwsClients(profile="operator").mantle(MANTLE_REGION).fine_tuning.jobs.retrieve(MANTLE_JOB_ID)
    assert job.status == "queued"
    mantle_server.assert_all_signed()


def test_every_variant_has_each_per_api_operation() -> None:
    """The operations whose API calls differ by variant: a new variant must fill every table."""
    from rftctl import inference, jobs, reward_metrics, trained_model

    for table in (jobs.PROGRESS, reward_metrics.JOB_METRICS, inference.CHAT_MODELS, trained_model.TUNED_MODEL_ID):
        assert set(table) == set(Variant)
