"""Job specs, CloudFormation events and stubbed AWS clients for the rft_job tests."""

from __future__ import annotations

import copy
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from stacks.rft_job.runtime import clients
from stacks.rft_job.runtime.job_spec import fingerprint_of_raw

ACCOUNT = "123456789012"
STACK_ID = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/BedrockRft/0f3c5a10-8b0e-11f0-9d5c-0a1b2c3d4e5f"
LOGICAL_ID = "RftJob"
SERVICE_TOKEN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:BedrockRft-ProviderframeworkonEvent"
STATE_MACHINE_ARN = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:RftJobTracker"
NOVA_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/BedrockRft-RftServiceRole"
NOVA_BASE_MODEL = "amazon.nova-2-lite-v1:0:256k"
NOVA_JOB_ARN = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:model-customization-job/amazon.nova-2-lite-v1:0:256k/a1b2c3d4e5f6"
NOVA_JOB_ARN_2 = (
    f"arn:aws:bedrock:us-east-1:{ACCOUNT}:model-customization-job/amazon.nova-2-lite-v1:0:256k/f6e5d4c3b2a1"
)
NOVA_MODEL_ARN = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model/amazon.nova-2-lite-v1:0:256k/0a1b2c3d4e5f"
DEPLOYMENT_ARN = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model-deployment/9z8y7x6w5v4u"
GRADER_V7 = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:BedrockRft-Grader:7"
GRADER_V8 = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:BedrockRft-Grader:8"
MANTLE_GRADER = f"arn:aws:lambda:us-west-2:{ACCOUNT}:function:BedrockRft-Grader:3"
TRAINING_SHA = "a" * 64
VALIDATION_SHA = "b" * 64
GRADER_CODE_SHA = "c" * 64
PLACEHOLDER_PHYSICAL_ID = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"
NOW = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
NOVA_LEDGER_URI = "s3://rft-data-bucket/jobs/"
MANTLE_LEDGER_URI = "s3://rft-data-west/jobs/"

ALL_NOVA_HYPERPARAMETERS = {
    "epochCount": 10,
    "batchSize": 64,
    "learningRate": 1e-5,
    "maxPromptLength": 2048,
    "trainingSamplePerPrompt": 8,
    "inferenceMaxTokens": 1024,
    "reasoningEffort": "medium",
    "evalInterval": 5,
}


def nova_spec(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "variant": "nova",
        "namePrefix": "bedrock-rft-nova2lite",
        "baseModel": NOVA_BASE_MODEL,
        "trainingDataUri": "s3://rft-data-bucket/training-data/char-limit/training.jsonl",
        "validationDataUri": "s3://rft-data-bucket/training-data/char-limit/validation.jsonl",
        "datasetSha256": {"training": TRAINING_SHA, "validation": VALIDATION_SHA},
        "graderArn": GRADER_V7,
        "graderCodeSha256": GRADER_CODE_SHA,
        "hyperParameters": dict(ALL_NOVA_HYPERPARAMETERS),
        "tags": {"project": "char-limit", "owner": "ml-team"},
        "stateMachineArn": STATE_MACHINE_ARN,
        "roleArn": NOVA_ROLE_ARN,
        "outputDataUri": "s3://rft-data-bucket/output/",
        "ledgerUri": NOVA_LEDGER_URI,
    }
    spec.update(copy.deepcopy(overrides))
    return spec


def mantle_spec(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "variant": "mantle",
        "namePrefix": "bedrock-rft-gptoss20b",
        "baseModel": "openai.gpt-oss-20b",
        "trainingDataUri": "s3://rft-data-west/training-data/char-limit/training.jsonl",
        "validationDataUri": "s3://rft-data-west/training-data/char-limit/validation.jsonl",
        "datasetSha256": {"training": TRAINING_SHA, "validation": VALIDATION_SHA},
        "graderArn": MANTLE_GRADER,
        "graderCodeSha256": GRADER_CODE_SHA,
        "hyperParameters": {"n_epochs": 2, "batch_size": 4, "learning_rate_multiplier": 1.0},
        "tags": {"project": "char-limit"},
        "stateMachineArn": STATE_MACHINE_ARN.replace("us-east-1", "us-west-2"),
        "ledgerUri": MANTLE_LEDGER_URI,
    }
    spec.update(copy.deepcopy(overrides))
    return spec


