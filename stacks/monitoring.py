"""What an operator watches during a paid RFT run: a CloudWatch dashboard and alarms, per stack.

The dashboard (named after the stack) shows the grader as Bedrock calls it (invocations, errors,
throttles, duration, concurrency), the reward it hands out (its own EMF metrics: mean reward, pass
rate, malformed and flagged samples), the tracker's executions and the job's latest polled status.
The alarms notify the stack's job-state topic; each description says what the alarm means for the
paid job and what to do. Their thresholds are `rft:alarms` (stacks/config.py, docs/monitoring.md).

The topic is encrypted with the stack's own KMS key (JobTracker): CloudWatch may publish to an
encrypted topic only when the key policy lets cloudwatch.amazonaws.com use the key, which an AWS
managed key's policy cannot do. The grants here are scoped to this stack's alarms by ARN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import (
    ArnFormat,
    Aws,
    Duration,
    Stack,
    aws_cloudwatch as cloudwatch,
    aws_cloudwatch_actions as cloudwatch_actions,
    aws_iam as iam,
    aws_kms as kms,
    aws_lambda as lambda_,
    aws_logs as logs,
    aws_sns as sns,
    aws_stepfunctions as sfn,
)
from constructs import Construct

from lambda_reward.runtime.contract import METRICS_NAMESPACE, BatchMetric
from stacks.config import AlarmsConfig

# Powertools Metrics(service=...) emits every grader metric with exactly this one dimension, whose
# value is the grader's POWERTOOLS_SERVICE_NAME (tests/stacks/test_monitoring.py reads the handler's EMF).
SERVICE_DIMENSION = "service"
# The tracker's log line per poll (stacks/rft_job/runtime/tracker.py) and the fields the status widget shows.
JOB_POLLED_MESSAGE = "job polled"
TRACKER_GAVE_UP_MESSAGE = "tracking gave up"
JOB_STATUS_FIELDS = ("job_name", "status", "polls", "terminal", "reason")
# A share of malformed samples means something only over a training batch, not over a smoke test of
# a few samples (rftctl grade --remote).
MIN_SAMPLES_FOR_SHARE = 20
MAX_ALARM_DESCRIPTION = 1024  # CloudWatch's limit
_DASHBOARD_NAME = re.compile(r"[^A-Za-z0-9_-]")


def dashboard_name(stack_name: str) -> str:
    """The stack's name, as a dashboard name may spell it (letters, digits, - and _; at most 255)."""
    return _DASHBOARD_NAME.sub("-", stack_name)[:255]


def dashboard_url(region: str, name: str) -> str:
    return f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards/dashboard/{name}"


@dataclass(frozen=True)
class MonitoredGrader:
    """The reward Lambda as the dashboard and alarms see it."""

    function: lambda_.IFunction
    timeout_seconds: int
    service_name: str  # its POWERTOOLS_SERVICE_NAME: the `service` dimension of its metrics
    task_name: str
    reserved_concurrency: int | None = None


@dataclass(frozen=True)
class MonitoredTracker:
    """The job tracker: its Lambda (and log group), its state machine and the topic alarms notify."""

    function: lambda_.IFunction
    log_group: logs.ILogGroup
    state_machine: sfn.IStateMachine
    state_machine_name: str
    topic: sns.ITopic
    topic_key: kms.IKey


