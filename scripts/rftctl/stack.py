"""Finding the deployed RFT stack and reading what it publishes (outputs and live SSM values)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stacks.models import variant_region
from stacks.rft_job.runtime.contract import (
    APP_TAG,
    UNSET_PARAMETER_VALUES,
    VARIANT_TAG,
    Output,
    Variant,
)

from .errors import CliError, ErrorHint, missing_stack_error

if TYPE_CHECKING:
    import botocore.exceptions

    from .aws import ClientFactory

# Every stack of this app carries both tags (stacks/rft_stack.py). rft:app's value is the
# app prefix ("bedrock-rft" unless rft:appPrefix changes it), so any value is accepted.


@dataclass(frozen=True)
class DeployedStack:
    name: str
    region: str
    variant: Variant
    status: str
    outputs: dict[str, str] = field(default_factory=dict)

    def output(self, key: str) -> str:
        """A required output; its absence means the stack predates this CLI or failed to deploy."""
        value = self.outputs.get(key)
        if not value:
            raise CliError(
                f"stack {self.name} ({self.region}) has no output {key}: redeploy it with the current code "
                f"(npx cdk deploy {self.name})"
            )
        return value

    def optional_output(self, key: str) -> str | None:
        return self.outputs.get(key) or None

    @property
    def base_model(self) -> str:
        return self.output(Output.BASE_MODEL)

    def describe(self) -> str:
        return f"{self.name} ({self.region}, {self.variant.value})"


def _tags(stack: dict[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in stack.get("Tags", [])}


def _variant_of(stack: dict[str, Any]) -> Variant | None:
    try:
        return Variant(_tags(stack).get(VARIANT_TAG, ""))
    except ValueError:
        return None


def _deployed(stack: dict[str, Any], region: str, variant: Variant) -> DeployedStack:
    outputs = {item["OutputKey"]: item.get("OutputValue", "") for item in stack.get("Outputs", [])}
    return DeployedStack(stack["StackName"], region, variant, stack.get("StackStatus", ""), outputs)


def _is_app_stack(stack: dict[str, Any]) -> bool:
    return bool(_tags(stack).get(APP_TAG))


def _is_missing_stack(error: botocore.exceptions.ClientError) -> bool:
    details = error.response.get("Error", {})
    return details.get("Code") == "ValidationError" and "does not exist" in str(details.get("Message", ""))


def _describe_named_stack(cloudformation: Any, name: str) -> dict[str, Any] | None:
    import botocore.exceptions

    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except botocore.exceptions.ClientError as error:
        if _is_missing_stack(error):
            return None
        raise
    return stacks[0] if stacks else None


def _list_app_stacks(cloudformation: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for page in cloudformation.get_paginator("describe_stacks").paginate():
        found += [stack for stack in page["Stacks"] if _is_app_stack(stack)]
    return found


def find_stack(
    clients: ClientFactory,
    *,
    stack_name: str | None,
    region: str | None,
    variant: Variant | None,
    hint: ErrorHint,
) -> DeployedStack:
    """The stack a command works on.

    ``--stack`` names it; otherwise it is the only stack tagged rft:app (and
    rft:variant when the command needs one variant) in the variant's region, or in both
    variant regions when any variant will do. ``--region`` narrows the search to one region.
    """
    variants = [variant] if variant else list(Variant)
    regions = [region] if region else list(dict.fromkeys(variant_region(v) for v in variants))
    hint.stack_name = stack_name

    if stack_name:
        for search_region in regions:
            hint.region = search_region
            stack = _describe_named_stack(clients.client("cloudformation", search_region), stack_name)
            if stack is None:
                continue
            found_variant = _variant_of(stack)
            if not _is_app_stack(stack) or found_variant is None:
                raise CliError(
                    f"stack {stack_name} in {search_region} is not an RFT stack of this project "
                    f"(it lacks the tags {APP_TAG} and {VARIANT_TAG})"
                )
            if variant and found_variant is not variant:
                raise CliError(
                    f"stack {stack_name} is a {found_variant.value} stack; this command needs a {variant.value} stack"
                )
            return _checked(_deployed(stack, search_region, found_variant))
        raise missing_stack_error(stack_name, regions)

    candidates: list[DeployedStack] = []
    for search_region in regions:
        hint.region = search_region
        for stack in _list_app_stacks(clients.client("cloudformation", search_region)):
            found_variant = _variant_of(stack)
            if found_variant is not None and found_variant in variants:
                candidates.append(_deployed(stack, search_region, found_variant))
    what = f"{variant.value} " if variant else ""
    if not candidates:
        raise CliError(
            f"no deployed {what}RFT stack (tags {APP_TAG}, {VARIANT_TAG}) in {' or '.join(regions)}: "
            "deploy one with npx cdk deploy, or pass --stack / --region"
        )
    if len(candidates) > 1:
        listing = ", ".join(candidate.describe() for candidate in candidates)
        raise CliError(f"several {what}RFT stacks are deployed: {listing}; choose one with --stack NAME")
    hint.stack_name = candidates[0].name
    hint.region = candidates[0].region
    return _checked(candidates[0])


def _checked(stack: DeployedStack) -> DeployedStack:
    if stack.status.endswith("_IN_PROGRESS") or stack.status.endswith("_FAILED") or "ROLLBACK" in stack.status:
        # Outputs may be stale or missing; the command can still be useful, so only warn.
        print(f"warning: stack {stack.name} is {stack.status}", file=sys.stderr)
    return stack


def read_live_value(clients: ClientFactory, stack: DeployedStack, parameter_output: str) -> str | None:
    """The value the stack's tracker keeps in the SSM parameter named by output ``parameter_output``.

    None when the stack has no such parameter, it does not exist yet, or it still holds the
    placeholder it was created with.
    """
    import botocore.exceptions

    name = stack.optional_output(parameter_output)
    if name is None:
        return None
    ssm = clients.client("ssm", stack.region)
    try:
        value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except botocore.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ParameterNotFound":
            return None
        raise
    value = value.strip()
    return None if value in UNSET_PARAMETER_VALUES else value
