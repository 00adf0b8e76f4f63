"""AWS and Bedrock mantle clients, built in one place so tests can substitute them."""

from __future__ import annotations

import os
from functools import cache, lru_cache
from typing import Any

import boto3
import httpx2
from botocore.config import Config
from openai import OpenAI
from openai.providers import bedrock

from .contract import MANTLE_BASE_URL_ENV, default_mantle_base_url
from .job_api import Connections

# botocore "standard" retry mode backs off on throttling and transient errors; five attempts
# ride out a burst without pushing the custom resource toward its one-hour limit.
BOTO_MAX_ATTEMPTS = 5
BOTO_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": BOTO_MAX_ATTEMPTS},
    connect_timeout=10,
    read_timeout=60,
    user_agent_extra="bedrock-rft-job",
)

# The OpenAI SDK retries 408/409/429/5xx and connection errors with exponential backoff.
# The launcher uploads datasets, so it gets long timeouts; the tracker's polls are small reads
# that must finish well inside its short Lambda timeout (Step Functions retries the task).
MANTLE_MAX_RETRIES = 4
MANTLE_TIMEOUT_SECONDS = 120.0
TRACKER_MANTLE_MAX_RETRIES = 2
TRACKER_MANTLE_TIMEOUT_SECONDS = 10.0


def lambda_region() -> str:
    region = (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "").strip()
    if not region:
        raise RuntimeError("AWS_REGION is not set: the Lambda runtime sets it; set it when running locally")
    return region


def aws_client(service: str, region: str | None = None) -> Any:
    """A boto3 client with standard-mode retries, reused across warm invocations."""
    return _cached_aws_client(service, region or lambda_region())


@cache
def _cached_aws_client(service: str, region: str) -> Any:
    return boto3.client(service, region_name=region, config=BOTO_CONFIG)


def mantle_base_url_override() -> str | None:
    value = (os.environ.get(MANTLE_BASE_URL_ENV) or "").strip()
    return value or None


class BufferedBodyOpenAI(OpenAI):
    """OpenAI client that buffers each request body before the Bedrock provider signs it.

    SigV4 hashes the whole body, and the provider refuses a body it cannot read up front
    ("Bedrock SigV4 authentication requires a replayable request body"). httpx2 builds
    multipart uploads (files.create) as a lazy stream, so without this the Files API cannot be
    used with IAM auth. `_prepare_request` is the SDK's per-request hook that runs just before
    the provider signs; reading the request there turns the stream into bytes. JSON bodies
    are bytes already, so for them this is a no-op.
    """

    def _prepare_request(self, request: httpx2.Request) -> None:
        request.read()
        super()._prepare_request(request)


def mantle_base_url(region: str, configured: str | None = None) -> str:
    """The mantle endpoint for `region`: MANTLE_BASE_URL when set, else `configured` (a stack's
    rft:mantle.baseUrl, as the operator CLI reads it), else AWS's documented /v1 URL."""
    return mantle_base_url_override() or configured or default_mantle_base_url(region)


def mantle_client(
    region: str | None = None,
    *,
    timeout_seconds: float = MANTLE_TIMEOUT_SECONDS,
    max_retries: int = MANTLE_MAX_RETRIES,
    profile: str | None = None,
    base_url: str | None = None,
) -> OpenAI:
    """OpenAI SDK client for Bedrock mantle, signed with SigV4 (service bedrock-mantle).

    Credentials come from the default AWS chain (the Lambda's role), or a named profile (the
    operator CLI's --profile). `api_key=None` makes the provider ignore AWS_BEARER_TOKEN_BEDROCK,
    so no stored key is ever used. The base URL is https://bedrock-mantle.<region>.api.aws/v1
    unless MANTLE_BASE_URL overrides it (VPC endpoint, tests); it is always passed explicitly,
    so neither the provider's /openai/v1 default nor AWS_BEDROCK_BASE_URL applies. `base_url`
    is the endpoint a stack was configured with, used when MANTLE_BASE_URL is not set.
    """
    resolved_region = region or lambda_region()
    return _cached_mantle_client(resolved_region, mantle_base_url(resolved_region, base_url), timeout_seconds,
                                 max_retries, profile)


@lru_cache(maxsize=8)
def _cached_mantle_client(region: str, base_url: str, timeout_seconds: float, max_retries: int,
                          profile: str | None) -> OpenAI:
    provider_options: dict[str, Any] = {"endpoint": "mantle", "region": region, "api_key": None, "base_url": base_url}
    if profile is not None:
        provider_options["profile"] = profile
    return BufferedBodyOpenAI(
        provider=bedrock(**provider_options),
        max_retries=max_retries,
        timeout=timeout_seconds,
    )


def lambda_connections(region: str, *, mantle_timeout_seconds: float = MANTLE_TIMEOUT_SECONDS,
                       mantle_max_retries: int = MANTLE_MAX_RETRIES) -> Connections:
    """The clients a function's job adapter uses: this module's cached ones, in `region`."""
    return Connections(
        region=region,
        aws=lambda service: aws_client(service, region),
        mantle=lambda: mantle_client(region, timeout_seconds=mantle_timeout_seconds, max_retries=mantle_max_retries),
    )


def reset_client_caches() -> None:
    """Forget cached clients (tests change endpoints and credentials between cases)."""
    _cached_aws_client.cache_clear()
    _cached_mantle_client.cache_clear()
