"""Where rftctl gets its AWS and mantle clients; tests hand ``main`` a factory of their own."""

from __future__ import annotations

from typing import Any, Protocol

import boto3
from botocore.config import Config
from openai import OpenAI

from rft_job.runtime import clients as runtime_clients

# An operator waits in front of the terminal: adaptive mode slows down under throttling
# (inference fan-out in preflight/compare) instead of failing after a few quick retries.
CLI_BOTO_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 8},
    connect_timeout=10,
    read_timeout=120,
    user_agent_extra="bedrock-rft-rftctl",
)


class ClientFactory(Protocol):
    """Builds the clients a command needs; one per service and region is enough."""

    def client(self, service: str, region: str) -> Any:
        """A boto3 client for ``service`` in ``region``."""

    def mantle(self, region: str, base_url: str | None = None) -> OpenAI:
        """An OpenAI SDK client for the Bedrock mantle endpoint in ``region`` (or at ``base_url``)."""


class AwsClients:
    """The real factory: boto3 from the default credential chain or ``--profile``."""

    def __init__(self, profile: str | None = None) -> None:
        self._profile = profile
        self._session: boto3.Session | None = None
        self._clients: dict[tuple[str, str], Any] = {}
        self._mantle_clients: dict[tuple[str, str | None], OpenAI] = {}

    def _boto_session(self) -> boto3.Session:
        # Created on first use so `--profile typo` fails inside the command, where the
        # error is translated, and commands that never call AWS never touch credentials.
        if self._session is None:
            self._session = boto3.Session(profile_name=self._profile)
        return self._session

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self._boto_session().client(service, region_name=region, config=CLI_BOTO_CONFIG)
        return self._clients[key]

    def mantle(self, region: str, base_url: str | None = None) -> OpenAI:
        key = (region, base_url)
        if key not in self._mantle_clients:
            # The stack's own runtime client: SigV4 for bedrock-mantle (never a stored key),
            # MANTLE_BASE_URL, else the stack's configured endpoint, else the documented /v1
            # URL; the same retries and timeout; with the named profile when --profile is given.
            self._mantle_clients[key] = runtime_clients.mantle_client(region, profile=self._profile, base_url=base_url)
        return self._mantle_clients[key]
