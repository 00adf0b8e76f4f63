"""What each Bedrock API needs from the stack: its functions' IAM grants and its part of the JobSpec.

The construct-side twin of the runtime's job_api.py registry: one class per API, registered under
its Variant. The launcher and tracker constructs ask the API's access for grants (and the
cdk-nag acknowledgments that go with its wildcard resources) instead of testing the variant.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from aws_cdk import Aws, Stack, aws_iam as iam

from lambda_reward.infrastructure import RewardFunction
from stacks.bedrock_access import BEDROCK_PRINCIPAL, BedrockServiceRole, grader_versions_arn
from stacks.nag import acknowledge
from stacks.python_function import PythonFunction
from stacks.rft_job.runtime.contract import Variant, default_mantle_base_url
from stacks.rft_job.runtime.job_spec import SpecKey
from stacks.training_data import TRAINING_PREFIX, TrainingData


def bedrock_arn(resource: str) -> str:
    return f"arn:{Aws.PARTITION}:bedrock:{Aws.REGION}:{Aws.ACCOUNT_ID}:{resource}"


def mantle_projects_arn() -> str:
    # bedrock-mantle has no file or fine-tuning-job resource type: every action is authorised
    # on the project (the account's default project unless one is chosen).
    return f"arn:{Aws.PARTITION}:bedrock-mantle:{Aws.REGION}:{Aws.ACCOUNT_ID}:project/*"


def wildcard_finding(service: str, resource: str) -> str:
    """cdk-nag's id for a wildcard resource built like `bedrock_arn` / `mantle_projects_arn`."""
    return f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:{service}:<AWS::Region>:<AWS::AccountId>:{resource}]"


class JobApiAccess(ABC):
    """One API's grants for the launcher and the tracker, and the JobSpec fields only it uses."""

    variant: ClassVar[Variant]
    # Whether the job runs as a service role the stack creates (passed in the create request).
    uses_service_role: ClassVar[bool] = False
    # Whether a trained model is invoked through a deployment (the stack records its ARN).
    deploys_models: ClassVar[bool] = False

    def endpoint(self, *, region: str, base_url: str | None) -> str | None:
        """The API endpoint the stack's functions call, published for rftctl (None: the SDK's default)."""
        return None

    @abstractmethod
    def grant_tracker(self, python: PythonFunction, *, create_deployment: bool) -> None:
        """Describe and stop the job (a job that is no longer the stack's is stopped by its tracker)."""

    @abstractmethod
    def grant_launcher(self, python: PythonFunction, *, base_model: str, data: TrainingData, grader: RewardFunction,
                       grader_pinned: bool, service_role: BedrockServiceRole | None) -> None:
        """Create, find, describe and stop the job, and everything the create request needs."""

    @abstractmethod
    def acknowledge_launcher(self, python: PythonFunction, *, data: TrainingData, grader: RewardFunction) -> None:
        """The cdk-nag findings of the launcher's grants, each with its reason."""

    @abstractmethod
    def spec_fields(self, *, data: TrainingData, service_role: BedrockServiceRole | None,
                    send_metadata: bool) -> dict[str, Any]:
        """The JobSpec fields this API's adapter reads beyond the common ones."""


class NovaAccess(JobApiAccess):
    variant: ClassVar[Variant] = Variant.NOVA
    uses_service_role: ClassVar[bool] = True
    deploys_models: ClassVar[bool] = True

    def grant_tracker(self, python: PythonFunction, *, create_deployment: bool) -> None:
        python.add_to_role_policy(iam.PolicyStatement(
            sid="DescribeAndStopJob",
            actions=["bedrock:GetModelCustomizationJob", "bedrock:StopModelCustomizationJob"],
            resources=[bedrock_arn("model-customization-job/*")]))
        if create_deployment:
            python.add_to_role_policy(iam.PolicyStatement(
                sid="DeployTrainedModel", actions=["bedrock:CreateCustomModelDeployment"],
                resources=[bedrock_arn("custom-model/*"), bedrock_arn("custom-model-deployment/*")]))
            python.add_to_role_policy(iam.PolicyStatement(
                sid="DescribeDeployment", actions=["bedrock:GetCustomModelDeployment"],
                resources=[bedrock_arn("custom-model-deployment/*")]))
        policy = python.default_policy
        acknowledge(policy, id=wildcard_finding("bedrock", "model-customization-job/*"),
                    reason="Job ids are assigned by Bedrock at launch, after this policy exists; the grant is "
                           "read-only and limited to this account and region.")
        if create_deployment:
            for resource in ("custom-model/*", "custom-model-deployment/*"):
                acknowledge(policy, id=wildcard_finding("bedrock", resource),
                            reason="The trained model and its deployment get their ids from Bedrock when the job "
                                   "ends.")

    def grant_launcher(self, python: PythonFunction, *, base_model: str, data: TrainingData, grader: RewardFunction,
                       grader_pinned: bool, service_role: BedrockServiceRole | None) -> None:
        assert service_role is not None, "a Nova job runs as the stack's Bedrock service role"
        jobs, models = bedrock_arn("model-customization-job/*"), bedrock_arn("custom-model/*")
        foundation_model = f"arn:{Aws.PARTITION}:bedrock:{Aws.REGION}::foundation-model/{base_model}"
        add = python.add_to_role_policy
        add(iam.PolicyStatement(sid="CreateJob", actions=["bedrock:CreateModelCustomizationJob"],
                                resources=[foundation_model, models, jobs]))
        # Job and model tags are applied at creation, which IAM authorises as TagResource.
        add(iam.PolicyStatement(sid="TagJobAndModel", actions=["bedrock:TagResource"], resources=[models, jobs]))
        add(iam.PolicyStatement(sid="DescribeAndStopJob",
                                actions=["bedrock:GetModelCustomizationJob", "bedrock:StopModelCustomizationJob"],
                                resources=[jobs]))
        add(iam.PolicyStatement(sid="PassServiceRoleToBedrock", actions=["iam:PassRole"],
                                resources=[service_role.role.role_arn],
                                conditions={"StringEquals": {"iam:PassedToService": BEDROCK_PRINCIPAL}}))

    def acknowledge_launcher(self, python: PythonFunction, *, data: TrainingData, grader: RewardFunction) -> None:
        for resource in ("model-customization-job/*", "custom-model/*"):
            acknowledge(python.default_policy, id=wildcard_finding("bedrock", resource),
                        reason="Job and model ARNs are assigned by Bedrock at launch; the launcher names them "
                               "itself and the grant is limited to this account and region.")

    def spec_fields(self, *, data: TrainingData, service_role: BedrockServiceRole | None,
                    send_metadata: bool) -> dict[str, Any]:
        assert service_role is not None, "a Nova job runs as the stack's Bedrock service role"
        return {SpecKey.ROLE_ARN: service_role.role.role_arn, SpecKey.OUTPUT_DATA_URI: data.output_uri}


