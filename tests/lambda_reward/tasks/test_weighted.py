"""weighted: a weighted mean or product of other tasks' rewards."""

from __future__ import annotations

import math
from typing import Any

import pytest

from lambda_reward.runtime.grader import grade_batch
from lambda_reward.runtime.tasks import TaskError, load_task

PROMPT = "日本の首都はどこ?10文字以内で"


def sample(answer: str, reference: str = "東京") -> dict[str, Any]:
    return {
        "id": 0,
        "messages": [{"role": "user", "content": PROMPT}, {"role": "assistant", "content": answer}],
        "reference_answer": reference,
    }


def graded(answer: str, **options: Any) -> dict[str, Any]:
    task = load_task({"name": "weighted", "tasks": [{"name": "char-limit"}, {"name": "exact-match", "weight": 3}],
                      **options})
    (result,) = grade_batch([sample(answer)], task)
    return {"reward": result["aggregate_reward_score"], **{m["name"]: m["value"] for m in result["metrics_list"]}}


def test_product_needs_every_task() -> None:
    assert graded("東京")["reward"] == 1.0
    wrong = graded("大阪")  # within the limit, not the answer
    assert wrong["reward"] == 0.0 and wrong["char-limit.reward"] == 1.0 and wrong["exact-match.reward"] == 0.0
    assert wrong["passed"] == 0.0


def test_sum_is_the_weighted_mean() -> None:
    assert graded("大阪", combine="sum")["reward"] == pytest.approx(1 / 4)


def test_product_is_the_weighted_geometric_mean() -> None:
    task = load_task({"name": "weighted", "tasks": [{"name": "char-limit"}, {"name": "char-limit", "weight": 2}]})
    (result,) = grade_batch([sample("あ" * 11)], task)  # over the limit of 10: 0.45 from each
    assert result["aggregate_reward_score"] == pytest.approx(math.exp((math.log(0.45) * 3) / 3))


def test_metrics_are_prefixed_with_the_task() -> None:
    names = set(graded("東京"))
    assert {"char-limit.char_count", "char-limit.char_limit", "char-limit.reward", "exact-match.reward"} <= names


def test_sub_task_options_are_checked_and_named() -> None:
    with pytest.raises(TaskError) as error:
        load_task({"name": "weighted", "tasks": [{"name": "char-limit", "minShare": 3}, {"name": "nope"}]})
    assert error.value.problems[0].startswith("tasks[0]: task char-limit: minShare")
    assert error.value.problems[1].startswith("tasks[1]: unknown task 'nope'")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tasks": [{"name": "weighted"}]}, "cannot contain another"),
        ({"tasks": [{"name": "char-limit", "weight": 0}]}, "at least one weight must be above 0"),
        ({"tasks": [{"name": "char-limit", "weight": -1}]}, "is less than the minimum of 0"),
        ({"combine": "max"}, "'max' is not one of"),
    ],
)
def test_bad_combinations_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(TaskError) as error:
        load_task({"name": "weighted", **options})
    assert message in str(error.value)


def test_records_are_checked_by_every_task() -> None:
    task = load_task({"name": "weighted", "tasks": [{"name": "char-limit"}, {"name": "exact-match"}]})
    problems = task.check_record({"messages": [{"role": "user", "content": "説明して"}]})
    assert [p.split(":")[0] for p in problems] == ["char-limit", "exact-match"]


def test_a_malformed_sample_for_one_task_is_malformed() -> None:
    task = load_task({"name": "weighted", "tasks": [{"name": "char-limit"}, {"name": "exact-match"}]})
    reasons: list[str] = []
    bad = {**sample("東京"), "char_limit": "many"}
    (result,) = grade_batch([bad], task, on_malformed=lambda i, sid, why: reasons.append(why))
    assert result["aggregate_reward_score"] == 0.0
    assert reasons == ["task char-limit: invalid char_limit 'many': expected an integer >= 1"]


def test_the_default_is_char_limit_times_the_judge_with_the_judges_needs() -> None:
    task = load_task("weighted")
    assert task.description == "weighted product of char-limit x1, llm-judge x1"
    assert task.grader_timeout_seconds == load_task("llm-judge").grader_timeout_seconds
    statements = task.iam_statements(region="us-east-1", account="123456789012", partition="aws")
    judges = load_task("llm-judge").iam_statements(region="us-east-1", account="123456789012", partition="aws")
    assert statements == [{**statement, "Sid": "Part1" + statement["Sid"]} for statement in judges]


def test_two_judges_of_one_model_need_one_grant_and_sids_stay_unique() -> None:
    task = load_task({"name": "weighted", "tasks": [{"name": "llm-judge"}, {"name": "llm-judge", "maxTokens": 64}]})
    statements = task.iam_statements(region="us-east-1", account="123456789012", partition="aws")
    assert len(statements) == 2 and len({s["Sid"] for s in statements}) == 2
