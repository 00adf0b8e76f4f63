"""Turn AWS and Bedrock mantle errors into one short, actionable failure reason.

CloudFormation shows the custom resource's failure reason to whoever deploys the stack. The
reason says what failed and what to check; the full exception and service response go to the
log (see error_detail).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import openai
from aws_lambda_powertools import Logger
from botocore import exceptions as botocore_exceptions

from . import clients
from .contract import MANTLE_API_PATH, MANTLE_BASE_URL_ENV
from .job_spec import JobSpecError

logger = Logger(child=True)

# Limits are in UTF-8 bytes: the whole custom resource response (Reason, Data and the Provider
# framework's own fields) must fit 4096 bytes, and a service message may be multi-byte text.
REASON_MAX_BYTES = 1000
SERVICE_MESSAGE_MAX_BYTES = 400

THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "TooManyUpdates",
        "KmsThrottlingException",
        "KMSThrottlingException",
    }
)
ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDeniedException",
        "AccessDenied",
        "AuthorizationError",
        "AuthorizationErrorException",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "KmsAccessDeniedException",
        "KMSAccessDeniedException",
    }
)
NOT_FOUND_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "NoSuchKey",
        "NoSuchBucket",
        "NotFound",
        "NotFoundException",
        "404",
        "StateMachineDoesNotExist",
        "ParameterNotFound",
    }
)
SERVER_ERROR_CODES = frozenset(
    {
        "InternalServerException",
        "InternalServerError",
        "InternalFailure",
        "InternalErrorException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)


# Where the mantle endpoint comes from, for reasons about a wrong one.
BASE_URL_HINT = (
    f"AWS documents https://bedrock-mantle.<region>.api.aws{MANTLE_API_PATH}; rft:mantle.baseUrl "
    f"(the functions' {MANTLE_BASE_URL_ENV}) overrides it"
)


class LaunchFailure(Exception):
    """A launcher failure; str(exc) is the reason CloudFormation shows (one line, <= 1000 bytes)."""

    def __init__(self, reason: str) -> None:
        super().__init__(clip_reason(reason))


class CreateOutcomeUnknown(Exception):
    """A create request got no definite answer, and looking the job up could not settle it.

    The job may exist (and bill): the reason must name it and say how to find and stop it.
    `lookup_error` is None when the lookup ran and found nothing, which after a lost answer is
    likely but not certain proof that no job exists (the service may list it only later).
    """

    def __init__(self, job_name: str, cause: BaseException, lookup_error: BaseException | None) -> None:
        super().__init__(f"job {job_name} may exist: {short_error(cause)}")
        self.job_name = job_name
        self.cause = cause
        self.lookup_error = lookup_error


class JobNameTaken(Exception):
    """The launch's job name belongs to a job another request started: no job of ours exists."""

    def __init__(self, job_name: str, job_arn: str) -> None:
        super().__init__(f"job name {job_name} is taken by {job_arn}, started with another request token")
        self.job_name = job_name
        self.job_arn = job_arn


@dataclass(frozen=True)
class CallContext:
    """What was being done, so the reason can say what to check."""

    operation: str
    permission: str
    region: str
    principal: str = "launcher role"
    access_hint: str = ""
    not_found_hint: str = ""
    base_url: str | None = None
    # Appended when the service rejects the request as invalid: which switch to flip for a
    # request field AWS does not document.
    rejection_hint: str = ""
    # How to look a job up by hand, for a create whose outcome is unknown.
    lookup_hint: str = ""
    # How often the mantle client retries this call (None: the default client's budget).
    retries: int | None = None

    @property
    def retry_note(self) -> str:
        """' after N retries', or '' for a call that is sent once."""
        retries = clients.MANTLE_MAX_RETRIES if self.retries is None else self.retries
        return f" after {retries} retries" if retries else ""


def short_error(exc: BaseException) -> str:
    """The error's code and status, or its type: enough to say what happened in one clause."""
    if isinstance(exc, botocore_exceptions.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return f"{client_error_code(exc) or 'error'}{f' ({status})' if status else ''}"
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}"
    if isinstance(exc, openai.APITimeoutError):
        return "timed out"
    if isinstance(exc, openai.APIConnectionError):
        return "connection lost"
    return type(exc).__name__


def clip_reason(text: str, limit: int = REASON_MAX_BYTES) -> str:
    """One line of at most `limit` UTF-8 bytes, marked with "..." when cut."""
    flat = re.sub(r"\s+", " ", text).strip()
    return clip_utf8(flat, limit, "...")


