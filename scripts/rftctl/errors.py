"""Exit codes and the one place where exceptions become a one-line message for the operator.

Every command raises; ``cli.main`` catches and asks ``explain`` for the line to print. AWS
(botocore) and mantle (OpenAI SDK) failures that an operator can fix (credentials, region,
permissions, a missing stack, throttling) become one sentence that says what to do; an
exception nobody anticipated is left alone so its traceback shows the bug.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import botocore.exceptions
    import openai

EXIT_OK = 0
# The command ran but the thing it checked is not good: an invalid dataset, a malformed
# grader reply, a failed or cancelled job, a failed deployment.
EXIT_CHECK_FAILED = 1
# The command could not run: bad usage, missing stack, AWS/mantle error (argparse uses 2 too).
EXIT_ENVIRONMENT = 2
# watch / deploy-model: --timeout ran out while the job or deployment was still in progress.
EXIT_STILL_RUNNING = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C

# The runtime's code sets, plus the two kinds of credential failure an operator fixes
# differently from a missing permission (the runtime counts both as "access denied").
_EXPIRED_CREDENTIALS = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"})
_BAD_CREDENTIALS = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "InvalidAccessKeyId",
    }
)


class CliError(Exception):
    """A failure already phrased for the operator; ``str`` is the line to print."""

    def __init__(self, message: str, exit_code: int = EXIT_ENVIRONMENT) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class ErrorHint:
    """What the command was working on, so a terse AWS error can name the stack and region."""

    stack_name: str | None = None
    region: str | None = None
    profile: str | None = None


def missing_stack_error(stack_name: str, regions: list[str]) -> CliError:
    where = " or ".join(regions) if regions else "this region"
    return CliError(
        f"stack {stack_name!r} does not exist in {where}: deploy it (npx cdk deploy {stack_name}) "
        "or pass the right --stack / --region (Nova stacks live in us-east-1, mantle stacks in us-west-2)"
    )


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _profile_advice(hint: ErrorHint) -> str:
    if hint.profile:
        return f"check profile {hint.profile!r}"
    return "configure credentials (aws configure, aws sso login, AWS_PROFILE) or pass --profile"


def _explain_client_error(error: botocore.exceptions.ClientError, hint: ErrorHint) -> CliError:
    from stacks.rft_job.runtime.errors import (
        ACCESS_DENIED_CODES,
        NOT_FOUND_CODES,
        THROTTLING_CODES,
    )

    details = error.response.get("Error", {})
    code = str(details.get("Code", "Unknown"))
    message = _one_line(details.get("Message", "")) or code
    operation = error.operation_name
    region = f" in {hint.region}" if hint.region else ""
    if code in _EXPIRED_CREDENTIALS:
        return CliError(f"your AWS credentials have expired ({code}): refresh them (e.g. aws sso login) and retry")
    if code in _BAD_CREDENTIALS:
        return CliError(f"AWS rejected your credentials on {operation} ({code}): {_profile_advice(hint)}")
    if code in ACCESS_DENIED_CODES:
        return CliError(
            f"AWS denied {operation}{region}: {message}. Grant that permission to your IAM identity "
            "or use a profile that has it (--profile)"
        )
    if code in THROTTLING_CODES:
        return CliError(
            f"AWS throttled {operation}{region} even after retries ({code}): wait a minute and retry"
            " (for watch, raise --interval)"
        )
    if code == "ValidationError" and "does not exist" in message and operation == "DescribeStacks":
        return missing_stack_error(hint.stack_name or "?", [hint.region] if hint.region else [])
    if code == "ParameterNotFound":
        return CliError(
            f"SSM parameter not found{region}: {message}. The stack may be from an older version: redeploy it"
        )
    if code in NOT_FOUND_CODES:
        return CliError(f"{operation}{region}: not found: {message}")
    return CliError(f"{operation}{region} failed ({code}): {message}")


def _explain_botocore_error(error: botocore.exceptions.BotoCoreError, hint: ErrorHint) -> CliError:
    import botocore.exceptions

    if isinstance(error, (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError)):
        return CliError(f"no AWS credentials found: {_profile_advice(hint)}")
    if isinstance(error, botocore.exceptions.CredentialRetrievalError):
        return CliError(f"could not load AWS credentials ({_one_line(str(error))}): {_profile_advice(hint)}")
    if isinstance(error, botocore.exceptions.ProfileNotFound):
        return CliError(f"{_one_line(str(error))}: check --profile / AWS_PROFILE against ~/.aws/config")
    if isinstance(error, botocore.exceptions.TokenRetrievalError):
        return CliError(
            f"your AWS SSO session has expired: run aws sso login{' --profile ' + hint.profile if hint.profile else ''}"
        )
    if isinstance(error, (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError)):
        return CliError(
            f"cannot reach the AWS endpoint ({_one_line(str(error))}): check the network and --region"
            f"{' (' + hint.region + ')' if hint.region else ''}"
        )
    if isinstance(error, botocore.exceptions.NoRegionError):
        return CliError("no AWS region: pass --region")
    return CliError(f"AWS client error: {_one_line(str(error))}")


def _explain_openai_error(error: openai.OpenAIError) -> CliError:
    import openai

    from stacks.rft_job.runtime.errors import mantle_error_message

    if isinstance(error, openai.AuthenticationError):
        return CliError(
            "the Bedrock mantle endpoint rejected the SigV4 signature (401): use AWS credentials for the "
            "account that owns the job (--profile), and check --region and MANTLE_BASE_URL"
        )
    if isinstance(error, openai.PermissionDeniedError):
        return CliError(
            f"the Bedrock mantle endpoint denied access (403): {_one_line(mantle_error_message(error))}. "
            "Your IAM identity "
            "needs the bedrock-mantle actions for fine-tuning jobs and inference"
        )
    if isinstance(error, openai.NotFoundError):
        return CliError(
            f"the Bedrock mantle endpoint answered 404 for {error.request.url}: check the job or model id, "
            "and MANTLE_BASE_URL if you set it"
        )
    if isinstance(error, openai.RateLimitError):
        return CliError("the Bedrock mantle endpoint throttled the request (429) even after retries: wait and retry")
    if isinstance(error, openai.APIConnectionError):
        return CliError(
            f"cannot reach the Bedrock mantle endpoint ({_one_line(error.message)}): check the network, "
            "--region (mantle is in us-west-2) and MANTLE_BASE_URL"
        )
    if isinstance(error, openai.APIStatusError):
        return CliError(
            f"the Bedrock mantle endpoint answered {error.status_code}: {_one_line(mantle_error_message(error))}"
        )
    message = _one_line(str(error))
    if "credential" in message.lower():
        return CliError(f"no usable AWS credentials for the mantle endpoint: {message}")
    return CliError(f"mantle client error: {message}")


def explain(error: BaseException, hint: ErrorHint) -> CliError | None:
    """The operator-facing error for ``error``, or None for an unexpected exception (a bug).

    AWS and mantle errors can only come from a command that loaded botocore or the OpenAI SDK,
    so their classes are looked up only when loaded (and never imported here for nothing).
    """
    if isinstance(error, CliError):
        return error
    botocore_exceptions: Any = sys.modules.get("botocore.exceptions")
    if botocore_exceptions is not None:
        if isinstance(error, botocore_exceptions.ClientError):
            return _explain_client_error(error, hint)
        if isinstance(error, botocore_exceptions.BotoCoreError):
            return _explain_botocore_error(error, hint)
    openai_module: Any = sys.modules.get("openai")
    if openai_module is not None and isinstance(error, openai_module.OpenAIError):
        return _explain_openai_error(error)
    return None
