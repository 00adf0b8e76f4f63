"""rftctl stop and history: the job ledger in S3 and the job APIs, all through Stubbers or the fake mantle."""

from __future__ import annotations

import pytest

from stacks.rft_job.runtime.ledger import LedgerEntry
from tests.scripts.fakes import (
    BUCKET,
    MANTLE_JOB_ID,
    MANTLE_REGION,
    MANTLE_STACK,
    NOVA_BASE_MODEL,
    NOVA_JOB_ARN,
    NOVA_JOB_NAME,
    NOVA_MODEL_ARN,
    NOVA_REGION,
    NOVA_STACK,
    expect_mantle_stack,
    expect_nova_stack,
    expect_parameter,
    nova_job,
    streaming,
)

NOVA_JOB_ID_PARAMETER = f"/bedrock-rft/{NOVA_STACK}/job/id"
MANTLE_JOB_ID_PARAMETER = f"/bedrock-rft/{MANTLE_STACK}/job/id"
OLD_JOB_ARN = NOVA_JOB_ARN.replace("a1b2c3d4e5f6", "0f0f0f0f0f0f")


def entry(name: str, **fields) -> LedgerEntry:
    defaults = dict(variant="nova", base_model=NOVA_BASE_MODEL, fingerprint="1a2b3c4d" + "0" * 56,
                    request_token="t" * 64, stack_id="arn:aws:cloudformation:us-east-1:123456789012:stack/S/1",
                    launched_at="2026-11-30T10:00:00+00:00", request="created")
    return LedgerEntry(job_name=name, **{**defaults, **fields})


def expect_ledger(aws, region: str, bucket: str, entries: list[LedgerEntry]) -> None:
    s3 = aws.stub("s3", region)
    s3.add_response("list_objects_v2", {"Contents": [{"Key": f"jobs/{e.job_name}.json"} for e in entries]
                                        + [{"Key": "jobs/by-id/0123.json"}], "IsTruncated": False, "KeyCount": 3},
                    {"Bucket": bucket, "Prefix": "jobs/"})
    for item in entries:
        body = item.to_json().encode()
        s3.add_response("get_object", {"Body": streaming(body), "ContentLength": len(body)},
                        {"Bucket": bucket, "Key": f"jobs/{item.job_name}.json"})


def expect_nova_describe(aws, job: dict, identifier: str = NOVA_JOB_ARN) -> None:
    aws.stub("bedrock", NOVA_REGION).add_response("get_model_customization_job", job, {"jobIdentifier": identifier})


# --- stop --------------------------------------------------------------------------------------


def test_stop_shows_the_job_asks_and_stops_it(rftctl, aws) -> None:
    expect_nova_stack(aws)
    expect_parameter(aws, NOVA_REGION, NOVA_JOB_ID_PARAMETER, NOVA_JOB_ARN)  # which job
    expect_nova_describe(aws, nova_job("InProgress"))
    expect_parameter(aws, NOVA_REGION, NOVA_JOB_ID_PARAMETER, NOVA_JOB_ARN)  # is it current
    expect_nova_describe(aws, nova_job("InProgress"))  # the adapter checks it still runs
    aws.stub("bedrock", NOVA_REGION).add_response("stop_model_customization_job", {}, {"jobIdentifier": NOVA_JOB_ARN})
    asked: list[str] = []
    result = rftctl("stop", "--stack", NOVA_STACK, ask=lambda question: asked.append(question) or "stop")
    assert result.code == 0, result.err
    assert asked == [f"Stop job {NOVA_JOB_NAME} ({NOVA_JOB_ARN}, InProgress; the stack's current job) of "
                     f"{NOVA_STACK} (us-east-1, nova)? A stopped job cannot be resumed. Type 'stop' to go on: "]
    assert result.out == f"stop requested for job {NOVA_JOB_NAME}; rftctl status shows when it has stopped\n"


@pytest.mark.parametrize("answer", [None, "no", "yes"])
def test_stop_without_the_word_stops_nothing(rftctl, aws, answer) -> None:
    expect_nova_stack(aws)
    expect_parameter(aws, NOVA_REGION, NOVA_JOB_ID_PARAMETER, NOVA_JOB_ARN)
    expect_nova_describe(aws, nova_job("InProgress"))
    expect_parameter(aws, NOVA_REGION, NOVA_JOB_ID_PARAMETER, NOVA_JOB_ARN)
    result = rftctl("stop", "--stack", NOVA_STACK, ask=lambda question: answer)
    assert result.code == 1 and "not stopped (type 'stop' to confirm, or pass --yes)" in result.err
    # The stubbed bedrock client got no StopModelCustomizationJob (Stubber would have refused it).


