"""The model an RFT job produced, and (Nova) the on-demand deployment that makes it invokable."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from stacks.rft_job.runtime.contract import Output, Variant

from .context import CommandContext
from .errors import EXIT_CHECK_FAILED, CliError

if TYPE_CHECKING:
    from .jobs import JobProgress
    from .stack import DeployedStack

DEPLOYMENT_ACTIVE = "Active"
DEPLOYMENT_FAILED = "Failed"


def completed_job(ctx: CommandContext, stack: DeployedStack, explicit_job: str | None) -> JobProgress:
    """The stack's job, which must have succeeded: a model exists only then."""
    from .jobs import job_id_for, job_progress

    progress = job_progress(ctx, stack, job_id_for(ctx, stack, explicit_job))
    if not progress.state.succeeded or not progress.state.output_model:
        raise CliError(
            f"job {progress.state.job_id} is {progress.state.status}, so it has no trained model yet "
            "(rftctl watch waits for it)",
            EXIT_CHECK_FAILED,
        )
    return progress


def deployment(ctx: CommandContext, stack: DeployedStack, identifier: str) -> dict[str, Any] | None:
    """GetCustomModelDeployment by ARN or name; None when it does not exist."""
    import botocore.exceptions

    from stacks.rft_job.runtime.errors import is_not_found

    try:
        return ctx.clients.client("bedrock", stack.region).get_custom_model_deployment(
            customModelDeploymentIdentifier=identifier
        )
    except botocore.exceptions.ClientError as error:
        if is_not_found(error):
            return None
        raise


def existing_deployment(ctx: CommandContext, stack: DeployedStack, model_arn: str) -> dict[str, Any] | None:
    """A usable (Active or Creating) deployment of ``model_arn``: the tracker's, else any other.

    Failed deployments are skipped: they cannot serve and only their owner should delete them.
    """
    from .stack import read_live_value

    recorded = read_live_value(ctx.clients, stack, Output.MODEL_DEPLOYMENT_PARAMETER_NAME)
    if recorded:
        found = deployment(ctx, stack, recorded)
        if found and found["modelArn"] == model_arn and found["status"] != DEPLOYMENT_FAILED:
            return found
    bedrock = ctx.clients.client("bedrock", stack.region)
    summaries = [
        summary
        for page in bedrock.get_paginator("list_custom_model_deployments").paginate(modelArnEquals=model_arn)
        for summary in page.get("modelDeploymentSummaries", [])
        if summary["status"] != DEPLOYMENT_FAILED
    ]
    if not summaries:
        return None
    # Prefer one that already serves, then re-read it for the full record.
    best = sorted(summaries, key=lambda s: (s["status"] != DEPLOYMENT_ACTIVE, s["customModelDeploymentName"]))[0]
    return deployment(ctx, stack, best["customModelDeploymentArn"])


def _mantle_model_id(ctx: CommandContext, stack: DeployedStack, explicit_job: str | None) -> str:
    """The job's fine_tuned_model id: mantle serves it as it is."""
    from .stack import read_live_value

    recorded = None if explicit_job else read_live_value(ctx.clients, stack, Output.JOB_MODEL_PARAMETER_NAME)
    return recorded or str(completed_job(ctx, stack, explicit_job).state.output_model)


def _nova_deployment_arn(ctx: CommandContext, stack: DeployedStack, explicit_job: str | None) -> str:
    """The Active on-demand deployment of the job's model: a Nova custom model is invoked through it."""
    from .stack import read_live_value

    model_arn = None if explicit_job else read_live_value(ctx.clients, stack, Output.JOB_MODEL_PARAMETER_NAME)
    if not model_arn or not model_arn.startswith("arn:"):
        model_arn = str(completed_job(ctx, stack, explicit_job).state.output_model)
    found = existing_deployment(ctx, stack, model_arn)
    if found is None:
        raise CliError(
            f"the tuned model {model_arn} has no on-demand deployment: run rftctl deploy-model first "
            "(or pass --tuned-model-id)"
        )
    if found["status"] != DEPLOYMENT_ACTIVE:
        raise CliError(
            f"deployment {found['customModelDeploymentArn']} is {found['status']}: wait with rftctl deploy-model",
            EXIT_CHECK_FAILED,
        )
    return str(found["customModelDeploymentArn"])


TUNED_MODEL_ID: dict[Variant, Callable[[CommandContext, DeployedStack, str | None], str]] = {
    Variant.NOVA: _nova_deployment_arn,
    Variant.MANTLE: _mantle_model_id,
}


def tuned_model_id(ctx: CommandContext, stack: DeployedStack, explicit_job: str | None) -> str:
    """What to invoke for the tuned model: Nova's deployment ARN, mantle's fine_tuned_model id."""
    return TUNED_MODEL_ID[stack.variant](ctx, stack, explicit_job)
