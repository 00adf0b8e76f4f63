"""The char-limit task through the grader (grade_batch): rules, contract shape, robustness."""

from __future__ import annotations

import copy
import gc
import json
import math
from typing import Any

import pytest
from hypothesis import Phase, given, settings, strategies as st

from lambda_reward.runtime.grader import (
    BatchSummary,
    clear_caches,
    grade_batch,
    grade_batch_with_summary,
    summarize,
)
from lambda_reward.runtime.samples import parse_sample

PROMPT = "AIとは何か30文字以内で説明して"
FIXED_METRICS = ["char_count", "char_limit"]
FLAGS = ["malformed", "no_limit"]
REJECTIONS = ["empty", "echo", "restated_limit", "refusal"]


def make_sample(answer: Any, prompt: Any = PROMPT, sample_id: Any = 0, **fields: Any) -> dict:
    return {
        "id": sample_id,
        "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}],
        **fields,
    }


def grade_one(raw: object) -> dict:
    (result,) = grade_batch([raw])
    return result


def metrics(result: dict) -> dict[str, float]:
    return {metric["name"]: metric["value"] for metric in result["metrics_list"]}


def score(answer: Any, prompt: Any = PROMPT, **fields: Any) -> float:
    return grade_one(make_sample(answer, prompt, **fields))["aggregate_reward_score"]


def test_seed_article_example() -> None:
    result = grade_one(make_sample("人工知能の略で、機械が学習・推論する技術", sample_id="123"))
    assert result == {
        "id": "123",
        "aggregate_reward_score": 1.0,
        "metrics_list": [
            {"name": "char_count", "value": 20, "type": "Metric"},
            {"name": "char_limit", "value": 30, "type": "Metric"},
            {"name": "passed", "value": 1.0, "type": "Reward"},
        ],
    }


def test_empty_answer_scores_zero() -> None:
    for answer in ["", "   ", "\u3000\n", [], [{"type": "text", "text": ""}]]:
        result = grade_one(make_sample(answer))
        assert result["aggregate_reward_score"] == 0.0
        assert metrics(result) == {"char_count": 0, "char_limit": 30, "empty": 1, "passed": 0.0}


def test_answer_of_only_reasoning_is_empty() -> None:
    assert score("<think>" + "あ" * 10 + "</think>") == 0.0
    assert score("<think>never closed, all reasoning") == 0.0
    assert score([{"type": "reasoning", "text": "hmm"}]) == 0.0


def test_reasoning_is_not_counted() -> None:
    result = grade_one(make_sample("<think>" + "考" * 100 + "</think>" + "答" * 30))
    assert result["aggregate_reward_score"] == 1.0
    assert metrics(result)["char_count"] == 30


def test_within_limit_is_one() -> None:
    assert score("あ") == score("あ" * 30) == 1.0


def test_over_limit_ordering_and_zero_at_twice_the_limit() -> None:
    rewards = [score("あ" * length) for length in range(31, 65)]
    assert all(0.0 <= reward < 0.5 for reward in rewards)
    assert rewards == sorted(rewards, reverse=True)
    assert len(set(rewards[:29])) == 29  # 31..59 all distinct: a group that overshoots still learns
    assert score("あ" * 60) == score("あ" * 61) == score("あ" * 500) == 0.0
    assert metrics(grade_one(make_sample("あ" * 31)))["passed"] == 0.0


def test_length_counts_user_perceived_characters() -> None:
    family = "👨\u200d👩\u200d👧"
    result = grade_one(make_sample("家族" + family * 28))  # emoji alone would be no answer (tests below)
    assert metrics(result)["char_count"] == 30
    assert result["aggregate_reward_score"] == 1.0
    assert metrics(grade_one(make_sample("e\u0301" * 30)))["char_count"] == 30


def test_no_limit_scores_zero_with_metric() -> None:
    result = grade_one(make_sample("答え", prompt="AIとは何か説明して"))
    assert result["aggregate_reward_score"] == 0.0
    assert metrics(result) == {"char_count": 2, "char_limit": 0, "passed": 0.0, "flagged": 1, "no_limit": 1}


