"""Tracker: Nova through stubbed bedrock/ssm/sns clients; mantle through the fake mantle server."""

from __future__ import annotations

import json
import re

import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY

from stacks.rft_job.runtime import notifications, tracker
from tests.stacks.rft_job.builders import (
    DEPLOYMENT_ARN,
    NOVA_JOB_ARN,
    NOVA_JOB_ARN_2,
    NOVA_MODEL_ARN,
    NOW,
    StubbedAws,
    nova_job_description,
    stack_status_is,
)
from tests.stacks.rft_job.fake_mantle import FakeMantle

STATUS_PARAM = "/bedrock-rft/nova/status"
MODEL_PARAM = "/bedrock-rft/nova/model"
FAILURE_PARAM = "/bedrock-rft/nova/failure"
JOB_ID_PARAM = "/bedrock-rft/nova/job-id"
DEPLOYMENT_PARAM = "/bedrock-rft/nova/deployment"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:bedrock-rft-notifications"
JOB_NAME = "bedrock-rft-nova2lite-265cf3e6-78927203"
DEPLOYMENT_NAME_PATTERN = re.compile(r"^([0-9a-zA-Z][_-]?){1,63}$")


@pytest.fixture
def nova_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "VARIANT": "nova",
        "STATUS_PARAMETER": STATUS_PARAM,
        "MODEL_PARAMETER": MODEL_PARAM,
        "FAILURE_PARAMETER": FAILURE_PARAM,
        "JOB_ID_PARAMETER": JOB_ID_PARAM,
        "DEPLOYMENT_PARAMETER": DEPLOYMENT_PARAM,
        "TOPIC_ARN": TOPIC_ARN,
        "CREATE_DEPLOYMENT": "true",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def mantle_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "VARIANT": "mantle",
        "STATUS_PARAMETER": STATUS_PARAM,
        "MODEL_PARAMETER": MODEL_PARAM,
        "FAILURE_PARAMETER": FAILURE_PARAM,
        "JOB_ID_PARAMETER": JOB_ID_PARAM,
        "TOPIC_ARN": TOPIC_ARN.replace("us-east-1", "us-west-2"),
        "CREATE_DEPLOYMENT": "false",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DEPLOYMENT_PARAMETER", raising=False)


# --- stub helpers ------------------------------------------------------------------------


def ssm_has(aws: StubbedAws, name: str, value: str | None) -> None:
    if value is None:
        aws.stub("ssm").add_client_error("get_parameter", "ParameterNotFound", "", 400, expected_params={"Name": name})
    else:
        aws.stub("ssm").add_response(
            "get_parameter",
            {"Parameter": {"Name": name, "Type": "String", "Value": value, "Version": 3}},
            {"Name": name},
        )


def ssm_put(aws: StubbedAws, name: str, value: str = ANY) -> None:
    aws.stub("ssm").add_response(
        "put_parameter",
        {"Version": 4, "Tier": "Standard"},
        {"Name": name, "Value": value, "Type": "String", "Overwrite": True},
    )


def sns_publish(aws: StubbedAws, topic: str, subject: str, status: str, variant: str) -> None:
    aws.stub("sns").add_response(
        "publish",
        {"MessageId": "11111111-2222-3333-4444-555555555555"},
        {
            "TopicArn": topic,
            "Subject": subject,
            "Message": ANY,
            "MessageAttributes": {
                "status": {"DataType": "String", "StringValue": status},
                "variant": {"DataType": "String", "StringValue": variant},
            },
        },
    )


def nova_job(status: str, job_arn: str = NOVA_JOB_ARN, **extra: object) -> dict:
    return nova_job_description(job_arn, JOB_NAME, status, **extra)


def bedrock_returns(aws: StubbedAws, response: dict, job_arn: str = NOVA_JOB_ARN) -> None:
    aws.stub("bedrock").add_response("get_model_customization_job", response, {"jobIdentifier": job_arn})


def nova_event(polls: int | None = 2, job_arn: str = NOVA_JOB_ARN) -> dict:
    event = {"variant": "nova", "jobId": job_arn, "jobName": JOB_NAME}
    if polls is not None:
        event["polls"] = polls
    return event


def published_message(aws: StubbedAws) -> tuple[str, dict]:
    message = aws.calls("Publish")[0]["Message"]
    text, _, facts = message.partition("Facts (JSON):\n")
    return text, json.loads(facts)


# --- Nova --------------------------------------------------------------------------------


