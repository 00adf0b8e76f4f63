"""Where rftctl gets its AWS and mantle clients; tests hand ``main`` a factory of their own.

boto3 and the OpenAI SDK are imported when the first client is built, not with this module:
``rftctl --help`` and the offline commands never load them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import boto3
    from openai import OpenAI

# An operator waits in front of the terminal: adaptive mode slows down under throttling
# (inference fan-out in preflight/compare) instead of failing after a few quick retries.
CLI_RETRIES = {"mode": "adaptive", "max_attempts": 8}
CLI_TIMEOUTS = {"connect_timeout": 10, "read_timeout": 120}
CLI_USER_AGENT = "bedrock-rft-rftctl"


def cli_boto_config() -> Any:
    from botocore.config import Config

    return Config(retries=CLI_RETRIES, user_agent_extra=CLI_USER_AGENT, **CLI_TIMEOUTS)


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
            import boto3

            self._session = boto3.Session(profile_name=self._profile)
        return self._session

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self._boto_session().client(service, region_name=region, config=cli_boto_config())
        return self._clients[key]

    def mantle(self, region: str, base_url: str | None = None) -> OpenAI:
        key = (region, base_url)
        if key not in self._mantle_clients:
            # The stack's own runtime client: SigV4 for bedrock-mantle (never a stored key),
            # MANTLE_BASE_URL, else the stack's configured endpoint, else the documented /v1
            # URL; the same retries and timeout; with the named profile when --profile is given.
            from stacks.rft_job.runtime import clients as runtime_clients

            self._mantle_clients[key] = runtime_clients.mantle_client(region, profile=self._profile, base_url=base_url)
        return self._mantle_clients[key]