def test_english_prompt_and_under_off_by_one() -> None:
    assert score("x" * 29, prompt="Explain AI in under 30 characters.") == 1.0
    assert score("x" * 30, prompt="Explain AI in under 30 characters.") < 0.5
    assert score("x" * 30, prompt="Explain AI within 30 characters.") == 1.0
    assert score("あ" * 29, prompt="30文字未満で") == 1.0
    assert score("あ" * 30, prompt="30文字未満で") < 0.5


def test_explicit_char_limit_wins_over_the_prompt() -> None:
    assert score("あ" * 10, char_limit=5) < 0.5  # prompt says 30
    assert score("あ" * 10, char_limit="10") == 1.0
    assert score("あ" * 10, metadata={"char_limit": 5}) < 0.5
    assert score("あ" * 10, prompt="説明して", metadata={"char_limit": 10}) == 1.0
    result = grade_one(make_sample("あ" * 10, char_limit=10, metadata={"char_limit": 5}))
    assert metrics(result)["char_limit"] == 10  # top level wins over metadata


def test_null_explicit_char_limit_falls_back_to_the_prompt() -> None:
    result = grade_one(make_sample("あ" * 10, char_limit=None))
    assert metrics(result)["char_limit"] == 30


def test_a_whole_float_limit_is_that_limit() -> None:
    # 30.0 is how some JSON writers spell 30; it used to make the sample malformed (reward 0).
    result = grade_one(make_sample("あ" * 30, char_limit=30.0))
    assert result["aggregate_reward_score"] == 1.0 and metrics(result)["char_limit"] == 30
    assert metrics(grade_one(make_sample("あ" * 10, metadata={"char_limit": 10.0})))["char_limit"] == 10


def test_reference_answer_carries_the_limit_at_top_level_or_in_metadata() -> None:
    """AWS's record schema is messages + reference_answer; Bedrock may pass it either way."""
    top = grade_one(make_sample("あ" * 10, prompt="説明して", reference_answer={"char_limit": 10}))
    assert (top["aggregate_reward_score"], metrics(top)["char_limit"]) == (1.0, 10)
    inside = grade_one(make_sample("あ" * 10, prompt="説明して", metadata={"reference_answer": {"char_limit": 5}}))
    assert inside["aggregate_reward_score"] < 0.5 and metrics(inside)["char_limit"] == 5
    # char_limit itself wins; a string reference carries no limit, so the prompt's applies.
    both = grade_one(make_sample("あ" * 10, char_limit=20, reference_answer={"char_limit": 5}))
    assert metrics(both)["char_limit"] == 20
    text = grade_one(make_sample("あ" * 10, reference_answer="人工知能のこと"))
    assert metrics(text)["char_limit"] == 30
    bad = grade_one(make_sample("あ", reference_answer={"char_limit": "lots"}))
    assert metrics(bad)["malformed"] == 1


@pytest.mark.parametrize(
    "bad_limit", [0, -1, "abc", 2.5, 30.5, float("nan"), float("inf"), True, False, [30], {"n": 30}, "\ud800"]
)
def test_invalid_explicit_char_limit_is_malformed(bad_limit: object) -> None:
    reasons: list[tuple[int, Any, str]] = []
    (result,) = grade_batch([make_sample("あ", char_limit=bad_limit, sample_id=9)],
                            on_malformed=lambda *a: reasons.append(a))
    assert result["aggregate_reward_score"] == 0.0
    assert metrics(result)["malformed"] == 1
    assert reasons and reasons[0][:2] == (0, 9) and "invalid char_limit" in reasons[0][2]


def test_invalid_explicit_char_limit_reason_stays_short() -> None:
    deep: list = []
    for _ in range(980):
        deep = [deep]
    reasons: list[str] = []
    batch = [make_sample("あ", char_limit="9" * 1_000_000), make_sample("あ", char_limit=deep)]
    grade_batch(batch, on_malformed=lambda _index, _id, reason: reasons.append(reason))
    assert reasons == [
        f"invalid char_limit '{'9' * 60}'...: expected an integer >= 1",
        "invalid char_limit array of 1: expected an integer >= 1",
    ]


