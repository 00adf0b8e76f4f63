"""Parsing raw samples and removing reasoning (lambda_reward.runtime.samples)."""

from __future__ import annotations

import pytest

from lambda_reward.runtime.samples import (
    MalformedSample,
    ParsedSample,
    describe_value,
    message_text,
    parse_sample,
    strip_reasoning,
)


def sample(*messages: dict, **fields) -> dict:
    return {"id": 7, "messages": list(messages), **fields}


USER = {"role": "user", "content": "AIとは何か30文字以内で説明して"}


def parsed(raw: object) -> ParsedSample:
    result = parse_sample(raw)
    assert isinstance(result, ParsedSample), result
    return result


def malformed_reason(raw: object) -> str:
    result = parse_sample(raw)
    assert isinstance(result, MalformedSample), result
    return result.reason


def test_answer_is_the_last_assistant_message_and_prompt_the_last_user_message() -> None:
    result = parsed(
        sample(
            {"role": "system", "content": "短く答える"},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "old answer"},
            {"role": "user", "content": "second"},
            {"role": "assistant", "content": "new answer"},
        )
    )
    assert (result.sample_id, result.answer, result.prompt) == (7, "new answer", "second")


def test_nova_assistant_role() -> None:
    assert parsed(sample(USER, {"role": "nova_assistant", "content": "答え"})).answer == "答え"


def test_no_user_message_gives_an_empty_prompt() -> None:
    assert parsed(sample({"role": "assistant", "content": "答え"})).prompt == ""


@pytest.mark.parametrize(
    ("content", "text"),
    [
        ("plain", "plain"),
        ([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}], "ab"),
        ([{"text": "converse"}], "converse"),
        ([{"type": "reasoning", "text": "hmm"}, {"type": "text", "text": "answer"}], "answer"),
        ([{"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "answer"}], "answer"),
        ([{"reasoningContent": {"reasoningText": {"text": "hmm"}}}, {"text": "answer"}], "answer"),
        ([{"type": "image", "source": {}}, {"image": {"format": "png"}}, {"text": "x"}], "x"),
        ([], ""),
    ],
)
def test_message_text(content: object, text: str) -> None:
    assert message_text(content) == text


@pytest.mark.parametrize(
    "content",
    [None, 5, {"type": "text", "text": "a"}, ["a"], [{"type": "text", "text": 5}],
     [{"type": "text"}], [{"text": None}], [{"type": 3, "text": "a"}]],
)
def test_message_text_invalid(content: object) -> None:
    assert message_text(content) is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "sample is null, expected an object"),
        ([1], "sample is array, expected an object"),
        ("x", "sample is string, expected an object"),
        ({"id": 1}, "sample has no 'messages'"),
        ({"id": 1, "messages": "hi"}, "'messages' is string, expected an array"),
        ({"id": 1, "messages": [5]}, "messages[0] is number, expected an object"),
        ({"id": 1, "messages": [USER, {"content": "x"}]}, "messages[1].role is null, expected a string"),
        ({"id": 1, "messages": [USER, {"role": ["assistant"]}]}, "messages[1].role is array, expected a string"),
        ({"id": 1, "messages": [USER]}, "no assistant message (role assistant or nova_assistant)"),
        ({"id": 1, "messages": []}, "no assistant message (role assistant or nova_assistant)"),
        ({"id": 1, "messages": [USER, {"role": "assistant"}]},
         "messages[1].content is null, expected a string or an array of blocks"),
        ({"id": 1, "messages": [USER, {"role": "assistant", "content": 3}]},
         "messages[1].content is number, expected a string or an array of blocks"),
        ({"id": 1, "messages": [USER, {"role": "assistant", "content": [{"text": 1}]}]},
         "messages[1].content has an invalid block (each must be an object; a text block's text must be a string)"),
        ({"id": 1, "messages": [{"role": "user", "content": {"x": 1}}, {"role": "assistant", "content": "a"}]},
         "messages[0].content is object, expected a string or an array of blocks"),
        ({"id": 1, "messages": [USER, {"role": "assistant", "content": "a"}], "metadata": "m"},
         "'metadata' is string, expected an object"),
    ],
)
def test_malformed_reasons(raw: object, reason: str) -> None:
    assert malformed_reason(raw) == reason


@pytest.mark.parametrize("sample_id", [0, 17, "abc", None, 1.5, ["nested"], {"k": "v"}])
def test_id_is_kept_as_is(sample_id: object) -> None:
    raw = {"id": sample_id, "messages": [USER, {"role": "assistant", "content": "a"}]}
    assert parsed(raw).sample_id is sample_id
    assert parse_sample({"id": sample_id}).sample_id is sample_id


