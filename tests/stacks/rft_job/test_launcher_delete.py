"""The launcher's Delete when the whole stack goes: the tracker goes with it, so Delete itself records
the stopped job in the ledger and tells the stack's topic. An update's cleanup leaves that to the tracker."""

from __future__ import annotations

import pytest
from botocore.stub import ANY

from stacks.rft_job.runtime import launcher
from stacks.rft_job.runtime.contract import LauncherEnv
from stacks.rft_job.runtime.ledger import JobLedger, LedgerEntry
from tests.stacks.rft_job.builders import (
    MANTLE_LEDGER_URI,
    NOVA_JOB_ARN,
    NOVA_LEDGER_URI,
    STACK_ID,
    StubbedAws,
    cfn_event,
    mantle_spec,
    nova_job_description,
    nova_spec,
    stack_status_is,
)
from tests.stacks.rft_job.fake_mantle import FakeMantle

NOVA_TOPIC = "arn:aws:sns:us-east-1:123456789012:BedrockRft-Topic"
WEST_TOPIC = "arn:aws:sns:us-west-2:123456789012:BedrockRft-Topic"
JOB_NAME = "bedrock-rft-nova2lite-265cf3e6-78927203"


def seed_ledger(aws: StubbedAws, uri: str, job_id: str, variant: str = "nova") -> JobLedger:
    ledger = JobLedger(aws.client("s3"), uri)
    ledger.put(LedgerEntry(job_name=JOB_NAME, variant=variant, base_model="amazon.nova-2-lite-v1:0:256k",
                           fingerprint="f" * 64, request_token="t" * 64, stack_id=STACK_ID,
                           launched_at="2026-12-01T08:00:00+00:00", request="created", job_id=job_id))
    return ledger


def nova_job_is(aws: StubbedAws, *statuses: str) -> None:
    for status in statuses:
        aws.stub("bedrock").add_response(
            "get_model_customization_job", nova_job_description(NOVA_JOB_ARN, JOB_NAME, status),
            {"jobIdentifier": NOVA_JOB_ARN})


def expect_notification(aws: StubbedAws, topic: str, status: str, variant: str) -> None:
    aws.stub("sns").add_response(
        "publish", {"MessageId": "m-1"},
        {"TopicArn": topic, "Subject": f"RFT job {JOB_NAME} {status}", "Message": ANY,
         "MessageAttributes": {"status": {"DataType": "String", "StringValue": status},
                               "variant": {"DataType": "String", "StringValue": variant}}},
    )


def the_delete_stops_a_running_job(aws: StubbedAws) -> None:
    nova_job_is(aws, "InProgress")
    aws.stub("bedrock").add_response("stop_model_customization_job", {}, {"jobIdentifier": NOVA_JOB_ARN})


def nova_delete(aws: StubbedAws, lambda_context) -> dict:
    return launcher.on_event(cfn_event("Delete", nova_spec(), request_id="req-0009", physical_id=NOVA_JOB_ARN),
                             lambda_context)


@pytest.mark.parametrize("stack_status", ["DELETE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS"])
def test_a_stack_that_goes_records_the_stopped_job_and_tells_the_topic(
    nova_aws: StubbedAws, lambda_context, monkeypatch: pytest.MonkeyPatch, stack_status: str
) -> None:
    monkeypatch.setenv(LauncherEnv.TOPIC_ARN, NOVA_TOPIC)
    ledger = seed_ledger(nova_aws, NOVA_LEDGER_URI, NOVA_JOB_ARN)
    the_delete_stops_a_running_job(nova_aws)
    stack_status_is(nova_aws, stack_status)
    nova_job_is(nova_aws, "Stopping")
    expect_notification(nova_aws, NOVA_TOPIC, "Stopping", "nova")

    assert nova_delete(nova_aws, lambda_context) == {"PhysicalResourceId": NOVA_JOB_ARN}

    nova_aws.assert_done()
    entry = ledger.get(JOB_NAME)
    # Stopping is not an end yet: no end time (Nova stops a job over minutes).
    assert entry is not None and entry.status == "Stopping" and entry.ended_at is None
    assert "stop requested by CloudFormation" in (entry.note or "") and stack_status in (entry.note or "")
    message = nova_aws.calls("Publish")[0]["Message"]
    assert "last message about this job" in message and NOVA_JOB_ARN in message


@pytest.mark.parametrize("stack_status", ["UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
                                          "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
                                          "UPDATE_ROLLBACK_IN_PROGRESS"])