def test_a_grader_bug_costs_one_sample_not_the_batch(monkeypatch) -> None:
    def count_characters(text: str) -> int:
        if text == "boom":
            raise ValueError("unexpected")
        return len(text)

    monkeypatch.setattr("lambda_reward.runtime.tasks.char_limit.count_characters", count_characters)
    reasons: list[tuple[int, Any, str]] = []
    batch = [make_sample("答え", sample_id=1), make_sample("boom", sample_id=2), make_sample("答え", sample_id=3)]
    results, summary = grade_batch_with_summary(batch, on_malformed=lambda *a: reasons.append(a))
    assert [(r["id"], r["aggregate_reward_score"]) for r in results] == [(1, 1.0), (2, 0.0), (3, 1.0)]
    assert metrics(results[1])["malformed"] == 1
    assert reasons == [(1, 2, "grader error (a bug): ValueError: unexpected")]
    assert summary == BatchSummary(samples=3, mean_reward=pytest.approx(2 / 3), malformed=1, flagged=0, passed=2)


def test_block_list_and_nova_assistant() -> None:
    raw = {
        "id": 3,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": PROMPT}]},
            {"role": "nova_assistant", "content": [{"text": "人工知能"}, {"reasoningContent": {}}]},
        ],
    }
    result = grade_one(raw)
    assert result["aggregate_reward_score"] == 1.0
    assert metrics(result)["char_count"] == 4


@pytest.mark.parametrize("sample_id", [0, 12345678901234567890, "abc", "", None, 1.5, [1], {"a": 1}])
def test_ids_are_echoed_with_their_type(sample_id: object) -> None:
    result = grade_one(make_sample("答え", sample_id=sample_id))
    assert result["id"] is sample_id
    assert json.loads(json.dumps(result))["id"] == sample_id


def test_missing_id_becomes_null() -> None:
    raw = {"messages": [{"role": "user", "content": PROMPT}, {"role": "assistant", "content": "a"}]}
    assert grade_one(raw)["id"] is None
    assert grade_one("not a sample")["id"] is None


def test_malformed_samples_never_fail_the_batch() -> None:
    reasons: list[tuple[int, Any, str]] = []
    batch = [
        make_sample("答え", sample_id=1),
        42,
        {"id": 2},
        make_sample(None, sample_id=3),
        make_sample("答え", sample_id=4),
    ]
    results = grade_batch(batch, on_malformed=lambda *a: reasons.append(a))
    assert [r["id"] for r in results] == [1, None, 2, 3, 4]
    assert [r["aggregate_reward_score"] for r in results] == [1.0, 0.0, 0.0, 0.0, 1.0]
    assert [metrics(r).get("malformed", 0) for r in results] == [0, 1, 1, 1, 0]
    assert [(index, sample_id) for index, sample_id, _ in reasons] == [(1, None), (2, 2), (3, 3)]
    assert reasons[1][2] == "sample has no 'messages'"


def test_empty_batch() -> None:
    assert grade_batch([]) == []
    assert summarize([]) == BatchSummary(samples=0, mean_reward=None, malformed=0, flagged=0)


def test_summarize() -> None:
    results = grade_batch([make_sample("あ"), make_sample("あ" * 45), make_sample("あ", prompt="説明して"), None])
    summary = summarize(results)
    assert summary == BatchSummary(
        samples=4, mean_reward=pytest.approx((1.0 + 0.25) / 4), malformed=1, flagged=1, passed=1, flags={"no_limit": 1}
    )


def test_metric_entries_are_shared_read_only_and_copy_to_plain_dicts() -> None:
    first, second = grade_batch([make_sample("あ"), make_sample("い")])
    entry = first["metrics_list"][0]
    assert entry is second["metrics_list"][0]  # same name and value: one shared object
    with pytest.raises(TypeError, match="read-only"):
        entry["value"] = 5
    with pytest.raises(TypeError, match="read-only"):
        entry.update(value=5)
    assert type(copy.deepcopy(first)["metrics_list"][0]) is dict
    assert type(copy.copy(entry)) is dict
    assert json.loads(json.dumps(first)) == first
    assert first["metrics_list"] is not second["metrics_list"]  # the lists are each result's own


