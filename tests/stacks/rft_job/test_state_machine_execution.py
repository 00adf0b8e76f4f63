"""The tracker's synthesized state machine, executed: moto's ASL interpreter runs the definition as
the template has it, the tracker handler runs in-process on each "Poll job" with the template's
environment, SSM, SNS, S3 and Step Functions are moto's, Bedrock is a botocore Stubber (Nova) or the
fake mantle server. Time is virtual (moto_asl.VirtualClock): waits and retry back-off take none.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from aws_cdk.assertions import Template

from stacks.models import variant_region
from stacks.rft_job.infrastructure import HANDOVER_AFTER_MINUTES, MAX_POLLS_PER_EXECUTION, TRACKER_HANDLER
from stacks.rft_job.runtime import clients, tracker
from stacks.rft_job.runtime.contract import (
    JOB_RESOURCE_TYPE,
    TRACKER_FAILED,
    TRACKER_GAVE_UP,
    TrackerEnv,
    Variant,
    tracker_input,
)
from stacks.rft_job.runtime.naming import tracker_execution_name
from tests.conftest import CDK_CONTEXT
from tests.stacks.rft_job import moto_asl
from tests.stacks.rft_job.builders import NOVA_JOB_ARN, NOVA_JOB_ARN_2, NOVA_MODEL_ARN, StubbedAws, nova_job_description
from tests.stacks.rft_job.fake_mantle import FakeMantle

NOVA, MANTLE = "BedrockRft-Nova2Lite", "BedrockRft-GptOss20b"
NOVA_JOB_NAME = "bedrock-rft-nova2lite-265cf3e6-78927203"
MANTLE_JOB_NAME = "bedrock-rft-gptoss20b-1a2b3c4d-5e6f7a8b"
POLL_MINUTES: int = CDK_CONTEXT["rft:trackerPollMinutes"]
POLL_SECONDS = POLL_MINUTES * 60
# Poll job's Retry as the construct sets it: 30 s, doubling, six times.
POLL_BACKOFF = [30.0, 60.0, 120.0, 240.0, 480.0, 960.0]

pytestmark = pytest.mark.slow


@dataclass
class DeployedTracker:
    """The tracker's resources of one synthesized stack, created in moto from the template."""

    stack_name: str
    region: str
    environment: dict[str, str]  # the tracker Lambda's, resolved
    state_machine_arn: str
    queue_url: str  # an SQS queue subscribed to the topic: what a subscriber receives
    interpreter: moto_asl.Interpreter
    sfn: Any = field(repr=False)
    ssm: Any = field(repr=False)
    sqs: Any = field(repr=False)

    @property
    def clock(self) -> moto_asl.VirtualClock:
        return self.interpreter.clock

    def start(self, execution_input: dict[str, Any]) -> str:
        """As the launcher starts it: its execution name, the job's tracker input."""
        name = tracker_execution_name(execution_input["jobName"], execution_input["jobId"])
        arn: str = self.sfn.start_execution(stateMachineArn=self.state_machine_arn, name=name,
                                            input=json.dumps(execution_input))["executionArn"]
        return arn

    def run(self, execution_input: dict[str, Any]) -> dict[str, Any]:
        """Start an execution as the launcher does and wait for every execution to end."""
        arn = self.start(execution_input)
        described = moto_asl.wait_until_finished(self.sfn, arn)
        for execution in self.executions():
            moto_asl.wait_until_finished(self.sfn, execution["executionArn"])
        return described

    def executions(self) -> list[dict[str, Any]]:
        listed = self.sfn.list_executions(stateMachineArn=self.state_machine_arn)["executions"]
        return sorted(listed, key=lambda execution: execution["startDate"])

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        return moto_asl.history(self.sfn, execution_arn)

    def parameter(self, env_name: str) -> str:
        value: str = self.ssm.get_parameter(Name=self.environment[env_name])["Parameter"]["Value"]
        return value

    def notifications(self) -> list[dict[str, Any]]:
        """Every message the topic delivered so far: subject, message, attributes."""
        envelopes = []
        while received := self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages"):
            envelopes += [json.loads(message["Body"]) for message in received]
        return [{"subject": envelope.get("Subject"), "message": envelope["Message"],
                 "attributes": {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()}}
                for envelope in envelopes]


