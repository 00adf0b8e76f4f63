"""The reward (grader) Lambda as a CDK construct, beside the runtime code it deploys."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, aws_lambda as lambda_
from constructs import Construct

from lambda_reward.runtime.contract import METRICS_NAMESPACE
from stacks.config import GraderConfig
from stacks.python_asset import code_fingerprint, handler_path
from stacks.python_function import PythonFunction

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
HANDLER = handler_path(RUNTIME_DIR, "handler.handler")



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
            # What the handler never imports, left out of the zip (about half its size). The handler
            # loads Powertools' package root, logging, metrics, tracing (the root imports Tracer),
            # shared, exceptions, warnings and utilities.typing / utilities.jmespath_utils: those
            # ship whole. Dropped: the other top-level subpackages and the other utilities, and
            # regex's own test suite. Not part of code_sha256 (the grader's behaviour is the same),
            # but part of the asset hash; tests/stacks/test_lambda_assets.py runs the pruned asset.
            prune=(
                "aws_lambda_powertools/event_handler",
                "aws_lambda_powertools/middleware_factory",
                *(f"aws_lambda_powertools/utilities/{name}" for name in (
                    "auth_alpha", "batch", "circuit_breaker", "data_classes", "data_masking", "feature_flags",
                    "idempotency", "kafka", "metadata", "parameters", "parser", "serialization.py", "streaming",
                    "validation")),
                "regex/tests",
            ),
        )
        self.function = self.python.function
        self.version = self.function.current_version