def clip_utf8(text: str, limit: int, marker: str) -> str:
    """`text` if it fits `limit` UTF-8 bytes, else its longest prefix that fits with `marker` appended."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    room = limit - len(marker.encode("utf-8"))
    return encoded[:room].decode("utf-8", errors="ignore").rstrip() + marker


def _service_message(text: str | None) -> str:
    message = clip_reason(text or "", SERVICE_MESSAGE_MAX_BYTES)
    return message.rstrip(" .!?") or "no message"


def client_error_code(exc: BaseException) -> str | None:
    if isinstance(exc, botocore_exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "") or None
    return None


def is_throttling(exc: BaseException) -> bool:
    if isinstance(exc, openai.RateLimitError):
        return True
    code = client_error_code(exc)
    return code in THROTTLING_CODES if code else False


def is_transient(exc: BaseException) -> bool:
    """Throttling or a service-side error: worth retrying later (the tracker lets Step Functions retry)."""
    if isinstance(exc, (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError)):
        return True
    if isinstance(exc, botocore_exceptions.ClientError):
        code = client_error_code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return code in THROTTLING_CODES or code in SERVER_ERROR_CODES or (isinstance(status, int) and status >= 500)
    return isinstance(exc, (botocore_exceptions.ConnectionError, botocore_exceptions.EndpointConnectionError))


def is_not_found(exc: BaseException) -> bool:
    if isinstance(exc, openai.NotFoundError):
        return True
    code = client_error_code(exc)
    return code in NOT_FOUND_CODES if code else False


def reason_for(exc: BaseException, ctx: CallContext) -> str:
    """One short sentence: what failed and what to check."""
    if isinstance(exc, LaunchFailure):
        return str(exc)
    if isinstance(exc, CreateOutcomeUnknown):
        return clip_reason(_outcome_unknown_reason(exc, ctx))
    if isinstance(exc, JobNameTaken):
        return clip_reason(
            f"{ctx.operation} started no job: the job name {exc.job_name} is already used by {exc.job_arn}, which "
            "another request started (its request token differs). Redeploy: a new request gets a new name."
        )
    if isinstance(exc, JobSpecError):
        return clip_reason(f"Invalid JobSpec: {exc}")
    if isinstance(exc, botocore_exceptions.ClientError):
        return clip_reason(_client_error_reason(exc, ctx))
    if isinstance(exc, openai.APIStatusError):
        return clip_reason(_mantle_status_reason(exc, ctx))
    if isinstance(exc, openai.APITimeoutError):
        return clip_reason(
            f"{ctx.operation} timed out reaching {ctx.base_url or 'the Bedrock mantle endpoint'}{ctx.retry_note}: "
            f"check the function's network path to bedrock-mantle in {ctx.region} (NAT gateway or VPC endpoint) "
            "and the base URL."
        )
    if isinstance(exc, openai.APIConnectionError):
        return clip_reason(
            f"{ctx.operation} could not connect to {ctx.base_url or 'the Bedrock mantle endpoint'}: check the "
            f"function's network path to bedrock-mantle in {ctx.region} and the base URL ({exc})."
        )
    if isinstance(exc, openai.OpenAIError):
        return clip_reason(
            f"{ctx.operation} failed before reaching Bedrock mantle: {_service_message(str(exc))}. Check the "
            f"{ctx.principal}'s credentials, AWS_REGION ({ctx.region}) and the base URL."
        )
    if isinstance(exc, botocore_exceptions.NoCredentialsError):
        return clip_reason(f"{ctx.operation} failed: no AWS credentials were found for the {ctx.principal}.")
    if isinstance(exc, (botocore_exceptions.EndpointConnectionError, botocore_exceptions.ConnectionError)):
        return clip_reason(
            f"{ctx.operation} could not reach the AWS endpoint in {ctx.region} after retries: check the "
            f"function's network path (NAT gateway or VPC endpoints). {exc}"
        )
    if isinstance(exc, botocore_exceptions.ParamValidationError):
        return clip_reason(f"{ctx.operation} was not sent because its parameters are invalid: {exc}")
    return clip_reason(f"{ctx.operation} failed unexpectedly ({type(exc).__name__}): {_service_message(str(exc))}.")


def _outcome_unknown_reason(exc: CreateOutcomeUnknown, ctx: CallContext) -> str:
    stop = f"`rftctl stop --job {exc.job_name}`"
    if exc.lookup_error is None:
        # The lookup ran and found nothing: most likely no job, but the service may list it late.
        return (
            f"Most likely no job was started: job {exc.job_name} was not found after the error below; if it "
            f"appears (`rftctl history`), stop it with {stop}. {reason_for(exc.cause, ctx)}"
        )
    return (
        f"Job {exc.job_name} MAY EXIST and bill: {ctx.operation} got no definite answer ({short_error(exc.cause)}) "
        f"and looking it up failed too ({short_error(exc.lookup_error)}). Check with `rftctl history`"
        f"{ctx.lookup_hint}; stop it with {stop} before you redeploy, which starts a new job."
    )


def _client_error_reason(exc: botocore_exceptions.ClientError, ctx: CallContext) -> str:
    error = exc.response.get("Error", {})
    code = str(error.get("Code") or "Unknown")
    message = _service_message(error.get("Message"))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in ACCESS_DENIED_CODES or status == 403:
        return (
            f"{ctx.operation} was denied ({code}): check the {ctx.principal}'s {ctx.permission} "
            f"permissions{ctx.access_hint}. Service said: {message}."
        )
    if code in THROTTLING_CODES or status == 429:
        return (
            f"{ctx.operation} was throttled ({code}) and botocore's retries were exhausted "
            f"({clients.BOTO_MAX_ATTEMPTS} attempts, standard mode): redeploy in a few minutes, or raise the "
            f"request quota in {ctx.region} (Service Quotas)."
        )
    if code == "ServiceQuotaExceededException":
        return (
            f"{ctx.operation} hit a service quota ({code}): {message}. Wait for or stop other jobs, or request "
            f"a higher quota in {ctx.region} (Service Quotas console)."
        )
    if code in ("ValidationException", "InvalidParameterValue", "InvalidParameterException", "InvalidRequest"):
        return (f"{ctx.operation} rejected the request ({code}): {message}. Check the JobSpec values it names."
                f"{ctx.rejection_hint}")
    if code in NOT_FOUND_CODES or status == 404:
        hint = ctx.not_found_hint or f" Check that the ARNs, ids and S3 URIs in the JobSpec exist in {ctx.region}"
        return f"{ctx.operation} could not find a resource ({code}): {message}.{hint}."
    if code in ("ConflictException", "ExecutionAlreadyExists"):
        return f"{ctx.operation} conflicts with an existing resource ({code}): {message}."
    if code == "TooManyTagsException":
        return f"{ctx.operation} was given too many tags ({code}): {message}. Reduce JobSpec.tags."
    if code in SERVER_ERROR_CODES or (isinstance(status, int) and status >= 500):
        return (
            f"{ctx.operation} failed with a service error ({code}) after {clients.BOTO_MAX_ATTEMPTS} attempts: "
            f"redeploy later; if it persists, check the AWS Health Dashboard for {ctx.region}."
        )
    return f"{ctx.operation} failed ({code}): {message}."


def mantle_error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str) and inner:
            return inner
        if body.get("message"):
            return str(body["message"])
    return str(exc.message or "")


def _mantle_status_reason(exc: openai.APIStatusError, ctx: CallContext) -> str:
    status = exc.status_code
    message = _service_message(mantle_error_message(exc))
    base = ctx.base_url or "the Bedrock mantle endpoint"
    if status == 401:
        # A path prefix the service does not serve is sometimes answered with 401, not 404.
        return (
            f"{ctx.operation} was not authenticated (401): the SigV4 signature for service bedrock-mantle in "
            f"{ctx.region} was rejected, or the base URL ({base}) has a path prefix the service does not serve "
            f"there. Check the {ctx.principal}'s credentials and the base URL ({BASE_URL_HINT}). "
            f"Service said: {message}."
        )
    if status == 403:
        return (
            f"{ctx.operation} was denied (403): check the {ctx.principal}'s {ctx.permission} permission"
            f"{ctx.access_hint}. Service said: {message}."
        )
    if status in (400, 422):
        return (f"{ctx.operation} was rejected ({status}): {message}. Check the JobSpec values it names."
                f"{ctx.rejection_hint}")
    if status == 404:
        hint = ctx.not_found_hint or f" Check the base URL {base} ({BASE_URL_HINT})"
        return f"{ctx.operation} was not found (404): {message}.{hint}."
    if status == 409:
        return f"{ctx.operation} conflicts with an existing resource (409): {message}."
    if status == 429:
        return (
            f"{ctx.operation} was throttled (429){ctx.retry_note}: redeploy in a few minutes, or raise the Bedrock "
            f"quota in {ctx.region}."
        )
    if status >= 500:
        return (
            f"{ctx.operation} failed with a server error ({status}){ctx.retry_note}: "
            f"redeploy later; if it persists, check the AWS Health Dashboard for Bedrock in {ctx.region}. "
            f"Service said: {message}."
        )
    return f"{ctx.operation} failed ({status}): {message}."


@contextmanager
def failing_as(ctx: CallContext) -> Iterator[None]:
    """Turn any error inside the block into a LaunchFailure with a reason for this call (and log it)."""
    try:
        yield
    except LaunchFailure:
        raise
    except Exception as exc:
        reason = reason_for(exc, ctx)
        logger.exception(
            "call failed", extra={"operation": ctx.operation, "reason": reason, "detail": error_detail(exc)}
        )
        raise LaunchFailure(reason) from exc


def error_detail(exc: BaseException) -> dict[str, Any]:
    """Everything worth logging about a failed call (never shown to CloudFormation)."""
    detail: dict[str, Any] = {"exception_type": type(exc).__name__, "exception": str(exc)[:4000]}
    if isinstance(exc, botocore_exceptions.ClientError):
        detail["operation_name"] = exc.operation_name
        detail["error"] = exc.response.get("Error")
        detail["response_metadata"] = exc.response.get("ResponseMetadata")
    if isinstance(exc, openai.APIStatusError):
        detail["status_code"] = exc.status_code
        detail["request_id"] = exc.request_id
        detail["body"] = exc.body
        detail["url"] = str(exc.request.url) if exc.request is not None else None
    return detail
