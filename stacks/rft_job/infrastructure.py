"""The RFT job as infrastructure: a custom resource that launches it, a poller that follows it.

A job runs from half an hour to many hours, far past the one hour a custom resource may take, so
the launcher only starts the job (and the tracker) and returns. The tracker is a Step Functions
loop (invoke the tracker Lambda, then wait) for both variants: the mantle API emits no
EventBridge events, and one engine for both keeps one set of tests, alarms and console views.
An execution hands its job over to a fresh execution of the same state machine after a bounded
number of polls, so a job of any length stays under Step Functions' 25,000-event history limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aws_cdk import (
    ArnFormat,
    Aws,
    CustomResource,
    Duration,
    RemovalPolicy,
    Stack,
    aws_iam as iam,
    aws_kms as kms,
    aws_logs as logs,
    aws_sns as sns,
    aws_sns_subscriptions as subscriptions,
    aws_stepfunctions as sfn,
    aws_stepfunctions_tasks as tasks,
    custom_resources as cr,
)
from constructs import Construct

from lambda_reward.infrastructure import RewardFunction
from stacks.bedrock_access import BedrockServiceRole
from stacks.nag import acknowledge, acknowledge_cdk_owned_lambda
from stacks.published_outputs import PublishedOutputs
from stacks.python_asset import handler_path
from stacks.python_function import PythonFunction
from stacks.rft_job.api_access import JOB_API_ACCESS
from stacks.rft_job.job_record import JobRecord
from stacks.rft_job.runtime.contract import (
    JOB_RESOURCE_TYPE,
    MANTLE_BASE_URL_ENV,
    STACK_TAG,
    TRACKER_FAILED,
    TRACKER_GAVE_UP,
    JobAttribute,
    JobProperty,
    LauncherEnv,
    Output,
    TrackerEnv,
    TrackerField,
    Variant,
)
from stacks.rft_job.runtime.job_spec import SpecKey, fingerprint_of_document
from stacks.training_data import LEDGER_PREFIX, TrainingData

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
LAUNCHER_HANDLER = handler_path(RUNTIME_DIR, "launcher.on_event")
TRACKER_HANDLER = handler_path(RUNTIME_DIR, "tracker.handler")

# A poll round (task, choice, wait) writes 9 history events and an execution may hold 25,000, so
# each execution polls at most this many times (or for about a week) before handing over; the
# margin leaves room for the events of retried polls.
MAX_POLLS_PER_EXECUTION = 1000
HANDOVER_AFTER_MINUTES = 7 * 24 * 60
SNS_DISPLAY_NAME_MAX = 100


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


@dataclass(frozen=True)
class TrackerProps:
    """What the tracker needs to know about its stack."""

    stack_name: str
    name_prefix: str  # names the state machine: <name_prefix>-job-tracker
    parameter_prefix: str  # the job record's parameters live under <parameter_prefix>/job/
    variant: Variant
    poll_minutes: int
    notification_emails: tuple[str, ...] = ()
    create_deployment: bool = False  # deploy the trained model (an API whose models need a deployment)
    mantle_base_url: str | None = None


@dataclass(frozen=True)
class LauncherProps:
    """What the launcher needs to know to build the job's specification."""

    stack_name: str
    name_prefix: str
    variant: Variant
    base_model: str
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    # Request fields no AWS example sends, each switched by the configuration.
    send_validation_data: bool = True
    send_metadata: bool = True
    pin_grader_version: bool = True
    mantle_base_url: str | None = None


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
    """Follows the job to its end: a poller that keeps the job record current and notifies the topic.

    The record (JobRecord: the parameters other teams read) is its child "Default", so that its
    parameters keep the logical ids (and so the values) of stacks deployed before the split.
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: TrackerProps, data: TrainingData) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        access = JOB_API_ACCESS[props.variant]
        self.record = JobRecord(self, "Default", parameter_prefix=props.parameter_prefix, stack_name=props.stack_name,
                                records_deployment=access.deploys_models)
        record = self.record

        # The stack's own key, not the AWS managed alias/aws/sns: CloudWatch alarms can publish to an
        # encrypted topic only if the key policy lets cloudwatch.amazonaws.com use the key, and an AWS
        # managed key's policy cannot be edited (stacks/monitoring.py adds that grant). $1 a month.
        self.topic_key = kms.Key(
            self, "TopicKey",
            description=f"Encrypts the RFT job-state topic of {props.stack_name}",
            enable_key_rotation=True,
            # It protects messages in flight only: nothing is left to decrypt once the stack is gone.
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        self.topic = sns.Topic(
            self, "Topic",
            display_name=f"RFT job state ({props.stack_name})"[:SNS_DISPLAY_NAME_MAX],
            master_key=self.topic_key,
            enforce_ssl=True,
        )
        for address in props.notification_emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(address))

        create_deployment = props.create_deployment
        environment = {
            TrackerEnv.VARIANT: props.variant.value,
            TrackerEnv.STATUS_PARAMETER: record.names["StatusParameter"],
            TrackerEnv.MODEL_PARAMETER: record.names["ModelParameter"],
            TrackerEnv.FAILURE_PARAMETER: record.names["FailureParameter"],
            TrackerEnv.JOB_ID_PARAMETER: record.names["JobIdParameter"],
            TrackerEnv.TOPIC_ARN: self.topic.topic_arn,
            TrackerEnv.CREATE_DEPLOYMENT: "true" if create_deployment else "false",
            # Whether the stack has settled: only then is a job that is not current unwanted.
            TrackerEnv.STACK_ID: Aws.STACK_ID,
            TrackerEnv.LEDGER_URI: data.ledger_uri,
            TrackerEnv.STATE_MACHINE_ARN: self.state_machine_arn,
        }
        if record.deployment is not None:
            environment[TrackerEnv.DEPLOYMENT_PARAMETER] = record.names["DeploymentParameter"]
        if props.mantle_base_url:
            environment[MANTLE_BASE_URL_ENV] = props.mantle_base_url
        self.python = _runtime_function(
            self, "Tracker", handler=TRACKER_HANDLER, service_name="rft-job-tracker", timeout=Duration.minutes(1),
            description=f"Polls the RFT job of {props.stack_name}; records status and result in SSM, notifies SNS",
            environment=environment)
        self.function = self.python.function

        _grant_ledger(self.python, data)
        self.python.add_to_role_policy(iam.PolicyStatement(
            sid="SeeWhetherTheStackSettled", actions=["cloudformation:DescribeStacks"], resources=[Aws.STACK_ID]))
        # The deployment ARN is written only when the tracker creates the deployment.
        written = [key for key in record.names
                   if key != "JobIdParameter" and (key != "DeploymentParameter" or create_deployment)]
        self.python.add_to_role_policy(iam.PolicyStatement(
            sid="RecordJobState", actions=["ssm:GetParameter", "ssm:PutParameter"],
            resources=[record.arn(key) for key in written]))
        self.python.add_to_role_policy(iam.PolicyStatement(
            sid="ReadCurrentJobId", actions=["ssm:GetParameter"], resources=[record.arn("JobIdParameter")]))
        self.grant_publish(self.python, sid="NotifyJobEnd")
        # Stop: a job that is no longer the stack's current one (its Delete failed) is stopped by its tracker.
        access.grant_tracker(self.python, create_deployment=create_deployment)

        self.state_machine = self._state_machine(props)
        # Its SnsPublish task ("Notify that tracking stopped") grants sns:Publish only.
        self.state_machine.add_to_role_policy(self._use_topic_key())

    def grant_publish(self, python: PythonFunction, *, sid: str) -> None:
        """sns:Publish on the topic and the use of its key that publishing takes, action by action
        (the topic's own grant_publish would add kms:GenerateDataKey*, a wildcard)."""
        python.add_to_role_policy(iam.PolicyStatement(sid=sid, actions=["sns:Publish"],
                                                      resources=[self.topic.topic_arn]))
        python.add_to_role_policy(self._use_topic_key())

    def _use_topic_key(self) -> iam.PolicyStatement:
        """A publisher's use of the topic's key: SNS encrypts each message with the publisher's rights."""
        return iam.PolicyStatement(
            sid="EncryptNotifications", actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=[self.topic_key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"sns.{Aws.REGION}.amazonaws.com"}})

    @property
    def state_machine_name(self) -> str:
        # A literal name, so the machine can be granted StartExecution on itself without a cycle.
        return f"{self.props.name_prefix}-job-tracker"

    @property
    def state_machine_arn(self) -> str:
        return Stack.of(self).format_arn(
            service="states",
            resource="stateMachine",
            resource_name=self.state_machine_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    def _state_machine(self, props: TrackerProps) -> sfn.StateMachine:
        name = self.state_machine_name
        itself = sfn.StateMachine.from_state_machine_arn(self, "Itself", self.state_machine_arn)
        polls_per_execution = min(MAX_POLLS_PER_EXECUTION, HANDOVER_AFTER_MINUTES // props.poll_minutes)

        plan = sfn.Pass(
            self,
            "Plan handover",
            result_path="$.handover",
            parameters={"afterPolls.$": f"States.MathAdd($.{TrackerField.POLLS}, {polls_per_execution})"},
            comment=f"This execution polls {polls_per_execution} times, then hands the job over",
        )
        poll = tasks.LambdaInvoke(
            self,
            "Poll job",
            lambda_function=self.function,
            payload_response_only=True,
            # One retrier, ours: CDK's default one would come first and shadow the Lambda errors below.
            retry_on_service_exceptions=False,
            comment="Describe the job; record its status (and result) in SSM; notify SNS at the end",
        )
        # Every failure of a poll is retried with backoff (6 attempts, about 31 minutes in all), then
        # reported: States.TaskFailed matches any error the tracker raises, a denied call included. A
        # permanent error is told late rather than a throttle or an outage taken for one, which would
        # stop following a paid job.
        poll.add_retry(
            errors=[
                "States.TaskFailed",
                "Lambda.TooManyRequestsException",
                "Lambda.ServiceException",
                "Lambda.AWSLambdaException",
                "Lambda.SdkClientException",
                "Lambda.ClientExecutionTimeoutException",
            ],
            interval=Duration.seconds(30),
            max_attempts=6,
            backoff_rate=2.0,
        )
        wait = sfn.Wait(self, "Wait before next poll", time=sfn.WaitTime.duration(Duration.minutes(props.poll_minutes)))
        ended = sfn.Succeed(self, "Job ended")
        gave_up = sfn.Fail(
            self,
            "Tracking gave up",
            error=TRACKER_GAVE_UP,
            cause="The job's status was unknown for too long; the status parameter and the topic say so",
        )
        report_failure = self._report_tracker_failure()
        poll.add_catch(report_failure, errors=["States.ALL"], result_path="$.error")
        handover = tasks.StepFunctionsStartExecution(
            self,
            "Continue in a new execution",
            state_machine=itself,
            associate_with_parent=True,
            # Named after this execution: a StartExecution retried after a lost answer (same name, same
            # input) gets the execution it already started, not a second tracker of the same job.
            name=sfn.JsonPath.format("handover-{}", sfn.JsonPath.hash(sfn.JsonPath.string_at("$$.Execution.Id"),
                                                                      "MD5")),
            input=sfn.TaskInput.from_object(
                {
                    TrackerField.VARIANT: sfn.JsonPath.string_at(f"$.{TrackerField.VARIANT}"),
                    TrackerField.JOB_ID: sfn.JsonPath.string_at(f"$.{TrackerField.JOB_ID}"),
                    TrackerField.JOB_NAME: sfn.JsonPath.string_at(f"$.{TrackerField.JOB_NAME}"),
                    TrackerField.POLLS: sfn.JsonPath.number_at(f"$.{TrackerField.POLLS}"),
                    TrackerField.UNKNOWN_SINCE: sfn.JsonPath.string_at(f"$.{TrackerField.UNKNOWN_SINCE}"),
                }
            ),
        )
        # The name is this execution's own, so "already exists" means the child was started (a retry after
        # a lost answer, its child closed already: AWS answers an equal request with the running one
        # only): tracking goes on there, and this execution is done, not failed.
        handed_over = sfn.Succeed(self, "Handed over")
        already_started = "StepFunctions.ExecutionAlreadyExistsException"
        handover.add_retry(errors=[already_started], max_attempts=0)
        handover.add_retry(interval=Duration.seconds(30), max_attempts=6, backoff_rate=2.0)
        handover.add_catch(handed_over, errors=[already_started], result_path=sfn.JsonPath.DISCARD)
        handover.add_catch(report_failure, errors=["States.ALL"], result_path="$.error")
        # An execution started by hand may carry just {"jobId": ...}; every path the machine reads
        # later (a missing one is a States.Runtime error no Catch catches) gets a value here.
        defaults = sfn.Pass(
            self,
            "Fill in defaults",
            parameters={
                TrackerField.VARIANT: props.variant.value,
                f"{TrackerField.JOB_NAME}.$": f"$.{TrackerField.JOB_ID}",
                TrackerField.POLLS: 0,
                "given.$": "$",
            },
        )
        apply_input = sfn.Pass(
            self,
            "Apply the input",
            output_path="$.state",
            parameters={"state.$": "States.JsonMerge($, $.given, false)"},
        )
        definition = (
            defaults.next(apply_input)
            .next(plan)
            .next(poll)
            .next(
                sfn.Choice(self, "Job ended?")
                # Gave up first: the tracker also says terminal then, so that an execution still running
                # an older definition (no gaveUp branch) ends instead of giving up again every poll.
                .when(sfn.Condition.boolean_equals(f"$.{TrackerField.GAVE_UP}", True), gave_up)
                .when(sfn.Condition.boolean_equals(f"$.{TrackerField.TERMINAL}", True), ended)
                .when(
                    sfn.Condition.number_greater_than_equals_json_path(
                        f"$.{TrackerField.POLLS}", "$.handover.afterPolls"
                    ),
                    handover.next(handed_over),
                )
                .otherwise(wait.next(poll))
            )
        )
        log_group = logs.LogGroup(
            self, "StateMachineLogs", retention=logs.RetentionDays.THREE_MONTHS, removal_policy=RemovalPolicy.DESTROY
        )
        machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=name,
            comment=f"Follows one RFT job of {props.stack_name} to its end, polling every {props.poll_minutes} min",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            # One execution lasts at most about a week of polls (plus retries); 30 days bounds a
            # stuck one.
            timeout=Duration.days(30),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        policy = machine.role.node.find_child("DefaultPolicy")
        function_id = Stack.of(self).get_logical_id(self.function.node.default_child)
        acknowledge(
            policy,
            id=f"AwsSolutions-IAM5[Resource::<{function_id}.Arn>:*]",
            reason="Step Functions' Lambda task may invoke versions of the tracker function, and only it.",
        )
        acknowledge(
            policy,
            id="AwsSolutions-IAM5[Resource::*]",
            reason="X-Ray tracing of the state machine: xray:PutTraceSegments and its siblings have no "
            "resource-level permissions.",
        )
        return machine

    def _report_tracker_failure(self) -> sfn.IChainable:
        """When the tracker Lambda keeps failing: say so in the status parameter and on the topic.

        Done with Step Functions' own SSM and SNS integrations, not the Lambda that just failed.
        The status is written only while the stack's job id parameter names this job (as the
        tracker itself does); the notification always goes out. Then the execution fails.
        """
        failed = sfn.Fail(
            self,
            "Tracking failed",
            error=TRACKER_FAILED,
            cause="The tracker Lambda kept failing; the status parameter and the topic say so",
        )
        status_name = self.record.names["StatusParameter"]
        restart = sfn.Pass(
            self,
            "Prepare the failure report",
            result_path="$.restart",
            parameters={
                **{
                    f"{key}.$": f"$.{key}" for key in (TrackerField.VARIANT, TrackerField.JOB_ID, TrackerField.JOB_NAME)
                },
                TrackerField.POLLS: 0,
            },
        )
        read_current = tasks.CallAwsService(
            self,
            "Read the current job id",
            service="ssm",
            action="getParameter",
            parameters={"Name": self.record.names["JobIdParameter"]},
            iam_resources=[self.record.arn("JobIdParameter")],
            result_selector={"value.$": "$.Parameter.Value"},
            result_path="$.currentJob",
        )
        write_status = tasks.CallAwsService(
            self,
            "Record that tracking stopped",
            service="ssm",
            action="putParameter",
            parameters={
                "Name": status_name,
                "Type": "String",
                "Overwrite": True,
                "Value": sfn.JsonPath.format(
                    f"{TRACKER_GAVE_UP}: the tracker failed ({{}}) and stopped following the job; it may "
                    "still be running (rftctl status)",
                    sfn.JsonPath.string_at("$.error.Error"),
                ),
            },
            iam_resources=[self.record.arn("StatusParameter")],
            result_path=sfn.JsonPath.DISCARD,
        )
        notify = tasks.SnsPublish(
            self,
            "Notify that tracking stopped",
            topic=self.topic,
            subject="RFT job tracking stopped",
            # The whole error object, not $.error.Cause: a path that is missing fails the execution
            # with States.Runtime, which no Catch catches, and the notification would be lost.
            message=sfn.TaskInput.from_text(
                sfn.JsonPath.format(
                    "The tracker of the Bedrock RFT job {} ({}) kept failing and stopped following it: {}. The job "
                    "itself was not stopped and may still be running (and billing). Check it: rftctl status --job {}. "
                    "Track it again: start an execution of " + self.state_machine_arn + " with input {}",
                    sfn.JsonPath.string_at(f"$.{TrackerField.JOB_NAME}"),
                    sfn.JsonPath.string_at(f"$.{TrackerField.JOB_ID}"),
                    sfn.JsonPath.json_to_string(sfn.JsonPath.object_at("$.error")),
                    sfn.JsonPath.string_at(f"$.{TrackerField.JOB_ID}"),
                    sfn.JsonPath.json_to_string(sfn.JsonPath.object_at("$.restart")),
                )
            ),
            result_path=sfn.JsonPath.DISCARD,
        )
        for step in (read_current, write_status):
            step.add_catch(notify, errors=["States.ALL"], result_path="$.reportError")
        notify.add_retry(interval=Duration.seconds(10), max_attempts=3, backoff_rate=2.0)
        notify.add_catch(failed, errors=["States.ALL"], result_path="$.reportError")
        current = (
            sfn.Choice(self, "Still the stack's job?")
            .when(
                sfn.Condition.string_equals_json_path("$.currentJob.value", f"$.{TrackerField.JOB_ID}"),
                write_status.next(notify),
            )
            .otherwise(notify)
        )
        notify.next(failed)
        return restart.next(read_current).next(current)

    def publish(self, outputs: PublishedOutputs) -> None:
        outputs.publish(
            Output.NOTIFICATION_TOPIC_ARN,
            self.topic.topic_arn,
            "SNS topic that receives one message when the RFT job ends",
        )
        self.record.publish(outputs)
        outputs.publish(
            Output.TRACKER_STATE_MACHINE_ARN,
            self.state_machine.state_machine_arn,
            "Step Functions state machine that follows each RFT job to its end",
        )
        self.record.publish_deployment(outputs)


class JobLauncher(Construct):
    """Custom resource that starts the RFT job: once per job-defining change, never on others."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        props: LauncherProps,
        data: TrainingData,
        grader: RewardFunction,
        tracker: JobTracker,
        service_role: BedrockServiceRole | None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        access = JOB_API_ACCESS[props.variant]
        environment = {MANTLE_BASE_URL_ENV: props.mantle_base_url} if props.mantle_base_url else {}
        # A stack delete takes the tracker with it: the launcher's Delete tells the topic itself.
        environment[LauncherEnv.TOPIC_ARN] = tracker.topic.topic_arn
        self.python = _runtime_function(
            self,
            "Launcher",
            handler=LAUNCHER_HANDLER,
            service_name="rft-job-launcher",
            # Room for the SDK clients' worst case (uploads retried with backoff) inside the
            # Provider framework's own 15-minute invocation, so a hang ends with our reason,
            # not "Task timed out".
            timeout=Duration.minutes(14),
            description=f"Starts, keeps or stops the RFT job of {props.stack_name} (CloudFormation custom resource)",
            environment=environment,
        )
        self.function = self.python.function
        tracker.state_machine.grant_start_execution(self.function)
        _grant_ledger(self.python, data)
        tracker.grant_publish(self.python, sid="NotifyThatTheStackStoppedTheJob")
        # Whether a Delete is the stack's own (the tracker goes too) or an update's cleanup.
        self.python.add_to_role_policy(iam.PolicyStatement(
            sid="SeeWhetherTheStackIsGoing", actions=["cloudformation:DescribeStacks"], resources=[Aws.STACK_ID]))

        # Validation data goes to the job only while its switch is on (rft:nova.sendValidationData,
        # rft:mantle.sendValidationFile); it is uploaded and validated either way, for the CLI.
        validation = data.validation if props.send_validation_data else None
        pinned = props.pin_grader_version
        spec: dict[str, object] = {
            SpecKey.VARIANT: props.variant.value,
            SpecKey.NAME_PREFIX: props.name_prefix,
            SpecKey.BASE_MODEL: props.base_model,
            SpecKey.TRAINING_DATA_URI: data.training_uri,
            SpecKey.VALIDATION_DATA_URI: data.validation_uri if validation else None,
            SpecKey.DATASET_SHA256: {
                "training": data.training.sha256,
                "validation": validation.sha256 if validation else None,
            },
            SpecKey.GRADER_ARN: grader.version.function_arn if pinned else grader.function.function_arn,
            SpecKey.GRADER_PINNED: pinned,
            SpecKey.GRADER_CODE_SHA256: grader.code_sha256,
            SpecKey.GRADER_TASK: dict(grader.task.spec),
            SpecKey.HYPER_PARAMETERS: dict(props.hyperparameters),
            SpecKey.TAGS: {**props.tags, STACK_TAG: props.stack_name},
            SpecKey.STATE_MACHINE_ARN: tracker.state_machine.state_machine_arn,
            SpecKey.LEDGER_URI: data.ledger_uri,
        }
        spec.update(access.spec_fields(data=data, service_role=service_role, send_metadata=props.send_metadata))
        # What the job trains, known at synth: a property of its own so that `cdk diff` and
        # `rftctl plan` show a new job exactly when one would start (the launcher checks it). Read from
        # the spec itself, as plan and the launcher read it.
        self.fingerprint = fingerprint_of_document(spec)
        access.grant_launcher(
            self.python,
            base_model=props.base_model,
            data=data,
            grader=grader,
            grader_pinned=pinned,
            service_role=service_role,
        )

        log_group = logs.LogGroup(
            self, "ProviderLogs", retention=logs.RetentionDays.THREE_MONTHS, removal_policy=RemovalPolicy.DESTROY
        )
        provider = cr.Provider(self, "Provider", on_event_handler=self.function, log_group=log_group)
        self.resource = CustomResource(
            self,
            "Job",
            service_token=provider.service_token,
            resource_type=JOB_RESOURCE_TYPE,
            properties={JobProperty.FINGERPRINT: self.fingerprint, JobProperty.SPEC: stack.to_json_string(spec)},
        )
        # Bedrock validates data, role and grader when the job is created: all must exist first.
        # The parameters the tracker writes must exist before it runs, or its first write would
        # create one and CloudFormation's own create of it would then fail.
        self.resource.node.add_dependency(data.upload, grader.version, *tracker.record.live_parameters)
        # On a stack delete the job's Delete notifies the topic: the topic must still be there.
        self.resource.node.add_dependency(tracker.topic)
        if service_role is not None:
            self.resource.node.add_dependency(service_role)
        tracker.record.set_current_job(self.job_id)
        access.acknowledge_launcher(self.python, data=data, grader=grader)
        framework = provider.node.find_child("framework-onEvent")
        framework_role = framework.node.find_child("ServiceRole")
        acknowledge_cdk_owned_lambda(framework, framework_role, "The custom resource Provider framework")
        acknowledge(
            framework_role.node.find_child("DefaultPolicy"),
            id=f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(self.function.node.default_child)}.Arn>:*]",
            reason="The Provider framework invokes any version of the launcher function it fronts, and only it.",
        )

    @property
    def job_id(self) -> str:
        return self.resource.get_att_string(JobAttribute.JOB_ID)

    def publish(self, outputs: PublishedOutputs) -> None:
        outputs.publish(Output.JOB_ID, self.job_id, "RFT job id (Nova: job ARN; mantle: fine-tuning job id)")
        outputs.publish(
            Output.JOB_NAME,
            self.resource.get_att_string(JobAttribute.JOB_NAME),
            "Name of the RFT job (unique per launch)",
        )
        outputs.publish(
            Output.CUSTOM_MODEL_NAME,
            self.resource.get_att_string(JobAttribute.CUSTOM_MODEL_NAME),
            "Name of the custom model the RFT job produces",
        )
        outputs.publish(
            Output.JOB_CONSOLE_URL,
            self.resource.get_att_string(JobAttribute.CONSOLE_URL),
            "Bedrock console page of the RFT job",
        )