def test_running_job_with_unchanged_status_writes_nothing(nova_env, nova_aws: StubbedAws, lambda_context) -> None:
    bedrock_returns(nova_aws, nova_job("InProgress"))
    ssm_has(nova_aws, JOB_ID_PARAM, NOVA_JOB_ARN)
    ssm_has(nova_aws, STATUS_PARAM, "InProgress")

    result = tracker.handler(nova_event(polls=2), lambda_context)

    assert result == {
        **nova_event(),
        "status": "InProgress",
        "terminal": False,
        "polls": 3,
        "unknownSince": None,
        "gaveUp": False,
    }
    assert "PutParameter" not in nova_aws.operations() and "Publish" not in nova_aws.operations()
    nova_aws.assert_done()


def test_first_poll_writes_the_status(nova_env, nova_aws: StubbedAws, lambda_context) -> None:
    bedrock_returns(nova_aws, nova_job("InProgress"))
    ssm_has(nova_aws, JOB_ID_PARAM, NOVA_JOB_ARN)
    ssm_has(nova_aws, STATUS_PARAM, "pending")
    ssm_put(nova_aws, STATUS_PARAM, "InProgress")

    result = tracker.handler(nova_event(polls=None), lambda_context)

    assert result["polls"] == 1 and result["terminal"] is False
    nova_aws.assert_done()


def test_stopping_is_not_terminal(nova_env, nova_aws: StubbedAws, lambda_context) -> None:
    bedrock_returns(nova_aws, nova_job("Stopping"))
    ssm_has(nova_aws, JOB_ID_PARAM, NOVA_JOB_ARN)
    ssm_has(nova_aws, STATUS_PARAM, "InProgress")
    ssm_put(nova_aws, STATUS_PARAM, "Stopping")
    assert tracker.handler(nova_event(), lambda_context)["terminal"] is False
    nova_aws.assert_done()


def test_completed_job_records_the_model_deploys_it_and_notifies(
    nova_env, nova_aws: StubbedAws, lambda_context
) -> None:
    bedrock_returns(nova_aws, nova_job("Completed", outputModelArn=NOVA_MODEL_ARN))
    ssm_has(nova_aws, JOB_ID_PARAM, NOVA_JOB_ARN)
    ssm_has(nova_aws, STATUS_PARAM, "InProgress")
    ssm_put(nova_aws, STATUS_PARAM, "Completed")
    ssm_has(nova_aws, MODEL_PARAM, "none")
    ssm_put(nova_aws, MODEL_PARAM, NOVA_MODEL_ARN)
    nova_aws.stub("bedrock").add_client_error(
        "get_custom_model_deployment", "ResourceNotFoundException", "not found", 404
    )
    nova_aws.stub("bedrock").add_response(
        "create_custom_model_deployment",
        {"customModelDeploymentArn": DEPLOYMENT_ARN},
        {"modelDeploymentName": ANY, "modelArn": NOVA_MODEL_ARN, "description": ANY, "clientRequestToken": ANY},
    )
    ssm_has(nova_aws, DEPLOYMENT_PARAM, None)
    ssm_put(nova_aws, DEPLOYMENT_PARAM, DEPLOYMENT_ARN)
    sns_publish(nova_aws, TOPIC_ARN, f"RFT job {JOB_NAME} Completed", "Completed", "nova")

    result = tracker.handler(nova_event(), lambda_context)

    assert result["terminal"] is True and result["status"] == "Completed"
    nova_aws.assert_done()
    deployment = nova_aws.calls("CreateCustomModelDeployment")[0]
    assert DEPLOYMENT_NAME_PATTERN.match(deployment["modelDeploymentName"])
    assert (
        nova_aws.calls("GetCustomModelDeployment")[0]["customModelDeploymentIdentifier"]
        == deployment["modelDeploymentName"]
    )
    text, facts = published_message(nova_aws)
    assert f"Model: {NOVA_MODEL_ARN}" in text and f"Deployment: {DEPLOYMENT_ARN}" in text
    assert facts["model"] == NOVA_MODEL_ARN and facts["deploymentArn"] == DEPLOYMENT_ARN and facts["currentJob"] is True


def test_reinvoked_tracker_reuses_the_existing_deployment(nova_env, nova_aws: StubbedAws, lambda_context) -> None:
    # A retry after the deployment was created (e.g. SNS was throttled): no second deployment,
    # no rewrites of unchanged parameters.
    bedrock_returns(nova_aws, nova_job("Completed", outputModelArn=NOVA_MODEL_ARN))
    ssm_has(nova_aws, JOB_ID_PARAM, NOVA_JOB_ARN)
    ssm_has(nova_aws, STATUS_PARAM, "Completed")
    ssm_has(nova_aws, MODEL_PARAM, NOVA_MODEL_ARN)
    nova_aws.stub("bedrock").add_response(
        "get_custom_model_deployment",
        {
            "customModelDeploymentArn": DEPLOYMENT_ARN,
            "modelDeploymentName": "x",
            "modelArn": NOVA_MODEL_ARN,
            "createdAt": NOW,
            "status": "Creating",
        },
        {"customModelDeploymentIdentifier": ANY},
    )
    ssm_has(nova_aws, DEPLOYMENT_PARAM, DEPLOYMENT_ARN)
    sns_publish(nova_aws, TOPIC_ARN, f"RFT job {JOB_NAME} Completed", "Completed", "nova")

    tracker.handler(nova_event(), lambda_context)

    assert "CreateCustomModelDeployment" not in nova_aws.operations()
    assert "PutParameter" not in nova_aws.operations()
    nova_aws.assert_done()


