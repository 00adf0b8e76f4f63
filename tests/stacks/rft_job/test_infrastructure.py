"""Template tests of the job launcher and tracker: dependencies, scoped IAM, the tracking loop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from stacks.rft_job.infrastructure import (
    HANDOVER_AFTER_MINUTES,
    LAUNCHER_HANDLER,
    MAX_POLLS_PER_EXECUTION,
    TRACKER_HANDLER,
)
from tests.conftest import role_statements, synth, synth_stacks

NOVA, MANTLE = "BedrockRft-Nova2Lite", "BedrockRft-GptOss20b"


def logical_id(template: Template, type_name: str, startswith: str = "") -> str:
    found = [k for k in template.find_resources(type_name) if k.startswith(startswith)]
    assert len(found) == 1, (type_name, startswith, found)
    return found[0]


def resource(template: Template, logical: str) -> dict[str, Any]:
    return template.to_json()["Resources"][logical]



def function_role(template: Template, handler: str) -> str:
    functions = template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": handler}})
    assert len(functions) == 1
    return next(iter(functions.values()))["Properties"]["Role"]["Fn::GetAtt"][0]


def bedrock(resource_path: str) -> dict:
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":bedrock:", {"Ref": "AWS::Region"}, ":",
                              {"Ref": "AWS::AccountId"}, f":{resource_path}"]]}


def mantle_projects() -> dict:
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":bedrock-mantle:", {"Ref": "AWS::Region"}, ":",
                              {"Ref": "AWS::AccountId"}, ":project/*"]]}


@pytest.mark.parametrize("stack", [NOVA, MANTLE])
def test_job_is_created_after_data_grader_and_role(templates, stack) -> None:
    template = templates[stack]
    job = resource(template, logical_id(template, "Custom::BedrockRftJob"))
    depends = set(job["DependsOn"])
    assert logical_id(template, "Custom::CDKBucketDeployment") in depends
    assert logical_id(template, "AWS::Lambda::Version") in depends
    if stack == NOVA:
        assert {logical_id(template, "AWS::IAM::Role", "BedrockAccessRole"),
                logical_id(template, "AWS::IAM::Policy", "BedrockAccessPolicy")} <= depends
    live = [
        logical_id(template, "AWS::SSM::Parameter", f"JobTracker{name}Parameter")
        for name in ("Status", "Model", "Failure")
    ]
    assert set(live) <= depends


@pytest.mark.parametrize("stack", [NOVA, MANTLE])
def test_a_stack_delete_can_still_tell_the_topic_that_it_stopped_the_job(templates, stack) -> None:
    """The tracker goes with the stack: the launcher's Delete records and announces the stop, so the
    topic is deleted after the job resource, and the launcher may publish to it and read the stack."""
    template = templates[stack]
    topic = logical_id(template, "AWS::SNS::Topic")
    job = resource(template, logical_id(template, "Custom::BedrockRftJob"))
    assert topic in job["DependsOn"]
    launcher = template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": LAUNCHER_HANDLER}})
    assert next(iter(launcher.values()))["Properties"]["Environment"]["Variables"]["TOPIC_ARN"] == {"Ref": topic}
    statements = list(role_statements(template, function_role(template, LAUNCHER_HANDLER)).values())
    publish = [st for st in statements if st["Action"] == "sns:Publish"]
    assert publish and all(st["Resource"] == {"Ref": topic} for st in publish)
    assert {"Sid": "SeeWhetherTheStackIsGoing", "Effect": "Allow", "Action": "cloudformation:DescribeStacks",
            "Resource": {"Ref": "AWS::StackId"}} in statements


def test_job_spec_carries_everything_the_job_needs(templates) -> None:
    nova, mantle = templates[NOVA], templates[MANTLE]
    nova_spec = json.dumps(resource(nova, logical_id(nova, "Custom::BedrockRftJob"))["Properties"]["JobSpec"])
    for fragment in (
        '\\"variant\\":\\"nova\\"',
        '\\"baseModel\\":\\"amazon.nova-2-lite-v1:0:256k\\"',
        '\\"hyperParameters\\":{\\"epochCount\\":10,\\"trainingSamplePerPrompt\\":8}',
        '\\"graderCodeSha256\\":\\"',
        '\\"datasetSha256\\":{\\"training\\":\\"',
        "/training-data/char-limit/training.jsonl",
        "/training-data/char-limit/validation.jsonl",
        "/output/",
        '\\"roleArn\\":\\"',
        '\\"stateMachineArn\\":\\"',
        '\\"rft:stack\\":\\"BedrockRft-Nova2Lite\\"',
    ):
        assert fragment in nova_spec, fragment
    version_id = logical_id(nova, "AWS::Lambda::Version")
    assert json.dumps({"Ref": version_id}) in nova_spec  # the pinned version, never $LATEST
    mantle_spec = json.dumps(resource(mantle, logical_id(mantle, "Custom::BedrockRftJob"))["Properties"]["JobSpec"])
    assert '\\"variant\\":\\"mantle\\"' in mantle_spec and '\\"hyperParameters\\":{\\"n_epochs\\":1}' in mantle_spec
    assert "roleArn" not in mantle_spec


def test_nova_launcher_may_create_describe_stop_and_pass_only_the_service_role(templates) -> None:
    nova = templates[NOVA]
    statements = role_statements(nova, function_role(nova, LAUNCHER_HANDLER))
    jobs, models = bedrock("model-customization-job/*"), bedrock("custom-model/*")
    base_model = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":bedrock:",
                {"Ref": "AWS::Region"},
                "::foundation-model/amazon.nova-2-lite-v1:0:256k",
            ],
        ]
    }
    assert statements["CreateJob"]["Action"] == "bedrock:CreateModelCustomizationJob"
    assert sorted(map(json.dumps, statements["CreateJob"]["Resource"])) == sorted(
        map(json.dumps, [models, jobs, base_model])
    )
    assert statements["TagJobAndModel"]["Action"] == "bedrock:TagResource"
    assert statements["DescribeAndStopJob"] == {
        "Sid": "DescribeAndStopJob",
        "Effect": "Allow",
        "Resource": jobs,
        "Action": ["bedrock:GetModelCustomizationJob", "bedrock:StopModelCustomizationJob"],
    }
    assert statements["PassServiceRoleToBedrock"] == {
        "Sid": "PassServiceRoleToBedrock",
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": {"Fn::GetAtt": [logical_id(nova, "AWS::IAM::Role", "BedrockAccessRole"), "Arn"]},
        "Condition": {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
    }
    start = [s for s in statements.values() if s["Action"] == "states:StartExecution"]
    assert start and start[0]["Resource"] == {"Ref": logical_id(nova, "AWS::StepFunctions::StateMachine")}
    assert_ledger_grants(nova, statements)
    assert set(statements) == {
        "WriteOwnLogs",
        "CreateJob",
        "TagJobAndModel",
        "DescribeAndStopJob",
        "PassServiceRoleToBedrock",
        "#1:states:StartExecution",
        "ReadWriteJobLedger",
        "ListJobLedger",
        # A stack delete's last word about the job it stopped (the tracker goes with the stack).
        "NotifyThatTheStackStoppedTheJob",
        "EncryptNotifications",
        "SeeWhetherTheStackIsGoing",
    }


def assert_ledger_grants(template: Template, statements: dict[str, Any]) -> None:
    """Read and write jobs/ of the stack's own bucket, list only that prefix."""
    bucket = logical_id(template, "AWS::S3::Bucket", "TrainingDataBucket")
    assert statements["ReadWriteJobLedger"] == {
        "Sid": "ReadWriteJobLedger",
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:PutObject"],
        "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/jobs/*"]]},
    }
    assert statements["ListJobLedger"] == {
        "Sid": "ListJobLedger",
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": {"Fn::GetAtt": [bucket, "Arn"]},
        "Condition": {"StringLike": {"s3:prefix": ["jobs/*"]}},
    }


