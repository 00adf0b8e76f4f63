"""Launcher, mantle variant: the real OpenAI SDK client (Bedrock provider, SigV4) against a
local fake mantle server that verifies every signature; S3 and Step Functions via Stubbers."""

from __future__ import annotations

import json
import re

import pytest

from stacks.rft_job.runtime import launcher
from stacks.rft_job.runtime.errors import LaunchFailure
from stacks.rft_job.runtime.job_spec import fingerprint, parse_job_spec
from stacks.rft_job.runtime.mantle import (
    CUSTOM_MODEL_NAME as MANTLE_CUSTOM_MODEL_NAME,
    METADATA_FINGERPRINT,
    METADATA_JOB_NAME,
    METADATA_REQUEST_TOKEN,
)
from tests.stacks.rft_job import builders
from tests.stacks.rft_job.builders import (
    LOGICAL_ID,
    MANTLE_GRADER,
    PLACEHOLDER_PHYSICAL_ID,
    STACK_ID,
    StubbedAws,
    cfn_event,
    mantle_spec,
    s3_body,
    stack_status_is,
    training_jsonl,
)
from tests.stacks.rft_job.fake_mantle import FakeMantle

STATE_MACHINE_WEST = mantle_spec()["stateMachineArn"]
TRAINING = training_jsonl(5)
VALIDATION = training_jsonl(2)


def expect_s3_reads(aws: StubbedAws, *, validation: bool = True) -> None:
    s3 = aws.stub("s3")
    s3.add_response(
        "get_object",
        {"Body": s3_body(TRAINING), "ContentLength": len(TRAINING)},
        {"Bucket": "rft-data-west", "Key": "training-data/char-limit/training.jsonl"},
    )
    if validation:
        s3.add_response(
            "get_object",
            {"Body": s3_body(VALIDATION), "ContentLength": len(VALIDATION)},
            {"Bucket": "rft-data-west", "Key": "training-data/char-limit/validation.jsonl"},
        )


def expect_tracker_start(aws: StubbedAws, *, already_exists: bool = False) -> None:
    builders.expect_tracker_start(aws, STATE_MACHINE_WEST, already_exists=already_exists)


@pytest.mark.parametrize("mantle", ["/v1", "/openai/v1"], indirect=True)
def test_create_uploads_the_data_and_creates_a_reinforcement_job(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    expect_s3_reads(west_aws)
    expect_tracker_start(west_aws)

    result = launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)

    mantle.assert_all_signed()
    west_aws.assert_done()
    assert [(r.method, r.route) for r in mantle.requests] == [
        ("GET", "/fine_tuning/jobs"),
        ("POST", "/files"),
        ("POST", "/files"),
        ("POST", "/fine_tuning/jobs"),
    ]
    lookup = mantle.requests[0]
    token = lookup.query[f"metadata[{METADATA_REQUEST_TOKEN}]"][0]

    uploaded = list(mantle.files.values())
    assert [f["content"] for f in uploaded] == [TRAINING, VALIDATION]
    assert [f["filename"] for f in uploaded] == ["training.jsonl", "validation.jsonl"]
    assert all(f["content_type"] == "application/jsonl" for f in uploaded)
    training_id, validation_id = list(mantle.files)

    body = mantle.requests[3].json()
    assert body["model"] == "openai.gpt-oss-20b"
    assert body["training_file"] == training_id
    assert body["validation_file"] == validation_id
    assert body["method"] == {
        "type": "reinforcement",
        "reinforcement": {
            "grader": {"type": "lambda", "lambda": {"function": MANTLE_GRADER}},
            "hyperparameters": {"n_epochs": 2, "batch_size": 4, "learning_rate_multiplier": 1.0},
        },
    }
    assert "hyperparameters" not in body and "suffix" not in body
    metadata = body["metadata"]
    job_fingerprint = fingerprint(parse_job_spec(mantle_spec()))
    assert metadata[METADATA_REQUEST_TOKEN] == token
    assert metadata[METADATA_FINGERPRINT] == job_fingerprint
    assert metadata["rft_stack_id"] == STACK_ID and metadata["rft_logical_id"] == LOGICAL_ID
    assert metadata["project"] == "char-limit"

    job_id = next(iter(mantle.jobs))
    assert result["PhysicalResourceId"] == job_id
    assert result["Data"] == {
        "JobId": job_id,
        "JobName": metadata[METADATA_JOB_NAME],
        "CustomModelName": MANTLE_CUSTOM_MODEL_NAME,
        "ConsoleUrl": "https://us-west-2.console.aws.amazon.com/bedrock/home?region=us-west-2#/custom-models",
        "Fingerprint": job_fingerprint,
    }
    assert metadata[METADATA_JOB_NAME].startswith("bedrock-rft-gptoss20b-")
    execution = west_aws.calls("StartExecution")[0]
    assert json.loads(execution["input"]) == {
        "variant": "mantle",
        "jobId": job_id,
        "jobName": metadata[METADATA_JOB_NAME],
        "polls": 0,
    }
    assert len(json.dumps(result).encode()) < 4096


