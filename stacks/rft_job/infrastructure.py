"""The RFT job as infrastructure: a custom resource that launches it, a poller that follows it.

A job runs from half an hour to many hours, far past the one hour a custom resource may take, so
the launcher only starts the job (and the tracker) and returns. The tracker is a Step Functions
loop (invoke the tracker Lambda, then wait) for both variants: the mantle API emits no
EventBridge events, and one engine for both keeps one set of tests, alarms and console views.
An execution hands its job over to a fresh execution of the same state machine after a bounded
number of polls, so a job of any length stays under Step Functions' 25,000-event history limit.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import (
    ArnFormat,
    Aws,
    CustomResource,
    Duration,
    RemovalPolicy,
    Stack,
)
from aws_cdk import (
    aws_iam as iam,
)
from aws_cdk import (
    aws_kms as kms,
)
from aws_cdk import (
    aws_logs as logs,
)
from aws_cdk import (
    aws_sns as sns,
)
from aws_cdk import (
    aws_sns_subscriptions as subscriptions,
)
from aws_cdk import (
    aws_ssm as ssm,
)
from aws_cdk import (
    aws_stepfunctions as sfn,
)
from aws_cdk import (
    aws_stepfunctions_tasks as tasks,
)
from aws_cdk import (
    custom_resources as cr,
)
from constructs import Construct

from lambda_reward.infrastructure import RewardFunction
from stacks.bedrock_access import (
    BEDROCK_PRINCIPAL,
    BedrockServiceRole,
    grader_versions_arn,
)
from stacks.config import StackConfig
from stacks.nag import acknowledge, acknowledge_cdk_owned_lambda
from stacks.published_outputs import PublishedOutputs
from stacks.python_asset import handler_path
from stacks.python_function import PythonFunction
from stacks.rft_job.runtime.contract import (
    JOB_RESOURCE_TYPE,
    MANTLE_BASE_URL_ENV,
    PARAMETER_NONE,
    PARAMETER_NOT_STARTED,
    STACK_TAG,
    TRACKER_FAILED,
    TRACKER_GAVE_UP,
    JobAttribute,
    JobParameter,
    JobProperty,
    Output,
    TrackerEnv,
    TrackerField,
    Variant,
)
from stacks.rft_job.runtime.job_spec import SpecKey, job_fingerprint
from stacks.training_data import LEDGER_PREFIX, TRAINING_PREFIX, TrainingData

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
LAUNCHER_HANDLER = handler_path(RUNTIME_DIR, "launcher.on_event")
TRACKER_HANDLER = handler_path(RUNTIME_DIR, "tracker.handler")

# A poll round (task, choice, wait) writes 9 history events and an execution may hold 25,000, so
# each execution polls at most this many times (or for about a week) before handing over; the
# margin leaves room for the events of retried polls.
MAX_POLLS_PER_EXECUTION = 1000
HANDOVER_AFTER_MINUTES = 7 * 24 * 60
SNS_DISPLAY_NAME_MAX = 100


def _bedrock_arn(resource: str) -> str:
    return f"arn:{Aws.PARTITION}:bedrock:{Aws.REGION}:{Aws.ACCOUNT_ID}:{resource}"


def _wildcard_finding(service: str, resource: str) -> str:
    """cdk-nag's id for a wildcard resource built like `_bedrock_arn` / `_mantle_projects_arn`."""
    return f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:{service}:<AWS::Region>:<AWS::AccountId>:{resource}]"


def _mantle_projects_arn() -> str:
    # bedrock-mantle has no file or fine-tuning-job resource type: every action is authorised
    # on the project (the account's default project unless one is chosen).
    return f"arn:{Aws.PARTITION}:bedrock-mantle:{Aws.REGION}:{Aws.ACCOUNT_ID}:project/*"