def test_completed_without_deployment_when_disabled(
    nova_env, nova_aws: StubbedAws, lambda_context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREATE_DEPLOYMENT", "false")
    bedrock_returns(nova_aws, nova_job("Completed", outputModelArn=NOVA_MODEL_ARN))
    ssm_has(nova_aws, JOB_ID_PARAM, NOVA_JOB_ARN)
    ssm_has(nova_aws, STATUS_PARAM, "InProgress")
    ssm_put(nova_aws, STATUS_PARAM, "Completed")
    ssm_has(nova_aws, MODEL_PARAM, "none")
    ssm_put(nova_aws, MODEL_PARAM, NOVA_MODEL_ARN)
    sns_publish(nova_aws, TOPIC_ARN, f"RFT job {JOB_NAME} Completed", "Completed", "nova")

    tracker.handler(nova_event(), lambda_context)

    assert not {"GetCustomModelDeployment", "CreateCustomModelDeployment"} & set(nova_aws.operations())
    assert "not requested" in published_message(nova_aws)[0]
    nova_aws.assert_done()


def test_failed_job_records_the_failure_and_never_deploys(nova_env, nova_aws: StubbedAws, lambda_context) -> None:
    bedrock_returns(nova_aws, nova_job("Failed", failureMessage="Lambda grader returned an invalid response"))
    ssm_has(nova_aws, JOB_ID_PARAM, NOVA_JOB_ARN)
    ssm_has(nova_aws, STATUS_PARAM, "InProgress")
    ssm_put(nova_aws, STATUS_PARAM, "Failed")
    ssm_has(nova_aws, FAILURE_PARAM, "none")
    ssm_put(nova_aws, FAILURE_PARAM, "Failed: Lambda grader returned an invalid response")
    sns_publish(nova_aws, TOPIC_ARN, f"RFT job {JOB_NAME} Failed", "Failed", "nova")

    result = tracker.handler(nova_event(), lambda_context)

    assert result["terminal"] is True
    assert "CreateCustomModelDeployment" not in nova_aws.operations()
    text, facts = published_message(nova_aws)
    assert "Lambda grader returned an invalid response" in text
    assert facts["failureMessage"] == "Lambda grader returned an invalid response"
    nova_aws.assert_done()


def test_stopped_job_is_terminal_and_explained(nova_env, nova_aws: StubbedAws, lambda_context) -> None:
    bedrock_returns(nova_aws, nova_job("Stopped"))
    ssm_has(nova_aws, JOB_ID_PARAM, NOVA_JOB_ARN)
    ssm_has(nova_aws, STATUS_PARAM, "Stopping")
    ssm_put(nova_aws, STATUS_PARAM, "Stopped")
    ssm_has(nova_aws, FAILURE_PARAM, None)
    ssm_put(nova_aws, FAILURE_PARAM, ANY)
    sns_publish(nova_aws, TOPIC_ARN, f"RFT job {JOB_NAME} Stopped", "Stopped", "nova")

    assert tracker.handler(nova_event(), lambda_context)["terminal"] is True
    assert nova_aws.calls("PutParameter")[1]["Value"].startswith("Stopped: the job was stopped before it finished")
    nova_aws.assert_done()


def test_vanished_job_ends_the_loop_as_not_found(nova_env, nova_aws: StubbedAws, lambda_context) -> None:
    nova_aws.stub("bedrock").add_client_error(
        "get_model_customization_job", "ResourceNotFoundException", "no such job", 404
    )
    ssm_has(nova_aws, JOB_ID_PARAM, NOVA_JOB_ARN)
    ssm_has(nova_aws, STATUS_PARAM, "InProgress")
    ssm_put(nova_aws, STATUS_PARAM, "NotFound")
    ssm_has(nova_aws, FAILURE_PARAM, "none")
    ssm_put(nova_aws, FAILURE_PARAM, f"NotFound: job {NOVA_JOB_ARN} no longer exists")
    sns_publish(nova_aws, TOPIC_ARN, f"RFT job {JOB_NAME} NotFound", "NotFound", "nova")

    result = tracker.handler(nova_event(), lambda_context)

    assert result["status"] == "NotFound" and result["terminal"] is True
    nova_aws.assert_done()


def test_a_job_not_visible_on_the_first_poll_is_polled_again(nova_env, nova_aws: StubbedAws, lambda_context) -> None:
    # The first poll runs right after the launch; a read that does not see the job yet must not
    # end tracking for good.
    nova_aws.stub("bedrock").add_client_error(
        "get_model_customization_job",
        "ResourceNotFoundException",
        "no such job",
        404,
        expected_params={"jobIdentifier": NOVA_JOB_ARN},
    )
    result = tracker.handler(nova_event(polls=0), lambda_context)
    assert result == {
        **nova_event(polls=0),
        "status": "NotFound",
        "terminal": False,
        "polls": 1,
        "unknownSince": None,
        "gaveUp": False,
    }
    assert nova_aws.operations() == ["GetModelCustomizationJob"]
    nova_aws.assert_done()


@pytest.mark.parametrize("word", ["x", "文字数超過", "🙅‍♀️"])
def test_a_long_failure_message_is_cut_to_fit_a_standard_parameter(
    nova_env, nova_aws: StubbedAws, lambda_context, word: str
) -> None:
    message = "{{{resolve:ssm:/x}}} " + word * 5000
    bedrock_returns(nova_aws, nova_job("Failed", failureMessage=message))
    ssm_has(nova_aws, JOB_ID_PARAM, NOVA_JOB_ARN)
    ssm_has(nova_aws, STATUS_PARAM, "InProgress")
    ssm_put(nova_aws, STATUS_PARAM, "Failed")
    ssm_has(nova_aws, FAILURE_PARAM, "none")
    ssm_put(nova_aws, FAILURE_PARAM)
    sns_publish(nova_aws, TOPIC_ARN, f"RFT job {JOB_NAME} Failed", "Failed", "nova")

    tracker.handler(nova_event(), lambda_context)

    written = nova_aws.calls("PutParameter")[1]["Value"]
    assert len(written.encode("utf-8")) <= 4096  # standard tier: 4 KB
    assert written.startswith("Failed: { { {resolve:ssm:/x} } } ")  # SSM rejects {{...}} in values
    assert written.endswith(tracker.SSM_TRUNCATED_MARKER)
    assert published_message(nova_aws)[1]["failureMessage"] == message
    nova_aws.assert_done()


def test_an_old_job_does_not_overwrite_the_current_jobs_parameters(
    nova_env, nova_aws: StubbedAws, lambda_context
) -> None:
    bedrock_returns(nova_aws, nova_job("Completed", outputModelArn=NOVA_MODEL_ARN))
    ssm_has(nova_aws, JOB_ID_PARAM, NOVA_JOB_ARN_2)  # the stack moved on to another job
    sns_publish(nova_aws, TOPIC_ARN, f"RFT job {JOB_NAME} Completed", "Completed", "nova")

    result = tracker.handler(nova_event(), lambda_context)

    assert result["terminal"] is True
    assert nova_aws.operations() == ["GetModelCustomizationJob", "GetParameter", "Publish"]
    text, facts = published_message(nova_aws)
    assert "left alone" in text and facts["currentJob"] is False and facts["deploymentArn"] is None
    nova_aws.assert_done()


def test_running_old_job_writes_nothing(nova_env, nova_aws: StubbedAws, lambda_context) -> None:
    bedrock_returns(nova_aws, nova_job("InProgress"))
    ssm_has(nova_aws, JOB_ID_PARAM, None)
    tracker.handler(nova_event(), lambda_context)
    assert nova_aws.operations() == ["GetModelCustomizationJob", "GetParameter"]


def test_throttling_is_raised_for_the_state_machine_to_retry(nova_env, nova_aws: StubbedAws, lambda_context) -> None:
    nova_aws.stub("bedrock").add_client_error(
        "get_model_customization_job", "ThrottlingException", "Rate exceeded", 429
    )
    with pytest.raises(ClientError) as error:
        tracker.handler(nova_event(), lambda_context)
    assert error.value.response["Error"]["Code"] == "ThrottlingException"


def test_deployment_that_is_denied_is_reported_not_retried(nova_env, nova_aws: StubbedAws, lambda_context) -> None:
    bedrock_returns(nova_aws, nova_job("Completed", outputModelArn=NOVA_MODEL_ARN))
    ssm_has(nova_aws, JOB_ID_PARAM, NOVA_JOB_ARN)
    ssm_has(nova_aws, STATUS_PARAM, "Completed")
    ssm_has(nova_aws, MODEL_PARAM, NOVA_MODEL_ARN)
    nova_aws.stub("bedrock").add_client_error("get_custom_model_deployment", "ResourceNotFoundException", "", 404)
    nova_aws.stub("bedrock").add_client_error(
        "create_custom_model_deployment", "AccessDeniedException", "not authorized", 403
    )
    sns_publish(nova_aws, TOPIC_ARN, f"RFT job {JOB_NAME} Completed", "Completed", "nova")

    tracker.handler(nova_event(), lambda_context)

    text, facts = published_message(nova_aws)
    assert "Deployment failed: CreateCustomModelDeployment was denied (AccessDeniedException)" in text
    assert "tracker role's bedrock:GetCustomModelDeployment and bedrock:CreateCustomModelDeployment" in text
    assert facts["deploymentError"].startswith("CreateCustomModelDeployment was denied")
    nova_aws.assert_done()


def test_deployment_throttling_is_retried(nova_env, nova_aws: StubbedAws, lambda_context) -> None:
    bedrock_returns(nova_aws, nova_job("Completed", outputModelArn=NOVA_MODEL_ARN))
    ssm_has(nova_aws, JOB_ID_PARAM, NOVA_JOB_ARN)
    ssm_has(nova_aws, STATUS_PARAM, "Completed")
    ssm_has(nova_aws, MODEL_PARAM, NOVA_MODEL_ARN)
    nova_aws.stub("bedrock").add_client_error("get_custom_model_deployment", "ThrottlingException", "slow down", 429)
    with pytest.raises(ClientError):
        tracker.handler(nova_event(), lambda_context)
    assert "Publish" not in nova_aws.operations()


def test_variant_mismatch_is_a_configuration_error(nova_env, lambda_context) -> None:
    with pytest.raises(ValueError, match="does not match the function's VARIANT"):
        tracker.handler({"variant": "mantle", "jobId": "ftjob-1", "jobName": "x"}, lambda_context)


def test_missing_settings_are_named(nova_env, lambda_context, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOPIC_ARN")
    with pytest.raises(RuntimeError, match="TOPIC_ARN is not set"):
        tracker.handler(nova_event(), lambda_context)


@pytest.mark.parametrize(
    ("job_name", "status"),
    [
        (JOB_NAME, "Completed"),
        ("x" * 200, "Failed"),
        ("モデル-job\nwith-newline", "succeeded"),
    ],
)
def test_subject_is_short_printable_ascii(job_name: str, status: str) -> None:
    subject = notifications.notification_subject(job_name, status)
    assert len(subject) < 100  # SNS: "less than 100 characters long"
    assert all(32 <= ord(ch) < 127 for ch in subject)
    assert subject.startswith("RFT job ") and subject.endswith(f" {status}")


# --- mantle ------------------------------------------------------------------------------


WEST_TOPIC = TOPIC_ARN.replace("us-east-1", "us-west-2")


def mantle_event(job_id: str, polls: int = 0) -> dict:
    return {"variant": "mantle", "jobId": job_id, "jobName": "bedrock-rft-gptoss20b-1a2b3c4d-5e6f7a8b", "polls": polls}


# "paused": a status this code does not know is not an end; tracking goes on.
@pytest.mark.parametrize("status", ["validating_files", "queued", "running", "paused"])
def test_mantle_running_states_are_not_terminal(
    mantle_env, mantle: FakeMantle, west_aws: StubbedAws, lambda_context, status: str
) -> None:
    job = mantle.add_job(status=status)
    ssm_has(west_aws, JOB_ID_PARAM, job["id"])
    ssm_has(west_aws, STATUS_PARAM, "validating_files")
    if status != "validating_files":
        ssm_put(west_aws, STATUS_PARAM, status)

    result = tracker.handler(mantle_event(job["id"]), lambda_context)

    assert result == {
        **mantle_event(job["id"]),
        "status": status,
        "terminal": False,
        "polls": 1,
        "unknownSince": result["unknownSince"],
        "gaveUp": False,
    }
    # An unknown status starts the clock towards giving up; a known one does not.
    assert (result["unknownSince"] is not None) == (status == "paused")
    assert [(r.method, r.route) for r in mantle.requests] == [("GET", f"/fine_tuning/jobs/{job['id']}")]
    mantle.assert_all_signed()
    west_aws.assert_done()


def test_mantle_success_records_the_fine_tuned_model(
    mantle_env, mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    job = mantle.add_job(status="succeeded", fine_tuned_model="openai.gpt-oss-20b:ft:char-limit:abc123")
    ssm_has(west_aws, JOB_ID_PARAM, job["id"])
    ssm_has(west_aws, STATUS_PARAM, "running")
    ssm_put(west_aws, STATUS_PARAM, "succeeded")
    ssm_has(west_aws, MODEL_PARAM, "none")
    ssm_put(west_aws, MODEL_PARAM, "openai.gpt-oss-20b:ft:char-limit:abc123")
    sns_publish(
        west_aws, WEST_TOPIC, "RFT job bedrock-rft-gptoss20b-1a2b3c4d-5e6f7a8b succeeded", "succeeded", "mantle"
    )

    result = tracker.handler(mantle_event(job["id"]), lambda_context)

    assert result["terminal"] is True
    text, facts = published_message(west_aws)
    assert "/v1/chat/completions" in text and facts["model"] == "openai.gpt-oss-20b:ft:char-limit:abc123"
    assert not {"GetCustomModelDeployment", "CreateCustomModelDeployment"} & set(west_aws.operations())
    west_aws.assert_done()


def test_mantle_failure_records_the_error_message(
    mantle_env, mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    job = mantle.add_job(
        status="failed", error={"code": "invalid_grader", "message": "Grader Lambda timed out", "param": None}
    )
    ssm_has(west_aws, JOB_ID_PARAM, job["id"])
    ssm_has(west_aws, STATUS_PARAM, "running")
    ssm_put(west_aws, STATUS_PARAM, "failed")
    ssm_has(west_aws, FAILURE_PARAM, None)
    ssm_put(west_aws, FAILURE_PARAM, "failed: Grader Lambda timed out")
    sns_publish(west_aws, WEST_TOPIC, "RFT job bedrock-rft-gptoss20b-1a2b3c4d-5e6f7a8b failed", "failed", "mantle")

    tracker.handler(mantle_event(job["id"]), lambda_context)
    west_aws.assert_done()


def test_mantle_cancelled_is_terminal(mantle_env, mantle: FakeMantle, west_aws: StubbedAws, lambda_context) -> None:
    job = mantle.add_job(status="cancelled")
    ssm_has(west_aws, JOB_ID_PARAM, job["id"])
    ssm_has(west_aws, STATUS_PARAM, "running")
    ssm_put(west_aws, STATUS_PARAM, "cancelled")
    ssm_has(west_aws, FAILURE_PARAM, None)
    ssm_put(west_aws, FAILURE_PARAM, ANY)
    sns_publish(
        west_aws, WEST_TOPIC, "RFT job bedrock-rft-gptoss20b-1a2b3c4d-5e6f7a8b cancelled", "cancelled", "mantle"
    )

    assert tracker.handler(mantle_event(job["id"]), lambda_context)["terminal"] is True
    west_aws.assert_done()


def test_mantle_missing_job_is_not_found(mantle_env, mantle: FakeMantle, west_aws: StubbedAws, lambda_context) -> None:
    ssm_has(west_aws, JOB_ID_PARAM, "ftjob-other")
    sns_publish(west_aws, WEST_TOPIC, "RFT job bedrock-rft-gptoss20b-1a2b3c4d-5e6f7a8b NotFound", "NotFound", "mantle")

    result = tracker.handler(mantle_event("ftjob-gone", polls=1), lambda_context)

    assert result["status"] == "NotFound" and result["terminal"] is True
    assert west_aws.operations() == ["GetParameter", "Publish"]
    mantle.assert_all_signed()


def test_mantle_throttling_is_raised(mantle_env, mantle: FakeMantle, west_aws: StubbedAws, lambda_context) -> None:
    import openai

    job = mantle.add_job(status="running")
    mantle.fail_next("GET", "/fine_tuning/jobs/.+", 429, "slow down", times=10, headers={"retry-after-ms": "5"})
    with pytest.raises(openai.RateLimitError):
        tracker.handler(mantle_event(job["id"]), lambda_context)
    assert len(mantle.calls("GET", "/fine_tuning/jobs/.+")) == 3  # short retry budget inside the task timeout


# --- a job nobody wants any more is stopped; tracking never ends silently ----------------

STACK_ARN = "arn:aws:cloudformation:us-east-1:123456789012:stack/BedrockRft-Nova2Lite/0f3c5a10"


@pytest.fixture
def nova_env_with_stack(nova_env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STACK_ID", STACK_ARN)
    monkeypatch.setenv("LEDGER_URI", "s3://rft-data-bucket/jobs/")
    monkeypatch.setenv("STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:tracker")


@pytest.mark.parametrize("stack_status", ["UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "DELETE_FAILED"])
def test_a_replaced_job_still_running_is_stopped_once_the_stack_settled(
    nova_env_with_stack, nova_aws: StubbedAws, lambda_context, stack_status: str
) -> None:
    """CloudFormation's cleanup Delete of the replaced job failed: its own tracker stops it."""
    bedrock_returns(nova_aws, nova_job("InProgress"))
    ssm_has(nova_aws, JOB_ID_PARAM, NOVA_JOB_ARN_2)  # the stack's job is another one now
    stack_status_is(nova_aws, stack_status, STACK_ARN)
    ssm_has(nova_aws, JOB_ID_PARAM, NOVA_JOB_ARN_2)  # read again once the stack has settled
    bedrock_returns(nova_aws, nova_job("InProgress"))  # NovaJobs.stop checks it still runs
    nova_aws.stub("bedrock").add_response("stop_model_customization_job", {}, {"jobIdentifier": NOVA_JOB_ARN})

    result = tracker.handler(nova_event(), lambda_context)

    nova_aws.assert_done()
    assert result["terminal"] is False  # tracked on until it reports Stopped, then notified
    assert "PutParameter" not in nova_aws.operations()


@pytest.mark.parametrize(
    "stack_status",
    [
        "UPDATE_IN_PROGRESS",
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        "CREATE_IN_PROGRESS",
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "UPDATE_ROLLBACK_FAILED",
    ],
)
def test_a_job_that_is_not_current_yet_is_left_alone_while_the_stack_changes(
    nova_env_with_stack, nova_aws: StubbedAws, lambda_context, stack_status: str
) -> None:
    # A new job's first polls come before CloudFormation sets the job id parameter to it.
    bedrock_returns(nova_aws, nova_job("InProgress"))
    ssm_has(nova_aws, JOB_ID_PARAM, "NONE")
    stack_status_is(nova_aws, stack_status, STACK_ARN)
    tracker.handler(nova_event(), lambda_context)
    nova_aws.assert_done()
    assert "StopModelCustomizationJob" not in nova_aws.operations()


def test_a_job_that_became_current_while_the_stack_settled_is_not_stopped(
    nova_env_with_stack, nova_aws: StubbedAws, lambda_context
) -> None:
    """The parameter read before the stack check predates the update that made this job current."""
    bedrock_returns(nova_aws, nova_job("InProgress"))
    ssm_has(nova_aws, JOB_ID_PARAM, "NONE")  # a first deploy: not set yet
    stack_status_is(nova_aws, "CREATE_COMPLETE", STACK_ARN)  # ...and meanwhile CloudFormation set it and finished
    ssm_has(nova_aws, JOB_ID_PARAM, NOVA_JOB_ARN)
    tracker.handler(nova_event(), lambda_context)
    nova_aws.assert_done()
    assert "StopModelCustomizationJob" not in nova_aws.operations()


def test_the_current_job_is_never_stopped_by_its_tracker(
    nova_env_with_stack, nova_aws: StubbedAws, lambda_context
) -> None:
    bedrock_returns(nova_aws, nova_job("InProgress"))
    ssm_has(nova_aws, JOB_ID_PARAM, NOVA_JOB_ARN)
    ssm_has(nova_aws, STATUS_PARAM, "InProgress")
    tracker.handler(nova_event(), lambda_context)
    nova_aws.assert_done()
    assert "DescribeStacks" not in nova_aws.operations()


def test_a_replaced_mantle_job_is_cancelled_once_the_stack_settled(
    mantle_env, mantle: FakeMantle, west_aws: StubbedAws, lambda_context, monkeypatch: pytest.MonkeyPatch
) -> None:
    west_stack = STACK_ARN.replace("us-east-1", "us-west-2")
    monkeypatch.setenv("STACK_ID", west_stack)
    job = mantle.add_job(status="running")
    ssm_has(west_aws, JOB_ID_PARAM, "ftjob-the-new-one")
    stack_status_is(west_aws, "UPDATE_COMPLETE", west_stack)
    ssm_has(west_aws, JOB_ID_PARAM, "ftjob-the-new-one")
    tracker.handler(mantle_event(job["id"], polls=3), lambda_context)
    assert mantle.jobs[job["id"]]["status"] == "cancelled"
    assert [(r.method, r.route) for r in mantle.requests][-1] == ("POST", f"/fine_tuning/jobs/{job['id']}/cancel")
    west_aws.assert_done()


def test_the_ledger_records_status_changes_and_the_end(
    nova_env_with_stack, nova_aws: StubbedAws, lambda_context
) -> None:
    from stacks.rft_job.runtime.ledger import JobLedger, LedgerEntry

    ledger = JobLedger(nova_aws.client("s3"), "s3://rft-data-bucket/jobs/")
    ledger.put(
        LedgerEntry(
            job_name=JOB_NAME,
            variant="nova",
            base_model="amazon.nova-2-lite-v1:0:256k",
            fingerprint="f" * 64,
            request_token="t" * 64,
            stack_id=STACK_ARN,
            launched_at="2026-12-01T08:00:00+00:00",
            request="created",
            job_id=NOVA_JOB_ARN,
        )
    )
    bedrock_returns(nova_aws, nova_job("Completed", outputModelArn=NOVA_MODEL_ARN))
    ssm_has(nova_aws, JOB_ID_PARAM, NOVA_JOB_ARN_2)
    sns_publish(nova_aws, TOPIC_ARN, f"RFT job {JOB_NAME} Completed", "Completed", "nova")
    tracker.handler(nova_event(), lambda_context)
    entry = ledger.get(JOB_NAME)
    assert entry is not None and (entry.status, entry.output_model) == ("Completed", NOVA_MODEL_ARN)
    assert entry.ended_at is not None


def test_an_unknown_status_for_too_long_gives_up_loudly(
    nova_env_with_stack, nova_aws: StubbedAws, lambda_context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A status the tracker cannot read must not turn into polling forever in silence."""
    bedrock_returns(nova_aws, nova_job("Paused"))
    ssm_has(nova_aws, JOB_ID_PARAM, NOVA_JOB_ARN)
    ssm_has(nova_aws, STATUS_PARAM, "Paused")
    ssm_has(nova_aws, STATUS_PARAM, "Paused")
    expected = (
        "TrackerGaveUp: its status 'Paused' has meant nothing to the tracker for 12 hours, so it cannot "
        "tell when the job ends; the job may still be running (rftctl status)"
    )
    ssm_put(nova_aws, STATUS_PARAM, expected)
    sns_publish(nova_aws, TOPIC_ARN, f"RFT job {JOB_NAME} TrackerGaveUp", "TrackerGaveUp", "nova")
    started = 1_800_000_000.0
    monkeypatch.setattr(tracker.time, "time", lambda: started + 12 * 3600)

    result = tracker.handler({**nova_event(), "unknownSince": started}, lambda_context)

    nova_aws.assert_done()
    assert result["gaveUp"] is True and result["terminal"] is True
    message = nova_aws.calls("Publish")[0]["Message"]
    assert "The job itself was not stopped and may still be running (and billing)." in message
    assert 'with input {"variant": "nova", "jobId": "' + NOVA_JOB_ARN in message


def test_an_unknown_status_is_tolerated_for_a_while(
    nova_env, nova_aws: StubbedAws, lambda_context, monkeypatch: pytest.MonkeyPatch
) -> None:
    bedrock_returns(nova_aws, nova_job("Paused"))
    ssm_has(nova_aws, JOB_ID_PARAM, NOVA_JOB_ARN)
    ssm_has(nova_aws, STATUS_PARAM, "Paused")
    monkeypatch.setattr(tracker.time, "time", lambda: 1_800_000_000.0 + 11 * 3600)
    result = tracker.handler({**nova_event(), "unknownSince": 1_800_000_000.0}, lambda_context)
    assert result["gaveUp"] is False and result["unknownSince"] == 1_800_000_000.0
    assert "Publish" not in nova_aws.operations()


def test_a_stop_that_keeps_failing_is_reported_once_and_tracking_goes_on(
    nova_env_with_stack, nova_aws: StubbedAws, lambda_context
) -> None:
    """The stack's Delete failed to stop the job; its tracker cannot either (same denial)."""
    bedrock_returns(nova_aws, nova_job("InProgress"))
    ssm_has(nova_aws, JOB_ID_PARAM, None)
    stack_status_is(nova_aws, "DELETE_FAILED", STACK_ARN)
    ssm_has(nova_aws, JOB_ID_PARAM, None)
    bedrock_returns(nova_aws, nova_job("InProgress"))
    nova_aws.stub("bedrock").add_client_error("stop_model_customization_job", "AccessDeniedException", "denied", 403)
    sns_publish(nova_aws, TOPIC_ARN, f"RFT job {JOB_NAME} StopFailed", "StopFailed", "nova")

    result = tracker.handler(nova_event(), lambda_context)

    nova_aws.assert_done()
    assert result["terminal"] is False and result["stopFailureNotified"] is True
    message = nova_aws.calls("Publish")[0]["Message"]
    assert "its tracker could not stop it" in message and "StopModelCustomizationJob was denied" in message
    # The next poll tries again, and says nothing more.
    bedrock_returns(nova_aws, nova_job("InProgress"))
    ssm_has(nova_aws, JOB_ID_PARAM, None)
    stack_status_is(nova_aws, "DELETE_FAILED", STACK_ARN)
    ssm_has(nova_aws, JOB_ID_PARAM, None)
    bedrock_returns(nova_aws, nova_job("InProgress"))
    nova_aws.stub("bedrock").add_client_error("stop_model_customization_job", "AccessDeniedException", "denied", 403)
    tracker.handler(result, lambda_context)
    nova_aws.assert_done()
    assert len(nova_aws.calls("Publish")) == 1
