"""The grader's names that others read: Bedrock (the result shape), rftctl and the dashboards;
each task's own metric names are in its module (lambda_reward/runtime/tasks/).

Defined here only, and imported by the grader, the stack (the metrics namespace) and rftctl (to
read results). They ship in the grader's asset, so they are part of its code fingerprint.
"""

from __future__ import annotations

from typing import Final


class ResultKey:
    """Keys of one result in the grader's reply (Bedrock's Lambda grader contract)."""

    ID: Final = "id"
    REWARD: Final = "aggregate_reward_score"
    METRICS: Final = "metrics_list"


class MetricType:
    """`type` of a metrics_list entry: a reward Bedrock logs as such, or any other figure."""

    REWARD: Final = "Reward"
    METRIC: Final = "Metric"


METRIC_TYPES: Final = frozenset({MetricType.REWARD, MetricType.METRIC})


class RewardMetric:
    """Names of the metrics_list entries the grader reports for every task (each task adds its own)."""

    PASSED: Final = "passed"  # type Reward: 1.0 when the task's verdict is a pass
    MALFORMED: Final = "malformed"  # present (1) only on a sample that could not be read or scored
    FLAGGED: Final = "flagged"  # present (1) only on a sample the task flagged; the flag's name follows


# The metric whose 1.0 means a sample passed (rftctl grade, preflight, compare).
PASS_METRIC: Final = RewardMetric.PASSED


class SampleField:
    """Fields of a training record (and of the sample Bedrock sends) the grader reads besides its messages."""

    REFERENCE_ANSWER: Final = "reference_answer"
    METADATA: Final = "metadata"


class BatchMetric:
    """CloudWatch metrics (EMF) the handler publishes per batch."""

    INVALID_EVENTS: Final = "InvalidEvents"
    SAMPLES_SCORED: Final = "SamplesScored"
    MALFORMED_SAMPLES: Final = "MalformedSamples"
    FLAGGED_SAMPLES: Final = "FlaggedSamples"
    PASSED_SAMPLES: Final = "PassedSamples"
    MEAN_REWARD: Final = "MeanReward"


METRICS_NAMESPACE: Final = "BedrockRft"