def _grant_ledger(python: PythonFunction, data: TrainingData) -> None:
    """Read and write the job ledger (jobs/ in the training bucket) and nothing else there.

    ListBucket on the prefix makes a missing entry a 404 rather than a 403.
    """
    python.add_to_role_policy(iam.PolicyStatement(
        sid="ReadWriteJobLedger", actions=["s3:GetObject", "s3:PutObject"],
        resources=[data.object_arn(f"{LEDGER_PREFIX}*")]))
    python.add_to_role_policy(iam.PolicyStatement(
        sid="ListJobLedger", actions=["s3:ListBucket"], resources=[data.bucket.bucket_arn],
        conditions={"StringLike": {"s3:prefix": [f"{LEDGER_PREFIX}*"]}}))
    bucket_id = Stack.of(python).get_logical_id(data.bucket.node.default_child)
    acknowledge(python.default_policy, id=f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{LEDGER_PREFIX}*]",
                reason="The job ledger names an object per launch (its job name) at run time; the grant covers only "
                       "the jobs/ prefix of this stack's bucket.")


def _runtime_function(scope: Construct, construct_id: str, *, handler: str, service_name: str, description: str,
                      timeout: Duration, environment: dict[str, str]) -> PythonFunction:
    return PythonFunction(
        scope, construct_id,
        runtime_dir=RUNTIME_DIR,
        handler=handler,
        description=description,
        memory_mb=512,
        timeout=timeout,
        log_retention_days=90,
        # Powertools reads its configuration from here (the runtime's Logger() takes the service name).
        environment={"POWERTOOLS_SERVICE_NAME": service_name, "POWERTOOLS_LOG_LEVEL": "INFO", **environment},
    )


