"""rftctl deploy-model: make the tuned Nova model invokable (on-demand custom model deployment)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from stacks.rft_job.runtime.naming import (
    deployment_description,
    deployment_name,
    deployment_request_token,
    sha256_hex,
)

if TYPE_CHECKING:
    from ..stack import DeployedStack


from ..console import ProgressBar
from ..context import CommandContext
from ..errors import EXIT_CHECK_FAILED, EXIT_OK, EXIT_STILL_RUNNING, CliError

HELP = "create (or reuse) the on-demand deployment of the tuned Nova model and wait until it is Active"
EXAMPLE_PROMPT = "機械学習を20文字以内で説明して"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "deploy-model",
        help=HELP,
        description=(
            "Nova only. Reuses the deployment the stack's tracker recorded (ModelDeploymentParameterName) "
            "or any Active/Creating deployment of the trained model; otherwise creates one with "
            "CreateCustomModelDeployment under the same name and client request token the tracker "
            "uses, so a retry or a concurrent tracker never makes a second one. Then waits until it "
            "is Active and prints how to call it. Ctrl-C while waiting leaves the deployment being "
            "created on the AWS side and prints how to resume or delete it."
        ),
    )
    parser.add_argument(
        "--job", metavar="JOB_ARN", help="RFT job whose model to deploy (default: the stack's current job)"
    )
    parser.add_argument("--name", help="deployment name (default: derived from the job, as the tracker does)")
    parser.add_argument(
        "--no-wait", action="store_true", help="return once the deployment exists, without waiting for Active"
    )
    parser.add_argument(
        "--interval", type=float, default=30.0, metavar="SECONDS", help="seconds between status checks (default 30)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="MINUTES",
        help="stop waiting after this many minutes (default 60)",
    )
    parser.set_defaults(run=run)


def _resume_hint(stack: DeployedStack, arn: str) -> list[str]:
    return [
        f"  resume waiting: rftctl deploy-model --stack {stack.name}",
        f"  delete it:      aws bedrock delete-custom-model-deployment --custom-model-deployment-identifier {arn} "
        f"--region {stack.region}",
    ]


def usage_lines(arn: str, region: str) -> list[str]:
    """How to call the deployment, with the AWS CLI and with boto3."""
    messages = json.dumps([{"role": "user", "content": [{"text": EXAMPLE_PROMPT}]}], ensure_ascii=False)
    return [
        "Call it with the AWS CLI:",
        f"  aws bedrock-runtime converse --region {region} \\",
        f"    --model-id {arn} \\",
        f"    --messages '{messages}' \\",
        '    --inference-config \'{"temperature":0,"maxTokens":100}\'',
        "or from Python:",
        "  import boto3",
        f'  runtime = boto3.client("bedrock-runtime", region_name="{region}")',
        f'  reply = runtime.converse(modelId="{arn}",',
        f'                           messages=[{{"role": "user", "content": [{{"text": "{EXAMPLE_PROMPT}"}}]}}])',
        '  print(reply["output"]["message"]["content"][0]["text"])',
    ]


def _create(
    ctx: CommandContext, stack: DeployedStack, model_arn: str, job_arn: str, job_name: str, custom_name: str | None
) -> str:
    # The tracker's name and token (stacks.rft_job.runtime.naming) unless the operator picks a name:
    # CreateCustomModelDeployment with the same token is idempotent, so re-running this after
    # Ctrl-C or alongside the tracker never creates a second deployment.
    name = custom_name or deployment_name(job_name, job_arn)
    token = sha256_hex(f"deployment|{job_arn}|{name}") if custom_name else deployment_request_token(job_arn)
    ctx.note(f"creating deployment {name} for {model_arn}")
    try:
        return ctx.job_api(stack).ensure_deployment(
            name=name,
            model_arn=model_arn,
            token=token,
            # The tracker's wording, so a create it races with carries identical parameters.
            description=deployment_description(job_name),
        )
    except KeyboardInterrupt:
        ctx.note(
            f"interrupted while requesting deployment {name}: it may exist now. Run the same command again "
            "to resume (same request token, no duplicate), or look: aws bedrock list-custom-model-deployments "
            f"--model-arn-equals {model_arn} --region {stack.region}"
        )
        raise


def _wait_until_settled(
    ctx: CommandContext, stack: DeployedStack, arn: str, args: argparse.Namespace
) -> dict[str, Any]:
    from ..trained_model import DEPLOYMENT_ACTIVE, DEPLOYMENT_FAILED, deployment

    deadline = ctx.monotonic() + args.timeout * 60
    bar = ProgressBar(ctx.err)
    current: dict[str, Any] | None = None
    try:
        while True:
            current = deployment(ctx, stack, arn)
            if current is None:
                raise CliError(f"deployment {arn} disappeared while waiting (deleted?)", EXIT_CHECK_FAILED)
            status = current["status"]
            bar.update(None, f"deployment {status}")
            if status in (DEPLOYMENT_ACTIVE, DEPLOYMENT_FAILED) or ctx.monotonic() >= deadline:
                return current
            ctx.sleep(args.interval)
    except KeyboardInterrupt:
        bar.close()
        status = current["status"] if current else "being created"
        ctx.note(
            "\n".join(
                [f"stopped waiting: deployment {arn} is {status} and carries on in AWS.", *_resume_hint(stack, arn)]
            )
        )
        raise
    finally:
        bar.close()


def run(ctx: CommandContext, args: argparse.Namespace) -> int:
    from stacks.rft_job.runtime.contract import Variant

    from ..trained_model import (
        DEPLOYMENT_ACTIVE,
        DEPLOYMENT_FAILED,
        completed_job,
        existing_deployment,
    )

    if args.interval <= 0 or args.timeout <= 0:
        raise CliError("--interval and --timeout must be positive")
    stack = ctx.stack(Variant.NOVA)
    job = completed_job(ctx, stack, args.job).state
    model_arn = str(job.output_model)

    found = existing_deployment(ctx, stack, model_arn)
    if found is not None:
        arn = str(found["customModelDeploymentArn"])
        ctx.print(f"reusing deployment {found['modelDeploymentName']} ({found['status']}): {arn}")
    else:
        # The tracker names the deployment after the job's name, else its id: same name, same token.
        arn = _create(ctx, stack, model_arn, job.job_id, job.job_name or job.job_id, args.name)
        ctx.print(f"created deployment: {arn}")
    if args.no_wait:
        ctx.print(
            "not waiting; check with: aws bedrock get-custom-model-deployment "
            f"--custom-model-deployment-identifier {arn} --region {stack.region}"
        )
        return EXIT_OK

    settled = (
        found
        if found is not None and found["status"] == DEPLOYMENT_ACTIVE
        else _wait_until_settled(ctx, stack, arn, args)
    )
    status = settled["status"]
    if status == DEPLOYMENT_FAILED:
        ctx.print(f"deployment {arn} failed: {settled.get('failureMessage') or 'no failure message'}")
        ctx.print(_resume_hint(stack, arn)[1].strip())
        return EXIT_CHECK_FAILED
    if status != DEPLOYMENT_ACTIVE:
        ctx.print(f"deployment {arn} is still {status} after {args.timeout:g} minutes")
        ctx.print("\n".join(_resume_hint(stack, arn)))
        return EXIT_STILL_RUNNING
    ctx.print(f"deployment Active: {arn}")
    ctx.print("\n".join(usage_lines(arn, stack.region)))
    ctx.print(f"Compare it with the base model: rftctl compare --stack {stack.name}")
    return EXIT_OK