def test_mantle_launcher_is_scoped_to_its_model_data_and_grader(templates) -> None:
    mantle = templates[MANTLE]
    statements = role_statements(mantle, function_role(mantle, LAUNCHER_HANDLER))
    assert statements["CreateJobForBaseModel"]["Condition"] == {
        "StringEquals": {"bedrock-mantle:Model": "openai.gpt-oss-20b"}
    }
    assert statements["CreateJobForBaseModel"]["Resource"] == mantle_projects()
    assert statements["UploadTrainingFiles"]["Action"] == ["bedrock-mantle:CreateFile", "bedrock-mantle:DeleteFile"]
    assert sorted(statements["FindDescribeAndCancelJob"]["Action"]) == [
        "bedrock-mantle:CancelFineTuningJob",
        "bedrock-mantle:GetFineTuningJob",
        "bedrock-mantle:ListFineTuningJobs",
    ]
    grader = logical_id(mantle, "AWS::Lambda::Function", "GraderFunction")
    assert statements["InvokeGraderForJob"]["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [grader, "Arn"]}, ":*"]]}
    bucket = logical_id(mantle, "AWS::S3::Bucket", "TrainingDataBucket")
    assert statements["ReadTrainingData"]["Resource"] == {
        "Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/training-data/*"]]
    }
    assert not any(s["Action"] == "iam:PassRole" for s in statements.values())
    assert_ledger_grants(mantle, statements)