class JobTracker(Construct):
    """Follows the job to its end and records what other teams need under well-known names."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig, data: TrainingData) -> None:
        super().__init__(scope, construct_id)
        prefix = f"{config.parameter_prefix}/job"
        self.config = config

        # Literal names and ARNs (not Refs): the launcher writes the job id parameter, and the
        # tracker must not depend on it, or the tracker, launcher and parameter would form a cycle.
        self.parameter_names: dict[str, str] = {}

        def parameter(key: str, leaf: str, initial: str, description: str) -> ssm.StringParameter:
            self.parameter_names[key] = f"{prefix}/{leaf}"
            return ssm.StringParameter(self, key, parameter_name=f"{prefix}/{leaf}", string_value=initial,
                                       description=description)

        def arn(key: str) -> str:
            return Stack.of(self).format_arn(service="ssm", resource="parameter",
                                             resource_name=self.parameter_names[key].lstrip("/"))

        self.status = parameter("StatusParameter", JobParameter.STATUS, PARAMETER_NOT_STARTED,
                                "Status of the stack's current RFT job, as the Bedrock API reports it")
        self.model = parameter("ModelParameter", JobParameter.MODEL, PARAMETER_NONE,
                               "Trained model of the current RFT job: Nova output model ARN or mantle fine-tuned model id")
        self.failure = parameter("FailureParameter", JobParameter.FAILURE, PARAMETER_NONE,
                                 "Failure message of the current RFT job, if it failed")
        self.job_id = parameter("JobIdParameter", JobParameter.JOB_ID, PARAMETER_NONE,
                                "Id (Nova: ARN) of the stack's current RFT job; the tracker writes only for this job")
        self.deployment = (parameter("DeploymentParameter", JobParameter.DEPLOYMENT, PARAMETER_NONE,
                                     "On-demand custom model deployment ARN of the trained Nova model")
                           if config.variant is Variant.NOVA else None)
        # The parameters the tracker writes. Whenever CloudFormation updates one of them (its
        # description, its tags), it writes the initial value back over what the tracker recorded,
        # so their properties stay fixed and the stack keeps user tags off them.
        self.live_parameters = [p for p in (self.status, self.model, self.failure, self.deployment) if p is not None]

        self.topic = sns.Topic(
            self, "Topic",
            display_name=f"RFT job state ({config.stack_name})"[:SNS_DISPLAY_NAME_MAX],
            master_key=kms.Alias.from_alias_name(self, "SnsKey", "alias/aws/sns"),
            enforce_ssl=True,
        )
        for address in config.notification_emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(address))

        create_deployment = config.variant is Variant.NOVA and config.create_model_deployment
        environment = {
            TrackerEnv.VARIANT: config.variant.value,
            TrackerEnv.STATUS_PARAMETER: self.parameter_names["StatusParameter"],
            TrackerEnv.MODEL_PARAMETER: self.parameter_names["ModelParameter"],
            TrackerEnv.FAILURE_PARAMETER: self.parameter_names["FailureParameter"],
            TrackerEnv.JOB_ID_PARAMETER: self.parameter_names["JobIdParameter"],
            TrackerEnv.TOPIC_ARN: self.topic.topic_arn,
            TrackerEnv.CREATE_DEPLOYMENT: "true" if create_deployment else "false",
            # Whether the stack has settled: only then is a job that is not current unwanted.
            TrackerEnv.STACK_ID: Aws.STACK_ID,
            TrackerEnv.LEDGER_URI: data.ledger_uri,
            TrackerEnv.STATE_MACHINE_ARN: self.state_machine_arn,
        }
        if self.deployment is not None:
            environment[TrackerEnv.DEPLOYMENT_PARAMETER] = self.parameter_names["DeploymentParameter"]
        if config.mantle_base_url:
            environment[MANTLE_BASE_URL_ENV] = config.mantle_base_url
        self.python = _runtime_function(
            self, "Tracker", handler=TRACKER_HANDLER, service_name="rft-job-tracker", timeout=Duration.minutes(1),
            description=f"Polls the RFT job of {config.stack_name}; records status and result in SSM, notifies SNS",
            environment=environment)
        self.function = self.python.function

        _grant_ledger(self.python, data)
        self.python.add_to_role_policy(iam.PolicyStatement(
            sid="SeeWhetherTheStackSettled", actions=["cloudformation:DescribeStacks"], resources=[Aws.STACK_ID]))
        # The deployment ARN is written only when the tracker creates the deployment.
        written = [key for key in self.parameter_names
                   if key != "JobIdParameter" and (key != "DeploymentParameter" or create_deployment)]
        self.python.add_to_role_policy(iam.PolicyStatement(
            sid="RecordJobState", actions=["ssm:GetParameter", "ssm:PutParameter"],
            resources=[arn(key) for key in written]))
        self.python.add_to_role_policy(iam.PolicyStatement(
            sid="ReadCurrentJobId", actions=["ssm:GetParameter"], resources=[arn("JobIdParameter")]))
        # The topic uses the AWS managed SNS key, whose key policy already lets this account's
        # principals publish through SNS: no KMS grant is needed.
        self.python.add_to_role_policy(iam.PolicyStatement(
            sid="NotifyJobEnd", actions=["sns:Publish"], resources=[self.topic.topic_arn]))
        # Stop: a job that is no longer the stack's current one (its Delete failed) is stopped by its tracker.
        if config.variant is Variant.NOVA:
            self.python.add_to_role_policy(iam.PolicyStatement(
                sid="DescribeAndStopJob",
                actions=["bedrock:GetModelCustomizationJob", "bedrock:StopModelCustomizationJob"],
                resources=[_bedrock_arn("model-customization-job/*")]))
            if create_deployment:
                self.python.add_to_role_policy(iam.PolicyStatement(
                    sid="DeployTrainedModel", actions=["bedrock:CreateCustomModelDeployment"],
                    resources=[_bedrock_arn("custom-model/*"), _bedrock_arn("custom-model-deployment/*")]))
                self.python.add_to_role_policy(iam.PolicyStatement(
                    sid="DescribeDeployment", actions=["bedrock:GetCustomModelDeployment"],
                    resources=[_bedrock_arn("custom-model-deployment/*")]))
        else:
            self.python.add_to_role_policy(iam.PolicyStatement(
                sid="DescribeAndCancelJob",
                actions=["bedrock-mantle:GetFineTuningJob", "bedrock-mantle:CancelFineTuningJob"],
                resources=[_mantle_projects_arn()]))
        self._acknowledge_function_findings(create_deployment)

        self.state_machine = self._state_machine(config)

    @property
    def state_machine_name(self) -> str:
        # A literal name, so the machine can be granted StartExecution on itself without a cycle.
        return f"{self.config.name_prefix}-job-tracker"

    @property
    def state_machine_arn(self) -> str:
        return Stack.of(self).format_arn(service="states", resource="stateMachine", resource_name=self.state_machine_name,
                                         arn_format=ArnFormat.COLON_RESOURCE_NAME)

    def _state_machine(self, config: StackConfig) -> sfn.StateMachine:
        name = self.state_machine_name
        itself = sfn.StateMachine.from_state_machine_arn(self, "Itself", self.state_machine_arn)
        polls_per_execution = min(MAX_POLLS_PER_EXECUTION, HANDOVER_AFTER_MINUTES // config.tracker_poll_minutes)

        plan = sfn.Pass(self, "Plan handover", result_path="$.handover",
                        parameters={"afterPolls.$": f"States.MathAdd($.{TrackerField.POLLS}, {polls_per_execution})"},
                        comment=f"This execution polls {polls_per_execution} times, then hands the job over")
        poll = tasks.LambdaInvoke(
            self, "Poll job",
            lambda_function=self.function,
            payload_response_only=True,
            comment="Describe the job; record its status (and result) in SSM; notify SNS at the end",
        )
        # Throttling and transient errors are retried with backoff; anything else ends tracking
        # with the error visible in the execution history.
        poll.add_retry(errors=["States.TaskFailed", "Lambda.TooManyRequestsException",
                               "Lambda.ServiceException", "Lambda.SdkClientException"],
                       interval=Duration.seconds(30), max_attempts=6, backoff_rate=2.0)
        wait = sfn.Wait(self, "Wait before next poll",
                        time=sfn.WaitTime.duration(Duration.minutes(config.tracker_poll_minutes)))
        ended = sfn.Succeed(self, "Job ended")
        gave_up = sfn.Fail(self, "Tracking gave up", error=TRACKER_GAVE_UP,
                           cause="The job's status was unknown for too long; the status parameter and the topic say so")
        report_failure = self._report_tracker_failure()
        poll.add_catch(report_failure, errors=["States.ALL"], result_path="$.error")
        handover = tasks.StepFunctionsStartExecution(
            self, "Continue in a new execution",
            state_machine=itself,
            associate_with_parent=True,
            input=sfn.TaskInput.from_object({
                TrackerField.VARIANT: sfn.JsonPath.string_at(f"$.{TrackerField.VARIANT}"),
                TrackerField.JOB_ID: sfn.JsonPath.string_at(f"$.{TrackerField.JOB_ID}"),
                TrackerField.JOB_NAME: sfn.JsonPath.string_at(f"$.{TrackerField.JOB_NAME}"),
                TrackerField.POLLS: sfn.JsonPath.number_at(f"$.{TrackerField.POLLS}"),
                TrackerField.UNKNOWN_SINCE: sfn.JsonPath.string_at(f"$.{TrackerField.UNKNOWN_SINCE}")}),
        )
        handover.add_retry(interval=Duration.seconds(30), max_attempts=6, backoff_rate=2.0)
        handover.add_catch(report_failure, errors=["States.ALL"], result_path="$.error")
        # An execution started by hand may carry just {"jobId": ...}; every path the machine reads
        # later (a missing one is a States.Runtime error no Catch catches) gets a value here.
        defaults = sfn.Pass(self, "Fill in defaults", parameters={
            TrackerField.VARIANT: config.variant.value, f"{TrackerField.JOB_NAME}.$": f"$.{TrackerField.JOB_ID}",
            TrackerField.POLLS: 0, "given.$": "$"})
        apply_input = sfn.Pass(self, "Apply the input", output_path="$.state",
                               parameters={"state.$": "States.JsonMerge($, $.given, false)"})
        definition = defaults.next(apply_input).next(plan).next(poll).next(
            sfn.Choice(self, "Job ended?")
            # Gave up first: the tracker also says terminal then, so that an execution still running
            # an older definition (no gaveUp branch) ends instead of giving up again every poll.
            .when(sfn.Condition.boolean_equals(f"$.{TrackerField.GAVE_UP}", True), gave_up)
            .when(sfn.Condition.boolean_equals(f"$.{TrackerField.TERMINAL}", True), ended)
            .when(sfn.Condition.number_greater_than_equals_json_path(f"$.{TrackerField.POLLS}", "$.handover.afterPolls"),
                  handover.next(sfn.Succeed(self, "Handed over")))
            .otherwise(wait.next(poll)))
        log_group = logs.LogGroup(self, "StateMachineLogs", retention=logs.RetentionDays.THREE_MONTHS,
                                  removal_policy=RemovalPolicy.DESTROY)
        machine = sfn.StateMachine(
            self, "StateMachine",
            state_machine_name=name,
            comment=f"Follows one RFT job of {config.stack_name} to its end, polling every "
                    f"{config.tracker_poll_minutes} min",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            # One execution lasts at most about a week of polls (plus retries); 30 days bounds a
            # stuck one.
            timeout=Duration.days(30),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        policy = machine.role.node.find_child("DefaultPolicy")
        function_id = Stack.of(self).get_logical_id(self.function.node.default_child)
        acknowledge(policy, id=f"AwsSolutions-IAM5[Resource::<{function_id}.Arn>:*]",
                    reason="Step Functions' Lambda task may invoke versions of the tracker function, and only it.")
        acknowledge(policy, id="AwsSolutions-IAM5[Resource::*]",
                    reason="X-Ray tracing of the state machine: xray:PutTraceSegments and its siblings have no "
                           "resource-level permissions.")
        return machine

    def _report_tracker_failure(self) -> sfn.IChainable:
        """When the tracker Lambda keeps failing: say so in the status parameter and on the topic.

        Done with Step Functions' own SSM and SNS integrations, not the Lambda that just failed.
        The status is written only while the stack's job id parameter names this job (as the
        tracker itself does); the notification always goes out. Then the execution fails.
        """
        failed = sfn.Fail(self, "Tracking failed", error=TRACKER_FAILED,
                          cause="The tracker Lambda kept failing; the status parameter and the topic say so")
        status_name = self.parameter_names["StatusParameter"]
        restart = sfn.Pass(self, "Prepare the failure report", result_path="$.restart", parameters={
            **{f"{key}.$": f"$.{key}" for key in (TrackerField.VARIANT, TrackerField.JOB_ID, TrackerField.JOB_NAME)},
            TrackerField.POLLS: 0})
        read_current = tasks.CallAwsService(
            self, "Read the current job id", service="ssm", action="getParameter",
            parameters={"Name": self.parameter_names["JobIdParameter"]},
            iam_resources=[self._parameter_arn("JobIdParameter")],
            result_selector={"value.$": "$.Parameter.Value"}, result_path="$.currentJob")
        write_status = tasks.CallAwsService(
            self, "Record that tracking stopped", service="ssm", action="putParameter",
            parameters={"Name": status_name, "Type": "String", "Overwrite": True,
                        "Value": sfn.JsonPath.format(
                            f"{TRACKER_GAVE_UP}: the tracker failed ({{}}) and stopped following the job; it may "
                            "still be running (rftctl status)", sfn.JsonPath.string_at("$.error.Error"))},
            iam_resources=[self._parameter_arn("StatusParameter")], result_path=sfn.JsonPath.DISCARD)
        notify = tasks.SnsPublish(
            self, "Notify that tracking stopped", topic=self.topic, subject="RFT job tracking stopped",
            # The whole error object, not $.error.Cause: a path that is missing fails the execution
            # with States.Runtime, which no Catch catches, and the notification would be lost.
            message=sfn.TaskInput.from_text(sfn.JsonPath.format(
                "The tracker of the Bedrock RFT job {} ({}) kept failing and stopped following it: {}. The job "
                "itself was not stopped and may still be running (and billing). Check it: rftctl status --job {}. "
                "Track it again: start an execution of " + self.state_machine_arn + " with input {}",
                sfn.JsonPath.string_at(f"$.{TrackerField.JOB_NAME}"), sfn.JsonPath.string_at(f"$.{TrackerField.JOB_ID}"),
                sfn.JsonPath.json_to_string(sfn.JsonPath.object_at("$.error")),
                sfn.JsonPath.string_at(f"$.{TrackerField.JOB_ID}"),
                sfn.JsonPath.json_to_string(sfn.JsonPath.object_at("$.restart")))),
            result_path=sfn.JsonPath.DISCARD)
        for step in (read_current, write_status):
            step.add_catch(notify, errors=["States.ALL"], result_path="$.reportError")
        notify.add_retry(interval=Duration.seconds(10), max_attempts=3, backoff_rate=2.0)
        notify.add_catch(failed, errors=["States.ALL"], result_path="$.reportError")
        current = (sfn.Choice(self, "Still the stack's job?")
                   .when(sfn.Condition.string_equals_json_path("$.currentJob.value", f"$.{TrackerField.JOB_ID}"),
                         write_status.next(notify))
                   .otherwise(notify))
        notify.next(failed)
        return restart.next(read_current).next(current)

    def _parameter_arn(self, key: str) -> str:
        return Stack.of(self).format_arn(service="ssm", resource="parameter",
                                         resource_name=self.parameter_names[key].lstrip("/"))

    def _acknowledge_function_findings(self, create_deployment: bool) -> None:
        policy = self.python.default_policy
        acknowledge(policy, id=_wildcard_finding("bedrock", "model-customization-job/*")
                    if self.config.variant is Variant.NOVA else _wildcard_finding("bedrock-mantle", "project/*"),
            reason="Job ids are assigned by Bedrock at launch, after this policy exists; the grant is read-only "
                   "and limited to this account and region.")
        if create_deployment:
            for resource in ("custom-model/*", "custom-model-deployment/*"):
                acknowledge(policy, id=_wildcard_finding("bedrock", resource),
                    reason="The trained model and its deployment get their ids from Bedrock when the job ends.")

    def set_current_job(self, job_id: str) -> None:
        """The job the tracker may write for: the launcher's job id, updated by CloudFormation."""
        cfn = self.job_id.node.default_child
        assert isinstance(cfn, ssm.CfnParameter)
        cfn.value = job_id

    def publish(self, outputs: PublishedOutputs) -> None:
        outputs.publish(Output.NOTIFICATION_TOPIC_ARN, self.topic.topic_arn,
                        "SNS topic that receives one message when the RFT job ends")
        outputs.publish(Output.JOB_STATUS_PARAMETER_NAME, self.parameter_names["StatusParameter"],
                        "SSM parameter with the RFT job's current status")
        outputs.publish(Output.JOB_MODEL_PARAMETER_NAME, self.parameter_names["ModelParameter"],
                        "SSM parameter with the trained model (Nova model ARN or mantle model id) once the job succeeds")
        outputs.publish(Output.JOB_FAILURE_PARAMETER_NAME, self.parameter_names["FailureParameter"],
                        "SSM parameter with the failure message if the RFT job fails")
        outputs.publish(Output.JOB_ID_PARAMETER_NAME, self.parameter_names["JobIdParameter"],
                        "SSM parameter with the id (Nova: ARN) of the stack's current RFT job")
        outputs.publish(Output.TRACKER_STATE_MACHINE_ARN, self.state_machine.state_machine_arn,
                        "Step Functions state machine that follows each RFT job to its end")
        if self.deployment is not None:
            outputs.publish(Output.MODEL_DEPLOYMENT_PARAMETER_NAME, self.parameter_names["DeploymentParameter"],
                            "SSM parameter with the on-demand deployment ARN of the trained Nova model")


