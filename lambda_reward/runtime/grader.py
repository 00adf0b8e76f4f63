"""Scoring a batch of samples with a task: everything around the task, written once.

``grade_batch`` returns exactly what the Lambda returns to Bedrock, so the handler, the operator
CLI and the preflight check all score with the same code. Per sample it reads the sample (a
malformed one scores 0.0 and is reported, never raised), removes the model's reasoning, hands
the well-formed ones to the task, clamps the reward to [0, 1] (NaN and non-numbers are a task bug:
0.0, malformed) and builds the result with the task's metrics, the pass verdict and any flag.
"""

from __future__ import annotations

import gc
import math
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NoReturn

from lambda_reward.runtime import tasks
from lambda_reward.runtime.contract import MetricType, ResultKey, RewardMetric
from lambda_reward.runtime.samples import MalformedSample, ParsedSample, describe_value, read_sample
from lambda_reward.runtime.tasks import Deadline, Malformed, Score, Task, TaskFailure, load_task

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


@lru_cache(maxsize=8192)
def shared_metric(name: str, value: float, kind: str = MetricType.METRIC) -> SharedMetric:
    return SharedMetric(name=name, value=value, type=kind)


_PASSED = shared_metric(RewardMetric.PASSED, 1.0, MetricType.REWARD)
_NOT_PASSED = shared_metric(RewardMetric.PASSED, 0.0, MetricType.REWARD)
# Flags appear only on the samples they describe (value 1); absent means 0.
_MALFORMED = shared_metric(RewardMetric.MALFORMED, 1)
_FLAGGED = shared_metric(RewardMetric.FLAGGED, 1)


def _malformed_result(sample_id: Any) -> dict[str, Any]:
    return {ResultKey.ID: sample_id, ResultKey.REWARD: 0.0, ResultKey.METRICS: [_NOT_PASSED, _MALFORMED]}


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
    flagged: int
    passed: int = 0
    flags: Mapping[str, int] = field(default_factory=dict)  # flagged samples by flag name


_default_task: Task | None = None


def default_task() -> Task:
    """The default task (char-limit, its default options), loaded once."""
    global _default_task
    if _default_task is None:
        _default_task = load_task(None)
    return _default_task


def grade_batch(
    samples: list[Any],
    task: Task | None = None,
    *,
    on_malformed: MalformedCallback | None = None,
    deadline: Deadline | None = None,
    prompt_opens_reasoning: bool = False,
) -> list[dict[str, Any]]:
    """One result per sample, in order: ``{"id", "aggregate_reward_score", "metrics_list"}``.

    ``metrics_list`` holds the task's metrics, ``passed`` (type Reward: 1.0 when the sample
    passed), then ``malformed`` or ``flagged`` and the flag's name (value 1) on the samples they
    describe; its entries are read-only ``SharedMetric`` dicts.

    Never raises for a bad sample: it scores 0.0 with malformed, and ``on_malformed`` (if given)
    hears about it. So does a sample that hits a bug in the task (reason ``grader error (a bug):
    ...``): lost samples, never a failed training run.
    """
    return grade_batch_with_summary(
        samples, task, on_malformed=on_malformed, deadline=deadline, prompt_opens_reasoning=prompt_opens_reasoning
    )[0]


def grade_batch_with_summary(
    samples: list[Any],
    task: Task | None = None,
    *,
    on_malformed: MalformedCallback | None = None,
    deadline: Deadline | None = None,
    prompt_opens_reasoning: bool = False,
) -> tuple[list[dict[str, Any]], BatchSummary]:
    """``grade_batch`` and, counted on the way, its ``summarize`` (what the handler needs).

    ``prompt_opens_reasoning``: the model's chat template opens its reasoning block in the prompt
    (see ``samples.strip_reasoning``); the grader's environment says so for such a model."""
    task = task or default_task()
    results: list[dict[str, Any] | None] = [None] * len(samples)
    malformed: list[tuple[int, Any, str]] = []
    with _cyclic_gc_paused():
        parsed: list[ParsedSample] = []
        positions: list[int] = []
        for index, raw in enumerate(samples):
            try:
                parts = read_sample(raw, prompt_opens_reasoning)
            except Exception as error:  # a bug in reading costs one sample, never the training run
                sample_id = raw.get(ResultKey.ID) if isinstance(raw, dict) else None
                parts = MalformedSample(sample_id, f"grader error (a bug): {type(error).__name__}: {error}")
            if isinstance(parts, MalformedSample):
                results[index] = _malformed_result(parts.sample_id)
                malformed.append((index, parts.sample_id, parts.reason))
            else:
                sample_id, answer, prompt, top_level, metadata = parts
                parsed.append(ParsedSample(sample_id, answer, prompt, top_level, metadata or {}))
                positions.append(index)
        scores = _task_scores(task, parsed, deadline or Deadline())
        pass_at = task.pass_at
        id_key, reward_key, metrics_key = ResultKey.ID, ResultKey.REWARD, ResultKey.METRICS
        for index, sample, score in zip(positions, parsed, scores, strict=True):
            try:
                if type(score) is float and 0.0 <= score <= 1.0:  # the usual case, kept cheap
                    results[index] = {
                        id_key: sample.sample_id,
                        reward_key: score,
                        metrics_key: [_PASSED if score >= pass_at else _NOT_PASSED],
                    }
                    continue
                results[index] = _result(sample.sample_id, score, pass_at)
            except _BadScore as error:
                results[index] = _malformed_result(sample.sample_id)
                malformed.append((index, sample.sample_id, str(error)))
    final = [result for result in results if result is not None]
    if on_malformed is not None:
        for index, sample_id, reason in malformed:
            on_malformed(index, sample_id, reason)
    return final, summarize(final)


