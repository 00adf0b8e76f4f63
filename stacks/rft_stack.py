"""The deployment units: one stack per RFT variant (and per open-weight model)."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Environment, Stack, Tags
from constructs import Construct

from lambda_reward.infrastructure import RewardFunction
from stacks.bedrock_access import BedrockServiceRole, allow_bedrock_to_invoke
from stacks.config import StackConfig
from stacks.models import rft_model
from stacks.monitoring import MonitoredGrader, MonitoredTracker, RunMonitoring
from stacks.published_outputs import PublishedOutputs
from stacks.rft_job.api_access import JOB_API_ACCESS
from stacks.rft_job.infrastructure import JobLauncher, JobTracker, LauncherProps, TrackerProps
from stacks.rft_job.runtime.contract import (
    APP_TAG,
    VARIANT_TAG,
    Output,
)
from stacks.training_data import TrainingData


class RftStack(Stack):
    """Everything one RFT run needs: data, grader, Bedrock's access, the job, its tracking and monitoring."""

    def __init__(self, scope: Construct, config: StackConfig, *, account: str | None) -> None:
        model = rft_model(config.base_model)
        how = model.api_title if model is not None else config.variant.value
        super().__init__(
            scope, config.stack_name,
            env=Environment(account=account, region=config.region),
            description=(f"Bedrock reinforcement fine-tuning of {config.base_model} "
                         f"({how}): training data bucket, reward Lambda, "
                         f"Bedrock access, RFT job launcher, job tracker, dashboard and alarms."),
            # Stack tags, which the operator CLI finds the stacks of a variant by. They never change
            # for a deployed stack: CloudFormation pushes a stack tag change onto every resource.
            tags={APP_TAG: config.app_prefix, VARIANT_TAG: config.variant.value},
        )
        self.config = config

        self.data = TrainingData(self, "TrainingData", dataset=config.dataset, task=config.task)
        self.grader = RewardFunction(self, "Grader", settings=config.grader, task=config.task,
                                     service_name=f"{config.name_prefix}-reward",
                                     prompt_opens_reasoning=bool(model and model.prompt_opens_reasoning))
        self.outputs = PublishedOutputs(self, "Outputs", parameter_prefix=config.parameter_prefix)

        self.access = JOB_API_ACCESS[config.variant]
        self.service_role = self._grant_bedrock_access()
        self.tracker = JobTracker(self, "JobTracker", props=tracker_props(config), data=self.data)
        self.launcher = (
            JobLauncher(self, "JobLauncher", props=launcher_props(config), data=self.data, grader=self.grader,
                        tracker=self.tracker, service_role=self.service_role)
            if config.launch_job else None
        )
        self.monitoring = RunMonitoring(
            self, "Monitoring",
            stack_name=config.stack_name,
            grader=MonitoredGrader(
                function=self.grader.function,
                timeout_seconds=self.grader.timeout_seconds,
                service_name=self.grader.service_name,
                task_name=config.task.name,
                reserved_concurrency=config.grader.reserved_concurrency,
            ),
            tracker=MonitoredTracker(
                function=self.tracker.function,
                log_group=self.tracker.python.log_group,
                state_machine=self.tracker.state_machine,
                state_machine_name=self.tracker.state_machine_name,
                topic=self.tracker.topic,
                topic_key=self.tracker.topic_key,
            ),
            alarms=config.alarms,
        )
        self._publish()
        self._tag(config.tags)

    @property
    def job_fingerprint(self) -> str | None:
        """What the job trains (None with launchJob false): the job resource's JobFingerprint."""
        return self.launcher.fingerprint if self.launcher is not None else None

    def summary_line(self) -> str:
        """One line for the synth output: would this stack run a job, of what, with which fingerprint."""
        config = self.config
        hyper = (
            " ".join(f"{key}={value}" for key, value in sorted(config.hyperparameters.items())) or "service defaults"
        )
        job = (
            f"job on, fingerprint {self.job_fingerprint[:12]}"
            if self.job_fingerprint
            else "job off (rft:launchJob false)"
        )
        return (f"{config.stack_name} ({config.region}): {job}; task {config.task.name}; "
                f"base model {config.base_model}; hyperparameters {hyper}")

    def _grant_bedrock_access(self) -> BedrockServiceRole | None:
        if self.access.uses_service_role:
            return BedrockServiceRole(self, "BedrockAccess", data=self.data, grader=self.grader.function)
        if self.config.grader_principal:
            target = self.grader.version if self.config.pin_grader_version else self.grader.function
            allow_bedrock_to_invoke(target, self.config.grader_principal)
        return None

    def _tag(self, tags: Mapping[str, str]) -> None:
        """The configured tags, on every resource but the tracker's live parameters.

        A tag edit updates each tagged resource, and CloudFormation's update of an SSM parameter
        puts its template value back: the recorded status and trained model would be lost.
        """
        for key, value in tags.items():
            Tags.of(self).add(key, value)
            for parameter in self.tracker.record.live_parameters:
                Tags.of(parameter).remove(key)

    def _publish(self) -> None:
        publish = self.outputs.publish
        publish(Output.RFT_VARIANT, self.config.variant.value, "How this stack runs RFT: nova or mantle")
        publish(Output.BASE_MODEL, self.config.base_model, "Base model the RFT job fine-tunes")
        publish(
            Output.TRAINING_BUCKET_NAME,
            self.data.bucket.bucket_name,
            "S3 bucket with the training prompts (training-data/) and job output (output/)",
        )
        publish(Output.TRAINING_DATA_URI, self.data.training_uri, "S3 URI of the training prompts (JSONL)")
        if self.data.validation_uri:
            publish(Output.VALIDATION_DATA_URI, self.data.validation_uri, "S3 URI of the validation prompts (JSONL)")
        publish(Output.OUTPUT_DATA_URI, self.data.output_uri, "S3 URI prefix where the RFT job writes its output")
        publish(
            Output.JOB_LEDGER_URI,
            self.data.ledger_uri,
            "S3 URI prefix of the job ledger: one JSON entry per RFT job the stack launched (rftctl history)",
        )
        endpoint = self.access.endpoint(region=self.config.region, base_url=self.config.mantle_base_url)
        if endpoint is not None:
            publish(
                Output.MANTLE_BASE_URL,
                endpoint,
                "Bedrock mantle endpoint the stack's functions call (OpenAI-compatible fine-tuning API)",
            )
        publish(Output.GRADER_FUNCTION_ARN, self.grader.function.function_arn, "Reward (grader) Lambda function ARN")
        publish(
            Output.GRADER_TASK,
            self.grader.task.spec_json(),
            f"The grader's task and its options as JSON ({self.grader.task.name}; rftctl grades with it)",
        )
        publish(
            Output.GRADER_VERSION_ARN,
            self.grader.version.function_arn,
            "Published grader version the RFT job calls (pinned: new grader code never changes a running job)",
        )
        if self.service_role is not None:
            publish(
                Output.BEDROCK_SERVICE_ROLE_ARN,
                self.service_role.role.role_arn,
                "IAM role Bedrock assumes for the RFT job (reads training-data/, writes output/, invokes the grader)",
            )
        self.tracker.publish(self.outputs)
        if self.launcher is not None:
            self.launcher.publish(self.outputs)
        publish(
            Output.DASHBOARD_NAME,
            self.monitoring.name,
            "CloudWatch dashboard of this RFT run: grader calls, errors, duration, reward handed out, job status",
        )
        publish(
            Output.DASHBOARD_URL,
            self.monitoring.url,
            "Console link to the CloudWatch dashboard of this RFT run (its alarms notify NotificationTopicArn)",
        )


def tracker_props(config: StackConfig) -> TrackerProps:
    return TrackerProps(
        stack_name=config.stack_name,
        name_prefix=config.name_prefix,
        parameter_prefix=config.parameter_prefix,
        variant=config.variant,
        poll_minutes=config.tracker_poll_minutes,
        notification_emails=config.notification_emails,
        create_deployment=config.create_model_deployment,
        mantle_base_url=config.mantle_base_url,
    )


def launcher_props(config: StackConfig) -> LauncherProps:
    return LauncherProps(
        stack_name=config.stack_name,
        name_prefix=config.name_prefix,
        variant=config.variant,
        base_model=config.base_model,
        hyperparameters=config.hyperparameters,
        tags=config.tags,
        send_validation_data=config.send_validation_data,
        send_metadata=config.send_metadata,
        pin_grader_version=config.pin_grader_version,
        mantle_base_url=config.mantle_base_url,
    )