class JobLauncher(Construct):
    """Custom resource that starts the RFT job: once per job-defining change, never on others."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig, data: TrainingData,
                 grader: RewardFunction, tracker: JobTracker, service_role: BedrockServiceRole | None) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        environment = {MANTLE_BASE_URL_ENV: config.mantle_base_url} if config.mantle_base_url else {}
        self.python = _runtime_function(
            self, "Launcher", handler=LAUNCHER_HANDLER, service_name="rft-job-launcher",
            # Room for the SDK clients' worst case (uploads retried with backoff) inside the
            # Provider framework's own 15-minute invocation, so a hang ends with our reason,
            # not "Task timed out".
            timeout=Duration.minutes(14),
            description=f"Starts, keeps or stops the RFT job of {config.stack_name} (CloudFormation custom resource)",
            environment=environment)
        self.function = self.python.function
        tracker.state_machine.grant_start_execution(self.function)
        _grant_ledger(self.python, data)

        # Validation data goes to the job only while its switch is on (rft:nova.sendValidationData,
        # rft:mantle.sendValidationFile); it is uploaded and validated either way, for the CLI.
        validation = data.validation if config.send_validation_data else None
        pinned = config.variant is Variant.NOVA or config.pin_grader_version
        spec: dict[str, object] = {
            SpecKey.VARIANT: config.variant.value,
            SpecKey.NAME_PREFIX: config.name_prefix,
            SpecKey.BASE_MODEL: config.base_model,
            SpecKey.TRAINING_DATA_URI: data.training_uri,
            SpecKey.VALIDATION_DATA_URI: data.validation_uri if validation else None,
            SpecKey.DATASET_SHA256: {"training": data.training.sha256,
                              "validation": validation.sha256 if validation else None},
            SpecKey.GRADER_ARN: grader.version.function_arn if pinned else grader.function.function_arn,
            SpecKey.GRADER_PINNED: pinned,
            SpecKey.GRADER_CODE_SHA256: grader.code_sha256,
            SpecKey.HYPER_PARAMETERS: dict(config.hyperparameters),
            SpecKey.TAGS: {**config.tags, STACK_TAG: config.stack_name},
            SpecKey.STATE_MACHINE_ARN: tracker.state_machine.state_machine_arn,
            SpecKey.LEDGER_URI: data.ledger_uri,
        }
        if config.variant is Variant.MANTLE:
            spec[SpecKey.SEND_METADATA] = config.send_metadata
        # What the job trains, known at synth: a property of its own so that `cdk diff` and
        # `rftctl plan` show a new job exactly when one would start (the launcher checks it).
        self.fingerprint = job_fingerprint(
            variant=config.variant.value, base_model=config.base_model,
            training_sha256=data.training.sha256, validation_sha256=validation.sha256 if validation else None,
            grader_code_sha256=grader.code_sha256, hyper_parameters=config.hyperparameters, grader_pinned=pinned)
        if config.variant is Variant.NOVA:
            assert service_role is not None
            spec.update({SpecKey.ROLE_ARN: service_role.role.role_arn, SpecKey.OUTPUT_DATA_URI: data.output_uri})
            self._grant_nova(config, service_role)
        else:
            self._grant_mantle(config, data, grader, pinned)

        log_group = logs.LogGroup(self, "ProviderLogs", retention=logs.RetentionDays.THREE_MONTHS,
                                  removal_policy=RemovalPolicy.DESTROY)
        provider = cr.Provider(self, "Provider", on_event_handler=self.function, log_group=log_group)
        self.resource = CustomResource(
            self, "Job",
            service_token=provider.service_token,
            resource_type=JOB_RESOURCE_TYPE,
            properties={JobProperty.FINGERPRINT: self.fingerprint, JobProperty.SPEC: stack.to_json_string(spec)},
        )
        # Bedrock validates data, role and grader when the job is created: all must exist first.
        # The parameters the tracker writes must exist before it runs, or its first write would
        # create one and CloudFormation's own create of it would then fail.
        self.resource.node.add_dependency(data.upload, grader.version, *tracker.live_parameters)
        if service_role is not None:
            self.resource.node.add_dependency(service_role)
        tracker.set_current_job(self.job_id)
        self._acknowledge(provider, config, data, grader)

    @property
    def job_id(self) -> str:
        return self.resource.get_att_string(JobAttribute.JOB_ID)

    def _grant_nova(self, config: StackConfig, service_role: BedrockServiceRole) -> None:
        jobs, models = _bedrock_arn("model-customization-job/*"), _bedrock_arn("custom-model/*")
        base_model = f"arn:{Aws.PARTITION}:bedrock:{Aws.REGION}::foundation-model/{config.base_model}"
        add = self.python.add_to_role_policy
        add(iam.PolicyStatement(sid="CreateJob", actions=["bedrock:CreateModelCustomizationJob"],
                                resources=[base_model, models, jobs]))
        # Job and model tags are applied at creation, which IAM authorises as TagResource.
        add(iam.PolicyStatement(sid="TagJobAndModel", actions=["bedrock:TagResource"], resources=[models, jobs]))
        add(iam.PolicyStatement(sid="DescribeAndStopJob",
                                actions=["bedrock:GetModelCustomizationJob", "bedrock:StopModelCustomizationJob"],
                                resources=[jobs]))
        add(iam.PolicyStatement(sid="PassServiceRoleToBedrock", actions=["iam:PassRole"],
                                resources=[service_role.role.role_arn],
                                conditions={"StringEquals": {"iam:PassedToService": BEDROCK_PRINCIPAL}}))

    def _grant_mantle(self, config: StackConfig, data: TrainingData, grader: RewardFunction, pinned: bool) -> None:
        add = self.python.add_to_role_policy
        add(iam.PolicyStatement(sid="ReadTrainingData", actions=["s3:GetObject"],
                                resources=[data.object_arn(f"{TRAINING_PREFIX}*")]))
        # DeleteFile: a launch that fails after uploading removes the files it uploaded.
        add(iam.PolicyStatement(sid="UploadTrainingFiles", actions=["bedrock-mantle:CreateFile", "bedrock-mantle:DeleteFile"],
                                resources=[_mantle_projects_arn()]))
        add(iam.PolicyStatement(sid="CreateJobForBaseModel", actions=["bedrock-mantle:CreateFineTuningJob"],
                                resources=[_mantle_projects_arn()],
                                conditions={"StringEquals": {"bedrock-mantle:Model": config.base_model}}))
        add(iam.PolicyStatement(sid="FindDescribeAndCancelJob",
                                actions=["bedrock-mantle:ListFineTuningJobs", "bedrock-mantle:GetFineTuningJob",
                                         "bedrock-mantle:CancelFineTuningJob"],
                                resources=[_mantle_projects_arn()]))
        # AWS's open-weight RFT guide grants grader invocation to the identity that creates the
        # job; with no role in the API, that identity is this launcher.
        # Unpinned, the job calls the function itself ($LATEST).
        add(iam.PolicyStatement(sid="InvokeGraderForJob", actions=["lambda:InvokeFunction"],
                                resources=[grader_versions_arn(grader.function)]
                                + ([] if pinned else [grader.function.function_arn])))

    def _acknowledge(self, provider: cr.Provider, config: StackConfig, data: TrainingData,
                     grader: RewardFunction) -> None:
        stack = Stack.of(self)
        policy = self.python.default_policy
        if config.variant is Variant.NOVA:
            for resource in ("model-customization-job/*", "custom-model/*"):
                acknowledge(policy, id=_wildcard_finding("bedrock", resource),
                    reason="Job and model ARNs are assigned by Bedrock at launch; the launcher names them itself "
                           "and the grant is limited to this account and region.")
        else:
            acknowledge(policy, id=_wildcard_finding("bedrock-mantle", "project/*"),
                reason="bedrock-mantle authorises files and jobs only on the project resource; CreateFineTuningJob "
                       "is further limited to the configured base model by condition.")
            bucket_id = stack.get_logical_id(data.bucket.node.default_child)
            acknowledge(policy, id=f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{TRAINING_PREFIX}*]",
                reason="The launcher uploads the configured dataset files from the training-data/ prefix only.")
        grader_id = stack.get_logical_id(grader.function.node.default_child)
        if config.variant is Variant.MANTLE:
            acknowledge(policy, id=f"AwsSolutions-IAM5[Resource::<{grader_id}.Arn>:*]",
                reason="Published versions of this one grader function: a job keeps calling the version it was "
                       "launched with after a later deploy publishes another.")
        framework = provider.node.find_child("framework-onEvent")
        framework_role = framework.node.find_child("ServiceRole")
        acknowledge_cdk_owned_lambda(framework, framework_role, "The custom resource Provider framework")
        acknowledge(framework_role.node.find_child("DefaultPolicy"),
                    id=f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(self.function.node.default_child)}.Arn>:*]",
                    reason="The Provider framework invokes any version of the launcher function it fronts, and only it.")

    def publish(self, outputs: PublishedOutputs) -> None:
        outputs.publish(Output.JOB_ID, self.job_id, "RFT job id (Nova: job ARN; mantle: fine-tuning job id)")
        outputs.publish(Output.JOB_NAME, self.resource.get_att_string(JobAttribute.JOB_NAME),
                        "Name of the RFT job (unique per launch)")
        outputs.publish(Output.CUSTOM_MODEL_NAME, self.resource.get_att_string(JobAttribute.CUSTOM_MODEL_NAME),
                        "Name of the custom model the RFT job produces")
        outputs.publish(Output.JOB_CONSOLE_URL, self.resource.get_att_string(JobAttribute.CONSOLE_URL),
                        "Bedrock console page of the RFT job")