def test_create_without_validation_data_sends_no_validation_file(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    spec = mantle_spec(validationDataUri=None, datasetSha256={"training": "a" * 64, "validation": None},
                       hyperParameters={})
    expect_s3_reads(west_aws, validation=False)
    expect_tracker_start(west_aws)

    launcher.on_event(cfn_event("Create", spec), lambda_context)

    body = mantle.calls("POST", "/fine_tuning/jobs")[0].json()
    assert "validation_file" not in body
    assert body["method"]["reinforcement"] == {"grader": {"type": "lambda", "lambda": {"function": MANTLE_GRADER}}}
    assert len(mantle.calls("POST", "/files")) == 1
    mantle.assert_all_signed()


def test_retry_finds_the_job_an_earlier_attempt_created(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    expect_s3_reads(west_aws)
    expect_tracker_start(west_aws)
    first = launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)

    expect_tracker_start(west_aws, already_exists=True)
    second = launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)

    assert second == first
    assert len(mantle.calls("POST", "/fine_tuning/jobs")) == 1
    assert len(mantle.calls("POST", "/files")) == 2
    assert len(mantle.jobs) == 1
    mantle.assert_all_signed()
    west_aws.assert_done()


def test_retry_lookup_scans_when_the_metadata_filter_is_rejected(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    expect_s3_reads(west_aws)
    expect_tracker_start(west_aws)
    first = launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)
    for i in range(3):  # other jobs in the account, newer than ours
        mantle.add_job(metadata={METADATA_REQUEST_TOKEN: f"someone-else-{i}"}, status="running")
    mantle.supports_metadata_filter = False
    west_aws.ledger_bucket.objects.clear()  # no ledger entry to go by: the metadata lookup decides

    expect_tracker_start(west_aws, already_exists=True)
    second = launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)

    assert second["PhysicalResourceId"] == first["PhysicalResourceId"]
    assert len(mantle.calls("POST", "/fine_tuning/jobs")) == 1
    lookups = mantle.calls("GET", "/fine_tuning/jobs")
    assert any(not any(k.startswith("metadata[") for k in r.query) for r in lookups)


def test_a_different_request_creates_a_different_job(mantle: FakeMantle, west_aws: StubbedAws, lambda_context) -> None:
    for request_id in ("req-a", "req-b"):
        expect_s3_reads(west_aws)
        expect_tracker_start(west_aws)
        launcher.on_event(cfn_event("Create", mantle_spec(), request_id=request_id), lambda_context)
    names = {job["metadata"][METADATA_JOB_NAME] for job in mantle.jobs.values()}
    assert len(mantle.jobs) == 2 and len(names) == 2


# --- failures ----------------------------------------------------------------------------


def test_denied_create_names_the_permission_and_cleans_up_files(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    expect_s3_reads(west_aws)
    mantle.fail_next(
        "POST", "/fine_tuning/jobs", 403, "User is not authorized to perform bedrock-mantle:CreateFineTuningJob"
    )

    with pytest.raises(LaunchFailure) as failure:
        launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)

    reason = str(failure.value)
    assert reason.startswith(
        "CreateFineTuningJob (POST /fine_tuning/jobs) was denied (403): check the launcher role's "
        "bedrock-mantle:CreateFineTuningJob permission and that openai.gpt-oss-20b is enabled for fine-tuning in "
        "us-west-2."
    )
    assert "not authorized to perform bedrock-mantle:CreateFineTuningJob" in reason
    assert len(mantle.calls("DELETE", "/files/[^/]+")) == 2 and mantle.files == {}
    assert west_aws.calls("StartExecution") == []
    mantle.assert_all_signed()


