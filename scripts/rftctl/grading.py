"""Reading grader results: pass/fail, summaries, and checking a reply against the Lambda contract."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lambda_reward.runtime.contract import METRIC_TYPES, PASS_METRIC, ResultKey

from .console import format_number, format_percent, format_table, is_finite_number


def metric(result: dict[str, Any], name: str) -> float | None:
    for entry in result.get(ResultKey.METRICS) or []:
        if entry.get("name") == name:
            return entry.get("value")
    return None


def passed(result: dict[str, Any]) -> bool:
    """A sample passes when the grader's ``passed`` metric (the task's verdict) says so.

    The reward itself is graded (char-limit: an overshoot earns up to 0.5), so "pass" is the
    grader's own verdict; a grader without that metric passes only a full reward of 1.0.
    """
    verdict = metric(result, PASS_METRIC)
    if verdict is not None:
        return verdict >= 1.0
    return result.get(ResultKey.REWARD) == 1.0


@dataclass(frozen=True)
class ScoreSummary:
    count: int
    mean_reward: float | None
    pass_count: int

    @property
    def pass_rate(self) -> float | None:
        return self.pass_count / self.count if self.count else None

    def line(self) -> str:
        return (
            f"samples {self.count}  mean reward {format_number(self.mean_reward)}  "
            f"pass rate {format_percent(self.pass_rate)} ({self.pass_count}/{self.count})"
        )


def summarize(results: Sequence[dict[str, Any]]) -> ScoreSummary:
    count = len(results)
    total = sum(float(result[ResultKey.REWARD]) for result in results)
    return ScoreSummary(count, total / count if count else None, sum(passed(result) for result in results))


def results_data(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The results as plain data (grade --json): id, reward, pass verdict and every metric by name."""
    return [
        {
            "id": result[ResultKey.ID],
            "reward": result[ResultKey.REWARD],
            "passed": passed(result),
            "metrics": {entry["name"]: entry["value"] for entry in result.get(ResultKey.METRICS) or []},
        }
        for result in results
    ]


def results_table(results: Sequence[dict[str, Any]]) -> str:
    """One row per result: id, reward, pass mark, then every metric the grader reported."""
    names: list[str] = []
    for result in results:
        for entry in result.get(ResultKey.METRICS) or []:
            if entry.get("name") not in names:
                names.append(entry["name"])
    rows = [
        [
            result[ResultKey.ID],
            f"{result[ResultKey.REWARD]:.3f}",
            "o" if passed(result) else "x",
            *(format_number(metric(result, name)) for name in names),
        ]
        for result in results
    ]
    return format_table(["id", "reward", "pass", *names], rows, right_align=range(1, 3 + len(names)))


def _same_id(sent: object, returned: object) -> bool:
    # Bedrock matches results by id: 7 and "7" (or True and 1) are different ids.
    return type(sent) is type(returned) and sent == returned


def reply_problems(samples: Sequence[dict[str, Any]], reply: object) -> list[str]:
    """Everything wrong with a grader reply for ``samples`` (empty when it is well formed).

    The contract (reference section 3): a list with one result per sample, in order, each
    ``{"id": <same id, same JSON type>, "aggregate_reward_score": number in [0, 1],
    "metrics_list": optional [{"name": str, "value": number, "type": "Reward" | "Metric"}]}``.
    """
    if not isinstance(reply, list):
        return [f"reply is {type(reply).__name__}, expected a JSON list of results"]
    problems = []
    if len(reply) != len(samples):
        problems.append(f"reply has {len(reply)} results for {len(samples)} samples")
    for index, (sample, result) in enumerate(zip(samples, reply, strict=False)):  # lengths checked above
        where = f"result {index} (sample id {sample.get('id')!r})"
        if not isinstance(result, dict):
            problems.append(f"{where}: is {type(result).__name__}, expected an object")
            continue
        if ResultKey.ID not in result:
            problems.append(f"{where}: has no {ResultKey.ID}")
        elif not _same_id(sample.get(ResultKey.ID), result[ResultKey.ID]):
            problems.append(f"{where}: {ResultKey.ID} is {result[ResultKey.ID]!r}, expected "
                            f"{sample.get(ResultKey.ID)!r} (same order, same type)")
        score = result.get(ResultKey.REWARD)
        if not is_finite_number(score):
            problems.append(f"{where}: {ResultKey.REWARD} is {score!r}, expected a number")
        elif not 0.0 <= score <= 1.0:
            problems.append(f"{where}: {ResultKey.REWARD} {score} is outside [0, 1]")
        metrics = result.get(ResultKey.METRICS)
        if metrics is None:
            continue
        if not isinstance(metrics, list):
            problems.append(f"{where}: {ResultKey.METRICS} is {type(metrics).__name__}, expected a list")
            continue
        for position, entry in enumerate(metrics):
            label = f"{where}: {ResultKey.METRICS}[{position}]"
            if not isinstance(entry, dict):
                problems.append(f"{label} is {type(entry).__name__}, expected an object")
                continue
            if not isinstance(entry.get("name"), str) or not entry["name"]:
                problems.append(f"{label}.name is {entry.get('name')!r}, expected a non-empty string")
            if not is_finite_number(entry.get("value")):
                problems.append(f"{label}.value is {entry.get('value')!r}, expected a number")
            if entry.get("type") not in METRIC_TYPES:
                problems.append(f"{label}.type is {entry.get('type')!r}, expected Reward or Metric")
    return problems
