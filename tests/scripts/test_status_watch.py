"""rftctl status / watch against a stubbed Bedrock (Nova) and the local mantle server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.scripts.fakes import (
    MANTLE_JOB_ID,
    MANTLE_REGION,
    MANTLE_STACK,
    MANTLE_TUNED_MODEL,
    NOVA_JOB_ARN,
    NOVA_JOB_NAME,
    NOVA_MODEL_ARN,
    NOVA_REGION,
    NOVA_STACK,
    STARTED,
    expect_mantle_stack,
    expect_nova_stack,
    expect_parameter,
    nova_job,
)

NOVA_JOB_ID_PARAMETER = f"/bedrock-rft/{NOVA_STACK}/job/id"
MANTLE_JOB_ID_PARAMETER = f"/bedrock-rft/{MANTLE_STACK}/job/id"


def stages(validation: str, processing: str, training: str) -> dict[str, Any]:
    return {
        "validationDetails": {"status": validation},
        "dataProcessingDetails": {"status": processing},
        "trainingDetails": {"status": training},
    }


def expect_nova_job(aws, job: dict[str, Any]) -> None:
    aws.stub("bedrock", NOVA_REGION).add_response("get_model_customization_job", job, {"jobIdentifier": NOVA_JOB_ARN})


def at(minutes: float):
    return lambda: STARTED + timedelta(minutes=minutes)


def test_nova_status_shows_stages_progress_and_elapsed_time(rftctl, aws) -> None:
    expect_nova_stack(aws)
    expect_parameter(aws, NOVA_REGION, NOVA_JOB_ID_PARAMETER, NOVA_JOB_ARN)
    expect_nova_job(aws, nova_job("InProgress", statusDetails=stages("Completed", "Completed", "InProgress")))
    result = rftctl("status", "--stack", NOVA_STACK, utc_now=at(42.5))
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        f"stack      {NOVA_STACK} (us-east-1, nova)",
        f"job        {NOVA_JOB_ARN}",
        f"name       {NOVA_JOB_NAME}",
        "status     InProgress",
        "stages     validation Completed, data processing Completed, training InProgress",
        "elapsed    0:42:30",
        "progress   [####################..........] 67%  2/3 stages done",
    ]


def test_status_links_the_stacks_dashboard_when_it_has_one(rftctl, aws) -> None:
    """A stack deployed with monitoring publishes DashboardUrl; one from before has none, and no line."""
    url = "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/x"
    expect_nova_stack(aws, DashboardUrl=url)
    expect_parameter(aws, NOVA_REGION, NOVA_JOB_ID_PARAMETER, NOVA_JOB_ARN)
    expect_nova_job(aws, nova_job("InProgress", statusDetails=stages("Completed", "Completed", "InProgress")))
    result = rftctl("status", "--stack", NOVA_STACK, utc_now=at(42.5))
    assert result.code == 0, result.err
    assert result.out.splitlines()[-1] == f"dashboard  {url}"


def test_status_falls_back_to_the_job_id_output_while_the_parameter_is_unset(rftctl, aws) -> None:
    expect_nova_stack(aws)
    expect_parameter(aws, NOVA_REGION, NOVA_JOB_ID_PARAMETER, "NONE")
    expect_nova_job(
        aws,
        nova_job(
            "Failed", endTime=STARTED + timedelta(minutes=3), failureMessage="Lambda grader returned\nmalformed output"
        ),
    )
    result = rftctl("status", "--stack", NOVA_STACK, utc_now=at(60))
    assert result.code == 0
    assert "took       0:03:00" in result.out
    assert "failure    Lambda grader returned malformed output" in result.out


def test_status_without_a_job_says_what_to_do(rftctl, aws) -> None:
    expect_nova_stack(aws, JobId="NOT_STARTED")
    expect_parameter(aws, NOVA_REGION, NOVA_JOB_ID_PARAMETER, "NONE")
    result = rftctl("status", "--stack", NOVA_STACK)
    assert result.code == 2
    assert result.err.strip() == (
        f"rftctl: error: stack {NOVA_STACK} has not launched an RFT job (was it deployed with "
        "rft:launchJob=false?): pass --job JOB_ID"
    )


def test_mantle_status_shows_steps_and_latest_rewards(rftctl, aws, mantle_server) -> None:
    expect_mantle_stack(aws)
    expect_parameter(aws, MANTLE_REGION, MANTLE_JOB_ID_PARAMETER, MANTLE_JOB_ID)
    mantle_server.add_job(id=MANTLE_JOB_ID, status="running", created_at=int(STARTED.timestamp()))
    mantle_server.add_message_event(MANTLE_JOB_ID, "Fine-tuning job started")
    mantle_server.add_metrics_event(MANTLE_JOB_ID, 3, 67, critic_rewards_mean=0.31, entropy=1.2)
    mantle_server.add_metrics_event(MANTLE_JOB_ID, 4, 67, critic_rewards_mean=0.44, entropy=1.1)
    result = rftctl("status", "--stack", MANTLE_STACK, "--region", MANTLE_REGION, utc_now=at(10))
    assert result.code == 0, result.err
    assert result.out.splitlines()[2:] == [
        "status     running",
        "elapsed    0:10:00",
        "progress   [##............................] 6%  step 4/67",
        "rewards    critic_rewards_mean 0.440",
    ]
    assert [call.route for call in mantle_server.requests] == [
        f"/fine_tuning/jobs/{MANTLE_JOB_ID}",
        f"/fine_tuning/jobs/{MANTLE_JOB_ID}/events",
    ]
    assert mantle_server.requests[1].query == {"limit": ["100"]}
    mantle_server.assert_all_signed()


def test_watch_polls_a_nova_job_until_it_completes(rftctl, aws) -> None:
    expect_nova_stack(aws)
    expect_parameter(aws, NOVA_REGION, NOVA_JOB_ID_PARAMETER, NOVA_JOB_ARN)
    expect_nova_job(aws, nova_job("InProgress", statusDetails=stages("InProgress", "NotStarted", "NotStarted")))
    expect_nova_job(aws, nova_job("InProgress", statusDetails=stages("Completed", "Completed", "InProgress")))
    expect_nova_job(
        aws,
        nova_job(
            "Completed",
            statusDetails=stages("Completed", "Completed", "Completed"),
            endTime=STARTED + timedelta(minutes=31),
            outputModelArn=NOVA_MODEL_ARN,
        ),
    )
    sleeps: list[float] = []
    result = rftctl("watch", "--stack", NOVA_STACK, "--interval", "5", sleep=sleeps.append, utc_now=at(40))
    assert result.code == 0, result.err
    assert sleeps == [5.0, 5.0]
    assert "status     Completed" in result.out
    assert f"model      {NOVA_MODEL_ARN}" in result.out
    assert "took       0:31:00" in result.out
    # Progress lines (stderr is not a terminal, so one line per change).
    assert "[..............................]   0%  InProgress, stage: validation" in result.err
    assert "[####################..........]  67%  InProgress, stage: training" in result.err
    assert "[##############################] 100%  Completed" in result.err


def test_watch_exits_non_zero_when_a_mantle_job_fails(rftctl, aws, mantle_server) -> None:
    expect_mantle_stack(aws)
    mantle_server.add_job(id=MANTLE_JOB_ID, status="running", created_at=int(STARTED.timestamp()))

    def job_fails_during_sleep(seconds: float) -> None:
        mantle_server.jobs[MANTLE_JOB_ID].update(
            status="failed",
            finished_at=int(STARTED.timestamp()) + 600,
            error={"code": "grader_error", "message": "The grader Lambda timed out", "param": None},
        )

    result = rftctl(
        "watch",
        "--stack",
        MANTLE_STACK,
        "--region",
        MANTLE_REGION,
        "--job",
        MANTLE_JOB_ID,
        sleep=job_fails_during_sleep,
        utc_now=at(30),
    )
    assert result.code == 1
    assert "status     failed" in result.out
    assert "failure    The grader Lambda timed out" in result.out


def test_watch_exits_zero_when_a_mantle_job_succeeds(rftctl, aws, mantle_server) -> None:
    expect_mantle_stack(aws)
    mantle_server.add_job(
        id=MANTLE_JOB_ID,
        status="succeeded",
        fine_tuned_model=MANTLE_TUNED_MODEL,
        created_at=int(STARTED.timestamp()),
        finished_at=int(STARTED.timestamp()) + 3600,
    )
    result = rftctl("watch", "--stack", MANTLE_STACK, "--region", MANTLE_REGION, "--job", MANTLE_JOB_ID)
    assert result.code == 0
    assert f"model      {MANTLE_TUNED_MODEL}" in result.out
    assert "took       1:00:00" in result.out


def test_watch_gives_up_after_its_timeout(rftctl, aws) -> None:
    expect_nova_stack(aws)
    expect_nova_job(aws, nova_job("InProgress"))
    expect_nova_job(aws, nova_job("InProgress"))
    clock = iter([0.0, 30.0, 61.0])
    result = rftctl(
        "watch", "--stack", NOVA_STACK, "--job", NOVA_JOB_ARN, "--timeout", "1", monotonic=lambda: next(clock)
    )
    assert result.code == 3
    assert "still InProgress after 1 minutes" in result.err
