"""The mantle client every component builds: the URL that actually goes out, signed for bedrock-mantle."""

from __future__ import annotations

import json

import pytest

from stacks.rft_job.runtime import clients, launcher, tracker
from tests.stacks.rft_job.builders import StubbedAws, cfn_event, mantle_spec, stack_status_is
from tests.stacks.rft_job.fake_mantle import CanonicalMantle

JOB = "ftjob-canonical1"


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> CanonicalMantle:
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    canonical = CanonicalMantle()
    canonical.add_job(JOB)
    canonical.install(monkeypatch)
    return canonical


def test_the_default_base_url_is_the_documented_v1(endpoint: CanonicalMantle) -> None:
    client = clients.mantle_client()
    assert str(client.base_url) == "https://bedrock-mantle.us-west-2.api.aws/v1/"
    client.fine_tuning.jobs.retrieve(JOB)
    assert endpoint.paths() == [f"GET /v1/fine_tuning/jobs/{JOB}"]
    assert endpoint.requests[0].headers["host"] == "bedrock-mantle.us-west-2.api.aws"
    assert endpoint.signature_failures == [] and endpoint.requests[0].signature_ok


def test_neither_the_providers_default_nor_its_environment_variable_applies(
    endpoint: CanonicalMantle, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The provider would read AWS_BEDROCK_BASE_URL when no base URL is passed; ours always is.
    monkeypatch.setenv("AWS_BEDROCK_BASE_URL", "https://bedrock-mantle.us-west-2.api.aws/openai/v1")
    clients.reset_client_caches()
    clients.mantle_client().fine_tuning.jobs.retrieve(JOB)
    assert endpoint.paths() == [f"GET /v1/fine_tuning/jobs/{JOB}"]


def test_the_override_still_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MANTLE_BASE_URL", "https://vpce-1.bedrock-mantle.us-west-2.vpce.amazonaws.com/v1")
    clients.reset_client_caches()
    assert str(clients.mantle_client("us-west-2").base_url) == (
        "https://vpce-1.bedrock-mantle.us-west-2.vpce.amazonaws.com/v1/")


def test_launcher_and_tracker_reach_v1(endpoint: CanonicalMantle, monkeypatch: pytest.MonkeyPatch,
                                       lambda_context) -> None:
    # The launcher's Delete in an update's cleanup: describe, then cancel the running job.
    aws = StubbedAws("us-west-2")
    monkeypatch.setattr(clients, "aws_client", aws.client)
    stack_status_is(aws, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    launcher.on_event(cfn_event("Delete", mantle_spec(), physical_id=JOB), lambda_context)
    assert endpoint.paths() == [f"GET /v1/fine_tuning/jobs/{JOB}", f"POST /v1/fine_tuning/jobs/{JOB}/cancel"]

    # The tracker's poll of the now cancelled job (SSM and SNS stubbed; the job is not current).
    for name, value in {"VARIANT": "mantle", "STATUS_PARAMETER": "/p/status", "MODEL_PARAMETER": "/p/model",
                        "FAILURE_PARAMETER": "/p/failure", "JOB_ID_PARAMETER": "/p/id",
                        "TOPIC_ARN": "arn:aws:sns:us-west-2:123456789012:t"}.items():
        monkeypatch.setenv(name, value)
    aws.stub("ssm").add_response("get_parameter", {"Parameter": {"Name": "/p/id", "Value": "ftjob-other"}})
    aws.stub("sns").add_response("publish", {"MessageId": "m-1"})
    endpoint.requests.clear()
    result = tracker.handler({"variant": "mantle", "jobId": JOB, "jobName": "n", "polls": 1}, lambda_context)
    assert result["status"] == "cancelled"
    assert endpoint.paths() == [f"GET /v1/fine_tuning/jobs/{JOB}"]
    assert endpoint.signature_failures == []
    assert json.loads(aws.calls("Publish")[0]["Message"].split("Facts (JSON):\n")[1])["status"] == "cancelled"
