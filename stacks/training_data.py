"""The training-data bucket and the dataset upload, validated before anything is synthesized."""

from __future__ import annotations

from aws_cdk import (
    DefaultStackSynthesizer,
    Duration,
    RemovalPolicy,
    Stack,
    aws_logs as logs,
    aws_s3 as s3,
    aws_s3_deployment as s3deploy,
)
from constructs import Construct

from lambda_reward.runtime.tasks import Task
from stacks.config import DatasetConfig
from stacks.dataset import DatasetSummary, read_dataset, validate_training_set
from stacks.nag import acknowledge, acknowledge_cdk_owned_lambda

TRAINING_PREFIX = "training-data/"
OUTPUT_PREFIX = "output/"
# The job ledger (stacks/rft_job/runtime/ledger.py): one object per launch, written by the launcher and
# the tracker; Bedrock's service role has no access to it.
LEDGER_PREFIX = "jobs/"


def _secure_bucket_props() -> dict:
    return dict(
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        versioned=True,
        # Training data and job output outlive the stack: deleting the stack never loses them.
        removal_policy=RemovalPolicy.RETAIN,
    )


class TrainingData(Construct):
    """Bucket holding the prompts (`training-data/`), the job output (`output/`) and the job ledger (`jobs/`).

    The dataset files are validated when the construct is built, so a bad file stops synth with
    an error naming the file, line and problem, before anything reaches AWS.
    """

    def __init__(self, scope: Construct, construct_id: str, *, dataset: DatasetConfig, task: Task) -> None:
        super().__init__(scope, construct_id)
        self.training: DatasetSummary
        self.validation: DatasetSummary | None
        self.training, self.validation = validate_training_set(dataset.training_path, dataset.validation_path, task)

        self.access_logs = s3.Bucket(
            self, "AccessLogs",
            **{**_secure_bucket_props(), "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_PREFERRED},
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365),
                                              noncurrent_version_expiration=Duration.days(30))],
        )
        acknowledge(self.access_logs, id="AwsSolutions-S1",
            reason="This is the server access log bucket of the training-data bucket; logging it "
                   "into itself would loop and logging it elsewhere only moves the question.",
        )
        self.bucket = s3.Bucket(
            self, "Bucket",
            **_secure_bucket_props(),
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="training-bucket/",
        )

        # The SSL-only policies stay with the retained buckets: a deleted stack must not leave
        # its training data reachable over plain HTTP.
        for bucket in (self.access_logs, self.bucket):
            assert bucket.policy is not None  # enforce_ssl created it
            bucket.policy.apply_removal_policy(RemovalPolicy.RETAIN)

        files = [(dataset.training_key, dataset.training_path)]
        if dataset.validation_key and dataset.validation_path:
            files.append((dataset.validation_key, dataset.validation_path))
        self.upload = s3deploy.BucketDeployment(
            self, "Upload",
            # Only the configured files go up, whatever else lies in the folder, and as validated:
            # normalised (no BOM, LF), so the bytes in S3 are the bytes the sha256 describes.
            sources=[s3deploy.Source.data(name, read_dataset(path).decode("utf-8")) for name, path in files],
            destination_bucket=self.bucket,
            destination_key_prefix=TRAINING_PREFIX,
            # Never delete data a running or past job may have read.
            prune=False,
            retain_on_delete=True,
            memory_limit=512,
            log_group=logs.LogGroup(self, "UploadLogs", retention=logs.RetentionDays.ONE_MONTH,
                                    removal_policy=RemovalPolicy.DESTROY),
        )
        self._acknowledge_upload_findings()
        self.training_uri = self.uri(TRAINING_PREFIX + dataset.training_key)
        self.validation_uri = self.uri(TRAINING_PREFIX + dataset.validation_key) if dataset.validation_key else None
        self.output_uri = self.uri(OUTPUT_PREFIX)
        self.ledger_uri = self.uri(LEDGER_PREFIX)

    def _acknowledge_upload_findings(self) -> None:
        stack = Stack.of(self)
        role = self.upload.handler_role
        handler = next(c for c in stack.node.children if c.node.id.startswith("Custom::CDKBucketDeployment"))
        acknowledge_cdk_owned_lambda(handler, role, "BucketDeployment (the dataset upload)")
        policy = role.node.find_child("DefaultPolicy")
        reason = ("BucketDeployment's copy of the dataset: it reads this app's CDK asset objects and writes "
                  "under training-data/ in this stack's own bucket; the wildcards are aws-cdk-lib's grant helpers.")
        bucket_id = stack.get_logical_id(self.bucket.node.default_child)
        findings = ["Action::s3:GetBucket*", "Action::s3:GetObject*", "Action::s3:List*", "Action::s3:Abort*",
                    "Action::s3:DeleteObject*", f"Resource::<{bucket_id}.Arn>/*",
                    # The CDK bootstrap asset bucket the upload copies from.
                    f"Resource::arn:aws:s3:::cdk-{DefaultStackSynthesizer.DEFAULT_QUALIFIER}-assets-"
                    f"<AWS::AccountId>-{stack.region}/*"]
        for finding in findings:
            acknowledge(policy, id=f"AwsSolutions-IAM5[{finding}]", reason=reason)

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket.bucket_name}/{key}"

    def object_arn(self, key_pattern: str) -> str:
        return self.bucket.arn_for_objects(key_pattern)