def deploy_tracker(template: dict[str, Any], stack_name: str, *, current_job: str,
                   interpreter: moto_asl.Interpreter,
                   rewrite: Callable[[str], str] = lambda definition: definition) -> DeployedTracker:
    """Create in moto what the tracker touches, from the template: its topic, the training bucket
    (the job ledger), the job record's parameters (the job id parameter naming `current_job`), the
    tracker Lambda with its environment, and the state machine with its definition resolved."""
    (function_id, function), = [
        (logical_id, resource) for logical_id, resource in moto_asl.resources_of_type(
            template, "AWS::Lambda::Function").items() if resource["Properties"]["Handler"] == TRACKER_HANDLER]
    variant = Variant(function["Properties"]["Environment"]["Variables"][TrackerEnv.VARIANT])
    region = variant_region(variant)
    names = moto_asl.pseudo_parameters(region, stack_name)
    aws = {service: boto3.client(service, region_name=region)
           for service in ("iam", "s3", "sns", "sqs", "ssm", "lambda", "stepfunctions")}

    role = aws["iam"].create_role(RoleName="tracker", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    for logical_id in moto_asl.resources_of_type(template, "AWS::S3::Bucket"):
        names[logical_id] = logical_id.lower()
        location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        aws["s3"].create_bucket(Bucket=names[logical_id], **location)
    (topic_id, _), = moto_asl.resources_of_type(template, "AWS::SNS::Topic").items()
    names[topic_id] = aws["sns"].create_topic(Name=topic_id)["TopicArn"]
    queue_url = aws["sqs"].create_queue(QueueName="subscriber")["QueueUrl"]
    queue_arn = aws["sqs"].get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
    aws["sns"].subscribe(TopicArn=names[topic_id], Protocol="sqs", Endpoint=queue_arn["QueueArn"])
    (job_id, _), = moto_asl.resources_of_type(template, JOB_RESOURCE_TYPE).items()
    names[f"{job_id}.JobId"] = current_job

    properties = function["Properties"]
    environment = moto_asl.resolve(properties["Environment"]["Variables"], names)
    names[f"{function_id}.Arn"] = aws["lambda"].create_function(
        FunctionName=function_id, Role=role, Runtime=properties["Runtime"], Handler=properties["Handler"],
        Timeout=properties["Timeout"], MemorySize=properties["MemorySize"], Environment={"Variables": environment},
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},  # an empty zip: the code runs in-process
    )["FunctionArn"]
    recorded = {environment[name] for name in (TrackerEnv.STATUS_PARAMETER, TrackerEnv.MODEL_PARAMETER,
                                               TrackerEnv.FAILURE_PARAMETER, TrackerEnv.JOB_ID_PARAMETER)}
    for parameter in moto_asl.resources_of_type(template, "AWS::SSM::Parameter").values():
        if parameter["Properties"]["Name"] in recorded:
            aws["ssm"].put_parameter(Name=parameter["Properties"]["Name"], Type=parameter["Properties"]["Type"],
                                     Value=moto_asl.resolve(parameter["Properties"]["Value"], names))

    (machine,) = moto_asl.resources_of_type(template, "AWS::StepFunctions::StateMachine").values()
    definition = rewrite(moto_asl.resolve(machine["Properties"]["DefinitionString"], names))
    arn = aws["stepfunctions"].create_state_machine(
        name=machine["Properties"]["StateMachineName"], definition=definition, roleArn=role)["stateMachineArn"]
    assert arn == environment[TrackerEnv.STATE_MACHINE_ARN]  # the ARN the machine hands over to, and the handler names
    return DeployedTracker(stack_name=stack_name, region=region, environment=environment, state_machine_arn=arn,
                           queue_url=queue_url, interpreter=interpreter, sfn=aws["stepfunctions"], ssm=aws["ssm"],
                           sqs=aws["sqs"])


@pytest.fixture
def interpreter(monkeypatch: pytest.MonkeyPatch) -> Iterator[moto_asl.Interpreter]:
    with moto_asl.asl_interpreter() as running:
        # The tracker's "unknown status since" clock is the executions' clock.
        monkeypatch.setattr(tracker, "time", SimpleNamespace(time=running.clock.time))
        yield running


@pytest.fixture
def bedrock(monkeypatch: pytest.MonkeyPatch, interpreter: moto_asl.Interpreter) -> StubbedAws:
    """Bedrock's answers, checked against botocore's model; every other AWS call goes to moto.

    moto's own Bedrock looks jobs up by name only (the tracker passes the job ARN), so a Stubber
    answers GetModelCustomizationJob.
    """
    stubbed = StubbedAws("us-east-1")
    real_client = clients.aws_client
    monkeypatch.setattr(clients, "aws_client", lambda service, region=None: (
        stubbed.client(service, region) if service == "bedrock" else real_client(service, region)))
    return stubbed