def test_bad_request_reason_includes_the_service_message(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    expect_s3_reads(west_aws)
    mantle.fail_next(
        "POST", "/fine_tuning/jobs", 400, "Model qwen.qwen3-32b-v1:0 does not support reinforcement fine-tuning"
    )
    with pytest.raises(LaunchFailure) as failure:
        launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)
    assert str(failure.value) == (
        "CreateFineTuningJob (POST /fine_tuning/jobs) was rejected (400): Model qwen.qwen3-32b-v1:0 does not support "
        "reinforcement fine-tuning. Check the JobSpec values it names. No AWS example sends validation_file "
        "(rft:mantle.sendValidationFile=false), metadata (rft:mantle.sendMetadata=false), a grader version ARN "
        "(rft:mantle.pinGraderVersion=false); if the service rejects one, turn it off with -c."
    )


def test_unauthenticated_upload_explains_sigv4(mantle: FakeMantle, west_aws: StubbedAws, lambda_context) -> None:
    expect_s3_reads(west_aws)
    mantle.fail_next("POST", "/files", 401, "The security token included in the request is invalid")
    with pytest.raises(LaunchFailure) as failure:
        launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)
    reason = str(failure.value)
    assert "was not authenticated (401)" in reason and "bedrock-mantle in us-west-2" in reason
    assert "The security token included in the request is invalid" in reason


def test_throttled_requests_exhaust_the_sdk_retries(mantle: FakeMantle, west_aws: StubbedAws, lambda_context) -> None:
    mantle.fail_next("GET", "/fine_tuning/jobs", 429, "Too many requests", times=10, headers={"retry-after-ms": "5"})
    with pytest.raises(LaunchFailure) as failure:
        launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)
    reason = str(failure.value)
    assert (
        "ListFineTuningJobs (looking for a job an earlier attempt started) was throttled (429) after 2 retries"
        in reason
    )
    assert len(mantle.calls("GET", "/fine_tuning/jobs")) == 3  # first try + 2 retries, each signed afresh
    mantle.assert_all_signed()


def test_server_errors_do_not_delete_the_uploaded_files(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    expect_s3_reads(west_aws)
    mantle.fail_next("POST", "/fine_tuning/jobs", 503, "Service unavailable", times=10, headers={"retry-after-ms": "5"})
    with pytest.raises(LaunchFailure) as failure:
        launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)
    reason = str(failure.value)
    # No answer ever came back, and the lookups found nothing: the reason says so, names the job
    # and how to stop it should it appear, then gives the service error's own advice.
    assert re.match(
        r"Most likely no job was started: job (bedrock-rft-gptoss20b-[0-9a-f]{8}-[0-9a-f]{8}) was not found after "
        r"the error below; if it appears \(`rftctl history`\), stop it with `rftctl stop --job \1`\. "
        r"CreateFineTuningJob \(POST /fine_tuning/jobs\) failed with a server error \(503\)",
        reason,
    ), reason
    # One create only: a 503 may come after the service created the job, and the API has no
    # idempotency key, so it is never sent again. Three lookups follow (each by token, then by
    # the training file among the newest jobs), in case the job shows up late.
    routes = [(r.method, r.route) for r in mantle.requests]
    assert routes.count(("POST", "/fine_tuning/jobs")) == 1
    after = routes[routes.index(("POST", "/fine_tuning/jobs")) + 1 :]
    assert after == [("GET", "/fine_tuning/jobs")] * 6
    # The job may exist despite the errors; its files must stay.
    assert mantle.calls("DELETE", "/files/[^/]+") == [] and len(mantle.files) == 2
    mantle.assert_all_signed()


@pytest.mark.parametrize(("status", "headers"), [(503, {}), (504, {}), (429, {"retry-after-ms": "5"}), (409, {})])
def test_a_create_whose_answer_is_lost_starts_no_second_job(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context, status: int, headers: dict
) -> None:
    # The service creates the job but the answer is an error: retrying the POST blindly (as the
    # SDK would) starts a second paid job. The launcher finds the first by its token instead.
    expect_s3_reads(west_aws)
    expect_tracker_start(west_aws)
    mantle.fail_next("POST", "/fine_tuning/jobs", status, "upstream timeout", headers=headers, after_processing=True)

    result = launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)

    assert len(mantle.jobs) == 1 and len(mantle.calls("POST", "/fine_tuning/jobs")) == 1
    assert result["PhysicalResourceId"] == next(iter(mantle.jobs))
    assert mantle.calls("DELETE", "/files/[^/]+") == []
    mantle.assert_all_signed()
    west_aws.assert_done()