@pytest.mark.parametrize("stack", [NOVA, MANTLE])
def test_tracker_writes_only_its_parameters_and_topic(templates, stack) -> None:
    template = templates[stack]
    statements = role_statements(template, function_role(template, TRACKER_HANDLER))
    written = json.dumps(statements["RecordJobState"]["Resource"])
    for leaf in ("status", "model", "failure-message"):
        assert f":parameter/bedrock-rft/{stack}/job/{leaf}" in written
    # Not the job id (the stack writes it), nor the deployment ARN unless the tracker deploys.
    assert "/job/id" not in written and "/job/deployment-arn" not in written
    assert statements["ReadCurrentJobId"]["Action"] == "ssm:GetParameter"
    assert statements["NotifyJobEnd"] == {
        "Sid": "NotifyJobEnd",
        "Effect": "Allow",
        "Action": "sns:Publish",
        "Resource": {"Ref": logical_id(template, "AWS::SNS::Topic")},
    }
    # It stops its job once the job is no longer the stack's (a replacement whose Delete failed).
    if stack == NOVA:
        described = ["bedrock:GetModelCustomizationJob", "bedrock:StopModelCustomizationJob"]
        sid, resource_path = "DescribeAndStopJob", bedrock("model-customization-job/*")
    else:
        described = ["bedrock-mantle:CancelFineTuningJob", "bedrock-mantle:GetFineTuningJob"]
        sid, resource_path = "DescribeAndCancelJob", mantle_projects()
    assert statements[sid] == {"Sid": sid, "Effect": "Allow", "Action": described, "Resource": resource_path}
    assert statements["SeeWhetherTheStackSettled"] == {
        "Sid": "SeeWhetherTheStackSettled",
        "Effect": "Allow",
        "Action": "cloudformation:DescribeStacks",
        "Resource": {"Ref": "AWS::StackId"},
    }
    assert_ledger_grants(template, statements)
    assert set(statements) == {
        "WriteOwnLogs",
        "RecordJobState",
        "ReadCurrentJobId",
        "NotifyJobEnd",
        "EncryptNotifications",
        sid,
        "SeeWhetherTheStackSettled",
        "ReadWriteJobLedger",
        "ListJobLedger",
    }


def test_tracker_environment_names_the_parameters(templates) -> None:
    nova = templates[NOVA]
    functions = nova.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": TRACKER_HANDLER}})
    variables = next(iter(functions.values()))["Properties"]["Environment"]["Variables"]
    assert variables["STATUS_PARAMETER"] == "/bedrock-rft/BedrockRft-Nova2Lite/job/status"
    assert variables["JOB_ID_PARAMETER"] == "/bedrock-rft/BedrockRft-Nova2Lite/job/id"
    assert variables["DEPLOYMENT_PARAMETER"] == "/bedrock-rft/BedrockRft-Nova2Lite/job/deployment-arn"
    assert variables["VARIANT"] == "nova" and variables["CREATE_DEPLOYMENT"] == "false"
    assert variables["TOPIC_ARN"] == {"Ref": logical_id(nova, "AWS::SNS::Topic")}
    assert variables["STACK_ID"] == {"Ref": "AWS::StackId"}
    bucket = logical_id(nova, "AWS::S3::Bucket", "TrainingDataBucket")
    assert variables["LEDGER_URI"] == {"Fn::Join": ["", ["s3://", {"Ref": bucket}, "/jobs/"]]}
    assert ":stateMachine:bedrockrft-nova2lite-job-tracker" in json.dumps(variables["STATE_MACHINE_ARN"])


