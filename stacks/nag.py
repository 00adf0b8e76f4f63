"""cdk-nag acknowledgements: every suppressed finding carries the reason it is acceptable."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, *, id: str, reason: str) -> None:  # noqa: A002 - cdk-nag's own word
    """Acknowledge one cdk-nag finding (`RuleId` or `RuleId[Finding]`) on a construct and its children."""
    Validations.of(scope).acknowledge(Acknowledgment(id=id, reason=reason))


def acknowledge_cdk_owned_lambda(function: IConstruct, role: IConstruct, owner: str) -> None:
    """Findings on a Lambda that aws-cdk-lib builds and owns (its runtime and its role)."""
    acknowledge(function, id="AwsSolutions-L1",
                reason=f"{owner} is aws-cdk-lib's own handler; its runtime is chosen and updated by aws-cdk-lib.")
    acknowledge(
        role,
        id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        reason=f"{owner}'s role as aws-cdk-lib builds it: AWS's minimal Lambda logging policy, nothing broader.",
    )