def cfn_event(
    request_type: str,
    spec: dict[str, Any] | str,
    *,
    request_id: str = "req-0001",
    physical_id: str | None = None,
    old_spec: dict[str, Any] | None = None,
    stack_id: str = STACK_ID,
    job_fingerprint: str | None | bool = True,
) -> dict[str, Any]:
    """A CloudFormation event as the Provider framework hands it to the launcher.

    Like the stack, the properties carry JobFingerprint next to JobSpec (the spec's own
    fingerprint unless `job_fingerprint` gives another value, or False leaves it out).
    """
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": SERVICE_TOKEN,
        "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x",
        "StackId": stack_id,
        "RequestId": request_id,
        "LogicalResourceId": LOGICAL_ID,
        "ResourceType": "Custom::BedrockRftJob",
        "ResourceProperties": {
            "ServiceToken": SERVICE_TOKEN,
            "JobSpec": spec if isinstance(spec, str) else json.dumps(spec),
        },
    }
    if job_fingerprint is True:
        job_fingerprint = fingerprint_of_raw(spec if isinstance(spec, str) else json.dumps(spec))
    if isinstance(job_fingerprint, str):
        event["ResourceProperties"]["JobFingerprint"] = job_fingerprint
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    if old_spec is not None:
        event["OldResourceProperties"] = {"ServiceToken": SERVICE_TOKEN, "JobSpec": json.dumps(old_spec)}
        old_fingerprint = fingerprint_of_raw(json.dumps(old_spec))
        if old_fingerprint is not None and job_fingerprint is not False:
            event["OldResourceProperties"]["JobFingerprint"] = old_fingerprint
    return event


@dataclass
class FakeLambdaContext:
    function_name: str = "rft-job-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:rft-job-test"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    # The launcher's timeout (14 minutes), as Lambda counts it down.
    remaining_millis: int = 14 * 60 * 1000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis


class StubbedAws:
    """Real boto3 clients with botocore Stubbers, handed out in place of clients.aws_client.

    Stubber checks each call's parameters and each canned response against the service
    model; `captured` records the parameters the code actually sent.
    """

    def __init__(self, region: str) -> None:
        self.region = region
        self._clients: dict[str, Any] = {}
        self._stubbers: dict[str, Stubber] = {}
        self.captured: list[tuple[str, str, dict[str, Any]]] = []
        self.ledger_bucket = LedgerObjects()

    def client(self, service: str, region: str | None = None) -> Any:
        if service not in self._clients:
            client = boto3.client(service, region_name=region or self.region, config=clients.BOTO_CONFIG)
            client.meta.events.register("before-parameter-build", self._capture(service))
            if service == "s3":
                client.meta.events.register("before-call.s3", self.ledger_bucket.answer)
                stubber: Stubber = LedgerPassingStubber(client)
            else:
                stubber = Stubber(client)
            stubber.activate()
            self._clients[service] = client
            self._stubbers[service] = stubber
        return self._clients[service]

    def stub(self, service: str) -> Stubber:
        self.client(service)
        return self._stubbers[service]

    def _capture(self, service: str) -> Any:
        def record(params: dict[str, Any], model: Any, **_: Any) -> None:
            self.captured.append((service, model.name, copy.deepcopy(params)))

        return record

    def calls(self, operation: str) -> list[dict[str, Any]]:
        return [params for _, name, params in self.captured if name == operation]

    def operations(self) -> list[str]:
        return [name for _, name, _ in self.captured]

    def assert_done(self) -> None:
        for stubber in self._stubbers.values():
            stubber.assert_no_pending_responses()


def stack_status_is(aws: StubbedAws, status: str, stack_id: str = STACK_ID) -> None:
    """The next DescribeStacks of the stack answers with ``status``."""
    aws.stub("cloudformation").add_response(
        "describe_stacks",
        {"Stacks": [{"StackName": stack_id.split("/")[1], "StackId": stack_id, "CreationTime": NOW,
                     "StackStatus": status}]},
        {"StackName": stack_id},
    )