def test_grade_batch_restores_the_garbage_collector() -> None:
    assert gc.isenabled()
    grade_batch([make_sample("あ")])
    assert gc.isenabled()
    gc.disable()
    try:
        grade_batch([make_sample("あ")])
        assert not gc.isenabled()
    finally:
        gc.enable()


# ---------------------------------------------------------------------------------------
# Robustness: any input list gives a well-formed answer
# ---------------------------------------------------------------------------------------


def mostly(usual: st.SearchStrategy, unusual: st.SearchStrategy) -> st.SearchStrategy:
    """``usual`` three times in four, else ``unusual`` (shrinking towards ``usual``)."""
    return st.integers(0, 3).flatmap(lambda n: unusual if n == 3 else usual)


# Any code point, and often one that is hard to count: a lone surrogate (a JSON string can
# carry one, "\\ud800"), a joiner, a combining mark, CR, an ideographic space.
characters = mostly(
    st.characters(exclude_categories=()),
    st.sampled_from(["\ud800", "\udfff", "\u200d", "\u0301", "\r", "\u3000", "\U0001f3fd"]),
)
any_text = st.text(characters, max_size=40)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | any_text
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
prompts = mostly(
    st.sampled_from(
        [PROMPT, "三十字以内で", "百二十字以内で", "Answer within 20 characters.", "under 5 chars", "説明して", ""]
    ),
    any_text,
)
answer_texts = (
    st.text(characters, max_size=80)
    | st.integers(1, 130).map(lambda n: "あ" * n)  # within, over or far over the prompts' limits
    | st.sampled_from(
        [
            "<think>x</think>答え",
            "<think>unclosed",
            "r</think>a",
            "👨\u200d👩\u200d👧" * 3,
            "あ" * 45,
            "x" * 35,
            "e\u0301" * 25,
        ]
    )
)


def text_blocks(texts: st.SearchStrategy[str]) -> st.SearchStrategy:
    return mostly(
        st.builds(lambda t: {"type": "text", "text": t}, texts) | st.builds(lambda t: {"text": t}, texts),
        st.just({"type": "reasoning", "text": "hmm"})
        | st.just({"reasoningContent": {"reasoningText": {"text": "hmm"}}})
        | json_values,
    )


def contents(texts: st.SearchStrategy[str]) -> st.SearchStrategy:
    """Mostly valid content (a string or a list of blocks), sometimes any JSON value."""
    return mostly(texts | st.lists(text_blocks(texts), max_size=3), json_values)


roles = mostly(st.sampled_from(["user", "assistant", "nova_assistant", "system", "tool"]), json_values)
user_messages = st.fixed_dictionaries({"role": st.just("user"), "content": contents(prompts)})
assistant_messages = st.fixed_dictionaries(
    {"role": st.sampled_from(["assistant", "nova_assistant"]), "content": contents(answer_texts)}
)
any_messages = mostly(st.fixed_dictionaries({"role": roles, "content": contents(answer_texts)}), json_values)
# A user prompt and an answer, sometimes with other (possibly broken) messages around them.
conversations = st.builds(
    lambda before, user, answer, after: [*before, user, answer, *after],
    st.lists(user_messages | any_messages, max_size=2),
    user_messages,
    assistant_messages,
    st.lists(any_messages, max_size=1),
)
messages = mostly(conversations, st.lists(user_messages | assistant_messages | any_messages, max_size=4) | json_values)
limits = mostly(
    st.integers(min_value=1, max_value=200) | st.just("30"), st.sampled_from([0, -2, " 12 ", "x", ""]) | json_values
)
metadata = mostly(
    st.none() | st.fixed_dictionaries({}, optional={"char_limit": limits, "reference_answer": json_values}),
    json_values,
)
near_valid_samples = st.fixed_dictionaries(
    {"id": json_values, "messages": messages},
    optional={"metadata": metadata, "char_limit": limits, "reference_answer": json_values},
)


