"""The grader around any task (lambda_reward.runtime.grader): what it does whatever the task returns.

Each test builds a task from an in-memory module, as a team's own module would be, so what is
checked is the generic part: ids, malformed samples, reasoning removal, clamping, metrics, flags,
and that a task's bug costs only the samples it hits.
"""

from __future__ import annotations

import json
import math
import types
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from lambda_reward.runtime.grader import BatchSummary, grade_batch, grade_batch_with_summary, summarize
from lambda_reward.runtime.samples import ParsedSample
from lambda_reward.runtime.tasks import Deadline, Malformed, Score, Task, task_from_module


def task_of(name: str = "toy", **attributes: Any) -> Task:
    module = types.ModuleType(f"lambda_reward.runtime.tasks.{name}")
    for key, value in attributes.items():
        setattr(module, key, value)
    return task_from_module(module, name, {})


def sample(answer: Any, sample_id: Any = 0, prompt: str = "question", **fields: Any) -> dict[str, Any]:
    return {
        "id": sample_id,
        "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}],
        **fields,
    }


def metrics(result: dict[str, Any]) -> dict[str, Any]:
    return {entry["name"]: entry["value"] for entry in result["metrics_list"]}


def test_a_one_function_task_gets_the_visible_answer_and_the_raw_sample() -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    def score(answer: str, raw: dict[str, Any]) -> float:
        seen.append((answer, raw))
        return 0.75

    raw = sample("<think>hidden</think>  shown", sample_id="a", reference_answer="x", metadata={"k": 1})
    (result,) = grade_batch([raw], task_of(score=score))
    assert result == {
        "id": "a",
        "aggregate_reward_score": 0.75,
        "metrics_list": [{"name": "passed", "value": 0.0, "type": "Reward"}],
    }
    assert seen == [("shown", raw)]  # reasoning removed; the sample as Bedrock sent it


@pytest.mark.parametrize(
    ("returned", "reward"), [(1.5, 1.0), (-0.2, 0.0), (1, 1.0), (0, 0.0), (math.inf, 1.0), (-math.inf, 0.0)]
)
def test_rewards_are_clamped_to_the_unit_interval(returned: float, reward: float) -> None:
    (result,) = grade_batch([sample("a")], task_of(score=lambda answer, raw: returned))
    assert result["aggregate_reward_score"] == reward and type(result["aggregate_reward_score"]) is float


@pytest.mark.parametrize("returned", [math.nan, "1.0", None, True, [1.0], Score(math.nan)])
def test_what_is_not_a_number_makes_the_sample_malformed(returned: Any) -> None:
    reasons: list[str] = []
    (result,) = grade_batch(
        [sample("a")], task_of(score=lambda answer, raw: returned), on_malformed=lambda i, sid, why: reasons.append(why)
    )
    assert result["aggregate_reward_score"] == 0.0 and metrics(result) == {"passed": 0.0, "malformed": 1}
    assert reasons and reasons[0].startswith("grader error (a bug): the task returned")


def test_a_score_carries_metrics_the_verdict_and_a_flag() -> None:
    task = task_of(score=lambda answer, raw: Score(0.4, {"tokens": 3, "exact": True}, passed=True, flag="partial"))
    results, summary = grade_batch_with_summary([sample("a"), sample("b", 1)], task)
    assert metrics(results[0]) == {"tokens": 3, "exact": 1, "passed": 1.0, "flagged": 1, "partial": 1}
    names = [entry["name"] for entry in results[0]["metrics_list"]]
    assert names == ["tokens", "exact", "passed", "flagged", "partial"]
    assert summary == BatchSummary(samples=2, mean_reward=0.4, malformed=0, flagged=2, passed=2, flags={"partial": 2})
    assert summarize(json.loads(json.dumps(results))) == summary


def test_a_metric_that_is_not_a_finite_number_makes_the_sample_malformed() -> None:
    reasons: list[str] = []
    task = task_of(score=lambda answer, raw: Score(1.0, {"bad": math.nan}))
    (result,) = grade_batch([sample("a")], task, on_malformed=lambda i, sid, why: reasons.append(why))
    assert metrics(result) == {"passed": 0.0, "malformed": 1}
    assert reasons == ["grader error (a bug): metric 'bad' is nan, not a finite number"]


def test_pass_at_sets_the_verdict_for_plain_rewards() -> None:
    task = task_of(score=lambda answer, raw: 0.7, PASS_AT=0.7)
    assert metrics(grade_batch([sample("a")], task)[0])["passed"] == 1.0


def test_a_task_that_raises_costs_that_sample_only() -> None:
    def score(answer: str, raw: dict[str, Any]) -> float:
        if answer == "boom":
            raise KeyError("reference")
        return 1.0

    reasons: list[tuple[int, Any, str]] = []
    batch = [sample("ok", 1), sample("boom", 2), sample("ok", 3)]
    results = grade_batch(batch, task_of(score=score), on_malformed=lambda *a: reasons.append(a))
    assert [(r["id"], r["aggregate_reward_score"]) for r in results] == [(1, 1.0), (2, 0.0), (3, 1.0)]
    assert reasons == [(1, 2, "grader error (a bug): KeyError: 'reference'")]


