"""Fakes and builders for the rftctl tests: stubbed boto3 clients, a local mantle server, stack data.

Every AWS call goes through a botocore Stubber, which checks each request and each canned
response against the real service model. Mantle calls go through the real OpenAI SDK client
(built by rftctl's own factory) to a local HTTP server that checks routes, bodies and SigV4.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import boto3
import botocore.loaders
import botocore.session
from botocore.response import StreamingBody
from botocore.stub import Stubber

from rftctl.aws import AwsClients
from tests.stacks.rft_job.fake_mantle import FakeMantle, ReceivedRequest

ACCOUNT = "123456789012"
NOVA_STACK = "BedrockRft-Nova2Lite"
MANTLE_STACK = "BedrockRft-GptOss20b"
NOVA_REGION = "us-east-1"
MANTLE_REGION = "us-west-2"
NOVA_BASE_MODEL = "amazon.nova-2-lite-v1:0:256k"
NOVA_INFERENCE_PROFILE = "us.amazon.nova-2-lite-v1:0"
NOVA_JOB_ARN = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:model-customization-job/amazon.nova-2-lite-v1:0:256k/a1b2c3d4e5f6"
NOVA_JOB_NAME = "bedrock-rft-nova2lite-1a2b3c4d-0001"
NOVA_MODEL_ARN = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model/amazon.nova-2-lite-v1:0:256k/0a1b2c3d4e5f"
DEPLOYMENT_ARN = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model-deployment/9z8y7x6w5v4u"
BUCKET = "rft-data-bucket"
NOVA_GRADER_VERSION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:BedrockRft-Nova2Lite-Grader:7"
MANTLE_JOB_ID = "ftjob-abc123"
MANTLE_MODEL = "openai.gpt-oss-20b"
MANTLE_TUNED_MODEL = "ft:openai.gpt-oss-20b:char-limit:ftjob-abc123"
STACK_CREATED = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
STARTED = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)  # when the test jobs started

# Service models are read once for the whole run, not once per test (they are large JSON).
_LOADER = botocore.loaders.create_loader()


class StubbedClients:
    """rftctl's ClientFactory with a Stubber on every boto3 client, and the real mantle client."""

    def __init__(self) -> None:
        core = botocore.session.get_session()
        core.register_component("data_loader", _LOADER)
        self._session = boto3.Session(botocore_session=core)
        self._clients: dict[tuple[str, str], Any] = {}
        self._stubbers: dict[tuple[str, str], Stubber] = {}
        self._mantle_factory = AwsClients()

    def stub(self, service: str, region: str) -> Stubber:
        key = (service, region)
        if key not in self._stubbers:
            client = self._session.client(service, region_name=region)
            stubber = Stubber(client)
            stubber.activate()
            self._clients[key], self._stubbers[key] = client, stubber
        return self._stubbers[key]

    def client(self, service: str, region: str) -> Any:
        self.stub(service, region)
        return self._clients[(service, region)]

    def mantle(self, region: str, base_url: str | None = None) -> Any:
        return self._mantle_factory.mantle(region, base_url)

    def assert_all_used(self) -> None:
        for stubber in self._stubbers.values():
            stubber.assert_no_pending_responses()


@dataclass
class CliResult:
    code: int
    out: str
    err: str


# --- CloudFormation / SSM -------------------------------------------------------------------


def nova_outputs(**overrides: str) -> dict[str, str]:
    prefix = f"/bedrock-rft/{NOVA_STACK}"
    outputs = {
        "RftVariant": "nova",
        "BaseModel": NOVA_BASE_MODEL,
        "TrainingBucketName": BUCKET,
        "TrainingDataUri": f"s3://{BUCKET}/training-data/char-limit/training.jsonl",
        "ValidationDataUri": f"s3://{BUCKET}/training-data/char-limit/validation.jsonl",
        "OutputDataUri": f"s3://{BUCKET}/output/",
        "JobLedgerUri": f"s3://{BUCKET}/jobs/",
        "GraderFunctionArn": NOVA_GRADER_VERSION.rsplit(":", 1)[0],
        "GraderVersionArn": NOVA_GRADER_VERSION,
        "BedrockServiceRoleArn": f"arn:aws:iam::{ACCOUNT}:role/{NOVA_STACK}-RftServiceRole",
        "NotificationTopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:{NOVA_STACK}-Topic",
        "JobStatusParameterName": f"{prefix}/job/status",
        "JobModelParameterName": f"{prefix}/job/model",
        "JobFailureParameterName": f"{prefix}/job/failure-message",
        "JobIdParameterName": f"{prefix}/job/id",
        "ModelDeploymentParameterName": f"{prefix}/job/deployment-arn",
        "JobId": NOVA_JOB_ARN,
        "JobName": NOVA_JOB_NAME,
        "CustomModelName": "bedrock-rft-nova2lite-1a2b3c4d-model",
        "JobConsoleUrl": "https://us-east-1.console.aws.amazon.com/bedrock/home?region=us-east-1#/custom-models",
    }
    outputs.update(overrides)
    return outputs