def nova_tracker(templates: dict[str, Template], interpreter: moto_asl.Interpreter, *,
                 current_job: str = NOVA_JOB_ARN, rewrite: Callable[[str], str] = lambda d: d) -> DeployedTracker:
    return deploy_tracker(templates[NOVA].to_json(), NOVA, current_job=current_job, interpreter=interpreter,
                          rewrite=rewrite)


def nova_polls(bedrock: StubbedAws, *statuses: str, **final: Any) -> None:
    """What Bedrock reports on each poll, in order; `final` are the last answer's extra fields."""
    for index, status in enumerate(statuses):
        extra = final if index == len(statuses) - 1 else {}
        bedrock.stub("bedrock").add_response(
            "get_model_customization_job", nova_job_description(NOVA_JOB_ARN, NOVA_JOB_NAME, status, **extra),
            {"jobIdentifier": NOVA_JOB_ARN})


def launch_input(variant: Variant = Variant.NOVA, job_id: str = NOVA_JOB_ARN, job_name: str = NOVA_JOB_NAME) -> dict:
    return tracker_input(variant, job_id, job_name)  # what the launcher starts the tracker with


def poll_loop(polls: int) -> list[str]:
    rounds = ["Poll job", "Job ended?", "Wait before next poll"] * polls
    return ["Fill in defaults", "Apply the input", "Plan handover", *rounds[:-1]]


# --- the job ends ------------------------------------------------------------------------


def test_a_nova_job_that_completes_is_recorded_and_notified_once(templates, interpreter, bedrock) -> None:
    deployed = nova_tracker(templates, interpreter)
    nova_polls(bedrock, "InProgress", "InProgress", "Completed", outputModelArn=NOVA_MODEL_ARN)

    execution = deployed.run(launch_input())

    assert execution["status"] == "SUCCEEDED"
    assert moto_asl.entered_states(deployed.history(execution["executionArn"])) == [*poll_loop(3), "Job ended"]
    assert deployed.clock.waits == [POLL_SECONDS, POLL_SECONDS] and deployed.clock.backoffs == []
    assert [invocation.event["polls"] for invocation in interpreter.invocations] == [0, 1, 2]
    assert deployed.parameter(TrackerEnv.STATUS_PARAMETER) == "Completed"
    assert deployed.parameter(TrackerEnv.MODEL_PARAMETER) == NOVA_MODEL_ARN
    (notification,) = deployed.notifications()
    assert notification["subject"] == f"RFT job {NOVA_JOB_NAME} Completed"
    assert notification["attributes"] == {"status": "Completed", "variant": "nova"}
    assert f"Model: {NOVA_MODEL_ARN}" in notification["message"]
    output = json.loads(execution["output"])
    assert (output["status"], output["terminal"], output["polls"]) == ("Completed", True, 3)
    bedrock.assert_done()


@pytest.mark.parametrize(("status", "extra", "failure"), [
    ("Failed", {"failureMessage": "Lambda grader returned an invalid response"},
     "Failed: Lambda grader returned an invalid response"),
    ("Stopped", {}, "Stopped: the job was stopped before it finished (stack update or delete, or an operator)"),
])
def test_a_nova_job_that_fails_or_is_stopped_ends_tracking_with_the_reason_recorded(
    templates, interpreter, bedrock, status: str, extra: dict, failure: str
) -> None:
    """The job's end, not the tracker's: the execution succeeds; the record and the message say why."""
    deployed = nova_tracker(templates, interpreter)
    nova_polls(bedrock, "InProgress", status, **extra)

    execution = deployed.run(launch_input())

    assert execution["status"] == "SUCCEEDED"
    assert moto_asl.entered_states(deployed.history(execution["executionArn"]))[-1] == "Job ended"
    assert deployed.parameter(TrackerEnv.STATUS_PARAMETER) == status
    assert deployed.parameter(TrackerEnv.FAILURE_PARAMETER) == failure
    assert deployed.parameter(TrackerEnv.MODEL_PARAMETER) == "NONE"
    (notification,) = deployed.notifications()
    assert notification["attributes"]["status"] == status and f"Outcome: {failure}" in notification["message"]