class MantleAccess(JobApiAccess):
    variant: ClassVar[Variant] = Variant.MANTLE

    def endpoint(self, *, region: str, base_url: str | None) -> str | None:
        return base_url or default_mantle_base_url(region)

    def grant_tracker(self, python: PythonFunction, *, create_deployment: bool) -> None:
        python.add_to_role_policy(iam.PolicyStatement(
            sid="DescribeAndCancelJob",
            actions=["bedrock-mantle:GetFineTuningJob", "bedrock-mantle:CancelFineTuningJob"],
            resources=[mantle_projects_arn()]))
        acknowledge(python.default_policy, id=wildcard_finding("bedrock-mantle", "project/*"),
                    reason="Job ids are assigned by Bedrock at launch, after this policy exists; the grant is "
                           "read-only and limited to this account and region.")

    def grant_launcher(self, python: PythonFunction, *, base_model: str, data: TrainingData, grader: RewardFunction,
                       grader_pinned: bool, service_role: BedrockServiceRole | None) -> None:
        add = python.add_to_role_policy
        add(iam.PolicyStatement(sid="ReadTrainingData", actions=["s3:GetObject"],
                                resources=[data.object_arn(f"{TRAINING_PREFIX}*")]))
        # DeleteFile: a launch that fails after uploading removes the files it uploaded.
        add(iam.PolicyStatement(sid="UploadTrainingFiles",
                                actions=["bedrock-mantle:CreateFile", "bedrock-mantle:DeleteFile"],
                                resources=[mantle_projects_arn()]))
        add(iam.PolicyStatement(sid="CreateJobForBaseModel", actions=["bedrock-mantle:CreateFineTuningJob"],
                                resources=[mantle_projects_arn()],
                                conditions={"StringEquals": {"bedrock-mantle:Model": base_model}}))
        add(iam.PolicyStatement(sid="FindDescribeAndCancelJob",
                                actions=["bedrock-mantle:ListFineTuningJobs", "bedrock-mantle:GetFineTuningJob",
                                         "bedrock-mantle:CancelFineTuningJob"],
                                resources=[mantle_projects_arn()]))
        # AWS's open-weight RFT guide grants grader invocation to the identity that creates the
        # job; with no role in the API, that identity is this launcher.
        # Unpinned, the job calls the function itself ($LATEST).
        add(iam.PolicyStatement(sid="InvokeGraderForJob", actions=["lambda:InvokeFunction"],
                                resources=[grader_versions_arn(grader.function)]
                                + ([] if grader_pinned else [grader.function.function_arn])))

    def acknowledge_launcher(self, python: PythonFunction, *, data: TrainingData, grader: RewardFunction) -> None:
        stack = Stack.of(python)
        policy = python.default_policy
        acknowledge(policy, id=wildcard_finding("bedrock-mantle", "project/*"),
                    reason="bedrock-mantle authorises files and jobs only on the project resource; "
                           "CreateFineTuningJob is further limited to the configured base model by condition.")
        bucket_id = stack.get_logical_id(data.bucket.node.default_child)
        acknowledge(policy, id=f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{TRAINING_PREFIX}*]",
                    reason="The launcher uploads the configured dataset files from the training-data/ prefix only.")
        grader_id = stack.get_logical_id(grader.function.node.default_child)
        acknowledge(policy, id=f"AwsSolutions-IAM5[Resource::<{grader_id}.Arn>:*]",
                    reason="Published versions of this one grader function: a job keeps calling the version it "
                           "was launched with after a later deploy publishes another.")

    def spec_fields(self, *, data: TrainingData, service_role: BedrockServiceRole | None,
                    send_metadata: bool) -> dict[str, Any]:
        return {SpecKey.SEND_METADATA: send_metadata}


JOB_API_ACCESS: dict[Variant, JobApiAccess] = {access.variant: access for access in (NovaAccess(), MantleAccess())}