def test_a_job_that_ended_is_left_alone_without_asking(rftctl, aws) -> None:
    expect_nova_stack(aws)
    expect_parameter(aws, NOVA_REGION, NOVA_JOB_ID_PARAMETER, NOVA_JOB_ARN)
    expect_nova_describe(aws, nova_job("Completed", outputModelArn=NOVA_MODEL_ARN))
    result = rftctl("stop", "--stack", NOVA_STACK, ask=lambda question: pytest.fail("asked"))
    assert result.code == 0 and result.out == f"job {NOVA_JOB_NAME} is Completed: nothing to stop\n"


def test_stop_a_mantle_job_by_its_name_from_the_ledger(rftctl, aws, mantle_server) -> None:
    mantle_server.add_job(id=MANTLE_JOB_ID, status="running")
    expect_mantle_stack(aws)
    name = "bedrock-rft-gptoss20b-9f8e7d6c-0002"
    body = entry(name, variant="mantle", job_id=MANTLE_JOB_ID).to_json().encode()
    aws.stub("s3", MANTLE_REGION).add_response("get_object", {"Body": streaming(body), "ContentLength": len(body)},
                                               {"Bucket": "rft-data-west", "Key": f"jobs/{name}.json"})
    expect_parameter(aws, MANTLE_REGION, MANTLE_JOB_ID_PARAMETER, "ftjob-newer")
    result = rftctl("stop", "--stack", MANTLE_STACK, "--region", MANTLE_REGION, "--job", name, "--yes")
    assert result.code == 0, result.err
    assert mantle_server.jobs[MANTLE_JOB_ID]["status"] == "cancelled"
    assert ("POST", f"/fine_tuning/jobs/{MANTLE_JOB_ID}/cancel") in [
        (r.method, r.route) for r in mantle_server.requests
    ]
    mantle_server.assert_all_signed()


def expect_mantle_entry(aws, item: LedgerEntry) -> None:
    body = item.to_json().encode()
    aws.stub("s3", MANTLE_REGION).add_response(
        "get_object",
        {"Body": streaming(body), "ContentLength": len(body)},
        {"Bucket": "rft-data-west", "Key": f"jobs/{item.job_name}.json"},
    )


def test_a_job_whose_create_answer_was_lost_is_found_by_its_training_file(rftctl, aws, mantle_server) -> None:
    """The ledger has no job id for it; the job exists, created with the launch's own upload."""
    mantle_server.add_job(id="ftjob-unrecorded", status="running", training_file="file-launch-7")
    mantle_server.add_job(id="ftjob-someone-else", status="running", training_file="file-other")
    expect_mantle_stack(aws)
    name = "bedrock-rft-gptoss20b-9f8e7d6c-0003"
    expect_mantle_entry(
        aws,
        entry(
            name,
            variant="mantle",
            request="unknown",
            training_file="file-launch-7",
            launched_at="2000-01-01T00:00:00+00:00",
        ),
    )
    expect_parameter(aws, MANTLE_REGION, MANTLE_JOB_ID_PARAMETER, MANTLE_JOB_ID)
    result = rftctl("stop", "--stack", MANTLE_STACK, "--region", MANTLE_REGION, "--job", name, "--yes")
    assert result.code == 0, result.err
    assert mantle_server.jobs["ftjob-unrecorded"]["status"] == "cancelled"
    assert mantle_server.jobs["ftjob-someone-else"]["status"] == "running"


def test_a_job_whose_create_answer_was_lost_and_that_is_nowhere_is_not_stopped(rftctl, aws, mantle_server) -> None:
    mantle_server.add_job(id="ftjob-someone-else", status="running", training_file="file-other")
    expect_mantle_stack(aws)
    name = "bedrock-rft-gptoss20b-9f8e7d6c-0004"
    expect_mantle_entry(aws, entry(name, variant="mantle", request="unknown", training_file="file-launch-8"))
    result = rftctl("stop", "--stack", MANTLE_STACK, "--region", MANTLE_REGION, "--job", name, "--yes")
    assert result.code == 1
    assert f"job {name} has no id on record" in result.err and "most likely it was never created" in result.err
    assert mantle_server.jobs["ftjob-someone-else"]["status"] == "running"


# --- history -----------------------------------------------------------------------------------


