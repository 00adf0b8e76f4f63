"""Fixtures for the rftctl tests: fake credentials, stubbed clients, a local mantle, a CLI runner."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rftctl.cli import main
from stacks.rft_job.runtime import clients as runtime_clients
from tests.conftest import isolate_aws_env
from tests.scripts.fakes import CliResult, InferenceFakeMantle, StubbedClients
from tests.stacks.rft_job.fake_mantle import ACCESS_KEY, SECRET_KEY, SESSION_TOKEN


@pytest.fixture(autouse=True)
def fake_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:
    """Fake static credentials and nothing else: no profile, no config file, no metadata service."""
    isolate_aws_env(monkeypatch, tmp_path, access_key=ACCESS_KEY, secret_key=SECRET_KEY, session_token=SESSION_TOKEN)
    runtime_clients.reset_client_caches()
    yield
    runtime_clients.reset_client_caches()


@pytest.fixture
def aws() -> Iterator[StubbedClients]:
    stubbed = StubbedClients()
    yield stubbed
    stubbed.assert_all_used()


@pytest.fixture
def rftctl(aws: StubbedClients, capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run rftctl in-process with the stubbed clients; polling never really sleeps."""

    def run(*argv: str, **context_options: Any) -> CliResult:
        context_options.setdefault("sleep", lambda seconds: None)
        code = main(list(argv), clients=aws, context_options=context_options)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def mantle_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[InferenceFakeMantle]:
    server = InferenceFakeMantle().start()
    monkeypatch.setenv("MANTLE_BASE_URL", server.base_url)
    runtime_clients.reset_client_caches()
    yield server
    server.stop()
