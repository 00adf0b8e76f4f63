"""The job constructs built on their own, in a bare Stack, from plain values; and ids deployed stacks rely on."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from lambda_reward.runtime.tasks import load_task
from stacks.config import DatasetConfig
from stacks.rft_job.infrastructure import JobTracker, TrackerProps
from stacks.rft_job.job_record import JobRecord
from stacks.rft_job.runtime.contract import PARAMETER_NOT_STARTED, TrackerEnv, Variant
from stacks.training_data import TrainingData

ROOT = Path(__file__).resolve().parents[3]
NOVA, MANTLE = "BedrockRft-Nova2Lite", "BedrockRft-GptOss20b"


def bare_stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(context={"aws:cdk:bundling-stacks": []}), "Bare",
                     env=cdk.Environment(account="123456789012", region="us-west-2"))


def parameters(template: Template) -> dict[str, str]:
    return {p["Properties"]["Name"]: p["Properties"]["Value"]
            for p in template.find_resources("AWS::SSM::Parameter").values()}


@pytest.mark.parametrize("records_deployment", [False, True])
def test_the_job_record_alone(records_deployment: bool) -> None:
    stack = bare_stack()
    record = JobRecord(stack, "Record", parameter_prefix="/team/stack", stack_name="Bare",
                       records_deployment=records_deployment)
    record.set_current_job("job-1")
    found = parameters(Template.from_stack(stack))
    expected = {"/team/stack/job/status": PARAMETER_NOT_STARTED, "/team/stack/job/model": "NONE",
                "/team/stack/job/failure-message": "NONE", "/team/stack/job/id": "job-1"}
    if records_deployment:
        expected["/team/stack/job/deployment-arn"] = "NONE"
    assert found == expected
    assert len(record.live_parameters) == 3 + records_deployment


def test_the_tracker_alone_from_plain_values() -> None:
    stack = bare_stack()
    data = TrainingData(stack, "Data", dataset=DatasetConfig(ROOT / "training-data" / "char-limit", "training.jsonl",
                                                            "validation.jsonl"), task=load_task("char-limit"))
    tracker = JobTracker(stack, "Tracker", data=data, props=TrackerProps(
        stack_name="Bare", name_prefix="bare", parameter_prefix="/team/bare", variant=Variant.MANTLE, poll_minutes=7))
    template = Template.from_stack(stack)
    assert tracker.state_machine_name == "bare-job-tracker"
    (function,) = [f for f in template.find_resources("AWS::Lambda::Function").values()
                   if TrackerEnv.STATUS_PARAMETER in f["Properties"].get("Environment", {}).get("Variables", {})]
    variables = function["Properties"]["Environment"]["Variables"]
    assert (
        variables[TrackerEnv.VARIANT] == "mantle" and variables[TrackerEnv.STATUS_PARAMETER] == "/team/bare/job/status"
    )
    assert TrackerEnv.DEPLOYMENT_PARAMETER not in variables  # mantle models need no deployment
    assert "/team/bare/job/deployment-arn" not in parameters(template)


# Resources a deployed stack keeps by logical id: renaming one replaces it, which loses what it
# holds (the job, the tracker's recorded values, the bucket) or fails on its fixed name.
STABLE = {
    "JobLauncherJobA8A610BD",
    "JobTrackerStatusParameter3698EDA4",
    "JobTrackerModelParameter482D3F4D",
    "JobTrackerFailureParameterD4B3E28E",
    "JobTrackerJobIdParameter6203CC1B",
    "JobTrackerStateMachine76A12E84",
    "JobTrackerTopic6B660F90",
    "TrainingDataBucketFD9236C9",
    "TrainingDataAccessLogs3046099E",
    "GraderLogs893F6710",
    "JobLauncherLogsF84C1781",
    "JobTrackerLogsF0089058",
}


@pytest.mark.parametrize(
    ("stack", "own"),
    [
        (NOVA, {"JobTrackerDeploymentParameterE0BF9C72"}),
        (MANTLE, {"GraderFunctionCurrentVersionBedrockInvoke6BF5E285"}),
    ],
)
def test_stateful_resources_keep_their_logical_ids(templates, stack: str, own: set[str]) -> None:
    resources = templates[stack].to_json()["Resources"]
    assert STABLE | own <= set(resources), sorted((STABLE | own) - set(resources))
