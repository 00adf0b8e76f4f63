"""What Bedrock itself may do in the account: read the prompts, write the output, call the grader.

Nova: a service role that Bedrock assumes (passed as `roleArn` to the job). Mantle: the API has
no role field; AWS's guide for open-weight RFT says to allow `lambda:InvokeFunction` on the
grader to the identity that creates the job (here: the launcher's role, granted where the
launcher is built). As that is UNCONFIRMED, the grader also gets a resource-based permission for
the Bedrock service principal, limited to this account and to the grader's published versions.
"""

from __future__ import annotations

from aws_cdk import Aws, RemovalPolicy, Stack, aws_iam as iam, aws_lambda as lambda_
from constructs import Construct

from stacks.nag import acknowledge
from stacks.training_data import OUTPUT_PREFIX, TRAINING_PREFIX, TrainingData

BEDROCK_PRINCIPAL = "bedrock.amazonaws.com"


def grader_versions_arn(function: lambda_.IFunction) -> str:
    """Every published version of one grader function (`function:name:*`).

    A job is pinned to the version it was launched with; a later deploy that only publishes a
    new version (say, more memory) must not take the running job's right to call its own.
    """
    return f"{function.function_arn}:*"


class BedrockServiceRole(Construct):
    """The Nova job's service role: least privilege over this stack's data and grader."""

    def __init__(self, scope: Construct, construct_id: str, *, data: TrainingData, grader: lambda_.IFunction) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.role = iam.Role(
            self, "Role",
            description=f"Assumed by Amazon Bedrock for the RFT jobs of {stack.stack_name}: reads "
                        f"{TRAINING_PREFIX}, writes {OUTPUT_PREFIX}, invokes the grader",
            assumed_by=iam.ServicePrincipal(BEDROCK_PRINCIPAL, conditions={
                # Confused-deputy guard: only this account's customization jobs may assume it.
                "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                "ArnLike": {"aws:SourceArn": f"arn:{Aws.PARTITION}:bedrock:{Aws.REGION}:{Aws.ACCOUNT_ID}"
                                             f":model-customization-job/*"},
            }),
        )
        statements = [
            iam.PolicyStatement(sid="ReadTrainingData", actions=["s3:GetObject"],
                                resources=[data.object_arn(f"{TRAINING_PREFIX}*")]),
            iam.PolicyStatement(sid="ListTrainingAndOutputPrefixes", actions=["s3:ListBucket"],
                                resources=[data.bucket.bucket_arn],
                                conditions={"StringLike": {"s3:prefix": [f"{TRAINING_PREFIX}*", f"{OUTPUT_PREFIX}*"]}}),
            iam.PolicyStatement(sid="WriteJobOutput", actions=["s3:GetObject", "s3:PutObject"],
                                resources=[data.object_arn(f"{OUTPUT_PREFIX}*")]),
            iam.PolicyStatement(sid="InvokeGrader", actions=["lambda:InvokeFunction"],
                                resources=[grader_versions_arn(grader)]),
        ]
        policy = iam.Policy(self, "Policy", statements=statements)
        policy.attach_to_role(self.role)
        self.policy = policy
        acknowledge(
            policy,
            id=f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(data.bucket.node.default_child)}.Arn>/{TRAINING_PREFIX}*]",
            reason="Bedrock reads whichever dataset files the job names; the grant covers only this stack's "
            "bucket and only its training-data/ prefix.",
        )
        acknowledge(
            policy,
            id=f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(data.bucket.node.default_child)}.Arn>/{OUTPUT_PREFIX}*]",
            reason="Bedrock names its output objects per job at run time; the grant covers only the output/ prefix.",
        )
        acknowledge(
            policy,
            id=f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(grader.node.default_child)}.Arn>:*]",
            reason="Published versions of this one grader function: a job keeps calling the version it was "
            "launched with after a later deploy publishes another.",
        )


def allow_bedrock_to_invoke(target: lambda_.Version | lambda_.IFunction, principal: str) -> lambda_.CfnPermission:
    """Resource-based permission on the grader the job calls, for the Bedrock service, this account only.

    `target` is the pinned version, or the function itself when jobs call it unqualified.
    """
    permission = lambda_.CfnPermission(
        target,
        "BedrockInvoke",
        action="lambda:InvokeFunction",
        function_name=target.function_arn,
        principal=principal,
        source_account=Aws.ACCOUNT_ID,
    )
    if isinstance(target, lambda_.Version):
        # Retained with the version it guards, so a job pinned to an older version keeps working.
        permission.apply_removal_policy(RemovalPolicy.RETAIN)
    return permission