def test_a_mantle_job_that_succeeds_is_recorded_through_the_signed_api(
    templates, interpreter, mantle: FakeMantle, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed_job = mantle.add_job(status="running")
    deployed = deploy_tracker(templates[MANTLE].to_json(), MANTLE, current_job=deployed_job["id"],
                              interpreter=interpreter)
    model = "openai.gpt-oss-20b:ft:char-limit:abc123"
    # The job finishes while the tracker waits.
    deployed.clock.on_wait.append(lambda: mantle.jobs[deployed_job["id"]].update(status="succeeded",
                                                                                 fine_tuned_model=model))

    execution = deployed.run(launch_input(Variant.MANTLE, deployed_job["id"], MANTLE_JOB_NAME))

    assert execution["status"] == "SUCCEEDED"
    assert moto_asl.entered_states(deployed.history(execution["executionArn"])) == [*poll_loop(2), "Job ended"]
    assert deployed.parameter(TrackerEnv.STATUS_PARAMETER) == "succeeded"
    assert deployed.parameter(TrackerEnv.MODEL_PARAMETER) == model
    (notification,) = deployed.notifications()
    assert notification["attributes"] == {"status": "succeeded", "variant": "mantle"}
    assert [(r.method, r.route) for r in mantle.requests] == [("GET", f"/fine_tuning/jobs/{deployed_job['id']}")] * 2
    mantle.assert_all_signed()


# --- the tracker cannot go on --------------------------------------------------------------


@pytest.mark.parametrize("current", [True, False], ids=["current job", "replaced job"])
def test_a_tracker_that_keeps_crashing_is_retried_then_reports_and_fails(
    templates, interpreter, bedrock, current: bool
) -> None:
    """Every poll raises: six retries with back-off, then Step Functions' own SSM and SNS calls say so."""
    deployed = nova_tracker(templates, interpreter, current_job=NOVA_JOB_ARN if current else NOVA_JOB_ARN_2)
    for _ in range(1 + len(POLL_BACKOFF)):
        bedrock.stub("bedrock").add_client_error("get_model_customization_job", "AccessDeniedException", "denied", 403)

    execution = deployed.run(launch_input())

    assert (execution["status"], execution["error"]) == ("FAILED", TRACKER_FAILED)
    assert [invocation.error for invocation in interpreter.invocations] == ["AccessDeniedException"] * 7
    assert deployed.clock.backoffs == POLL_BACKOFF and deployed.clock.waits == []
    entered = moto_asl.entered_states(deployed.history(execution["executionArn"]))
    report = ["Prepare the failure report", "Read the current job id", "Still the stack's job?",
              *(["Record that tracking stopped"] if current else []), "Notify that tracking stopped", "Tracking failed"]
    assert entered == ["Fill in defaults", "Apply the input", "Plan handover", "Poll job", *report]
    status = deployed.parameter(TrackerEnv.STATUS_PARAMETER)
    if current:
        assert status == ("TrackerGaveUp: the tracker failed (AccessDeniedException) and stopped following the job; "
                          "it may still be running (rftctl status)")
    else:
        assert status == "NOT_STARTED"  # another job's record is left alone
    (notification,) = deployed.notifications()
    assert notification["subject"] == "RFT job tracking stopped"
    message = notification["message"]
    assert f"Check it: rftctl status --job {NOVA_JOB_ARN}." in message and "AccessDeniedException" in message
    # The restart instructions name this machine and an input that starts tracking again from scratch.
    restart = message.partition(f"start an execution of {deployed.state_machine_arn} with input ")[2]
    assert json.loads(restart) == launch_input()


def test_a_status_unknown_for_too_long_gives_up_loudly(templates, interpreter, bedrock) -> None:
    """unknownSince carries over (a handover passes it on): 12 hours after it, tracking ends, and says so."""
    deployed = nova_tracker(templates, interpreter)
    nova_polls(bedrock, "Paused", "Paused")
    since = deployed.clock.now - tracker.UNKNOWN_STATUS_GIVE_UP_HOURS * 3600 + POLL_SECONDS

    execution = deployed.run({**launch_input(), "unknownSince": since})

    assert (execution["status"], execution["error"]) == ("FAILED", TRACKER_GAVE_UP)
    assert moto_asl.entered_states(deployed.history(execution["executionArn"])) == [*poll_loop(2),
                                                                                    "Tracking gave up"]
    assert deployed.parameter(TrackerEnv.STATUS_PARAMETER).startswith(
        "TrackerGaveUp: its status 'Paused' has meant nothing to the tracker for 12 hours")
    (notification,) = deployed.notifications()
    assert notification["attributes"]["status"] == TRACKER_GAVE_UP


# --- a long job: one execution hands over to the next ------------------------------------


def test_a_long_job_is_handed_over_to_a_new_execution_that_tracks_it_to_the_end(templates, interpreter,
                                                                                bedrock) -> None:
    """The handover runs after MAX_POLLS_PER_EXECUTION polls; here after 2 (the one edit of the definition)."""
    planned = f"States.MathAdd($.polls, {min(MAX_POLLS_PER_EXECUTION, HANDOVER_AFTER_MINUTES // POLL_MINUTES)})"

    def hand_over_after_two_polls(definition: str) -> str:
        assert definition.count(planned) == 1, f"the definition no longer plans the handover with {planned}"
        return definition.replace(planned, "States.MathAdd($.polls, 2)")

    deployed = nova_tracker(templates, interpreter, rewrite=hand_over_after_two_polls)
    nova_polls(bedrock, "InProgress", "InProgress", "Completed", outputModelArn=NOVA_MODEL_ARN)

    parent = deployed.run(launch_input())

    assert parent["status"] == "SUCCEEDED"
    assert moto_asl.entered_states(deployed.history(parent["executionArn"])) == [
        *poll_loop(2), "Continue in a new execution", "Handed over"]
    first, child = deployed.executions()
    assert json.loads(parent["output"])["ExecutionArn"] == child["executionArn"]  # the answer of StartExecution
    assert first["executionArn"] == parent["executionArn"]
    # Named after the parent, so a StartExecution retried after a lost answer finds this one (no second tracker).
    assert child["name"] == "handover-" + hashlib.md5(parent["executionArn"].encode()).hexdigest()
    described = deployed.sfn.describe_execution(executionArn=child["executionArn"])
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["input"]) == {
        **launch_input(), "polls": 2, "unknownSince": None,
        "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": parent["executionArn"],
    }
    assert moto_asl.entered_states(deployed.history(child["executionArn"])) == [*poll_loop(1), "Job ended"]
    assert [invocation.event["polls"] for invocation in interpreter.invocations] == [0, 1, 2]
    assert deployed.parameter(TrackerEnv.STATUS_PARAMETER) == "Completed"
    assert [n["attributes"]["status"] for n in deployed.notifications()] == ["Completed"]  # once, by the child
    bedrock.assert_done()


