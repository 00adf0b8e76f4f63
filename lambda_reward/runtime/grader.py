"""Scoring a batch of samples: the reward function itself, free of AWS and Powertools.

``grade_batch`` returns exactly what the Lambda returns to Bedrock, so the handler, the
operator CLI and the preflight check all score with the same code.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NoReturn

from lambda_reward.runtime import char_limit
from lambda_reward.runtime.char_limit import (
    count_characters,
    extract_char_limit,
    length_reward,
    parse_explicit_char_limit,
)
from lambda_reward.runtime.contract import (
    MetricType,
    ResultKey,
    RewardMetric,
    SampleField,
)
from lambda_reward.runtime.samples import MalformedSample, describe_value, read_sample

CHAR_LIMIT_FIELD = SampleField.CHAR_LIMIT
REFERENCE_ANSWER_FIELD = SampleField.REFERENCE_ANSWER

# Called once per malformed sample with (index in the batch, sample id, reason).
MalformedCallback = Callable[[int, Any, str], None]


class SharedMetric(dict[str, Any]):
    """A ``metrics_list`` entry shared by every result with the same name and value.

    Batches repeat the same few entries (counts, limits, flags) thousands of times;
    sharing them cuts the memory of a large batch's results to about a quarter, and the
    time to build them. Shared entries are read-only, so an edit can never leak from one
    result into another: to edit a result, copy it (copies are plain dicts).
    """

    __slots__ = ()

    def _read_only(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError("metric entries are shared between results and read-only; copy the result to edit it")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _read_only

    def __reduce__(self) -> tuple[type, tuple[dict[str, Any]]]:
        return dict, (dict(self),)


@lru_cache(maxsize=4096)
def _char_count_metric(value: int) -> SharedMetric:
    return SharedMetric(name=RewardMetric.CHAR_COUNT, value=value, type=MetricType.METRIC)


@lru_cache(maxsize=4096)
def _char_limit_metric(value: int) -> SharedMetric:
    # 0 means no limit is known.
    return SharedMetric(name=RewardMetric.CHAR_LIMIT, value=value, type=MetricType.METRIC)


# within_limit is 1.0 exactly when the reward is 1.0: a non-empty answer within the
# limit (overshoots score below 0.5).
_WITHIN_LIMIT = SharedMetric(name=RewardMetric.WITHIN_LIMIT, value=1.0, type=MetricType.REWARD)
_NOT_WITHIN_LIMIT = SharedMetric(name=RewardMetric.WITHIN_LIMIT, value=0.0, type=MetricType.REWARD)
# Flags appear only on the samples they describe (value 1); absent means 0.
_MALFORMED = SharedMetric(name=RewardMetric.MALFORMED, value=1, type=MetricType.METRIC)
_NO_LIMIT = SharedMetric(name=RewardMetric.NO_LIMIT, value=1, type=MetricType.METRIC)


def _flagged_result(sample_id: Any, char_count: int, flag: SharedMetric) -> dict[str, Any]:
    """A 0.0 result carrying ``flag`` (malformed or no_limit); no limit is known."""
    return {
        ResultKey.ID: sample_id,
        ResultKey.REWARD: 0.0,
        ResultKey.METRICS: [_char_count_metric(char_count), _char_limit_metric(0), _NOT_WITHIN_LIMIT, flag],
    }


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector, restoring its previous state afterwards.

    Scoring creates a few container objects per sample and no reference cycles, yet
    those allocations trigger full collections that walk the whole (large) input batch
    again and again: about a third of the scoring time for 100,000 samples. Reference
    counting still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """Per-invocation figures for metrics; ``mean_reward`` is None for an empty batch."""

    samples: int
    mean_reward: float | None
    malformed: int
    no_limit: int


def grade_batch(samples: list[Any], on_malformed: MalformedCallback | None = None) -> list[dict[str, Any]]:
    """One result per sample, in order: ``{"id", "aggregate_reward_score", "metrics_list"}``.

    ``metrics_list`` holds char_count, char_limit and within_limit, then ``malformed``
    or ``no_limit`` (value 1) on the samples they describe; its entries are read-only
    ``SharedMetric`` dicts.

    The limit is the sample's own ``char_limit`` field (top level, else metadata; null
    counts as absent), else its ``reference_answer.char_limit`` (read the same way), otherwise
    what the last user prompt asks for. An
    invalid explicit value makes the sample malformed rather than silently falling back
    to the prompt. No limit at all scores 0.0 with no_limit.

    Never raises for a bad sample: it scores 0.0 with malformed, and ``on_malformed``
    (if given) hears about it. So does a sample that hits a bug in the grader (reason
    ``grader error (a bug): ...``): one lost sample, never a failed training run.
    """
    return grade_batch_with_summary(samples, on_malformed)[0]


def grade_batch_with_summary(
    samples: list[Any], on_malformed: MalformedCallback | None = None
) -> tuple[list[dict[str, Any]], BatchSummary]:
    """``grade_batch`` and, counted on the way, its ``summarize`` (what the handler needs)."""
    results: list[dict[str, Any]] = []
    append = results.append
    total_reward = 0.0
    malformed_count = no_limit_count = 0
    # The samples of one GRPO group share their prompt and usually arrive together:
    # comparing with the previous prompt (whose limit and char_limit entry are kept) is
    # cheaper than the cache's hashing.
    previous_prompt: str | None = None
    previous_limit: int | None = None
    previous_limit_metric = _char_limit_metric(0)
    # The result keys as locals: the hot loop below builds one dict per sample.
    id_key, reward_key, metrics_key = ResultKey.ID, ResultKey.REWARD, ResultKey.METRICS
    with _cyclic_gc_paused():
        for index, raw in enumerate(samples):
            try:
                parts = read_sample(raw)
                if isinstance(parts, MalformedSample):
                    sample_id, char_count, reason = parts.sample_id, 0, parts.reason
                else:
                    sample_id, answer, prompt, top_level, metadata = parts
                    char_count = count_characters(answer)

                    # The top level wins over metadata (as in samples.sample_field).
                    explicit_limit = top_level.get(CHAR_LIMIT_FIELD)
                    if explicit_limit is None and metadata is not None:
                        explicit_limit = metadata.get(CHAR_LIMIT_FIELD)
                    if explicit_limit is None:
                        # The record's reference_answer may carry it (AWS's core record schema).
                        explicit_limit = _reference_limit(top_level, metadata)
                    if explicit_limit is not None:
                        limit = parse_explicit_char_limit(explicit_limit)
                        limit_metric = _char_limit_metric(limit or 0)
                    elif prompt == previous_prompt:
                        limit, limit_metric = previous_limit, previous_limit_metric
                    else:
                        limit = previous_limit = extract_char_limit(prompt)
                        limit_metric = previous_limit_metric = _char_limit_metric(limit or 0)
                        previous_prompt = prompt

                    if limit is not None:
                        # Most answers are within the limit; length_reward holds the whole rule.
                        if 0 < char_count <= limit:
                            reward, within_limit = 1.0, _WITHIN_LIMIT
                        else:
                            reward, within_limit = length_reward(char_count, limit), _NOT_WITHIN_LIMIT
                        append({
                            id_key: sample_id,
                            reward_key: reward,
                            metrics_key: [_char_count_metric(char_count), limit_metric, within_limit],
                        })
                        total_reward += reward
                        continue
                    if explicit_limit is None:
                        append(_flagged_result(sample_id, char_count, _NO_LIMIT))
                        no_limit_count += 1
                        continue
                    reason = f"invalid char_limit {describe_value(explicit_limit)}: expected an integer >= 1"
            except Exception as error:  # a grader bug costs one sample, never the training run
                sample_id = raw.get(ResultKey.ID) if isinstance(raw, dict) else None
                char_count, reason = 0, f"grader error (a bug): {type(error).__name__}: {error}"
            append(_flagged_result(sample_id, char_count, _MALFORMED))
            malformed_count += 1
            if on_malformed is not None:
                on_malformed(index, sample_id, reason)
    count = len(results)
    summary = BatchSummary(
        samples=count,
        mean_reward=total_reward / count if count else None,
        malformed=malformed_count,
        no_limit=no_limit_count,
    )
    return results, summary


def _reference_limit(top_level: dict[str, Any], metadata: dict[str, Any] | None) -> Any:
    """``reference_answer.char_limit``, read where ``sample_field`` reads fields; None if absent."""
    reference = top_level.get(REFERENCE_ANSWER_FIELD)
    if reference is None and metadata is not None:
        reference = metadata.get(REFERENCE_ANSWER_FIELD)
    return reference.get(CHAR_LIMIT_FIELD) if isinstance(reference, dict) else None


def clear_caches() -> None:
    """Forget every cache scoring keeps, as in a fresh Lambda container (for benchmarks)."""
    char_limit.clear_caches()
    _char_count_metric.cache_clear()
    _char_limit_metric.cache_clear()


def summarize(results: list[dict[str, Any]]) -> BatchSummary:
    """Aggregate results in the ``grade_batch`` shape (also after a JSON round trip): the
    figures ``grade_batch_with_summary`` counts while scoring, recomputed from its output."""
    total_reward = 0.0
    flags = {RewardMetric.MALFORMED: 0, RewardMetric.NO_LIMIT: 0}
    for result in results:
        total_reward += result[ResultKey.REWARD]
        for metric in result[ResultKey.METRICS]:
            if metric["name"] in flags:
                flags[metric["name"]] += metric["value"]
    count = len(results)
    return BatchSummary(
        samples=count,
        mean_reward=total_reward / count if count else None,
        malformed=flags[RewardMetric.MALFORMED],
        no_limit=flags[RewardMetric.NO_LIMIT],
    )
