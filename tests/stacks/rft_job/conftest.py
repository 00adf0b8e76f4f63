"""Fixtures for the rft_job runtime tests: fake credentials, stubbed AWS clients, fake mantle."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stacks.rft_job.runtime import clients, mantle as mantle_jobs, nova as nova_jobs
from tests.conftest import isolate_aws_env
from tests.stacks.rft_job.builders import FakeLambdaContext, StubbedAws
from tests.stacks.rft_job.fake_mantle import (
    ACCESS_KEY,
    SECRET_KEY,
    SESSION_TOKEN,
    FakeMantle,
)


@pytest.fixture(autouse=True)
def fake_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:
    """Fake static credentials only: no profile, no instance metadata, no stored keys."""
    isolate_aws_env(monkeypatch, tmp_path, access_key=ACCESS_KEY, secret_key=SECRET_KEY, session_token=SESSION_TOKEN)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    clients.reset_client_caches()
    # No real pauses between job-create attempts (the attempts themselves are what is tested).
    monkeypatch.setattr(mantle_jobs, "CREATE_RETRY_DELAY_SECONDS", 0.0)
    monkeypatch.setattr(nova_jobs, "CREATE_RETRY_DELAY_SECONDS", 0.0)
    monkeypatch.setattr(mantle_jobs, "LOST_ANSWER_LOOKUP_DELAYS_SECONDS", (0.0, 0.0, 0.0))
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
