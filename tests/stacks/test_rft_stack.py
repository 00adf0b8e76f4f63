"""Template assertions for both variant stacks, on the app exactly as cdk.json configures it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from lambda_reward.infrastructure import HANDLER as GRADER_HANDLER
from stacks.published_outputs import kebab
from tests.conftest import role_statements, synth, synth_stacks

NOVA, MANTLE = "BedrockRft-Nova2Lite", "BedrockRft-GptOss20b"

COMMON_OUTPUTS = [
    "RftVariant",
    "BaseModel",
    "TrainingBucketName",
    "TrainingDataUri",
    "ValidationDataUri",
    "OutputDataUri",
    "JobLedgerUri",
    "GraderFunctionArn",
    "GraderTask",
    "GraderVersionArn",
    "NotificationTopicArn",
    "JobStatusParameterName",
    "JobModelParameterName",
    "JobFailureParameterName",
    "JobIdParameterName",
    "TrackerStateMachineArn",
    "JobId",
    "JobName",
    "CustomModelName",
    "JobConsoleUrl",
    "DashboardName",
    "DashboardUrl",
]
NOVA_ONLY_OUTPUTS = ["BedrockServiceRoleArn", "ModelDeploymentParameterName"]
MANTLE_ONLY_OUTPUTS = ["MantleBaseUrl"]


def resources(template: Template, type_name: str) -> dict[str, dict[str, Any]]:
    return template.find_resources(type_name)


def the_one(template: Template, type_name: str, props: dict | None = None) -> tuple[str, dict[str, Any]]:
    found = template.find_resources(type_name, {"Properties": props} if props else None)
    assert len(found) == 1, f"expected one {type_name}, found {sorted(found)}"
    return next(iter(found.items()))


def statements(template: Template, policy_logical_prefix: str) -> dict[str, dict[str, Any]]:
    """The statements of the IAM policy whose logical id starts with the prefix, by Sid."""
    policies = {k: v for k, v in resources(template, "AWS::IAM::Policy").items() if k.startswith(policy_logical_prefix)}
    assert len(policies) == 1, sorted(policies)
    document = next(iter(policies.values()))["Properties"]["PolicyDocument"]
    return {s.get("Sid", f"#{i}"): s for i, s in enumerate(document["Statement"])}


def all_policy_statements(template: Template) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for logical_id, resource in template.to_json()["Resources"].items():
        props = resource.get("Properties", {})
        documents = [props.get("PolicyDocument")] + [p.get("PolicyDocument") for p in props.get("Policies", [])]
        for document in filter(None, documents):
            found.extend((logical_id, s) for s in document["Statement"])
    return found


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


# ---- regions and environment -------------------------------------------------------------


def test_each_variant_is_pinned_to_its_region(tmp_path: Path) -> None:
    stacks = synth_stacks(tmp_path, nag=False)
    assert {name: stack.region for name, stack in stacks.items()} == {NOVA: "us-east-1", MANTLE: "us-west-2"}
    # Environment-agnostic account unless CDK_DEFAULT_ACCOUNT is set.
    assert all(stack.account.startswith("${Token") for stack in stacks.values())


def test_account_comes_from_cdk_default_account(tmp_path: Path) -> None:
    stacks = synth_stacks(tmp_path, account="123456789012", nag=False)
    assert {stack.account for stack in stacks.values()} == {"123456789012"}


def test_qwen_is_one_line_of_config(tmp_path: Path) -> None:
    stacks = synth_stacks(tmp_path, {"rft:mantle": {"models": ["openai.gpt-oss-20b", "qwen.qwen3-32b"]}}, nag=False)
    assert stacks["BedrockRft-Qwen3-32b"].region == "us-west-2"
    template = Template.from_stack(stacks["BedrockRft-Qwen3-32b"])
    assert template.to_json()["Outputs"]["BaseModel"]["Value"] == "qwen.qwen3-32b"


# ---- training data -----------------------------------------------------------------------


@pytest.mark.parametrize("stack", [NOVA, MANTLE])
def test_training_bucket_is_encrypted_private_versioned_logged_and_retained(templates, stack) -> None:
    template = templates[stack]
    buckets = resources(template, "AWS::S3::Bucket")
    data_id = next(k for k in buckets if k.startswith("TrainingDataBucket"))
    logs_id = next(k for k in buckets if k.startswith("TrainingDataAccessLogs"))
    for logical_id in (data_id, logs_id):
        bucket = buckets[logical_id]
        assert bucket["DeletionPolicy"] == "Retain" and bucket["UpdateReplacePolicy"] == "Retain"
        props = bucket["Properties"]
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        ]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert buckets[data_id]["Properties"]["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": logs_id},
        "LogFilePrefix": "training-bucket/",
    }
    # SSL enforced on both buckets by a deny on aws:SecureTransport false.
    policies = resources(template, "AWS::S3::BucketPolicy")
    assert len(policies) == 2
    for policy in policies.values():
        assert policy["DeletionPolicy"] == "Retain"  # a retained bucket keeps its SSL-only policy
        denies = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert any(
            s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} and s["Action"] == "s3:*" for s in denies
        )


def test_dataset_upload_goes_to_training_prefix_and_never_deletes(nova) -> None:
    _, upload = the_one(nova, "Custom::CDKBucketDeployment")
    props = upload["Properties"]
    assert props["DestinationBucketKeyPrefix"] == "training-data/"
    assert props["Prune"] is False and props["RetainOnDelete"] is True


def test_data_uris_point_at_the_uploaded_files(nova) -> None:
    outputs = nova.to_json()["Outputs"]
    bucket_ref = {"Ref": next(k for k in resources(nova, "AWS::S3::Bucket") if k.startswith("TrainingDataBucket"))}
    assert outputs["TrainingDataUri"]["Value"] == {
        "Fn::Join": ["", ["s3://", bucket_ref, "/training-data/char-limit/training.jsonl"]]
    }
    assert outputs["ValidationDataUri"]["Value"] == {
        "Fn::Join": ["", ["s3://", bucket_ref, "/training-data/char-limit/validation.jsonl"]]
    }
    assert outputs["OutputDataUri"]["Value"] == {"Fn::Join": ["", ["s3://", bucket_ref, "/output/"]]}


# ---- reward Lambda -----------------------------------------------------------------------


@pytest.mark.parametrize("stack", [NOVA, MANTLE])
def test_grader_is_python313_arm64_with_powertools_settings(templates, stack) -> None:
    template = templates[stack]
    logical_id, function = the_one(template, "AWS::Lambda::Function", {"Handler": GRADER_HANDLER})
    props = function["Properties"]
    assert props["Runtime"] == "python3.13" and props["Architectures"] == ["arm64"]
    assert props["MemorySize"] == 512 and props["Timeout"] == 60
    variables = props["Environment"]["Variables"]
    assert variables == {
        "POWERTOOLS_SERVICE_NAME": f"{stack.lower()}-reward",
        "POWERTOOLS_METRICS_NAMESPACE": "BedrockRft",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        # The task and every option, defaults included: what the grader scores is in its version.
        "RFT_TASK": '{"echoShare":0.5,"minShare":0,"name":"char-limit","rejectEcho":true,"rejectRefusals":true,'
        '"rejectRestatedLimit":true}',
    }
    log_group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
    assert resources(template, "AWS::Logs::LogGroup")[log_group_id]["Properties"]["RetentionInDays"] == 30
    # Its role may write its own log group and nothing else.
    role_policy = role_statements(template, props["Role"]["Fn::GetAtt"][0])
    assert role_policy == {
        "WriteOwnLogs": {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": {"Fn::GetAtt": [log_group_id, "Arn"]},
        }
    }
    versions = resources(template, "AWS::Lambda::Version")
    assert len(versions) == 1
    version = next(iter(versions.values()))
    assert version["DeletionPolicy"] == "Retain"
    assert version["Properties"]["FunctionName"] == {"Ref": logical_id}


def test_grader_settings_come_from_config(tmp_path: Path) -> None:
    templates = synth(
        tmp_path, {"rft:grader": {"memoryMb": 1024, "timeoutSeconds": 120, "logRetentionDays": 90}}, nag=False
    )
    _, function = the_one(templates[NOVA], "AWS::Lambda::Function", {"Handler": GRADER_HANDLER})
    assert function["Properties"]["MemorySize"] == 1024 and function["Properties"]["Timeout"] == 120
    log_group = resources(templates[NOVA], "AWS::Logs::LogGroup")[
        function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    ]
    assert log_group["Properties"]["RetentionInDays"] == 90


def test_a_long_stack_name_stays_within_resource_limits(tmp_path: Path) -> None:
    name = "BedrockRft-" + "N" * 110  # CloudFormation allows 128 characters
    templates = synth(tmp_path, {"rft:nova": {"stackName": name}, "rft:mantle": {"models": []}}, nag=False)
    _, topic = the_one(templates[name], "AWS::SNS::Topic")
    assert len(topic["Properties"]["DisplayName"]) <= 100  # SNS rejects longer display names
    for function in resources(templates[name], "AWS::Lambda::Function").values():
        assert len(function["Properties"].get("Description", "")) <= 256


# ---- Bedrock's access --------------------------------------------------------------------


def test_nova_service_role_trust_is_scoped_to_this_accounts_jobs(nova) -> None:
    _, role = the_one(
        nova,
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [Match.object_like({"Principal": {"Service": "bedrock.amazonaws.com"}})]
            }
        },
    )
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "bedrock.amazonaws.com"},
            "Condition": {
                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                "ArnLike": {
                    "aws:SourceArn": {
                        "Fn::Join": [
                            "",
                            [
                                "arn:",
                                {"Ref": "AWS::Partition"},
                                ":bedrock:",
                                {"Ref": "AWS::Region"},
                                ":",
                                {"Ref": "AWS::AccountId"},
                                ":model-customization-job/*",
                            ],
                        ]
                    }
                },
            },
        }
    ]


def test_nova_service_role_reads_training_writes_output_invokes_grader_only(nova) -> None:
    bucket = next(k for k in resources(nova, "AWS::S3::Bucket") if k.startswith("TrainingDataBucket"))
    grader, _ = the_one(nova, "AWS::Lambda::Function", {"Handler": GRADER_HANDLER})
    objects = lambda prefix: {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, f"/{prefix}*"]]}  # noqa: E731
    assert statements(nova, "BedrockAccessPolicy") == {
        "ReadTrainingData": {
            "Sid": "ReadTrainingData",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": objects("training-data/"),
        },
        "ListTrainingAndOutputPrefixes": {
            "Sid": "ListTrainingAndOutputPrefixes",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": {"Fn::GetAtt": [bucket, "Arn"]},
            "Condition": {"StringLike": {"s3:prefix": ["training-data/*", "output/*"]}},
        },
        "WriteJobOutput": {
            "Sid": "WriteJobOutput",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": objects("output/"),
        },
        "InvokeGrader": {
            "Sid": "InvokeGrader",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [grader, "Arn"]}, ":*"]]},
        },
    }


def test_mantle_grader_permission_is_for_bedrock_in_this_account_on_the_pinned_version(mantle) -> None:
    version_id = next(iter(resources(mantle, "AWS::Lambda::Version")))
    permissions = resources(mantle, "AWS::Lambda::Permission")
    bedrock = [p for p in permissions.values() if p["Properties"]["Principal"] == "bedrock.amazonaws.com"]
    assert len(bedrock) == 1
    assert bedrock[0]["DeletionPolicy"] == "Retain"
    assert bedrock[0]["Properties"] == {
        "Action": "lambda:InvokeFunction",
        "FunctionName": {"Ref": version_id},
        "Principal": "bedrock.amazonaws.com",
        "SourceAccount": {"Ref": "AWS::AccountId"},
    }
    assert not any(
        r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "bedrock.amazonaws.com"}
        for r in resources(mantle, "AWS::IAM::Role").values()
    )


def test_nova_grader_has_no_resource_policy(nova) -> None:
    assert not [
        p
        for p in resources(nova, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "bedrock.amazonaws.com"
    ]


@pytest.mark.parametrize("stack", [NOVA, MANTLE])
def test_no_wildcard_iam_actions(templates, stack) -> None:
    for logical_id, statement in all_policy_statements(templates[stack]):
        if statement["Effect"] == "Deny":
            continue  # the buckets' SSL-only denies cover every action on purpose
        for action in as_list(statement["Action"]):
            assert action != "*" and not action.endswith(":*"), (logical_id, action)
            if not logical_id.startswith("CustomCDKBucketDeployment"):
                # Our own policies name every action; only aws-cdk-lib's upload helper uses s3:Get* style grants.
                assert "*" not in action, (logical_id, action)


# ---- outputs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stack,expected", [(NOVA, COMMON_OUTPUTS + NOVA_ONLY_OUTPUTS), (MANTLE, COMMON_OUTPUTS + MANTLE_ONLY_OUTPUTS)]
)
def test_every_output_is_exported_described_and_in_ssm(templates, stack, expected) -> None:
    template = templates[stack]
    outputs = template.to_json()["Outputs"]
    assert sorted(outputs) == sorted(expected)
    parameters = {p["Properties"]["Name"]: p["Properties"] for p in resources(template, "AWS::SSM::Parameter").values()}
    for key, output in outputs.items():
        assert output["Export"] == {"Name": f"{stack}-{key}"}
        assert len(output["Description"]) > 15
        parameter = parameters[f"/bedrock-rft/{stack}/{kebab(key)}"]
        assert parameter["Type"] == "String" and parameter["Value"] == output["Value"]


def test_kebab_names_for_ssm() -> None:
    assert kebab("TrainingBucketName") == "training-bucket-name"
    assert kebab("GraderVersionArn") == "grader-version-arn"
    assert kebab("RftVariant") == "rft-variant"


def test_stack_reads_well_in_the_console(nova, mantle) -> None:
    assert "Nova 2 Lite" in nova.to_json()["Description"]
    assert "openai.gpt-oss-20b" in mantle.to_json()["Description"]
    for template in (nova, mantle):
        for logical_id, function in resources(template, "AWS::Lambda::Function").items():
            if not logical_id.startswith("CustomCDKBucketDeployment"):  # aws-cdk-lib's own, undescribed
                assert function["Properties"].get("Description"), logical_id


def test_stacks_are_tagged_for_discovery(tmp_path: Path) -> None:
    stacks = synth_stacks(tmp_path, nag=False)
    assert stacks[NOVA].tags.tag_values() == {"rft:app": "bedrock-rft", "rft:variant": "nova"}
    assert stacks[MANTLE].tags.tag_values() == {"rft:app": "bedrock-rft", "rft:variant": "mantle"}


@pytest.mark.parametrize("stack", [NOVA, MANTLE])
def test_configured_tags_are_on_the_resources_but_not_on_the_live_job_parameters(templates, stack) -> None:
    template = templates[stack]
    expected = [{"Key": "project", "Value": "bedrock-rft"}]
    for type_name in ("AWS::Lambda::Function", "AWS::IAM::Role", "AWS::SNS::Topic", "AWS::StepFunctions::StateMachine"):
        for logical_id, resource in resources(template, type_name).items():
            assert resource["Properties"]["Tags"] == expected, logical_id
    # CloudFormation's update of an SSM parameter (a tag edit is one) writes its template value
    # back, which would wipe the status and model the tracker recorded.
    live = {"status", "model", "failure-message", "deployment-arn"}
    for parameter in resources(template, "AWS::SSM::Parameter").values():
        leaf = parameter["Properties"]["Name"].removeprefix(f"/bedrock-rft/{stack}/job/")
        if leaf in live:
            assert "Tags" not in parameter["Properties"], leaf
        else:
            assert parameter["Properties"]["Tags"] == {"project": "bedrock-rft"}, leaf


# ---- dataset validation at synth ---------------------------------------------------------


def test_a_bad_dataset_stops_synth_naming_file_and_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    good = Path(__file__).resolve().parents[2] / "training-data"
    lines = (good / "char-limit/training.jsonl").read_text(encoding="utf-8").splitlines()
    lines[6] = '{"messages": [{"role": "user", "content": "説明して"}]}'  # line 7: no limit anywhere
    (data / "training.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (data / "validation.jsonl").write_text(
        (good / "char-limit/validation.jsonl").read_text(encoding="utf-8"), encoding="utf-8"
    )
    with pytest.raises(Exception) as failure:
        synth(tmp_path / "out", {"rft:dataset": {"directory": str(data)}}, nag=False)
    message = str(failure.value)
    assert f"{data}/training.jsonl:7" in message and "limit" in message


def test_launch_job_false_deploys_everything_but_the_job(tmp_path: Path) -> None:
    templates = synth(tmp_path, {"rft:launchJob": "false"}, nag=False)
    for template in templates.values():
        assert not resources(template, "Custom::BedrockRftJob")
        assert "JobId" not in template.to_json()["Outputs"]
        assert resources(template, "AWS::StepFunctions::StateMachine")
    _, job_id = the_one(templates[NOVA], "AWS::SSM::Parameter", {"Name": "/bedrock-rft/BedrockRft-Nova2Lite/job/id"})
    assert job_id["Properties"]["Value"] == "NONE"


def _job_spec(template: Template) -> str:
    _, job = the_one(template, "Custom::BedrockRftJob")
    return json.dumps(job["Properties"]["JobSpec"])


def test_hyperparameters_reach_the_job_spec(tmp_path: Path) -> None:
    templates = synth(
        tmp_path,
        {"rft:nova": {"hyperParameters": {"epochCount": 3, "learningRate": 0.00001, "reasoningEffort": "low"}}},
        nag=False,
    )
    spec = _job_spec(templates[NOVA])
    # The -c object merges into cdk.json's: trainingSamplePerPrompt 8 stays.
    assert (
        '\\"hyperParameters\\":{\\"epochCount\\":3,\\"learningRate\\":0.00001,\\"trainingSamplePerPrompt\\":8,'
        '\\"reasoningEffort\\":\\"low\\"}'
    ) in spec


def test_mantle_resource_permission_can_be_switched_off(tmp_path: Path) -> None:
    templates = synth(tmp_path, {"rft:mantle": {"models": ["openai.gpt-oss-20b"], "graderPrincipal": ""}}, nag=False)
    assert not [
        p
        for p in resources(templates[MANTLE], "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "bedrock.amazonaws.com"
    ]