def test_job_id_parameter_follows_the_launched_job(templates) -> None:
    nova = templates[NOVA]
    parameters = nova.find_resources(
        "AWS::SSM::Parameter", {"Properties": {"Name": "/bedrock-rft/BedrockRft-Nova2Lite/job/id"}}
    )
    value = next(iter(parameters.values()))["Properties"]["Value"]
    assert value == {"Fn::GetAtt": [logical_id(nova, "Custom::BedrockRftJob"), "JobId"]}


def state_machine_definition(template: Template) -> tuple[dict[str, Any], dict[str, Any]]:
    machine = resource(template, logical_id(template, "AWS::StepFunctions::StateMachine"))
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    return machine, json.loads("".join(p if isinstance(p, str) else "TOKEN" for p in parts))


def test_state_machine_polls_first_then_waits_until_terminal(templates) -> None:
    nova = templates[NOVA]
    machine, definition = state_machine_definition(nova)
    assert definition["StartAt"] == "Fill in defaults"
    states = definition["States"]
    # A hand-started execution's missing fields get defaults before anything reads them.
    assert states["Fill in defaults"]["Parameters"] == {
        "variant": "nova",
        "jobName.$": "$.jobId",
        "polls": 0,
        "given.$": "$",
    }
    assert states["Fill in defaults"]["Next"] == "Apply the input"
    assert states["Apply the input"] == {
        "Type": "Pass",
        "Parameters": {"state.$": "States.JsonMerge($, $.given, false)"},
        "OutputPath": "$.state",
        "Next": "Plan handover",
    }
    assert states["Plan handover"]["Next"] == "Poll job"
    assert states["Poll job"]["Next"] == "Job ended?"
    assert states["Job ended?"]["Choices"][1] == {"Variable": "$.terminal", "BooleanEquals": True, "Next": "Job ended"}
    assert states["Job ended?"]["Default"] == "Wait before next poll"
    assert states["Wait before next poll"] == {"Type": "Wait", "Seconds": 300, "Next": "Poll job"}
    assert states["Poll job"]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Prepare the failure report"}
    ]
    assert states["Job ended?"]["Choices"][0] == {
        "Variable": "$.gaveUp",
        "BooleanEquals": True,
        "Next": "Tracking gave up",
    }
    assert states["Tracking gave up"]["Type"] == "Fail"
    assert any("Lambda.TooManyRequestsException" in r["ErrorEquals"] for r in states["Poll job"]["Retry"])
    assert machine["Properties"]["TracingConfiguration"] == {"Enabled": True}
    assert machine["Properties"]["LoggingConfiguration"]["Level"] == "ALL"