def assert_well_formed(batch: list, results: list) -> None:
    assert isinstance(results, list) and len(results) == len(batch)
    for raw, result in zip(batch, results, strict=True):
        assert list(result) == ["id", "aggregate_reward_score", "metrics_list"]
        expected_id = raw.get("id") if isinstance(raw, dict) else None
        assert result["id"] is expected_id
        reward = result["aggregate_reward_score"]
        assert type(reward) is float and 0.0 <= reward <= 1.0
        names = []
        for metric in result["metrics_list"]:
            assert list(metric) == ["name", "value", "type"]
            assert type(metric["value"]) in (int, float) and math.isfinite(metric["value"])
            assert metric["type"] in ("Reward", "Metric")
            names.append(metric["name"])
        if names[-1] == "malformed":
            assert names == ["passed", "malformed"]
        else:
            assert names[:2] == FIXED_METRICS
            rest = names[2:]
            assert rest in (["passed"], ["passed", "flagged", "no_limit"]) or (
                len(rest) == 2 and rest[0] in REJECTIONS and rest[1] == "passed"
            )
        json.dumps({k: v for k, v in result.items() if k != "id"}, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        near_valid_samples | st.sampled_from([make_sample("あ" * 20), make_sample("あ" * 20, char_limit=5)]), max_size=8
    )
)
def test_a_sample_scores_the_same_alone_and_in_any_batch(batch: list) -> None:
    # grade_batch reuses the previous sample's prompt limit; that must never leak.
    assert grade_batch(batch) == [result for raw in batch for result in grade_batch([raw])]


def outcomes(raw: object) -> set[str]:
    """What grading one sample exercised, to check what the strategies reach."""
    reasons: list[str] = []
    (result,) = grade_batch([raw], on_malformed=lambda _index, _id, reason: reasons.append(reason))
    reward, values = result["aggregate_reward_score"], metrics(result)
    found = {name for name in FLAGS if name in values}
    found |= {f"malformed: {reason.split(' ')[0]}" for reason in reasons}
    if not found:
        found.add("within" if reward == 1.0 else "over" if reward > 0 else "zero")
        parsed = parse_sample(raw)
        if any("\ud800" <= char <= "\udfff" for char in parsed.answer + parsed.prompt):
            found.add("lone surrogate in a scored sample")
    return found


def test_near_valid_strategy_reaches_every_kind_of_result() -> None:
    """The property tests above see scored samples of every kind, not only malformed ones."""
    seen: set[str] = set()

    @settings(max_examples=1000, database=None, derandomize=True, phases=[Phase.generate], deadline=None)
    @given(near_valid_samples)
    def collect(raw: dict) -> None:
        seen.update(outcomes(raw))

    collect()
    wanted = {
        "within",
        "over",
        "zero",
        "no_limit",
        "lone surrogate in a scored sample",
        "malformed: invalid",
        "malformed: messages[1].content",
        "malformed: messages[0].role",
        "malformed: no",
        "malformed: 'metadata'",
    }
    assert wanted <= seen, sorted(wanted - seen)


def test_prompt_limit_is_not_reused_across_an_explicit_limit() -> None:
    batch = [make_sample("あ" * 20), make_sample("あ" * 20, char_limit=5), make_sample("あ" * 20)]
    assert [metrics(r)["char_limit"] for r in grade_batch(batch)] == [30, 5, 30]


@settings(max_examples=300, deadline=None)
@given(st.lists(json_values, max_size=5))
def test_any_json_list_gives_a_well_formed_answer(batch: list) -> None:
    assert_well_formed(batch, grade_batch(batch))


@settings(max_examples=400, deadline=None)
@given(st.lists(near_valid_samples, max_size=5))
def test_near_valid_samples_give_a_well_formed_answer(batch: list) -> None:
    results, summary = grade_batch_with_summary(batch)
    assert_well_formed(batch, results)
    assert summary == summarize(results)
    for result in results:
        values = metrics(result)
        assert values.get("malformed", 1) == 1 and values.get("no_limit", 1) == 1
        if "malformed" in values or "no_limit" in values:
            assert result["aggregate_reward_score"] == 0.0
        assert (result["aggregate_reward_score"] == 1.0) == (values["passed"] == 1.0)


def test_clear_caches_keeps_scores_the_same() -> None:
    batch = [make_sample("あ" * 10), make_sample("👍🏽" * 5), make_sample("x" * 40, prompt="within 30 chars")]
    before = grade_batch(batch)
    clear_caches()
    assert grade_batch(batch) == before