def test_an_update_that_deletes_a_job_leaves_the_record_to_its_tracker(
    nova_aws: StubbedAws, lambda_context, monkeypatch: pytest.MonkeyPatch, stack_status: str
) -> None:
    """The tracker lives on after a replacement and records the job's real end: no second word here."""
    monkeypatch.setenv(LauncherEnv.TOPIC_ARN, NOVA_TOPIC)
    ledger = seed_ledger(nova_aws, NOVA_LEDGER_URI, NOVA_JOB_ARN)
    the_delete_stops_a_running_job(nova_aws)
    stack_status_is(nova_aws, stack_status)

    nova_delete(nova_aws, lambda_context)

    nova_aws.assert_done()
    assert "Publish" not in nova_aws.operations()
    entry = ledger.get(JOB_NAME)
    assert entry is not None and entry.status is None and entry.note is None


def test_a_job_that_had_ended_is_not_announced_again(
    nova_aws: StubbedAws, lambda_context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LauncherEnv.TOPIC_ARN, NOVA_TOPIC)
    nova_job_is(nova_aws, "Completed")
    nova_delete(nova_aws, lambda_context)
    nova_aws.assert_done()
    assert nova_aws.operations() == ["GetModelCustomizationJob"]


def test_an_unreadable_stack_status_still_records_and_a_failed_notification_never_fails_the_delete(
    nova_aws: StubbedAws, lambda_context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Denied DescribeStacks: recorded anyway (a note too many beats none). SNS down: the job is stopped
    all the same, and the Delete succeeds (a failed one would leave the stack DELETE_FAILED)."""
    monkeypatch.setenv(LauncherEnv.TOPIC_ARN, NOVA_TOPIC)
    ledger = seed_ledger(nova_aws, NOVA_LEDGER_URI, NOVA_JOB_ARN)
    the_delete_stops_a_running_job(nova_aws)
    nova_aws.stub("cloudformation").add_client_error("describe_stacks", "AccessDenied", "not authorized", 403)
    nova_job_is(nova_aws, "Stopping")
    nova_aws.stub("sns").add_client_error("publish", "InternalError", "try later", 500)

    assert nova_delete(nova_aws, lambda_context) == {"PhysicalResourceId": NOVA_JOB_ARN}

    nova_aws.assert_done()
    entry = ledger.get(JOB_NAME)
    assert entry is not None and entry.status == "Stopping"
    assert "status could not be read" in (entry.note or "")


def test_a_launcher_without_the_topic_records_in_the_ledger_only(nova_aws: StubbedAws, lambda_context) -> None:
    """A launcher deployed before it was given the topic: the ledger still gets the job's end."""
    ledger = seed_ledger(nova_aws, NOVA_LEDGER_URI, NOVA_JOB_ARN)
    the_delete_stops_a_running_job(nova_aws)
    stack_status_is(nova_aws, "DELETE_IN_PROGRESS")
    nova_job_is(nova_aws, "Stopping")
    nova_delete(nova_aws, lambda_context)
    nova_aws.assert_done()
    assert ledger.get(JOB_NAME).status == "Stopping"


@pytest.mark.parametrize("mantle", ["/v1"], indirect=True)
def test_a_mantle_stack_delete_records_the_cancelled_job(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LauncherEnv.TOPIC_ARN, WEST_TOPIC)
    job = mantle.add_job(status="running")
    ledger = seed_ledger(west_aws, MANTLE_LEDGER_URI, job["id"], variant="mantle")
    stack_status_is(west_aws, "DELETE_IN_PROGRESS")
    expect_notification(west_aws, WEST_TOPIC, "cancelled", "mantle")

    launcher.on_event(cfn_event("Delete", mantle_spec(), physical_id=job["id"]), lambda_context)

    west_aws.assert_done()
    assert [(r.method, r.route) for r in mantle.requests] == [
        ("GET", f"/fine_tuning/jobs/{job['id']}"),
        ("POST", f"/fine_tuning/jobs/{job['id']}/cancel"),
        ("GET", f"/fine_tuning/jobs/{job['id']}"),
    ]
    entry = ledger.get(JOB_NAME)
    assert entry is not None and entry.status == "cancelled" and entry.ended_at is not None


def test_with_little_time_left_the_delete_stops_the_job_and_returns_without_the_record(
    nova_aws: StubbedAws, lambda_context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stop is what matters; the record must not run the launcher out of time after it (a Delete that
    times out leaves the stack DELETE_FAILED, and its retry finds the job ended: the record would be lost)."""
    monkeypatch.setenv(LauncherEnv.TOPIC_ARN, NOVA_TOPIC)
    lambda_context.remaining_millis = int((launcher.DEADLINE_MARGIN_SECONDS + launcher.RECORD_STOP_MIN_SECONDS - 1)
                                          * 1000)
    the_delete_stops_a_running_job(nova_aws)
    assert nova_delete(nova_aws, lambda_context) == {"PhysicalResourceId": NOVA_JOB_ARN}
    nova_aws.assert_done()
    assert nova_aws.operations() == ["GetModelCustomizationJob", "StopModelCustomizationJob"]