def mantle_outputs(**overrides: str) -> dict[str, str]:
    prefix = f"/bedrock-rft/{MANTLE_STACK}"
    outputs = {
        "RftVariant": "mantle",
        "BaseModel": MANTLE_MODEL,
        "TrainingBucketName": "rft-data-west",
        "TrainingDataUri": "s3://rft-data-west/training-data/char-limit/training.jsonl",
        "ValidationDataUri": "s3://rft-data-west/training-data/char-limit/validation.jsonl",
        "OutputDataUri": "s3://rft-data-west/output/",
        "JobLedgerUri": "s3://rft-data-west/jobs/",
        "GraderFunctionArn": f"arn:aws:lambda:us-west-2:{ACCOUNT}:function:{MANTLE_STACK}-Grader",
        "GraderVersionArn": f"arn:aws:lambda:us-west-2:{ACCOUNT}:function:{MANTLE_STACK}-Grader:3",
        "NotificationTopicArn": f"arn:aws:sns:us-west-2:{ACCOUNT}:{MANTLE_STACK}-Topic",
        "JobStatusParameterName": f"{prefix}/job/status",
        "JobModelParameterName": f"{prefix}/job/model",
        "JobFailureParameterName": f"{prefix}/job/failure-message",
        "JobIdParameterName": f"{prefix}/job/id",
        "JobId": MANTLE_JOB_ID,
        "JobName": "bedrock-rft-gptoss20b-9f8e7d6c-0001",
        "CustomModelName": "assigned by the service when the job succeeds",
        "JobConsoleUrl": "https://us-west-2.console.aws.amazon.com/bedrock/home?region=us-west-2#/custom-models",
    }
    outputs.update(overrides)
    return outputs


def stack_description(name: str, variant: str, outputs: dict[str, str], region: str) -> dict[str, Any]:
    return {
        "StackName": name,
        "StackId": f"arn:aws:cloudformation:{region}:{ACCOUNT}:stack/{name}/0f3c5a10-8b0e-11f0-9d5c-0a1b2c3d4e5f",
        "CreationTime": STACK_CREATED,
        "StackStatus": "CREATE_COMPLETE",
        "Outputs": [
            {"OutputKey": key, "OutputValue": value, "ExportName": f"{name}-{key}"} for key, value in outputs.items()
        ],
        "Tags": [{"Key": "rft:app", "Value": "bedrock-rft"}, {"Key": "rft:variant", "Value": variant}],
    }


def expect_nova_stack(aws: StubbedClients, **output_overrides: str) -> None:
    """DescribeStacks for --stack BedrockRft-Nova2Lite in us-east-1."""
    aws.stub("cloudformation", NOVA_REGION).add_response(
        "describe_stacks",
        {"Stacks": [stack_description(NOVA_STACK, "nova", nova_outputs(**output_overrides), NOVA_REGION)]},
        {"StackName": NOVA_STACK},
    )


def expect_mantle_stack(aws: StubbedClients, **output_overrides: str) -> None:
    """DescribeStacks for --stack BedrockRft-GptOss20b --region us-west-2."""
    aws.stub("cloudformation", MANTLE_REGION).add_response(
        "describe_stacks",
        {"Stacks": [stack_description(MANTLE_STACK, "mantle", mantle_outputs(**output_overrides), MANTLE_REGION)]},
        {"StackName": MANTLE_STACK},
    )


def expect_parameter(aws: StubbedClients, region: str, name: str, value: str) -> None:
    aws.stub("ssm", region).add_response(
        "get_parameter", {"Parameter": {"Name": name, "Type": "String", "Value": value, "Version": 1}}, {"Name": name}
    )


def nova_job(status: str, **fields: Any) -> dict[str, Any]:
    job = {
        "jobArn": NOVA_JOB_ARN,
        "jobName": NOVA_JOB_NAME,
        "outputModelName": "bedrock-rft-nova2lite-1a2b3c4d-model",
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/{NOVA_STACK}-RftServiceRole",
        "status": status,
        "creationTime": STARTED,
        "baseModelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{NOVA_BASE_MODEL}",
        "trainingDataConfig": {"s3Uri": "s3://rft-data-bucket/training-data/char-limit/training.jsonl"},
        "validationDataConfig": {
            "validators": [{"s3Uri": "s3://rft-data-bucket/training-data/char-limit/validation.jsonl"}]
        },
        "outputDataConfig": {"s3Uri": "s3://rft-data-bucket/output/"},
        "customizationType": "REINFORCEMENT_FINE_TUNING",
    }
    job.update(fields)
    return job


def streaming(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def converse_reply(text: str) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 20, "outputTokens": 10, "totalTokens": 30},
        "metrics": {"latencyMs": 120},
    }


