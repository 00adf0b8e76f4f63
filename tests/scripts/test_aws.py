"""rftctl's own clients: the mantle client is the runtime's, /v1 and SigV4 with or without --profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.rftctl.aws import AwsClients
from tests.rft_job.fake_mantle import ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, CanonicalMantle


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
