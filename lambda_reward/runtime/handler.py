"""Lambda entry point of the RFT grader: validate the event, score it with the task, publish metrics.

All scoring lives in ``lambda_reward.runtime.grader`` and the task's module; this module only adds
the task named by the environment (``RFT_TASK``, loaded once per container), the invocation's
deadline, Powertools logging and CloudWatch metrics (EMF) around them.
"""

from __future__ import annotations

import json
import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambda_reward.runtime.contract import METRICS_NAMESPACE as DEFAULT_NAMESPACE, BatchMetric
from lambda_reward.runtime.grader import grade_batch_with_summary
from lambda_reward.runtime.samples import (
    EventShapeError,
    describe_value,
    samples_of_event,
)
from lambda_reward.runtime.tasks import PROMPT_OPENS_REASONING_ENV, TASK_ENV, Deadline, load_task

# The template sets both (POWERTOOLS_*); the defaults serve a local run (rftctl grade, tests).
SERVICE_NAME = os.environ.get("POWERTOOLS_SERVICE_NAME") or "rft-reward"
METRICS_NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE
# Enough individual warnings to diagnose a data problem without flooding the logs when a
# whole batch is broken; the rest are counted in one summary line.
MAX_MALFORMED_WARNINGS = 20
MAX_LOGGED_ID_LENGTH = 200

# Time kept back from the invocation's remaining time for the reply, the logs and the metrics:
# a task that calls out (a judge model, test runs) stops its calls before this.
DEADLINE_RESERVE_SECONDS = 2.0

logger = Logger(service=SERVICE_NAME)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)


def _task_spec(raw: str | None) -> Any:
    """The task the template configured (JSON), or the default task when none is set (a local run)."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError as error:
        raise ValueError(f"{TASK_ENV} is not JSON ({error}): {raw[:200]!r}") from None


# Loaded once per container, at cold start: a bad configuration fails the first invocation loudly.
TASK = load_task(_task_spec(os.environ.get(TASK_ENV)))
# Set (to "true") for a model whose chat template opens the reasoning block in the prompt.
PROMPT_OPENS_REASONING = os.environ.get(PROMPT_OPENS_REASONING_ENV, "").lower() == "true"


def loggable_id(sample_id: Any) -> Any:
    """The id as logged: itself when it is a short string or a number (as ids are), else a
    short description, so that a huge or deeply nested id can neither flood the log nor
    break it (logging re-raises the RecursionError of serialising a deep value)."""
    if sample_id is None or isinstance(sample_id, (bool, int, float)):
        return sample_id
    if isinstance(sample_id, str) and len(sample_id) <= MAX_LOGGED_ID_LENGTH:
        return sample_id
    return describe_value(sample_id, MAX_LOGGED_ID_LENGTH)


class MalformedSampleWarnings:
    """Logs the first few malformed samples of a batch one by one, then only counts."""

    def __init__(self, limit: int = MAX_MALFORMED_WARNINGS) -> None:
        self.limit = limit
        self.count = 0

    def __call__(self, index: int, sample_id: Any, reason: str) -> None:
        self.count += 1
        if self.count <= self.limit:
            logger.warning(
                "Malformed sample scored 0.0",
                extra={"sample_index": index, "sample_id": loggable_id(sample_id), "reason": reason},
            )

    def log_suppressed(self) -> None:
        suppressed = self.count - self.limit
        if suppressed > 0:
            logger.warning(
                "More malformed samples scored 0.0, not logged individually",
                extra={"suppressed_warnings": suppressed, "malformed_samples": self.count},
            )


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context
def handler(event: Any, context: LambdaContext) -> list[dict[str, Any]]:
    """Score the event's samples (see ``samples_of_event`` for its shapes); return one result each.

    An event of another shape is a caller error and raises; a malformed sample never does.
    """
    try:
        samples = samples_of_event(event)
    except EventShapeError:
        metrics.add_metric(name=BatchMetric.INVALID_EVENTS, unit=MetricUnit.Count, value=1)
        raise

    malformed_warnings = MalformedSampleWarnings()
    deadline = Deadline.from_context(context, reserve_seconds=DEADLINE_RESERVE_SECONDS)
    results, summary = grade_batch_with_summary(
        samples, TASK, on_malformed=malformed_warnings, deadline=deadline, prompt_opens_reasoning=PROMPT_OPENS_REASONING
    )
    malformed_warnings.log_suppressed()

    metrics.add_metric(name=BatchMetric.SAMPLES_SCORED, unit=MetricUnit.Count, value=summary.samples)
    metrics.add_metric(name=BatchMetric.MALFORMED_SAMPLES, unit=MetricUnit.Count, value=summary.malformed)
    metrics.add_metric(name=BatchMetric.FLAGGED_SAMPLES, unit=MetricUnit.Count, value=summary.flagged)
    metrics.add_metric(name=BatchMetric.PASSED_SAMPLES, unit=MetricUnit.Count, value=summary.passed)
    if summary.mean_reward is not None:  # an empty batch has no mean
        metrics.add_metric(name=BatchMetric.MEAN_REWARD, unit=MetricUnit.NoUnit, value=summary.mean_reward)
    logger.info(
        "Scored batch",
        extra={
            "task": TASK.name,
            "samples": summary.samples,
            "mean_reward": summary.mean_reward,
            "passed_samples": summary.passed,
            "malformed_samples": summary.malformed,
            "flagged_samples": summary.flagged,
            "flags": dict(summary.flags),
        },
    )
    return results
