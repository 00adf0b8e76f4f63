"""Fixtures for the rft_job runtime tests: fake credentials, stubbed AWS clients, fake mantle."""

from __future__ import annotations

from typing import Iterator

import pytest

from rft_job.runtime import clients
from tests.rft_job.builders import FakeLambdaContext, StubbedAws
from tests.rft_job.fake_mantle import ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, FakeMantle

_AWS_ENV_TO_CLEAR = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_BEARER_TOKEN_BEDROCK",
    "AWS_BEDROCK_BASE_URL",
    "MANTLE_BASE_URL",
    "AWS_ENDPOINT_URL",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
)


@pytest.fixture(autouse=True)
def fake_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:
    """Fake static credentials only: no profile, no instance metadata, no stored keys."""
    for name in _AWS_ENV_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    clients.reset_client_caches()
    yield
    clients.reset_client_caches()


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def nova_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[StubbedAws]:
    """Stubbed clients in us-east-1 (the Nova region), installed as clients.aws_client."""
    aws = StubbedAws("us-east-1")
    monkeypatch.setattr(clients, "aws_client", aws.client)
    yield aws


@pytest.fixture
def west_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[StubbedAws]:
    """Stubbed clients in us-west-2 (the mantle region), installed as clients.aws_client."""
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    aws = StubbedAws("us-west-2")
    monkeypatch.setattr(clients, "aws_client", aws.client)
    yield aws


@pytest.fixture(params=["/v1"])
def mantle(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMantle]:
    """A fake mantle endpoint in us-west-2; MANTLE_BASE_URL points the real SDK client at it."""
    server = FakeMantle(route_prefix=request.param).start()
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    monkeypatch.setenv("MANTLE_BASE_URL", server.base_url)
    clients.reset_client_caches()
    yield server
    server.stop()