def test_a_handover_whose_child_already_ran_ends_as_handed_over(templates, interpreter, bedrock) -> None:
    """The handover's StartExecution answered with "already exists": its first attempt started the child
    (the answer was lost) and the child has closed, so AWS refuses the retry. That is a handover done,
    not a tracker failure: no status overwritten, no false "tracking stopped" message."""
    planned = f"States.MathAdd($.polls, {min(MAX_POLLS_PER_EXECUTION, HANDOVER_AFTER_MINUTES // POLL_MINUTES)})"
    deployed = nova_tracker(templates, interpreter,
                            rewrite=lambda text: text.replace(planned, "States.MathAdd($.polls, 1)"))
    parent_name = tracker_execution_name(NOVA_JOB_NAME, NOVA_JOB_ARN)
    parent_arn = deployed.state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + parent_name
    # The child the lost first attempt started: it saw the job end and closed.
    nova_polls(bedrock, "Completed", outputModelArn=NOVA_MODEL_ARN)
    child = deployed.sfn.start_execution(
        stateMachineArn=deployed.state_machine_arn, name="handover-" + hashlib.md5(parent_arn.encode()).hexdigest(),
        input=json.dumps({**launch_input(), "polls": 1}))["executionArn"]
    assert moto_asl.wait_until_finished(deployed.sfn, child)["status"] == "SUCCEEDED"
    nova_polls(bedrock, "InProgress")  # the parent's one poll before it hands over

    parent = deployed.run(launch_input())

    assert parent["executionArn"] == parent_arn and parent["status"] == "SUCCEEDED"
    assert moto_asl.entered_states(deployed.history(parent_arn))[-2:] == ["Continue in a new execution",
                                                                           "Handed over"]
    assert deployed.clock.backoffs == []  # not retried: the name says the child exists
    # Not overwritten by a failure report (the parent's own poll, run after the child here, wrote its status).
    assert not deployed.parameter(TrackerEnv.STATUS_PARAMETER).startswith("TrackerGaveUp")
    assert [n["attributes"]["status"] for n in deployed.notifications()] == ["Completed"]  # the child's only
    bedrock.assert_done()