def test_missing_id_is_none() -> None:
    assert parsed({"messages": [{"role": "assistant", "content": "a"}]}).sample_id is None
    assert parse_sample(5).sample_id is None


def test_fields_top_level_wins_over_metadata() -> None:
    raw = sample(
        USER,
        {"role": "assistant", "content": "a"},
        reference_answer="top",
        char_limit=10,
        metadata={"reference_answer": "meta", "char_limit": 20, "topic": "AI"},
    )
    result = parsed(raw)
    assert result.reference_answer == "top"
    assert result.field("char_limit") == 10
    assert result.field("topic") == "AI"
    assert result.field("absent") is None
    assert result.extra_fields == {"reference_answer": "top", "char_limit": 10, "topic": "AI"}


def test_fields_from_metadata_only_and_null_metadata() -> None:
    result = parsed(sample(USER, {"role": "assistant", "content": "a"}, metadata={"reference_answer": "m"}))
    assert result.reference_answer == "m"
    result = parsed(sample(USER, {"role": "assistant", "content": "a"}, metadata=None))
    assert result.reference_answer is None
    assert result.extra_fields == {}
    result = parsed(sample(USER, {"role": "assistant", "content": "a"}, reference_answer=None,
                           metadata={"reference_answer": "m"}))
    assert result.reference_answer == "m"  # a null counts as absent


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("plain answer", "plain answer"),
        ("<think>reasoning</think>答え", "答え"),
        ("<think>\nlong\nreasoning\n</think>\n\n答え", "答え"),
        ("  <think>a</think>\n<reasoning>b</reasoning> 答え", "答え"),
        ("<thinking>r</thinking>answer", "answer"),
        ("<reasoning>r</reasoning>answer", "answer"),
        # Tags after visible text are text: hiding text behind them pays nothing.
        ("<think>a</think>x<think>b</think>y", "x<think>b</think>y"),
        # A stray closing tag is text unless the model's template opened the block (below).
        ("the template opened the tag</think>答え", "the template opened the tag</think>答え"),
        ("<think>cut off while thinking", ""),
        ("答え<think>and then more thinking", "答え<think>and then more thinking"),
        ("答え<reasoning>hidden</reasoning>", "答え<reasoning>hidden</reasoning>"),
        ("<think>only reasoning</think>", ""),
        ("<think>a<think>b</think>c</think>d", "c</think>d"),
        ("<think>a</think>b</think>c", "b</think>c"),
        ("1 < 2 and <b>bold</b>", "1 < 2 and <b>bold</b>"),
        (
            "<|channel|>analysis<|message|>think<|end|><|start|>assistant<|channel|>final<|message|>答え<|return|>",
            "答え",
        ),
        ("<|channel|>analysis<|message|>only thinking<|end|>", ""),
        ("<|channel|>final<|message|>short<|return|> and a long tail", "short and a long tail"),
        ("visible <|channel|>final<|message|>x<|return|>", "visible <|channel|>final<|message|>x<|return|>"),
    ],
)
def test_strip_reasoning(text: str, answer: str) -> None:
    assert strip_reasoning(text) == answer


@pytest.mark.parametrize(
    ("value", "description"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (30, "30"),
        (2.5, "2.5"),
        (float("nan"), "nan"),
        ("30", "'30'"),
        ("x" * 100, repr("x" * 60) + "..."),
        (10**100, "1" + "0" * 59 + "..."),
        ([1, [2]], "array of 2"),
        ({"a": 1}, "object of 1 keys"),
    ],
)
def test_describe_value(value: object, description: str) -> None:
    assert describe_value(value) == description


def test_reasoning_is_stripped_from_the_parsed_answer() -> None:
    raw = sample(USER, {"role": "assistant", "content": [{"type": "text", "text": "<think>x</think>答え"}]})
    assert parsed(raw).answer == "答え"


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("reasoning only, the template opened the tag</think>答え", "答え"),
        ("thinking</think>答え</think>more", "答え</think>more"),
        ("<think>a</think>答え", "答え"),
        ("答え", "答え"),
        ("a<think>b</think>c</think>d", "a<think>b</think>c</think>d"),  # an opening tag first: text
    ],
)
def test_a_template_that_opens_the_block_makes_a_stray_closing_tag_end_it(text: str, answer: str) -> None:
    assert strip_reasoning(text, prompt_opens_reasoning=True) == answer