def test_a_batch_task_that_raises_is_retried_sample_by_sample() -> None:
    calls: list[int] = []

    def score_batch(samples: list[ParsedSample], deadline: Deadline) -> list[float]:
        calls.append(len(samples))
        if any(s.answer == "boom" for s in samples):
            raise RuntimeError("bug")
        return [1.0] * len(samples)

    results = grade_batch([sample("ok", 1), sample("boom", 2), sample("ok", 3)], task_of(score_batch=score_batch))
    assert [r["aggregate_reward_score"] for r in results] == [1.0, 0.0, 1.0]
    assert calls == [3, 1, 1, 1]  # the whole batch, then each sample alone


def test_a_batch_task_returning_the_wrong_count_costs_nothing_but_its_answers() -> None:
    task = task_of(score_batch=lambda samples, deadline: [1.0] * (len(samples) + 1))
    reasons: list[str] = []
    results = grade_batch([sample("a"), sample("b", 1)], task, on_malformed=lambda i, sid, why: reasons.append(why))
    assert [metrics(r)["malformed"] for r in results] == [1, 1]
    assert reasons[0] == "grader error (a bug): task toy returned 2 scores for 1 samples"


def test_a_task_may_call_a_sample_malformed_with_its_reason() -> None:
    reasons: list[str] = []
    task = task_of(score_batch=lambda samples, deadline: [Malformed("reference_answer is not a number")] * len(samples))
    (result,) = grade_batch([sample("a")], task, on_malformed=lambda i, sid, why: reasons.append(why))
    assert metrics(result) == {"passed": 0.0, "malformed": 1} and reasons == ["reference_answer is not a number"]


def test_only_well_formed_samples_reach_the_task_and_results_keep_their_order() -> None:
    seen: list[Any] = []

    def score_batch(samples: list[ParsedSample], deadline: Deadline) -> list[float]:
        seen.extend(s.sample_id for s in samples)
        return [1.0] * len(samples)

    batch: list[Any] = [sample("a", "x"), None, {"id": "no messages"}, sample("b", "y")]
    results = grade_batch(batch, task_of(score_batch=score_batch))
    assert seen == ["x", "y"]
    assert [(r["id"], r["aggregate_reward_score"]) for r in results] == [
        ("x", 1.0), (None, 0.0), ("no messages", 0.0), ("y", 1.0)
    ]


def test_the_deadline_reaches_the_task() -> None:
    given_deadline: list[Deadline] = []

    def score_batch(samples: list[ParsedSample], deadline: Deadline) -> list[float]:
        given_deadline.append(deadline)
        return [0.0] * len(samples)

    deadline = Deadline(5.0)
    grade_batch([sample("a")], task_of(score_batch=score_batch), deadline=deadline)
    assert given_deadline == [deadline]
    assert Deadline().remaining() == math.inf and not Deadline().expired


def test_a_deadline_counts_down_and_never_goes_negative() -> None:
    now = [100.0]
    deadline = Deadline(2.0, clock=lambda: now[0])
    assert deadline.remaining() == 2.0
    now[0] = 101.5
    assert deadline.remaining() == pytest.approx(0.5)
    now[0] = 200.0
    assert deadline.remaining() == 0.0 and deadline.expired

    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 30_000

    assert Deadline.from_context(Context(), reserve_seconds=2.0).remaining() == pytest.approx(28.0, abs=0.1)
    assert Deadline.from_context(object(), reserve_seconds=2.0).remaining() == math.inf


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_nan=True), st.integers(), st.none(), st.text(max_size=3)), max_size=6))
def test_whatever_a_task_returns_the_reply_keeps_bedrocks_shape(returned: list[Any]) -> None:
    values = iter(returned)
    task = task_of(score=lambda answer, raw: next(values))
    results = grade_batch([sample("a", index) for index in range(len(returned))], task)
    assert [r["id"] for r in results] == list(range(len(returned)))
    for result in results:
        reward = result["aggregate_reward_score"]
        assert type(reward) is float and 0.0 <= reward <= 1.0
        json.dumps(result, allow_nan=False)


def test_a_one_function_task_stops_at_the_deadline_and_gives_the_rest_a_neutral_score() -> None:
    now = [0.0]

    def score(answer: str, raw: dict[str, Any]) -> float:
        now[0] += 1.0  # each sample takes a second
        return 1.0 if answer == "good" else 0.0

    deadline = Deadline(2.5, clock=lambda: now[0])
    batch = [sample("good", 0), sample("bad", 1), sample("good", 2), sample("x", 3), sample("y", 4, prompt="other")]
    results = grade_batch(batch, task_of(score=score), deadline=deadline)
    assert [r["aggregate_reward_score"] for r in results] == [1.0, 0.0, 1.0, 2 / 3, 0.5]
    assert [metrics(r).get("deadline") for r in results] == [None, None, None, 1, 1]
    assert now[0] == 3.0  # nothing was scored past the deadline


def test_options_are_compared_with_the_defaults_by_type_too() -> None:
    from lambda_reward.runtime.tasks import TaskError, load_task

    with pytest.raises(TaskError) as error:
        load_task({"name": "char-limit", "rejectEcho": 1, "minShare": False})
    assert len(error.value.problems) == 2