def test_long_jobs_continue_in_a_new_execution_before_the_history_fills(templates) -> None:
    nova = templates[NOVA]
    machine, definition = state_machine_definition(nova)
    states = definition["States"]
    assert states["Plan handover"]["Parameters"] == {"afterPolls.$": "States.MathAdd($.polls, 1000)"}
    assert states["Job ended?"]["Choices"][2] == {
        "Variable": "$.polls",
        "NumericGreaterThanEqualsPath": "$.handover.afterPolls",
        "Next": "Continue in a new execution",
    }
    handover = states["Continue in a new execution"]
    assert handover["Resource"].endswith(":states:::states:startExecution") and handover["Next"] == "Handed over"
    # A child of this execution's name that exists already is the handover done (never retried); a handover
    # that keeps failing otherwise ends tracking loudly, as a failing poll does.
    already = "StepFunctions.ExecutionAlreadyExistsException"
    assert handover["Retry"][0] == {"ErrorEquals": [already], "MaxAttempts": 0}
    assert handover["Retry"][1]["ErrorEquals"] == ["States.ALL"] and handover["Retry"][1]["MaxAttempts"] == 6
    assert handover["Catch"] == [
        {"ErrorEquals": [already], "ResultPath": None, "Next": "Handed over"},
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Prepare the failure report"},
    ]
    assert handover["Parameters"]["Name.$"] == "States.Format('handover-{}', States.Hash($$.Execution.Id, 'MD5'))"
    assert handover["Parameters"]["StateMachineArn"].endswith(":stateMachine:bedrockrft-nova2lite-job-tracker")
    assert handover["Parameters"]["Input"] == {
        "variant.$": "$.variant",
        "jobId.$": "$.jobId",
        "jobName.$": "$.jobName",
        "polls.$": "$.polls",
        "unknownSince.$": "$.unknownSince",
        "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id",
    }
    assert machine["Properties"]["StateMachineName"] == "bedrockrft-nova2lite-job-tracker"
    # The machine may start itself, and nothing else.
    role = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    start = [s for s in role_statements(nova, role).values() if s["Action"] == "states:StartExecution"]
    assert [s["Resource"] for s in start] == [
        {
            "Fn::Join": [
                "",
                [
                    "arn:aws:states:us-east-1:",
                    {"Ref": "AWS::AccountId"},
                    ":stateMachine:bedrockrft-nova2lite-job-tracker",
                ],
            ]
        }
    ]


@pytest.mark.parametrize("poll_minutes", [1, 5, 60])
def test_one_execution_stays_within_the_history_limit(tmp_path: Path, poll_minutes: int) -> None:
    _, definition = state_machine_definition(
        synth(tmp_path, {"rft:trackerPollMinutes": poll_minutes}, nag=False)[MANTLE]
    )
    expression = definition["States"]["Plan handover"]["Parameters"]["afterPolls.$"]
    polls = int(expression.removeprefix("States.MathAdd($.polls, ").removesuffix(")"))
    assert polls == min(MAX_POLLS_PER_EXECUTION, HANDOVER_AFTER_MINUTES // poll_minutes)
    # 9 history events per poll round, with room left for retried polls, and well within the
    # execution's 30-day timeout.
    assert polls * 9 <= 10_000 and polls * poll_minutes <= 8 * 24 * 60


def test_nova_model_deployment_is_opt_in(tmp_path: Path) -> None:
    templates = synth(tmp_path, {"rft:nova": {"createModelDeployment": True}}, nag=True)
    template = templates[NOVA]
    statements = role_statements(template, function_role(template, TRACKER_HANDLER))
    assert statements["DeployTrainedModel"]["Action"] == "bedrock:CreateCustomModelDeployment"
    assert sorted(map(json.dumps, statements["DeployTrainedModel"]["Resource"])) == sorted(
        map(json.dumps, [bedrock("custom-model/*"), bedrock("custom-model-deployment/*")])
    )
    assert statements["DescribeDeployment"]["Resource"] == bedrock("custom-model-deployment/*")
    assert "/job/deployment-arn" in json.dumps(statements["RecordJobState"]["Resource"])
    functions = template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": TRACKER_HANDLER}})
    assert next(iter(functions.values()))["Properties"]["Environment"]["Variables"]["CREATE_DEPLOYMENT"] == "true"


def test_email_subscriptions_from_config(tmp_path: Path) -> None:
    templates = synth(tmp_path, {"rft:notificationEmails": ["ml-team@example.com"]}, nag=False)
    subscriptions = templates[NOVA].find_resources("AWS::SNS::Subscription")
    assert [s["Properties"]["Endpoint"] for s in subscriptions.values()] == ["ml-team@example.com"]
    assert [s["Properties"]["Protocol"] for s in subscriptions.values()] == ["email"]


def test_topic_is_encrypted_and_ssl_only(templates) -> None:
    nova = templates[NOVA]
    topic = resource(nova, logical_id(nova, "AWS::SNS::Topic"))
    # The stack's own rotated key: CloudWatch alarms cannot publish with the AWS managed alias/aws/sns.
    key = logical_id(nova, "AWS::KMS::Key")
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key, "Arn"]}
    assert resource(nova, key)["Properties"]["EnableKeyRotation"] is True
    policy = next(iter(nova.find_resources("AWS::SNS::TopicPolicy").values()))
    deny = policy["Properties"]["PolicyDocument"]["Statement"][0]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_launcher_timeout_leaves_room_inside_the_provider_framework(templates) -> None:
    for template in templates.values():
        functions = template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": LAUNCHER_HANDLER}})
        assert next(iter(functions.values()))["Properties"]["Timeout"] == 14 * 60