class _BadScore(Exception):
    """The task gave something that is not a score (a bug in the task): the sample is malformed."""


def _task_scores(task: Task, samples: list[ParsedSample], deadline: Deadline) -> Sequence[Any]:
    """The task's scores for ``samples``; when the batch call raises (a bug in the task), each sample is
    scored alone, so the bug costs the samples that trigger it, not the batch."""
    if not samples:
        return []
    try:
        scores = task.score_batch(samples, deadline)
        if len(scores) == len(samples):
            return scores
        failure = TaskFailure(f"task {task.name} returned {len(scores)} scores for {len(samples)} samples")
    except Exception as error:
        failure = TaskFailure(f"{type(error).__name__}: {error}")
    if len(samples) == 1:
        return [failure]
    return [_task_scores(task, [sample], deadline)[0] for sample in samples]


def _reward(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _BadScore(f"grader error (a bug): the task returned {describe_value(value)}, not a number")
    if math.isnan(value):
        raise _BadScore("grader error (a bug): the task returned NaN")
    return min(max(float(value), 0.0), 1.0)


def _result(sample_id: Any, score: Any, pass_at: float) -> dict[str, Any]:
    if isinstance(score, TaskFailure):
        raise _BadScore(f"grader error (a bug): {score.reason}")
    if isinstance(score, Malformed):
        raise _BadScore(score.reason)
    if not isinstance(score, Score):
        reward = _reward(score)
        return {
            ResultKey.ID: sample_id,
            ResultKey.REWARD: reward,
            ResultKey.METRICS: [_PASSED if reward >= pass_at else _NOT_PASSED],
        }
    entries = score._entries
    if entries is None or entries[0] != pass_at:
        entries = (pass_at, _reward(score.reward), _entries_of(score, pass_at))
        object.__setattr__(score, "_entries", entries)  # frozen for tasks, a cache for the grader
    return {ResultKey.ID: sample_id, ResultKey.REWARD: entries[1], ResultKey.METRICS: list(entries[2])}


def _entries_of(score: Score, pass_at: float) -> tuple[SharedMetric, ...]:
    entries = []
    for name, value in score.metrics.items():
        if type(value) is int:  # the usual metric: a count, a flag
            entries.append(shared_metric(name, value))
            continue
        if isinstance(value, bool):
            value = int(value)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise _BadScore(f"grader error (a bug): metric {name!r} is {describe_value(value)}, not a finite number")
        entries.append(shared_metric(name, value))
    reward = _reward(score.reward)
    passed = score.passed if score.passed is not None else reward >= pass_at
    entries.append(_PASSED if passed else _NOT_PASSED)
    if score.flag:
        entries.append(_FLAGGED)
        entries.append(shared_metric(score.flag, 1))
    return tuple(entries)


def clear_caches() -> None:
    """Forget every cache scoring keeps, as in a fresh Lambda container (for benchmarks): the grader's
    and each loaded task module's (those that define ``clear_caches``)."""
    prefix = f"{tasks.__name__}."
    for name, module in list(sys.modules.items()):
        if name.startswith(prefix) and callable(getattr(module, "clear_caches", None)):
            module.clear_caches()
    shared_metric.cache_clear()


def summarize(results: list[dict[str, Any]]) -> BatchSummary:
    """Aggregate results in the ``grade_batch`` shape (also after a JSON round trip)."""
    total_reward = 0.0
    malformed = flagged = passed = 0
    flags: dict[str, int] = {}
    for result in results:
        total_reward += result[ResultKey.REWARD]
        metrics = result[ResultKey.METRICS]
        is_flagged = False
        for metric in metrics:
            name = metric["name"]
            if name == RewardMetric.PASSED:
                passed += metric["value"] >= 1.0
            elif name == RewardMetric.MALFORMED:
                malformed += 1
            elif name == RewardMetric.FLAGGED:
                is_flagged = True
        if is_flagged:
            flagged += 1
            # The flag's own entry follows "flagged" (see _result).
            names = [metric["name"] for metric in metrics]
            flag = names[names.index(RewardMetric.FLAGGED) + 1] if names[-1] != RewardMetric.FLAGGED else "flagged"
            flags[flag] = flags.get(flag, 0) + 1
    count = len(results)
    return BatchSummary(
        samples=count,
        mean_reward=total_reward / count if count else None,
        malformed=malformed,
        flagged=flagged,
        passed=int(passed),
        flags=flags,
    )
