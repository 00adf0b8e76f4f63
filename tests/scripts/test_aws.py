"""rftctl's own clients: the mantle client is the runtime's, /v1 and SigV4 with or without --profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from rftctl.aws import AwsClients
from tests.stacks.rft_job.fake_mantle import (
    ACCESS_KEY,
    SECRET_KEY,
    SESSION_TOKEN,
    CanonicalMantle,
)


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> CanonicalMantle:
    canonical = CanonicalMantle()
    canonical.add_job("ftjob-cli1")
    canonical.install(monkeypatch)
    return canonical


def test_default_credentials_reach_v1(endpoint: CanonicalMantle) -> None:
    AwsClients().mantle("us-west-2").fine_tuning.jobs.retrieve("ftjob-cli1")
    assert endpoint.paths() == ["GET /v1/fine_tuning/jobs/ftjob-cli1"]
    assert endpoint.signature_failures == []


def test_a_named_profile_reaches_v1_signed_with_its_credentials(
    endpoint: CanonicalMantle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The profile holds the test keys; the environment's are taken away, so only the profile can sign.
    config = tmp_path / "config"
    config.write_text(f"[profile operator]\nregion = us-west-2\naws_access_key_id = {ACCESS_KEY}\n"
                      f"aws_secret_access_key = {SECRET_KEY}\naws_session_token = {SESSION_TOKEN}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    AwsClients("operator").mantle("us-west-2").fine_tuning.jobs.retrieve("ftjob-cli1")
    assert endpoint.paths() == ["GET /v1/fine_tuning/jobs/ftjob-cli1"]
    assert endpoint.signature_failures == [] and endpoint.requests[0].signature_ok


def test_commands_reach_the_endpoint_the_stack_was_deployed_with(rftctl, aws, mantle_server, monkeypatch) -> None:
    """A stack deployed with rft:mantle.baseUrl publishes it (MantleBaseUrl); rftctl calls it there."""
    from tests.scripts.fakes import (
        MANTLE_JOB_ID,
        MANTLE_REGION,
        MANTLE_STACK,
        expect_mantle_stack,
        expect_parameter,
    )

    monkeypatch.delenv("MANTLE_BASE_URL")
    mantle_server.add_job(id=MANTLE_JOB_ID, status="running")
    expect_mantle_stack(aws, MantleBaseUrl=mantle_server.base_url)
    expect_parameter(aws, MANTLE_REGION, f"/bedrock-rft/{MANTLE_STACK}/job/id", MANTLE_JOB_ID)
    result = rftctl("status", "--stack", MANTLE_STACK, "--region", MANTLE_REGION)
    assert result.code == 0, result.err
    assert ("GET", f"/fine_tuning/jobs/{MANTLE_JOB_ID}") in [(r.method, r.route) for r in mantle_server.requests]
    mantle_server.assert_all_signed()