# ---- the job's fingerprint, visible before anything is paid for ----------------------------


def rendered_job_spec(template: Template) -> dict[str, Any]:
    """The JobSpec property as JSON, each deploy-time value (Ref, GetAtt) replaced by a marker."""
    job = resource(template, logical_id(template, "Custom::BedrockRftJob"))
    spec = job["Properties"]["JobSpec"]
    parts = spec["Fn::Join"][1] if isinstance(spec, dict) else [spec]
    return json.loads("".join(part if isinstance(part, str) else "DEPLOY-TIME" for part in parts))


@pytest.mark.parametrize("stack", [NOVA, MANTLE])
def test_job_fingerprint_property_is_what_the_launcher_computes(templates, stack) -> None:
    from stacks.rft_job.runtime.job_spec import job_fingerprint

    template = templates[stack]
    job = resource(template, logical_id(template, "Custom::BedrockRftJob"))
    spec = rendered_job_spec(template)
    expected = job_fingerprint(
        variant=spec["variant"],
        base_model=spec["baseModel"],
        training_sha256=spec["datasetSha256"]["training"],
        validation_sha256=spec["datasetSha256"].get("validation"),
        grader_code_sha256=spec["graderCodeSha256"],
        hyper_parameters=spec["hyperParameters"],
        grader_pinned=spec["graderPinned"],
        grader_task=spec["graderTask"],
    )
    assert job["Properties"]["JobFingerprint"] == expected
    assert len(expected) == 64


def test_fingerprint_ignores_what_does_not_define_the_job(tmp_path: Path) -> None:
    """Memory, tags, poll interval and a Windows checkout of the datasets start no new job."""
    crlf = tmp_path / "crlf-data" / "char-limit"  # the folder's name is part of the S3 key
    crlf.mkdir(parents=True)
    root = Path(__file__).resolve().parents[3] / "training-data" / "char-limit"
    for name in ("training.jsonl", "validation.jsonl"):
        (crlf / name).write_bytes(b"\xef\xbb\xbf" + (root / name).read_bytes().replace(b"\n", b"\r\n"))
    baseline = synth_stacks(tmp_path / "a", nag=False)
    changed = synth_stacks(
        tmp_path / "b",
        {
            "rft:grader": {"memoryMb": 1024},
            "rft:tags": {"team": "ml"},
            "rft:trackerPollMinutes": 10,
            "rft:dataset": {"directory": str(crlf)},
        },
        nag=False,
    )
    for name, stack in baseline.items():
        assert stack.job_fingerprint is not None
        assert changed[name].job_fingerprint == stack.job_fingerprint, name
    retrained = synth_stacks(
        tmp_path / "c",
        {"rft:nova.hyperParameters.epochCount": "3", "rft:mantle.sendValidationFile": "false"},
        nag=False,
    )
    unpinned = synth_stacks(tmp_path / "d", {"rft:mantle.pinGraderVersion": "false"}, nag=False)
    # The grader's task and its options define the job too.
    stricter = synth_stacks(tmp_path / "e", {"rft:task.minShare": "0.5"}, nag=False)
    for name, stack in baseline.items():
        assert stricter[name].job_fingerprint != stack.job_fingerprint, name
    assert unpinned["BedrockRft-GptOss20b"].job_fingerprint != baseline["BedrockRft-GptOss20b"].job_fingerprint
    for name, stack in baseline.items():
        assert retrained[name].job_fingerprint != stack.job_fingerprint, name


