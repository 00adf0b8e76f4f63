"""The grader's names that others read: Bedrock (the result shape), rftctl and the dashboards.

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
    """Names of the metrics_list entries the character-limit task reports per sample."""

    CHAR_COUNT: Final = "char_count"
    CHAR_LIMIT: Final = "char_limit"  # 0: no limit is known
    WITHIN_LIMIT: Final = "within_limit"  # the grader's verdict: 1.0 exactly when the reward is 1.0
    MALFORMED: Final = "malformed"  # present (1) only on a sample that could not be read
    NO_LIMIT: Final = "no_limit"  # present (1) only on a sample whose prompt states no limit


# The metric whose 1.0 means a sample passed (rftctl grade, preflight, compare).
PASS_METRIC: Final = RewardMetric.WITHIN_LIMIT


class SampleField:
    """Fields of a training record (and of the sample Bedrock sends) the task reads besides its messages."""

    CHAR_LIMIT: Final = "char_limit"
    REFERENCE_ANSWER: Final = "reference_answer"


class BatchMetric:
    """CloudWatch metrics (EMF) the handler publishes per batch."""

    INVALID_EVENTS: Final = "InvalidEvents"
    SAMPLES_SCORED: Final = "SamplesScored"
    MALFORMED_SAMPLES: Final = "MalformedSamples"
    NO_LIMIT_SAMPLES: Final = "NoLimitSamples"
    MEAN_REWARD: Final = "MeanReward"


METRICS_NAMESPACE: Final = "BedrockRft"