def expect_converse(
    aws: StubbedClients, model_id: str, prompt: str, answer: str, temperature: float, max_tokens: int = 512
) -> None:
    aws.stub("bedrock-runtime", NOVA_REGION).add_response(
        "converse",
        converse_reply(answer),
        {
            "modelId": model_id,
            "messages": [{"role": "user", "content": [{"text": prompt}]}],
            "inferenceConfig": {"temperature": temperature, "maxTokens": max_tokens},
        },
    )


# --- mantle ---------------------------------------------------------------------------------


class InferenceFakeMantle(FakeMantle):
    """The rft_job tests' fake mantle (SigV4 and OpenAI's OpenAPI document checked on every request;
    stop() fails the test on a request that broke the document), plus the routes rftctl reads: job
    events and checkpoints (cursor-paginated), and chat completions."""

    def __init__(self) -> None:
        super().__init__("/v1")
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.checkpoints: dict[str, list[dict[str, Any]]] = {}
        # model id -> {last user prompt: answer}; calls may arrive in any order (concurrency)
        self.chat_answers: dict[str, dict[str, str]] = {}
        self.page_size = 100

    def add_metrics_event(self, job_id: str, step: int, total_steps: int, **values: float) -> None:
        events = self.events.setdefault(job_id, [])
        events.insert(
            0,
            {  # newest first, as OpenAI lists events
                "id": f"ftevent-{job_id}-{step}",
                "object": "fine_tuning.job.event",
                "created_at": 1_764_580_000 + step,
                "level": "info",
                "message": f"Step {step}/{total_steps}",
                "type": "metrics",
                "data": {"step": step, "total_steps": total_steps, **values},
            },
        )

    def add_message_event(self, job_id: str, message: str) -> None:
        self.events.setdefault(job_id, []).insert(
            0,
            {
                "id": f"ftevent-{job_id}-msg{len(self.events.get(job_id, []))}",
                "object": "fine_tuning.job.event",
                "created_at": 1_764_580_000,
                "level": "info",
                "message": message,
                "type": "message",
            },
        )

    def add_checkpoint(self, job_id: str, step: int, **metrics: float) -> None:
        self.checkpoints.setdefault(job_id, []).insert(
            0,
            {
                "id": f"ftckpt-{step}",
                "object": "fine_tuning.job.checkpoint",
                "created_at": 1_764_580_000 + step,
                "fine_tuned_model_checkpoint": f"{MANTLE_TUNED_MODEL}:ckpt-step-{step}",
                "fine_tuning_job_id": job_id,
                "step_number": step,
                "metrics": {"step": step, **metrics},
            },
        )

    def _page(self, request: ReceivedRequest, items: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        after = request.query.get("after", [None])[0]
        if after is not None:
            ids = [item["id"] for item in items]
            assert after in ids, f"unknown cursor {after}"
            items = items[ids.index(after) + 1 :]
        limit = min(int(request.query.get("limit", ["20"])[0]), self.page_size)
        return 200, {"object": "list", "data": items[:limit], "has_more": len(items) > limit}

    def _dispatch(self, request: ReceivedRequest) -> tuple[int, dict[str, Any]]:
        method, route = request.method, request.route
        if method == "GET" and (m := re.fullmatch(r"/fine_tuning/jobs/([^/]+)/events", route)):
            job_id = unquote(m.group(1))
            if job_id not in self.jobs:
                return 404, {"error": {"message": "fine-tuning job not found"}}
            return self._page(request, self.events.get(job_id, []))
        if method == "GET" and (m := re.fullmatch(r"/fine_tuning/jobs/([^/]+)/checkpoints", route)):
            job_id = unquote(m.group(1))
            if job_id not in self.jobs:
                return 404, {"error": {"message": "fine-tuning job not found"}}
            return self._page(request, self.checkpoints.get(job_id, []))
        if method == "POST" and route == "/chat/completions":
            return self._chat(request)
        return super()._dispatch(request)

    def _chat(self, request: ReceivedRequest) -> tuple[int, dict[str, Any]]:
        body = request.json()
        model = body.get("model")
        assert model in self.chat_answers, f"unexpected model {model!r}"
        messages = body.get("messages")
        assert isinstance(messages, list) and messages and messages[-1]["role"] == "user", "last message must be user"
        assert all(isinstance(m.get("content"), str) for m in messages), "content must be text"
        assert isinstance(body.get("temperature"), (int, float)), "temperature is required"
        assert isinstance(body.get("max_tokens"), int), "max_tokens is required"
        prompt = messages[-1]["content"]
        assert prompt in self.chat_answers[model], f"no answer scripted for {model!r} to {prompt!r}"
        answer = self.chat_answers[model][prompt]
        return 200, {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": 1_764_580_000,
            "model": model,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": answer}}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 10, "total_tokens": 30},
        }


def json_lines(*records: Any) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
