"""A Python Lambda the way every function in this app is built.

Python 3.13 on arm64, code from a component's runtime folder bundled without Docker, its own log group
with a set retention, and its own role whose only built-in right is writing to that log group
(instead of the AWS managed AWSLambdaBasicExecutionRole, which covers every log group).
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, aws_iam as iam, aws_lambda as lambda_, aws_logs as logs
from constructs import Construct

from stacks.config import LOG_RETENTION_DAYS
from stacks.nag import acknowledge
from stacks.python_asset import python_runtime_code

RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
# jsii exposes RetentionDays by name; its members are listed in the same order as the day counts
# (its last, INFINITE, has none: hence not strict).
_RETENTION = dict(zip(LOG_RETENTION_DAYS, list(logs.RetentionDays), strict=False))


class PythonFunction(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, runtime_dir: Path, handler: str, description: str,
                 memory_mb: int, timeout: Duration, log_retention_days: int, environment: dict[str, str],
                 current_version_options: lambda_.VersionOptions | None = None,
                 prune: tuple[str, ...] = (), data: tuple[str, ...] = ()) -> None:
        """`prune`: installed dependency files and folders the code never imports (glob patterns
        relative to the install folder), left out of the asset; `data`: files of the runtime folder
        besides its .py files that ship (glob patterns relative to it); see stacks.python_asset."""
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self, "Logs",
            retention=_RETENTION[log_retention_days],
            # Logs explain a training run after the fact (rewards, launches, state changes).
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.role = iam.Role(
            self, "Role",
            description=f"Execution role of {description[:900]}",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )
        self.role.add_to_policy(iam.PolicyStatement(
            sid="WriteOwnLogs", actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[self.log_group.log_group_arn]))
        self.function = lambda_.Function(
            self, "Function",
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler,
            code=python_runtime_code(runtime_dir, data, prune=prune),
            memory_size=memory_mb,
            timeout=timeout,
            role=self.role,
            log_group=self.log_group,
            environment=environment,
            current_version_options=current_version_options,
        )
        acknowledge(self.function, id="AwsSolutions-L1",
                    reason="Pinned to Python 3.13: the asset's wheels are built for cp313 on arm64, the runtime "
                           "the tests cover; move to a newer runtime deliberately, with the pins.")

    def add_to_role_policy(self, statement: iam.PolicyStatement) -> None:
        self.role.add_to_policy(statement)

    @property
    def default_policy(self) -> Construct:
        """The role's policy, where cdk-nag findings on granted resources are acknowledged."""
        return self.role.node.find_child("DefaultPolicy")