def test_a_create_that_failed_before_reaching_the_service_is_tried_again(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    # 429: throttled, so no work started; after a lookup that finds nothing it is sent again.
    expect_s3_reads(west_aws)
    expect_tracker_start(west_aws)
    mantle.fail_next("POST", "/fine_tuning/jobs", 429, "Slow down", times=2, headers={"retry-after-ms": "5"})

    result = launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)

    assert len(mantle.calls("POST", "/fine_tuning/jobs")) == 3 and len(mantle.jobs) == 1
    assert result["PhysicalResourceId"] == next(iter(mantle.jobs))
    mantle.assert_all_signed()
    west_aws.assert_done()


@pytest.mark.parametrize("mantle", ["/openai/v1"], indirect=True)
def test_wrong_base_url_prefix_is_explained(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MANTLE_BASE_URL", mantle.base_url.replace("/openai/v1", "/v1"))
    with pytest.raises(LaunchFailure) as failure:
        launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)
    reason = str(failure.value)
    assert "was not found (404)" in reason
    assert "Check the base URL http://127.0.0.1:" in reason
    assert "AWS documents https://bedrock-mantle.<region>.api.aws/v1; rft:mantle.baseUrl" in reason


def test_missing_training_object_is_reported_before_any_upload(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    west_aws.stub("s3").add_client_error("get_object", "NoSuchKey", "The specified key does not exist.", 404)
    with pytest.raises(LaunchFailure) as failure:
        launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)
    assert str(failure.value) == (
        "Reading the training data s3://rft-data-west/training-data/char-limit/training.jsonl (s3:GetObject) could not "
        "find a resource (NoSuchKey): The specified key does not exist. Check that the training-data deployment "
        "uploaded it and that JobSpec.trainingDataUri names it."
    )
    assert mantle.calls("POST", "/files") == []


def test_unreadable_training_object_names_s3_permissions(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    west_aws.stub("s3").add_client_error("get_object", "AccessDenied", "Access Denied", 403)
    with pytest.raises(LaunchFailure) as failure:
        launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)
    assert "check the launcher role's s3:GetObject (and kms:Decrypt if the bucket uses a KMS key) permissions" in str(
        failure.value
    )


# --- update and delete -------------------------------------------------------------------


def test_update_without_job_defining_change_only_reads_the_job(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    expect_s3_reads(west_aws)
    expect_tracker_start(west_aws)
    created = launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)
    job_id = created["PhysicalResourceId"]
    before = len(mantle.requests)

    new_spec = mantle_spec(graderArn=MANTLE_GRADER.replace(":3", ":4"), tags={"project": "renamed"})
    result = launcher.on_event(
        cfn_event("Update", new_spec, request_id="req-0002", physical_id=job_id, old_spec=mantle_spec()),
        lambda_context,
    )

    assert result == created
    assert [(r.method, r.route) for r in mantle.requests[before:]] == [("GET", f"/fine_tuning/jobs/{job_id}")]
    mantle.assert_all_signed()