class RunMonitoring(Construct):
    """The dashboard `dashboard_name(stack_name)` and, unless switched off, the alarms on the topic."""

    def __init__(self, scope: Construct, construct_id: str, *, stack_name: str, grader: MonitoredGrader,
                 tracker: MonitoredTracker, alarms: AlarmsConfig) -> None:
        super().__init__(scope, construct_id)
        self.stack_name = stack_name
        self.grader = grader
        self.tracker = tracker
        self.settings = alarms
        self.name = dashboard_name(stack_name)
        self.url = dashboard_url(Stack.of(self).region, self.name)

        self.alarms: dict[str, cloudwatch.Alarm] = self._alarms() if alarms.enabled else {}
        if self.alarms:
            self._let_cloudwatch_publish()
        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard",
            dashboard_name=self.name,
            # A job runs from half an hour to many hours.
            default_interval=Duration.days(1),
            widgets=self._widgets(),
        )

    # ---- metrics -------------------------------------------------------------------------------

    def _reward_metric(self, name: str, statistic: str, label: str,
                       period: Duration | None = None) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE, metric_name=name,
            dimensions_map={SERVICE_DIMENSION: self.grader.service_name},
            statistic=statistic, label=label, period=period or Duration.minutes(5))

    def _share_of_scored(self, name: str, label: str, period: Duration | None = None, *,
                         for_alarm: bool = False) -> cloudwatch.MathExpression:
        """A per-sample count over the samples scored, in percent. For the alarm, 0 below
        MIN_SAMPLES_FOR_SHARE samples (a smoke test's two malformed samples are not a broken grader); on
        the dashboard the share as it is (a 0 there would read as a collapse of the pass rate)."""
        period = period or Duration.minutes(5)
        share = "100 * part / scored"
        return cloudwatch.MathExpression(
            expression=f"IF(scored >= {MIN_SAMPLES_FOR_SHARE}, {share}, 0)" if for_alarm else share,
            using_metrics={
                "part": self._reward_metric(name, "Sum", name, period),
                "scored": self._reward_metric(BatchMetric.SAMPLES_SCORED, "Sum", "SamplesScored", period),
            },
            label=label, period=period)

    def _tracker_stopped(self, period: Duration) -> cloudwatch.MathExpression:
        """Executions that ended without following the job to its end: failed (gave up) or timed out."""
        machine = self.tracker.state_machine
        return cloudwatch.MathExpression(
            # FILL: a period with one of the two and not the other still counts.
            expression="FILL(failed, 0) + FILL(timedOut, 0)",
            using_metrics={
                "failed": machine.metric_failed(statistic="Sum", period=period),
                "timedOut": machine.metric_timed_out(statistic="Sum", period=period),
            },
            label="Tracker executions failed or timed out", period=period)

    # ---- alarms --------------------------------------------------------------------------------

    def alarm_name(self, suffix: str) -> str:
        return f"{self.stack_name}-{suffix}"

    def _alarms(self) -> dict[str, cloudwatch.Alarm]:
        settings, grader, stack = self.settings, self.grader, self.stack_name
        period = Duration.minutes(settings.period_minutes)
        window = (f"{settings.period_minutes} min" if settings.evaluation_periods == 1
                  else f"each of {settings.evaluation_periods} periods of {settings.period_minutes} min in a row")
        timeout_ms = grader.timeout_seconds * 1000
        duration_threshold = round(settings.grader_duration_share * timeout_ms)
        reservation = (
            f"rft:grader.reservedConcurrency is {grader.reserved_concurrency}: raise it or remove it (null)"
            if grader.reserved_concurrency is not None
            else "other functions use up the account's concurrency: ask for a higher Lambda concurrent-executions "
                 "quota, or reserve some for the grader (rft:grader.reservedConcurrency)")
        # Each names the stack once at the start and once for rftctl (a stack name may be 128 characters).
        commands = f" (rftctl: --stack {stack})"
        definitions = {
            "grader-errors": (
                grader.function.metric_errors(statistic="Sum", period=period),
                settings.grader_errors,
                f"{stack}: the reward Lambda (output GraderFunctionArn, task {grader.task_name}) failed "
                f"{settings.grader_errors} or more times in {window} (rft:alarms.graderErrors). A failed call scores "
                "none of its samples, and what Bedrock then does with the batch (retry, or fail the paid job) is not "
                "documented: the job may be paying for training that learns nothing. What to do: read the errors in "
                "the grader's log (the stack's dashboard, output DashboardUrl); reproduce with rftctl grade "
                "samples.jsonl --remote; if the grader is broken, stop the job (rftctl stop), fix it and deploy (new "
                f"grader code starts a new job){commands}.",
            ),
            "grader-throttles": (
                grader.function.metric_throttles(statistic="Sum", period=period),
                settings.grader_throttles,
                f"{stack}: Lambda refused {settings.grader_throttles} or more calls to the reward Lambda in {window} "
                "for lack of concurrency (rft:alarms.graderThrottles). Bedrock calls the grader in parallel for "
                "every rollout batch: throttled calls slow the paid job down and, retried past Bedrock's patience, "
                f"may fail it. What to do: {reservation}; a reservation change applies at once, to a running job "
                f"too, and starts no new job. Then check the job: rftctl status{commands}.",
            ),
            "grader-duration": (
                grader.function.metric_duration(statistic="p99", period=period),
                duration_threshold,
                f"{stack}: the reward Lambda took {duration_threshold} ms or longer (p99) in {window}, "
                f"{settings.grader_duration_share:.0%} of its {grader.timeout_seconds} s timeout "
                "(rft:alarms.graderDurationShare). A call that reaches the timeout fails and scores nothing. What to "
                "do: find the slow samples in the grader's log (the stack's dashboard, output DashboardUrl): a judge "
                "model throttling, test programs running long; raise rft:grader.timeoutSeconds or memoryMb (more "
                "memory is more CPU). A running job keeps calling the grader version it started with: new settings "
                f"apply to the next job (rftctl plan says whether a deploy starts one){commands}.",
            ),
            "malformed-samples": (
                self._share_of_scored(BatchMetric.MALFORMED_SAMPLES, "Malformed samples (% of scored)", period,
                                      for_alarm=True),
                round(settings.malformed_share * 100, 2),
                f"{stack}: {settings.malformed_share:.0%} or more of the samples the reward Lambda scored in {window} "
                f"were malformed (rft:alarms.malformedShare; counted from {MIN_SAMPLES_FOR_SHARE} samples a period): "
                "unreadable, or a bug in the task. They score 0.0, so the paid job trains the model on zeros and "
                "learns nothing useful. What to do: read the grader log's 'Malformed sample scored 0.0' warnings "
                "(each has its reason); check the data against the task (rftctl validate) and real samples (rftctl "
                f"grade --remote); if the data or the task is wrong, stop the job: rftctl stop{commands}.",
            ),
            "tracker-stopped": (
                self._tracker_stopped(period),
                1,
                f"{stack}: the job tracker (state machine {self.tracker.state_machine_name}) failed, gave up or timed "
                "out: nobody follows the RFT job any more. Its status parameter is no longer updated and no "
                "end-of-job message will come. The job itself was not stopped and may still be running and billing. "
                "What to do: rftctl status; read the failed execution's history in the Step Functions console (its "
                "error says why); track the job again by starting an execution with the input in the topic's "
                f"'tracking stopped' message, or stop the job: rftctl stop{commands}.",
            ),
        }
        alarms: dict[str, cloudwatch.Alarm] = {}
        for suffix, (metric, threshold, description) in definitions.items():
            if len(description) > MAX_ALARM_DESCRIPTION:
                raise ValueError(f"alarm {suffix}: description is {len(description)} characters, "
                                 f"CloudWatch allows {MAX_ALARM_DESCRIPTION}")
            alarm = cloudwatch.Alarm(
                self, _construct_id(suffix),
                alarm_name=self.alarm_name(suffix),
                alarm_description=description,
                metric=metric,
                threshold=threshold,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                evaluation_periods=settings.evaluation_periods,
                datapoints_to_alarm=settings.evaluation_periods,
                # No data is no grader calls (between jobs, before one) or no tracker runs: nothing wrong.
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            # One message per incident (the dashboard shows the recovery): no OK action.
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.tracker.topic))
            alarms[suffix] = alarm
        return alarms

    def alarm_arns(self) -> list[str]:
        """This stack's alarms by ARN, built from their names (their GetAtt would make a cycle with the topic)."""
        stack = Stack.of(self)
        return [stack.format_arn(service="cloudwatch", resource="alarm", resource_name=self.alarm_name(suffix),
                                 arn_format=ArnFormat.COLON_RESOURCE_NAME) for suffix in self.alarms]

    def _let_cloudwatch_publish(self) -> None:
        """CloudWatch may publish this stack's alarms to the topic, and use the topic's key to do it."""
        principal = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        conditions = {"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                      "ArnEquals": {"aws:SourceArn": self.alarm_arns()}}
        # The topic policy holds only the SSL-only deny otherwise, which no longer admits CloudWatch.
        self.tracker.topic.add_to_resource_policy(iam.PolicyStatement(
            sid="CloudWatchAlarmsPublish", principals=[principal], actions=["sns:Publish"],
            resources=[self.tracker.topic.topic_arn], conditions=conditions))
        # What AWS documents for a service publishing to an encrypted topic (SNS calls GenerateDataKey and
        # Decrypt; no wildcard action), limited to these alarms. "*" in a key policy is this key.
        self.tracker.topic_key.add_to_resource_policy(iam.PolicyStatement(
            sid="CloudWatchAlarmsEncrypt", principals=[principal], actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=["*"], conditions=conditions))

    # ---- the dashboard -------------------------------------------------------------------------

    def _widgets(self) -> list[list[cloudwatch.IWidget]]:
        grader, stack = self.grader, self.stack_name
        function = grader.function
        timeout_ms = grader.timeout_seconds * 1000
        reservation = f", reserved concurrency {grader.reserved_concurrency}" if grader.reserved_concurrency else ""
        header = cloudwatch.TextWidget(
            width=24, height=3,
            markdown=(
                f"# Bedrock RFT run: {stack}\n"
                f"The reward Lambda Bedrock calls for every batch of sampled answers (task **{grader.task_name}**, "
                f"timeout {grader.timeout_seconds} s{reservation}), the reward it hands out, and the tracker that "
                "follows the job to its end. Alarms notify the stack's topic (output NotificationTopicArn). "
                f"`rftctl status --stack {stack}` shows the job, `rftctl metrics --stack {stack}` its own training "
                "metrics; what each widget and alarm means: docs/monitoring.md."
            ),
        )
        calls = cloudwatch.GraphWidget(
            title="Grader calls per 5 min: invocations, errors, throttles", width=8, height=6,
            left=[function.metric_invocations(statistic="Sum", label="Invocations"),
                  function.metric_errors(statistic="Sum", label="Errors"),
                  function.metric_throttles(statistic="Sum", label="Throttles")],
            left_y_axis=cloudwatch.YAxisProps(min=0, show_units=False),
        )
        duration_annotations = [cloudwatch.HorizontalAnnotation(value=timeout_ms, label="Timeout")]
        if self.settings.enabled:
            duration_annotations.append(cloudwatch.HorizontalAnnotation(
                value=round(self.settings.grader_duration_share * timeout_ms), label="Alarm"))
        duration = cloudwatch.GraphWidget(
            title="Grader duration (ms): p50, p99", width=8, height=6,
            left=[function.metric_duration(statistic="p50", label="p50"),
                  function.metric_duration(statistic="p99", label="p99")],
            left_y_axis=cloudwatch.YAxisProps(min=0, show_units=False),
            left_annotations=duration_annotations,
        )
        concurrency = cloudwatch.GraphWidget(
            title="Grader concurrency: environments busy at once (max)", width=8, height=6,
            left=[function.metric("ConcurrentExecutions", statistic="Maximum", label="Concurrent executions")],
            left_y_axis=cloudwatch.YAxisProps(min=0, show_units=False),
            left_annotations=[cloudwatch.HorizontalAnnotation(value=grader.reserved_concurrency,
                                                              label="Reserved concurrency")]
            if grader.reserved_concurrency else None,
        )
        reward = cloudwatch.GraphWidget(
            title="Reward handed out: mean reward per batch, pass rate", width=12, height=6,
            left=[self._reward_metric(BatchMetric.MEAN_REWARD, "Average", "Mean reward (average of batch means)")],
            right=[self._share_of_scored(BatchMetric.PASSED_SAMPLES, "Passed samples (% of scored)")],
            left_y_axis=cloudwatch.YAxisProps(min=0, max=1, label="reward", show_units=False),
            right_y_axis=cloudwatch.YAxisProps(min=0, max=100, label="%", show_units=False),
        )
        samples = cloudwatch.GraphWidget(
            title="Samples per 5 min: scored, passed, malformed, flagged", width=12, height=6,
            left=[self._reward_metric(BatchMetric.SAMPLES_SCORED, "Sum", "Scored"),
                  self._reward_metric(BatchMetric.PASSED_SAMPLES, "Sum", "Passed"),
                  self._reward_metric(BatchMetric.MALFORMED_SAMPLES, "Sum", "Malformed (scored 0.0)"),
                  self._reward_metric(BatchMetric.FLAGGED_SAMPLES, "Sum", "Flagged (neutral reward)")],
            right=[self._share_of_scored(BatchMetric.MALFORMED_SAMPLES, "Malformed (% of scored)")],
            left_y_axis=cloudwatch.YAxisProps(min=0, show_units=False),
            right_y_axis=cloudwatch.YAxisProps(min=0, max=100, label="%", show_units=False),
        )
        machine = self.tracker.state_machine
        tracker = cloudwatch.GraphWidget(
            title="Job tracker: executions and failed polls", width=12, height=6,
            left=[machine.metric_started(statistic="Sum", label="Started"),
                  machine.metric_succeeded(statistic="Sum", label="Succeeded (job ended, or handed over)"),
                  machine.metric_failed(statistic="Sum", label="Failed (tracking gave up)"),
                  machine.metric_timed_out(statistic="Sum", label="Timed out"),
                  machine.metric_aborted(statistic="Sum", label="Aborted (stopped by hand)"),
                  self.tracker.function.metric_errors(statistic="Sum", label="Tracker Lambda errors (retried)")],
            left_y_axis=cloudwatch.YAxisProps(min=0, show_units=False),
        )
        status = cloudwatch.LogQueryWidget(
            title="Job status: the tracker's latest polls", width=12, height=6,
            log_group_names=[self.tracker.log_group.log_group_name],
            view=cloudwatch.LogQueryVisualizationType.TABLE,
            query_lines=[
                f"fields @timestamp, {', '.join(JOB_STATUS_FIELDS)}",
                f'filter message in ["{JOB_POLLED_MESSAGE}", "{TRACKER_GAVE_UP_MESSAGE}"]',
                "sort @timestamp desc",
                "limit 20",
            ],
        )
        rows: list[list[cloudwatch.IWidget]] = [[header], [calls, duration, concurrency], [reward, samples],
                                                [tracker, status]]
        if self.alarms:
            rows.append([cloudwatch.AlarmStatusWidget(
                title="Alarms (they notify the stack's topic)", width=24, height=3, alarms=list(self.alarms.values()))])
        return rows


def _construct_id(suffix: str) -> str:
    """`grader-errors` -> `GraderErrorsAlarm`."""
    return "".join(part.capitalize() for part in suffix.split("-")) + "Alarm"