def s3_body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def training_jsonl(records: int = 3) -> bytes:
    lines = [
        json.dumps(
            {"messages": [{"role": "user", "content": f"AIとは何か30文字以内で説明して ({i})"}]}, ensure_ascii=False
        )
        for i in range(records)
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def nova_job_description(job_arn: str, job_name: str, status: str, **extra: Any) -> dict[str, Any]:
    """A GetModelCustomizationJob response (the Stubber checks it against the service model)."""
    response: dict[str, Any] = {
        "jobArn": job_arn,
        "jobName": job_name,
        "outputModelName": job_name,
        "roleArn": NOVA_ROLE_ARN,
        "status": status,
        "creationTime": NOW,
        "baseModelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-2-lite-v1:0:256k",
        "trainingDataConfig": {"s3Uri": "s3://rft-data-bucket/training-data/char-limit/training.jsonl"},
        "validationDataConfig": {"validators": []},
        "outputDataConfig": {"s3Uri": "s3://rft-data-bucket/output/"},
        "customizationType": "REINFORCEMENT_FINE_TUNING",
    }
    response.update(extra)
    return response


def expect_tracker_start(aws: StubbedAws, state_machine_arn: str, *, already_exists: bool = False) -> None:
    """The launcher's StartExecution of the tracker: started, or already running (a retried request)."""
    params = {"stateMachineArn": state_machine_arn, "name": ANY, "input": ANY}
    if already_exists:
        aws.stub("stepfunctions").add_client_error(
            "start_execution", "ExecutionAlreadyExists", "Execution Already Exists", 400, expected_params=params
        )
    else:
        execution_arn = state_machine_arn.replace(":stateMachine:", ":execution:") + ":x"
        aws.stub("stepfunctions").add_response(
            "start_execution", {"executionArn": execution_arn, "startDate": NOW}, params
        )


def _ledger_key(operation: str, params: dict[str, Any]) -> bool:
    key = params.get("Prefix", "") if operation == "ListObjectsV2" else params.get("Key")
    return isinstance(key, str) and key.startswith(LedgerObjects.LEDGER_PREFIX)


class LedgerPassingStubber(Stubber):
    """A Stubber for S3 that lets calls on the job ledger's keys through to LedgerObjects."""

    def _assert_expected_params(self, model: Any, params: Any, context: Any, **kwargs: Any) -> None:
        if _ledger_key(model.name, params):
            return
        super()._assert_expected_params(model, params, context, **kwargs)

    def _get_response_handler(self, model: Any, params: Any, context: Any, **kwargs: Any) -> Any:
        if _ledger_key(model.name, (context or {}).get("input_params", {})):
            return None
        return super()._get_response_handler(model, params, context, **kwargs)


class LedgerObjects:
    """S3 objects under the job ledger prefix (jobs/), kept in memory: the ledger is read back.

    Answers S3 calls on keys under LEDGER_PREFIX through botocore's before-call event, after
    botocore has validated the parameters against the S3 model; every other S3 call goes on to
    the Stubber. `fail` makes the next matching calls fail with an S3 error code.
    """

    LEDGER_PREFIX = "jobs/"

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.failures: list[tuple[str, str]] = []  # (operation, error code)

    def fail(self, operation: str, code: str = "AccessDenied", times: int = 1) -> None:
        self.failures.extend([(operation, code)] * times)

    def entries(self) -> dict[str, dict[str, Any]]:
        """The ledger entries by key (the by-id pointers left out), decoded."""
        return {
            key: json.loads(body)
            for (_, key), body in sorted(self.objects.items())
            if key.startswith(self.LEDGER_PREFIX) and "/by-id/" not in key
        }

    def answer(self, model: Any, params: dict[str, Any], **_: Any) -> Any:
        key = self._key(params, model.name)
        if key is None or not key.startswith(self.LEDGER_PREFIX):
            return None
        for index, (operation, code) in enumerate(self.failures):
            if operation == model.name:
                del self.failures[index]
                return self._error(code, 403 if code == "AccessDenied" else 500)
        bucket = self._bucket(params)
        if model.name == "PutObject":
            headers = {name.lower(): value for name, value in (params.get("headers") or {}).items()}
            existing = self.objects.get((bucket, key))
            # S3's conditional writes: If-None-Match "*" and If-Match "<etag>" (412 otherwise).
            if headers.get("if-none-match") == "*" and existing is not None:
                return self._error("PreconditionFailed", 412)
            if "if-match" in headers and (existing is None or self._etag(existing) != headers["if-match"]):
                return self._error("PreconditionFailed", 412)
            body = params.get("body") or b""
            data = body if isinstance(body, bytes) else body.read()
            self.objects[(bucket, key)] = bytes(data)
            return self._ok({"ETag": self._etag(bytes(data))})
        if model.name == "GetObject":
            if (bucket, key) not in self.objects:
                return self._error("NoSuchKey", 404)
            data = self.objects[(bucket, key)]
            return self._ok(
                {
                    "Body": StreamingBody(io.BytesIO(data), len(data)),
                    "ContentLength": len(data),
                    "ETag": self._etag(data),
                }
            )
        if model.name == "ListObjectsV2":
            keys = sorted(k for b, k in self.objects if b == bucket and k.startswith(key))
            return self._ok(
                {
                    "Contents": [{"Key": k, "Size": len(self.objects[(bucket, k)])} for k in keys],
                    "KeyCount": len(keys),
                    "IsTruncated": False,
                    "Name": bucket,
                    "Prefix": key,
                }
            )
        raise AssertionError(f"the ledger never calls {model.name}")

    @staticmethod
    def _etag(data: bytes) -> str:
        import hashlib

        return '"' + hashlib.md5(data).hexdigest() + '"'  # noqa: S324 - S3's ETag of a single-part object

    @staticmethod
    def _bucket(params: dict[str, Any]) -> str:
        return str(params["context"]["input_params"]["Bucket"])

    @staticmethod
    def _key(params: dict[str, Any], operation: str) -> str | None:
        given = params["context"].get("input_params", {})
        return given.get("Prefix", "") if operation == "ListObjectsV2" else given.get("Key")

    @staticmethod
    def _ok(parsed: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        from botocore.awsrequest import AWSResponse

        parsed["ResponseMetadata"] = {"HTTPStatusCode": 200, "RequestId": "ledger", "HTTPHeaders": {}}
        return AWSResponse("https://s3.amazonaws.com", 200, {}, None), parsed

    @staticmethod
    def _error(code: str, status: int) -> tuple[Any, dict[str, Any]]:
        from botocore.awsrequest import AWSResponse

        parsed = {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
        return AWSResponse("https://s3.amazonaws.com", status, {}, None), parsed