def test_uploaded_datasets_are_the_validated_normalised_bytes(tmp_path: Path) -> None:
    crlf = tmp_path / "crlf-data" / "char-limit"
    crlf.mkdir(parents=True)
    root = Path(__file__).resolve().parents[3] / "training-data"
    for name in ("training.jsonl", "validation.jsonl"):
        (crlf / name).write_bytes((root / "char-limit" / name).read_bytes().replace(b"\n", b"\r\n"))
    (crlf / ".DS_Store").write_bytes(b"\0\0")
    (crlf / "notes.jsonl").write_text("{}\n")
    outdir = tmp_path / "out"
    synth_stacks(outdir, {"rft:dataset": {"directory": str(crlf)}}, nag=False)
    uploaded: dict[str, bytes] = {}
    for staged in outdir.glob("asset.*"):
        files = [p for p in staged.rglob("*") if p.is_file()] if staged.is_dir() else []
        if files and all(p.suffix == ".jsonl" for p in files):  # the dataset sources, as BucketDeployment ships them
            uploaded.update({p.relative_to(staged).as_posix(): p.read_bytes() for p in files})
    assert set(uploaded) == {"char-limit/training.jsonl", "char-limit/validation.jsonl"}
    for name, content in uploaded.items():
        assert content == (root / name).read_bytes(), name


# ---- models as data, and the switches for request fields AWS does not document ---------------


def test_a_model_from_the_table_gets_its_own_stack(tmp_path: Path) -> None:
    templates = synth(tmp_path, {"rft:mantle": {"models": ["nvidia.nemotron-nano-3-30b"]}}, nag=False)
    template = templates["BedrockRft-NemotronNano3-30b"]
    spec = rendered_job_spec(template)
    assert spec["baseModel"] == "nvidia.nemotron-nano-3-30b" and spec["variant"] == "mantle"
    launcher_role = function_role(template, LAUNCHER_HANDLER)
    create = role_statements(template, launcher_role)["CreateJobForBaseModel"]
    assert create["Condition"] == {"StringEquals": {"bedrock-mantle:Model": "nvidia.nemotron-nano-3-30b"}}


def test_request_field_switches_reach_the_job_spec(tmp_path: Path) -> None:
    templates = synth(
        tmp_path,
        {"rft:nova": {"sendValidationData": False}, "rft:mantle": {"sendValidationFile": False, "sendMetadata": False}},
        nag=False,
    )
    nova, mantle = rendered_job_spec(templates[NOVA]), rendered_job_spec(templates[MANTLE])
    for spec in (nova, mantle):
        assert spec.get("validationDataUri") is None and spec["datasetSha256"].get("validation") is None
    assert mantle["sendMetadata"] is False and "sendMetadata" not in nova
    # The file is still uploaded and published: the CLI's compare and preflight read it.
    assert "ValidationDataUri" in templates[NOVA].find_outputs("*")