def test_history_lists_every_launch_with_live_status(rftctl, aws) -> None:
    expect_nova_stack(aws)
    old = entry(
        "bedrock-rft-nova2lite-00000000-0000",
        job_id=OLD_JOB_ARN,
        status="Completed",
        output_model=NOVA_MODEL_ARN,
        launched_at="2026-11-01T09:00:00+00:00",
        ended_at="2026-11-01T13:00:00+00:00",
    )
    running = entry(NOVA_JOB_NAME, job_id=NOVA_JOB_ARN, status="InProgress")
    lost = entry("bedrock-rft-nova2lite-2b2b2b2b-0002", request="unknown", launched_at="2026-11-30T11:00:00+00:00")
    refused = entry("bedrock-rft-nova2lite-3c3c3c3c-0003", request="rejected", launched_at="2026-11-30T12:00:00+00:00")
    expect_ledger(aws, NOVA_REGION, BUCKET, [old, running, lost, refused])
    expect_parameter(aws, NOVA_REGION, NOVA_JOB_ID_PARAMETER, NOVA_JOB_ARN)
    # Only jobs that may still change are asked about: the running one by id, the lost one by name.
    expect_nova_describe(aws, nova_job("InProgress"))
    aws.stub("bedrock", NOVA_REGION).add_client_error(
        "get_model_customization_job",
        "ResourceNotFoundException",
        "no such job",
        404,
        expected_params={"jobIdentifier": lost.job_name},
    )
    result = rftctl("history", "--stack", NOVA_STACK)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == [
        "job",
        "status",
        "fingerprint",
        "base",
        "model",
        "trained",
        "model",
        "launched",
        "ended",
    ]
    rows = lines[2:]
    assert rows[0].split()[:3] == [old.job_name, "Completed", "1a2b3c4d0000"] and NOVA_MODEL_ARN in rows[0]
    assert rows[1].startswith("*") and NOVA_JOB_NAME in rows[1] and "InProgress" in rows[1]
    assert lost.job_name in rows[2] and "may exist (create answer lost)" in rows[2]
    assert refused.job_name in rows[3] and "not created (rejected)" in rows[3]


def test_history_of_a_stack_that_launched_nothing(rftctl, aws) -> None:
    expect_nova_stack(aws)
    aws.stub("s3", NOVA_REGION).add_response(
        "list_objects_v2", {"IsTruncated": False, "KeyCount": 0}, {"Bucket": BUCKET, "Prefix": "jobs/"}
    )
    expect_parameter(aws, NOVA_REGION, NOVA_JOB_ID_PARAMETER, "NONE")
    result = rftctl("history", "--stack", NOVA_STACK)
    assert (
        result.out == f"{NOVA_STACK} (us-east-1, nova) has launched no job (its ledger s3://{BUCKET}/jobs/ is empty)\n"
    )


def test_history_says_which_entries_it_could_not_read(rftctl, aws) -> None:
    expect_nova_stack(aws)
    s3 = aws.stub("s3", NOVA_REGION)
    s3.add_response(
        "list_objects_v2",
        {"Contents": [{"Key": "jobs/x.json"}], "IsTruncated": False},
        {"Bucket": BUCKET, "Prefix": "jobs/"},
    )
    s3.add_response(
        "get_object", {"Body": streaming(b"{broken"), "ContentLength": 7}, {"Bucket": BUCKET, "Key": "jobs/x.json"}
    )
    expect_parameter(aws, NOVA_REGION, NOVA_JOB_ID_PARAMETER, "NONE")
    result = rftctl("history", "--stack", NOVA_STACK, "--no-refresh")
    assert f"warning: ledger entry s3://{BUCKET}/jobs/x.json is not readable JSON" in result.err


def test_history_finds_a_mantle_job_whose_create_answer_was_lost(rftctl, aws, mantle_server) -> None:
    mantle_server.add_job(id="ftjob-unrecorded", status="running", training_file="file-launch-9")
    expect_mantle_stack(aws)
    lost = entry(
        "bedrock-rft-gptoss20b-9f8e7d6c-0009",
        variant="mantle",
        request="unknown",
        training_file="file-launch-9",
        launched_at="2000-01-01T00:00:00+00:00",
    )
    expect_ledger(aws, MANTLE_REGION, "rft-data-west", [lost])
    expect_parameter(aws, MANTLE_REGION, MANTLE_JOB_ID_PARAMETER, MANTLE_JOB_ID)
    result = rftctl("history", "--stack", MANTLE_STACK, "--region", MANTLE_REGION)
    assert result.code == 0, result.err
    [row] = result.out.splitlines()[2:]
    assert lost.job_name in row and " running " in f" {row} "  # the service's status, not "may exist"


def test_one_job_the_service_will_not_describe_does_not_hide_the_others(rftctl, aws) -> None:
    expect_nova_stack(aws)
    first = entry(
        "bedrock-rft-nova2lite-00000000-0001",
        job_id=OLD_JOB_ARN,
        status="InProgress",
        launched_at="2026-11-01T09:00:00+00:00",
    )
    second = entry(NOVA_JOB_NAME, job_id=NOVA_JOB_ARN, status="InProgress")
    expect_ledger(aws, NOVA_REGION, BUCKET, [first, second])
    expect_parameter(aws, NOVA_REGION, NOVA_JOB_ID_PARAMETER, NOVA_JOB_ARN)
    aws.stub("bedrock", NOVA_REGION).add_client_error(
        "get_model_customization_job",
        "ThrottlingException",
        "slow",
        400,
        expected_params={"jobIdentifier": OLD_JOB_ARN},
    )
    expect_nova_describe(aws, nova_job("Completed", outputModelArn=NOVA_MODEL_ARN))
    result = rftctl("history", "--stack", NOVA_STACK)
    assert result.code == 0, result.err
    rows = result.out.splitlines()[2:]
    assert "InProgress (could not refresh: ThrottlingException (400))" in rows[0]
    assert "Completed" in rows[1]
