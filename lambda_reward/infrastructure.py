"""The reward (grader) Lambda as a CDK construct, beside the runtime code it deploys."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, aws_lambda as lambda_
from constructs import Construct

from stacks.config import GraderConfig
from stacks.python_asset import code_fingerprint, handler_path
from stacks.python_function import PythonFunction

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
HANDLER = handler_path(RUNTIME_DIR, "handler.handler")
METRICS_NAMESPACE = "BedrockRft"


class RewardFunction(Construct):
    """Scores the model's sampled answers for Bedrock RFT.

    `version` is the published version a job must call: versions are immutable, so a later
    deploy of new grader code never changes the reward of a job already running. Old versions
    are retained for the same reason (a running job keeps calling the one it started with).
    `code_sha256` identifies the grader's behaviour (runtime files and pinned dependencies).
    """

    def __init__(self, scope: Construct, construct_id: str, *, settings: GraderConfig, service_name: str) -> None:
        super().__init__(scope, construct_id)
        self.code_sha256 = code_fingerprint(RUNTIME_DIR)
        self.python = PythonFunction(
            self, "Grader",
            runtime_dir=RUNTIME_DIR,
            handler=HANDLER,
            description="Bedrock RFT reward: scores each sampled answer against the prompt's character limit",
            # Scoring is pure CPU work of microseconds per sample; 512 MB buys a third of a vCPU,
            # enough for batches of thousands in well under a second. The timeout leaves room for
            # a cold start and a very large batch while still failing fast (AWS advice: answer
            # in seconds, not minutes).
            memory_mb=settings.memory_mb,
            timeout=Duration.seconds(settings.timeout_seconds),
            log_retention_days=settings.log_retention_days,
            environment={
                "POWERTOOLS_SERVICE_NAME": service_name,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
            current_version_options=lambda_.VersionOptions(
                removal_policy=RemovalPolicy.RETAIN,
                description=f"grader code sha256 {self.code_sha256[:16]}",
            ),
        )
        self.function = self.python.function
        self.version = self.function.current_version