def test_an_unpinned_mantle_grader_is_the_function_arn_with_grants_to_match(tmp_path: Path) -> None:
    templates = synth(tmp_path, {"rft:mantle": {"pinGraderVersion": False}})
    template = templates[MANTLE]
    job = resource(template, logical_id(template, "Custom::BedrockRftJob"))
    parts = job["Properties"]["JobSpec"]["Fn::Join"][1]
    grader = logical_id(template, "AWS::Lambda::Function", "GraderFunction")
    assert {"Fn::GetAtt": [grader, "Arn"]} in parts  # not the version's Ref
    assert '"graderPinned":false' in "".join(p for p in parts if isinstance(p, str))
    launcher_role = function_role(template, LAUNCHER_HANDLER)
    invoke = role_statements(template, launcher_role)["InvokeGraderForJob"]
    assert {"Fn::GetAtt": [grader, "Arn"]} in invoke["Resource"]
    [permission] = [
        p
        for p in template.find_resources("AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "bedrock.amazonaws.com"
    ]
    assert permission["Properties"]["FunctionName"] == {"Fn::GetAtt": [grader, "Arn"]}


@pytest.mark.parametrize("stack", [NOVA, MANTLE])
def test_a_tracker_that_keeps_failing_says_so_before_the_execution_fails(templates, stack) -> None:
    """Step Functions' own SSM and SNS calls report it: the Lambda that failed is not asked to."""
    template = templates[stack]
    machine, definition = state_machine_definition(template)
    states = definition["States"]
    assert states["Prepare the failure report"]["Next"] == "Read the current job id"
    read = states["Read the current job id"]
    assert read["Resource"] == "arn:TOKEN:states:::aws-sdk:ssm:getParameter"  # TOKEN: the partition
    assert read["Parameters"] == {"Name": f"/bedrock-rft/{stack}/job/id"}
    assert read["Catch"][0]["Next"] == "Notify that tracking stopped"
    choice = states["Still the stack's job?"]
    assert choice["Choices"] == [
        {"Variable": "$.currentJob.value", "StringEqualsPath": "$.jobId", "Next": "Record that tracking stopped"}
    ]
    assert choice["Default"] == "Notify that tracking stopped"
    write = states["Record that tracking stopped"]
    assert write["Resource"] == "arn:TOKEN:states:::aws-sdk:ssm:putParameter"
    assert write["Parameters"]["Name"] == f"/bedrock-rft/{stack}/job/status"
    assert write["Parameters"]["Value.$"].startswith("States.Format('TrackerGaveUp: the tracker failed ({})")
    assert write["Next"] == "Notify that tracking stopped"
    notify = states["Notify that tracking stopped"]
    assert notify["Resource"] == "arn:TOKEN:states:::sns:publish" and notify["Next"] == "Tracking failed"
    assert "rftctl status --job" in notify["Parameters"]["Message.$"]
    assert states["Tracking failed"]["Type"] == "Fail"
    # The machine's role may do exactly that: read the job id, write the status, publish.
    role = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    actions = {json.dumps(s["Action"]): s["Resource"] for s in role_statements(template, role).values()}
    assert ":parameter/bedrock-rft/" + stack + "/job/id" in json.dumps(actions['"ssm:getParameter"'])
    assert ":parameter/bedrock-rft/" + stack + "/job/status" in json.dumps(actions['"ssm:putParameter"'])
    assert actions['"sns:Publish"'] == {"Ref": logical_id(template, "AWS::SNS::Topic")}


def test_a_whole_number_hyperparameter_fingerprints_the_same_at_synth_and_at_launch(tmp_path: Path) -> None:
    """compute_multiplier 2 is 2.0 in the config and 2 in the template's JSON: one value."""
    from stacks.rft_job.runtime.job_spec import fingerprint, parse_job_spec

    template = synth(tmp_path, {"rft:mantle.hyperParameters.compute_multiplier": "2"}, nag=False)[MANTLE]
    job = resource(template, logical_id(template, "Custom::BedrockRftJob"))
    spec = rendered_job_spec(template)
    assert spec["hyperParameters"]["compute_multiplier"] == 2
    runnable = {
        **spec,
        "trainingDataUri": "s3://bucket-a/training-data/t.jsonl",
        "validationDataUri": "s3://bucket-a/training-data/v.jsonl",
        "ledgerUri": "s3://bucket-a/jobs/",
        "graderArn": "arn:aws:lambda:us-west-2:123456789012:function:grader:1",
        "stateMachineArn": "arn:aws:states:us-west-2:123456789012:stateMachine:tracker",
    }
    assert fingerprint(parse_job_spec(runnable)) == job["Properties"]["JobFingerprint"]


@pytest.mark.parametrize(
    ("handler", "service"), [(LAUNCHER_HANDLER, "rft-job-launcher"), (TRACKER_HANDLER, "rft-job-tracker")]
)
def test_powertools_takes_its_settings_from_the_template(nova, handler: str, service: str) -> None:
    """The functions' Logger() reads the service name and log level the template sets, as Lambda runs it."""
    import os
    import subprocess
    import sys

    functions = nova.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": handler}})
    variables = next(iter(functions.values()))["Properties"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == service and variables["POWERTOOLS_LOG_LEVEL"] == "INFO"
    module = handler.rsplit(".", 1)[0]
    probe = f"import {module} as m, logging; print(m.logger.service, logging.getLevelName(m.logger.log_level))"
    env = {**os.environ, **{k: v for k, v in variables.items() if k.startswith("POWERTOOLS_")}}
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
    assert run.stdout.split() == [service, "INFO"]