def test_delete_cancels_a_running_job(mantle: FakeMantle, west_aws: StubbedAws, lambda_context) -> None:
    stack_status_is(west_aws, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")  # a replaced job: its tracker lives on
    job = mantle.add_job(status="running")
    result = launcher.on_event(cfn_event("Delete", mantle_spec(), physical_id=job["id"]), lambda_context)
    assert result == {"PhysicalResourceId": job["id"]}
    assert [(r.method, r.route) for r in mantle.requests] == [
        ("GET", f"/fine_tuning/jobs/{job['id']}"),
        ("POST", f"/fine_tuning/jobs/{job['id']}/cancel"),
    ]
    assert mantle.jobs[job["id"]]["status"] == "cancelled"
    mantle.assert_all_signed()


def test_delete_cancels_a_job_in_a_status_it_does_not_know(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    stack_status_is(west_aws, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")  # a replaced job: its tracker lives on
    # Bedrock's mantle statuses are unconfirmed: anything not known to be over may be billing.
    job = mantle.add_job(status="paused")
    launcher.on_event(cfn_event("Delete", mantle_spec(), physical_id=job["id"]), lambda_context)
    assert len(mantle.calls("POST", r"/fine_tuning/jobs/.+/cancel")) == 1
    assert mantle.jobs[job["id"]]["status"] == "cancelled"


def test_delete_of_a_job_id_in_another_format_still_cancels(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    stack_status_is(west_aws, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")  # a replaced job: its tracker lives on
    job_id = "arn:aws:bedrock-mantle:us-west-2:123456789012:fine-tuning-job/abc123"
    mantle.add_job(id=job_id, status="running")
    launcher.on_event(cfn_event("Delete", mantle_spec(), physical_id=job_id), lambda_context)
    assert mantle.jobs[job_id]["status"] == "cancelled"
    mantle.assert_all_signed()


@pytest.mark.parametrize("status", ["succeeded", "failed", "cancelled"])
def test_delete_leaves_a_finished_job_alone(mantle: FakeMantle, lambda_context, status: str) -> None:
    job = mantle.add_job(status=status)
    launcher.on_event(cfn_event("Delete", mantle_spec(), physical_id=job["id"]), lambda_context)
    assert mantle.calls("POST", r"/fine_tuning/jobs/.+/cancel") == []
    assert mantle.jobs[job["id"]]["status"] == status


def test_delete_of_a_missing_job_succeeds(mantle: FakeMantle, lambda_context) -> None:
    result = launcher.on_event(cfn_event("Delete", mantle_spec(), physical_id="ftjob-gone"), lambda_context)
    assert result == {"PhysicalResourceId": "ftjob-gone"}
    assert [(r.method, r.route) for r in mantle.requests] == [("GET", "/fine_tuning/jobs/ftjob-gone")]


def test_delete_of_a_placeholder_sends_nothing(mantle: FakeMantle, lambda_context) -> None:
    launcher.on_event(cfn_event("Delete", mantle_spec(), physical_id=PLACEHOLDER_PHYSICAL_ID), lambda_context)
    assert mantle.requests == []


def test_cancel_denied_fails_with_the_permission(mantle: FakeMantle, lambda_context) -> None:
    job = mantle.add_job(status="queued")
    mantle.fail_next("POST", r"/fine_tuning/jobs/.+/cancel", 403, "not authorized")
    with pytest.raises(LaunchFailure) as failure:
        launcher.on_event(cfn_event("Delete", mantle_spec(), physical_id=job["id"]), lambda_context)
    assert "bedrock-mantle:GetFineTuningJob and bedrock-mantle:CancelFineTuningJob permission" in str(failure.value)


# --- request fields AWS does not document, the ledger, and lookups that fail ---------------

WITHOUT_METADATA = {"sendMetadata": False}
UNQUALIFIED_GRADER = MANTLE_GRADER.rsplit(":", 1)[0]


def test_without_metadata_the_create_sends_none(mantle: FakeMantle, west_aws: StubbedAws, lambda_context) -> None:
    expect_s3_reads(west_aws)
    expect_tracker_start(west_aws)
    launcher.on_event(cfn_event("Create", mantle_spec(**WITHOUT_METADATA)), lambda_context)
    [create] = mantle.calls("POST", "/fine_tuning/jobs")
    assert "metadata" not in create.json()
    # No metadata to filter on: the first lookup (by the ledger) found nothing, so no list call.
    assert [(r.method, r.route) for r in mantle.requests] == [
        ("POST", "/files"),
        ("POST", "/files"),
        ("POST", "/fine_tuning/jobs"),
    ]
    [entry] = west_aws.ledger_bucket.entries().values()
    assert entry["trainingFile"] == create.json()["training_file"] and entry["jobId"] == next(iter(mantle.jobs))


@pytest.mark.parametrize("status", [503, 409])
def test_without_metadata_a_lost_answer_is_found_by_model_training_file_and_time(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context, status: int
) -> None:
    mantle.add_job(model="openai.gpt-oss-20b", training_file="file-someone-else", status="running")
    expect_s3_reads(west_aws)
    expect_tracker_start(west_aws)
    mantle.fail_next("POST", "/fine_tuning/jobs", status, "upstream timeout", after_processing=True)

    result = launcher.on_event(cfn_event("Create", mantle_spec(**WITHOUT_METADATA)), lambda_context)

    ours = [job for job in mantle.jobs.values() if job["training_file"] != "file-someone-else"]
    assert len(ours) == 1 and len(mantle.calls("POST", "/fine_tuning/jobs")) == 1
    assert result["PhysicalResourceId"] == ours[0]["id"]
    [lookup] = mantle.calls("GET", "/fine_tuning/jobs")
    assert not any(key.startswith("metadata[") for key in lookup.query)
    mantle.assert_all_signed()


def test_a_retried_invocation_finds_its_job_in_the_ledger(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    """The same CloudFormation request again (a lost Lambda answer): no second upload, no second job."""
    expect_s3_reads(west_aws)
    expect_tracker_start(west_aws)
    first = launcher.on_event(cfn_event("Create", mantle_spec(**WITHOUT_METADATA)), lambda_context)
    before = len(mantle.requests)
    expect_tracker_start(west_aws, already_exists=True)
    second = launcher.on_event(cfn_event("Create", mantle_spec(**WITHOUT_METADATA)), lambda_context)
    assert second == first
    assert [(r.method, r.route) for r in mantle.requests[before:]] == [
        ("GET", f"/fine_tuning/jobs/{first['PhysicalResourceId']}")
    ]
    west_aws.assert_done()


def test_a_lookup_that_fails_after_a_lost_answer_says_the_job_may_exist(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    expect_s3_reads(west_aws)
    mantle.fail_next("POST", "/fine_tuning/jobs", 503, "upstream timeout", after_processing=True)
    mantle.fail_next("GET", "/fine_tuning/jobs", 403, "not allowed", skip=1, times=20)  # every lookup after the create
    with pytest.raises(LaunchFailure) as failure:
        launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)
    reason = str(failure.value)
    [entry] = west_aws.ledger_bucket.entries().values()
    name = entry["jobName"]
    assert reason == (
        f"Job {name} MAY EXIST and bill: CreateFineTuningJob (POST /fine_tuning/jobs) got no definite answer "
        f"(HTTP 503) and looking it up failed too (HTTP 403). Check with `rftctl history` (the job's "
        f"metadata.rft_job_name is {name}); stop it with `rftctl stop --job {name}` before you redeploy, which "
        "starts a new job."
    )
    assert entry["request"] == "unknown" and entry["note"] == reason
    # The job exists (the fake made it): its files stay, and nothing was cancelled blindly.
    assert len(mantle.jobs) == 1 and mantle.calls("DELETE", "/files/[^/]+") == []
    assert mantle.calls("POST", "/fine_tuning/jobs/[^/]+/cancel") == []


def test_an_unpinned_grader_is_sent_as_the_function_arn(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    expect_s3_reads(west_aws)
    expect_tracker_start(west_aws)
    launcher.on_event(
        cfn_event("Create", mantle_spec(graderArn=UNQUALIFIED_GRADER, graderPinned=False)), lambda_context
    )
    [create] = mantle.calls("POST", "/fine_tuning/jobs")
    assert create.json()["method"]["reinforcement"]["grader"] == {
        "type": "lambda",
        "lambda": {"function": UNQUALIFIED_GRADER},
    }
    # Pinned specs still refuse an unqualified ARN, and the other way round.
    for bad in (mantle_spec(graderArn=UNQUALIFIED_GRADER), mantle_spec(graderPinned=False)):
        with pytest.raises(LaunchFailure, match="Invalid JobSpec: JobSpec.graderArn must be"):
            launcher.on_event(cfn_event("Create", bad), lambda_context)


def test_a_rollback_keeps_a_job_without_metadata_by_its_ledger_fingerprint(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    """An update whose launch failed rolls back: "new" is the old spec again, "old" the failed one."""
    kept = mantle_spec(**WITHOUT_METADATA)
    failed = mantle_spec(**WITHOUT_METADATA, hyperParameters={"n_epochs": 9})
    expect_s3_reads(west_aws)
    expect_tracker_start(west_aws)
    job_id = launcher.on_event(cfn_event("Create", kept), lambda_context)["PhysicalResourceId"]
    assert mantle.jobs[job_id].get("metadata") in (None, {})

    result = launcher.on_event(
        cfn_event("Update", kept, request_id="req-rollback", physical_id=job_id, old_spec=failed), lambda_context
    )

    assert result["PhysicalResourceId"] == job_id and len(mantle.jobs) == 1
    assert result["Data"]["JobName"] == next(iter(west_aws.ledger_bucket.entries().values()))["jobName"]


def test_a_server_that_repeats_its_cursor_is_not_followed_forever(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    for i in range(3):
        mantle.add_job(metadata={METADATA_REQUEST_TOKEN: f"someone-else-{i}"})
    mantle.supports_metadata_filter = False
    mantle.repeats_cursor = True
    expect_s3_reads(west_aws)
    expect_tracker_start(west_aws)
    launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)
    # One rejected filtered list, one unfiltered page, one repeat of it: then the scan stops.
    assert len(mantle.calls("GET", "/fine_tuning/jobs")) == 3


def test_a_lost_answer_whose_job_is_listed_late_still_makes_one_job(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    """504 after the service created the job, and the job is missing from the first lookups."""
    expect_s3_reads(west_aws)
    expect_tracker_start(west_aws)
    mantle.list_lag_calls = 3  # the first lookup (filtered, then unfiltered) and the next one miss it
    mantle.fail_next("POST", "/fine_tuning/jobs", 504, "gateway timeout", after_processing=True)
    result = launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)
    assert len(mantle.jobs) == 1 and len(mantle.calls("POST", "/fine_tuning/jobs")) == 1
    assert result["PhysicalResourceId"] == next(iter(mantle.jobs))


def test_a_service_that_keeps_no_metadata_is_matched_by_the_training_file(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    """It accepts `metadata` and stores none: the lookup by token alone would miss the job."""
    expect_s3_reads(west_aws)
    expect_tracker_start(west_aws)
    mantle.drops_metadata = True
    mantle.fail_next("POST", "/fine_tuning/jobs", 503, "upstream", after_processing=True)
    launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)
    assert len(mantle.jobs) == 1 and len(mantle.calls("POST", "/fine_tuning/jobs")) == 1


def test_only_a_request_that_never_reached_the_service_is_sent_again() -> None:
    import httpx2
    import openai

    from stacks.rft_job.runtime.mantle import never_reached_service

    request = httpx2.Request("POST", "https://bedrock-mantle.us-west-2.api.aws/v1/fine_tuning/jobs")

    def connection_error(cause: Exception, kind=openai.APIConnectionError) -> Exception:
        error = kind(request=request)
        error.__cause__ = cause
        return error

    assert never_reached_service(connection_error(httpx2.ConnectError("refused")))
    assert never_reached_service(connection_error(httpx2.ConnectTimeout("slow"), openai.APITimeoutError))
    assert not never_reached_service(connection_error(httpx2.ReadTimeout("no answer"), openai.APITimeoutError))
    assert not never_reached_service(connection_error(httpx2.RemoteProtocolError("closed mid-answer")))
    throttled = openai.RateLimitError("slow down", response=httpx2.Response(429, request=request), body=None)
    unavailable = openai.InternalServerError("down", response=httpx2.Response(503, request=request), body=None)
    assert never_reached_service(throttled) and not never_reached_service(unavailable)


def test_a_reinvoked_launch_whose_earlier_create_was_lost_starts_no_second_job(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    """The same request again after its create got no answer and its job is nowhere to be seen yet."""
    expect_s3_reads(west_aws)
    mantle.fail_next("POST", "/fine_tuning/jobs", 503, "upstream")  # nothing created, but nobody can tell
    with pytest.raises(LaunchFailure):
        launcher.on_event(cfn_event("Create", mantle_spec(**WITHOUT_METADATA)), lambda_context)
    [entry] = west_aws.ledger_bucket.entries().values()
    assert entry["request"] == "unknown"
    posts = len(mantle.calls("POST", "/fine_tuning/jobs"))

    with pytest.raises(LaunchFailure) as failure:
        launcher.on_event(cfn_event("Create", mantle_spec(**WITHOUT_METADATA)), lambda_context)
    assert str(failure.value).startswith(
        f"No second job was started: an earlier attempt of this same request may have created job {entry['jobName']}"
    )
    assert len(mantle.calls("POST", "/fine_tuning/jobs")) == posts and len(mantle.calls("POST", "/files")) == 2
    # The first attempt's launch time is what the ledger keeps.
    [kept] = west_aws.ledger_bucket.entries().values()
    assert kept["launchedAt"] == entry["launchedAt"]


def test_a_job_adopted_from_an_earlier_attempt_is_recorded(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    expect_s3_reads(west_aws)
    expect_tracker_start(west_aws)
    first = launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)
    west_aws.ledger_bucket.objects.clear()  # as if the first attempt died before recording anything
    expect_tracker_start(west_aws, already_exists=True)
    launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)
    [entry] = west_aws.ledger_bucket.entries().values()
    assert (entry["request"], entry["jobId"]) == ("created", first["PhysicalResourceId"])


def test_one_failed_lookup_does_not_give_up_on_a_job_that_exists(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    """The first lookup after a lost answer is throttled; the next one finds the job."""
    expect_s3_reads(west_aws)
    expect_tracker_start(west_aws)
    mantle.fail_next("POST", "/fine_tuning/jobs", 504, "gateway timeout", after_processing=True)
    mantle.fail_next("GET", "/fine_tuning/jobs", 429, "slow down", skip=1, times=3, headers={"retry-after-ms": "1"})
    result = launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)
    assert result["PhysicalResourceId"] == next(iter(mantle.jobs)) and len(mantle.jobs) == 1


def test_a_create_throttled_on_every_attempt_is_a_definite_refusal(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    """429 on all five attempts: none reached the service, so no job exists, and the ledger says so."""
    expect_s3_reads(west_aws)
    mantle.fail_next("POST", "/fine_tuning/jobs", 429, "slow down", times=5, headers={"retry-after-ms": "1"})
    with pytest.raises(LaunchFailure) as failure:
        launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)
    assert str(failure.value).startswith("CreateFineTuningJob (POST /fine_tuning/jobs) was throttled (429): redeploy")
    assert len(mantle.calls("POST", "/fine_tuning/jobs")) == 5 and mantle.jobs == {}
    [entry] = west_aws.ledger_bucket.entries().values()
    assert entry["request"] == "rejected"
    assert len(mantle.calls("DELETE", "/files/[^/]+")) == 2  # its uploads are removed


def test_no_create_is_sent_without_time_to_resolve_a_lost_answer(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    expect_s3_reads(west_aws)
    lambda_context.remaining_millis = 4 * 60 * 1000  # the uploads took most of the invocation
    with pytest.raises(LaunchFailure) as failure:
        launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)
    assert "NotEnoughTime" in str(failure.value) and "s needed to create the job" in str(failure.value)
    assert mantle.calls("POST", "/fine_tuning/jobs") == [] and len(mantle.calls("DELETE", "/files/[^/]+")) == 2
    [entry] = west_aws.ledger_bucket.entries().values()
    assert entry["request"] == "rejected"


def test_a_concurrent_delivery_of_the_same_request_makes_one_job(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two copies of one request at once: the second to claim the ledger entry takes the first's job."""
    from stacks.rft_job.runtime import ledger as ledger_module

    monkeypatch.setattr(ledger_module, "CONCURRENT_ATTEMPT_POLL_SECONDS", 0.0)
    expect_s3_reads(west_aws)
    expect_s3_reads(west_aws)
    expect_tracker_start(west_aws)
    expect_tracker_start(west_aws, already_exists=True)
    real_claim = ledger_module.LaunchRecord.claim
    first: dict = {}

    def claim_after_the_other_copy(record) -> None:
        if not first:  # copy A has uploaded and is about to claim: copy B runs start to finish now
            first["result"] = "running"
            first["result"] = launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)
        real_claim(record)

    monkeypatch.setattr(ledger_module.LaunchRecord, "claim", claim_after_the_other_copy)
    second = launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)
    assert len(mantle.jobs) == 1 and second["PhysicalResourceId"] == first["result"]["PhysicalResourceId"]
    assert len(mantle.calls("POST", "/fine_tuning/jobs")) == 1
    # Copy A's own uploads were removed; the job trains on copy B's.
    assert len(mantle.files) == 2


def test_a_recorded_job_the_service_does_not_know_yet_is_not_created_again(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    expect_s3_reads(west_aws)
    expect_tracker_start(west_aws)
    first = launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)
    del mantle.jobs[first["PhysicalResourceId"]]  # listed late, or gone: either way not a reason for a second
    with pytest.raises(LaunchFailure) as failure:
        launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)
    assert str(failure.value).startswith(
        f"No second job was started: an earlier attempt of this same request created job "
        f"{first['PhysicalResourceId']}, which the service does not know (yet)."
    )
    assert len(mantle.calls("POST", "/fine_tuning/jobs")) == 1
