"""Values other teams consume: each one a CloudFormation export and an SSM String parameter."""

from __future__ import annotations

import re

from aws_cdk import CfnOutput, Stack, aws_ssm as ssm
from constructs import Construct


def kebab(name: str) -> str:
    """`TrainingBucketName` -> `training-bucket-name` (the SSM leaf for an output key)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name).lower()


class PublishedOutputs(Construct):
    """Publishes a value under one key in both places consumers look.

    CloudFormation: output `<key>` exported as `<StackName>-<key>` (Fn::ImportValue in the same
    region). SSM: `<parameter_prefix>/<kebab-key>` (readable from any tool, any region, by name).
    """

    def __init__(self, scope: Construct, construct_id: str, *, parameter_prefix: str) -> None:
        super().__init__(scope, construct_id)
        self.parameter_prefix = parameter_prefix
        self.parameter_names: dict[str, str] = {}

    def publish(self, key: str, value: str, description: str) -> None:
        stack = Stack.of(self)
        # Scoped to the stack so the output's logical id is exactly `key`.
        CfnOutput(stack, key, value=value, description=description, export_name=f"{stack.stack_name}-{key}")
        name = f"{self.parameter_prefix}/{kebab(key)}"
        ssm.StringParameter(self, key, parameter_name=name, string_value=value,
                            description=f"{description} (published by stack {stack.stack_name})")
        self.parameter_names[key] = name
