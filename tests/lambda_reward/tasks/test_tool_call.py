"""The tool-call task: reading calls and references, scoring them, the dataset check and the dataset."""

from __future__ import annotations

import itertools
import json
import keyword
import math
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from lambda_reward.runtime.grader import grade_batch
from lambda_reward.runtime.samples import parse_sample
from lambda_reward.runtime.tasks import Malformed, Score, TaskError, load_task
from lambda_reward.runtime.tasks.tool_call import (
    NOT_LITERAL,
    Call,
    Metric,
    ParsedAnswer,
    RefCall,
    assign,
    clear_caches,
    parse_answer_text,
    parse_reference,
    structured_answer,
)
from tests.conftest import dataset_generator

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "training-data" / "tool-call"
TASK = load_task("tool-call")
SCORER = TASK.scorer
AREA = "calculate_area(base=10, height=5)"


def score(answer: str, ground_truth: Any = AREA, task: Any = None, **fields: Any) -> Score:
    result = (task or TASK).scorer.score(answer, {"ground_truth": ground_truth, **fields})
    assert isinstance(result, Score), result
    return result


def reward(answer: str, ground_truth: Any = AREA, task: Any = None, **fields: Any) -> float:
    return score(answer, ground_truth, task, **fields).reward


def sample(answer: Any, sample_id: Any = "s", **fields: Any) -> dict[str, Any]:
    message: dict[str, Any] = answer if isinstance(answer, dict) else {"role": "assistant", "content": answer}
    return {"id": sample_id, "messages": [{"role": "user", "content": "Do it."}, message], **fields}


def metrics(result: dict[str, Any]) -> dict[str, float]:
    return {entry["name"]: entry["value"] for entry in result["metrics_list"]}


# ---------------------------------------------------------------------------------------
# AWS's BFCL sample: its records and its events, read as it reads them
# ---------------------------------------------------------------------------------------

# custom-models/bedrock-reinforcement-fine-tuning/use-cases/bfcl-tool-calling/README.md: the event.
SAMPLE_EVENT = [
    {
        "id": "bfcl_train_0",
        "messages": [
            {"role": "user", "content": "Calculate the area of a triangle..."},
            {"role": "assistant", "content": "calculate_area(base=10, height=5)"},
        ],
        "metadata": {"ground_truth": ["calculate_area(base=10, height=5)"]},
    }
]
# The notebook's test payload for the deployed Lambda.
SAMPLE_TEST_PAYLOAD = [
    {
        "id": "test_correct",
        "messages": [
            {"role": "user", "content": "Calculate the area with base 10 and height 5"},
            {"role": "assistant", "content": "calculate_area(base=10, height=5)"},
        ],
        "metadata": {"ground_truth": ["calculate_area(base=10, height=5)"]},
    },
    {
        "id": "test_wrong",
        "messages": [
            {"role": "user", "content": "Calculate the area with base 10 and height 5"},
            {"role": "assistant", "content": "send_email(to='test@test.com')"},
        ],
        "metadata": {"ground_truth": ["calculate_area(base=10, height=5)"]},
    },
]
SYSTEM_PROMPT = (
    "You are a helpful assistant that responds to user requests by calling the appropriate function with the "
    "correct parameters. Output only the function call, e.g.: function_name(param1=value1, param2=value2)"
)
# llm-eval-kit's format_for_openai: ground_truth at the top level, one call as its string, several as
# json.dumps of the list. format_for_bedrock: metadata.ground_truth as given, task_id, tool_definitions.
OPENAI_RECORD = {
    "messages": [{"role": "system", "content": SYSTEM_PROMPT},
                 {"role": "user", "content": "Find the probability of 5 successes in 20 trials with p 0.6."}],
    "ground_truth": "calc_binomial_probability(n=20, k=5, p=0.6)",
}
OPENAI_RECORD_SEVERAL = {
    "messages": [{"role": "system", "content": SYSTEM_PROMPT},
                 {"role": "user", "content": "Weather in Paris and in Tokyo?"}],
    "ground_truth": json.dumps(['get_weather(city="Paris")', 'get_weather(city="Tokyo")']),
}
BEDROCK_RECORD = {
    "messages": [{"role": "system", "content": SYSTEM_PROMPT},
                 {"role": "user", "content": "Find the probability of 5 successes in 20 trials with p 0.6."}],
    "metadata": {
        "ground_truth": ["calc_binomial_probability(n=20, k=5, p=0.6)"],
        "tool_definitions": [{
            "name": "calc_binomial_probability",
            "description": "Calculates the probability of getting k successes in n trials.",
            "parameters": {"type": "dict", "properties": {
                "n": {"type": "integer"}, "k": {"type": "integer"}, "p": {"type": "float"},
            }, "required": ["n", "k", "p"]},
        }],
    },
    "task_id": "train_0",
}


def test_the_samples_event_scores_as_it_does() -> None:
    results = grade_batch(SAMPLE_EVENT, TASK)
    assert results[0]["id"] == "bfcl_train_0"
    assert results[0]["aggregate_reward_score"] == 1.0
    assert metrics(results[0]) == {
        Metric.CALLS_EXPECTED: 1, Metric.CALLS_FOUND: 1, Metric.UNPARSED: 0, Metric.CALLS_CORRECT: 1,
        Metric.NAME_MATCH: 1.0, Metric.ARG_MATCH: 1.0, "passed": 1.0,
    }


def test_the_notebooks_test_payload() -> None:
    correct, wrong = grade_batch(SAMPLE_TEST_PAYLOAD, TASK)
    assert (correct["id"], correct["aggregate_reward_score"]) == ("test_correct", 1.0)
    assert (wrong["id"], wrong["aggregate_reward_score"]) == ("test_wrong", 0.0)
    assert metrics(wrong)[Metric.NAME_MATCH] == 0.0


@pytest.mark.parametrize("record", [OPENAI_RECORD, OPENAI_RECORD_SEVERAL, BEDROCK_RECORD])
def test_the_samples_records_pass_the_check(record: dict[str, Any]) -> None:
    assert TASK.check_record(record) == []


def test_the_samples_records_as_samples() -> None:
    several = {**OPENAI_RECORD_SEVERAL, "id": "x", "messages": [
        *OPENAI_RECORD_SEVERAL["messages"],
        {"role": "assistant", "content": 'get_weather(city="Tokyo")\nget_weather(city="Paris")'}]}
    bedrock = {**BEDROCK_RECORD, "id": 7,
               "messages": [*BEDROCK_RECORD["messages"],
                            {"role": "assistant", "content": "calc_binomial_probability(n=20, k=5, p='0.6')"}]}
    openai = sample("calc_binomial_probability(n=20, k=5)", 8, ground_truth=OPENAI_RECORD["ground_truth"])
    results = grade_batch([several, bedrock, openai], TASK)
    assert [result["aggregate_reward_score"] for result in results[:2]] == [1.0, 1.0]
    assert results[1]["id"] == 7
    assert results[2]["aggregate_reward_score"] == pytest.approx(0.33 + 0.67 * 2 / 3)


def test_the_samples_wrong_name_with_right_arguments_earns_half_not_two_thirds() -> None:
    # The sample gives 0.33 + 0.33 + 0.34 x 1 = 0.67 for the wrong function with the right arguments.
    result = score("calculate_volume(base=10, height=5)")
    assert result.reward == 0.5
    assert result.metrics[Metric.NAME_MATCH] == 0.0 and result.metrics[Metric.ARG_MATCH] == 1.0


def test_ground_truth_is_read_where_the_sample_reads_it() -> None:
    answer = "f(a=1)"
    for fields in ({"ground_truth": "f(a=1)"}, {"metadata": {"ground_truth": ["f(a=1)"]}},
                   {"reference_answer": {"ground_truth": "f(a=1)"}}, {"reference_answer": "f(a=1)"},
                   {"reference_answer": [{"name": "f", "arguments": {"a": 1}}]}):
        result = grade_batch([sample(answer, **fields)], TASK)[0]
        assert result["aggregate_reward_score"] == 1.0, fields


def test_top_level_ground_truth_wins_over_metadata() -> None:
    both = sample("f(a=1)", ground_truth="f(a=1)", metadata={"ground_truth": "g(b=2)"})
    assert grade_batch([both], TASK)[0]["aggregate_reward_score"] == 1.0


def test_a_null_ground_truth_is_absent() -> None:
    fallback = sample("f(a=1)", ground_truth=None, metadata={"ground_truth": "f(a=1)"})
    assert grade_batch([fallback], TASK)[0]["aggregate_reward_score"] == 1.0


# ---------------------------------------------------------------------------------------
# Values: literals only, with type coercion
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer_value", "reference_value", "matches"),
    [
        ('"5"', "5", True),
        ("5", '"5"', True),
        ("5.0", "5", True),
        ('"5.00"', "5", True),
        ('" 5 "', "5", True),
        ('"five"', "5", False),
        ('"true"', "True", True),
        ('"True"', "True", True),
        ('"false"', "True", False),
        ("true", "True", True),  # JSON's spelling in a Python call
        ("null", "None", True),
        ("1", "True", False),  # True == 1 in Python, not here
        ("0", "False", False),
        ("None", '""', False),
        ('"paris"', '"Paris"', True),  # stringMatch normalized: case folded
        ('"Ｐａｒｉｓ"', '"Paris"', True),  # NFKC
        ('"New  York"', '"New York"', True),
        ('"NewYork"', '"New York"', False),
        ("-3", "-3", True),
        ("-3", "3", False),
        ("+3", "3", True),
        ("1e3", "1000", True),
        ("0.1", "0.10000000001", True),
        ("0.1", "0.1001", False),
        ("(1, 2)", "[1, 2]", True),
        ("[2, 1]", "[1, 2]", False),
        ('["1", 2]', "[1, 2]", True),
        ('{"a": [1, {"b": "x"}]}', '{"a": [1, {"b": "X"}]}', True),
        ('{"a": 1}', '{"a": 1, "b": 2}', False),
        ('{1: "x"}', '{"1": "x"}', True),
        ("10**2", "100", False),  # an expression is not a literal: never evaluated
        ("x", '"x"', False),
        ("f(1)", "1", False),
        ("1j", "1", False),
        ('b"5"', '"5"', False),
        ("{1, 2}", "[1, 2]", False),
        (str(10**30), str(10**30), True),
        (str(10**30), str(10**30 + 1), False),
        ("1e400", "1e400", True),  # both float('inf'): parsed, never raised on
    ],
)
def test_value_matching(answer_value: str, reference_value: str, matches: bool) -> None:
    expected = 1.0 if matches else pytest.approx(0.33 + 0.67 * 0.5)
    assert reward(f"f(a={answer_value})", f"f(a={reference_value})") == expected


def test_coercion_can_be_switched_off() -> None:
    strict = load_task({"name": "tool-call", "coerceTypes": False})
    assert reward('f(a="5")', "f(a=5)", strict) < 1.0
    assert reward('f(a="true")', "f(a=True)", strict) < 1.0
    assert reward("f(a=5.0)", "f(a=5)", strict) == 1.0  # one JSON number


def test_string_modes() -> None:
    exact = load_task({"name": "tool-call", "stringMatch": "exact"})
    loose = load_task({"name": "tool-call", "stringMatch": "loose"})
    assert reward('f(city="paris")', 'f(city="Paris")', exact) < 1.0
    assert reward('f(city="Paris")', 'f(city="Paris")', exact) == 1.0
    assert reward('f(city="new-york, ny")', 'f(city="New York NY")', loose) == 1.0
    assert reward('f(city="new-york, ny")', 'f(city="New York NY")') < 1.0


def test_non_literal_arguments_are_never_evaluated(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    answer = f"f(a=__import__('pathlib').Path({str(marker)!r}).touch())"
    assert reward(answer, "f(a=None)") < 1.0
    assert not marker.exists()


# ---------------------------------------------------------------------------------------
# Reading an answer
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        AREA,
        "  calculate_area(height=5, base=10)  ",
        "calculate_area(base=10, height=5);",
        "[calculate_area(base=10, height=5)]",
        "(calculate_area(base=10, height=5),)",
        "calculate_area(\n    base=10,\n    height=5,\n)",
        "# the area\ncalculate_area(base=10, height=5)  # done",
        "```python\ncalculate_area(base=10, height=5)\n```",
        "```\ncalculate_area(base=10, height=5)\n```",
        "Here you go:\n```tool_code\ncalculate_area(base=10, height=5)\n```\nThat's it.",
        "```calculate_area(base=10, height=5)```",
        "```python\ncalculate_area(base=10, height=5)",  # cut off before the closing fence
        "`calculate_area(base=10, height=5)`",
        "\ufeffcalculate_area(base=10, height=5)\r\n",
        '{"name": "calculate_area", "arguments": {"base": 10, "height": 5}}',
        '[{"name": "calculate_area", "arguments": {"base": 10, "height": 5}}]',
        '{"name": "calculate_area", "arguments": "{\\"base\\": 10, \\"height\\": 5}"}',
        '{"name": "calculate_area", "parameters": {"base": 10, "height": 5}}',
        json.dumps({"type": "function", "function": {"name": "calculate_area",
                                                      "arguments": json.dumps({"base": 10, "height": 5})}}),
        '{"toolUse": {"toolUseId": "t", "name": "calculate_area", "input": {"base": 10, "height": 5}}}',
        "{'name': 'calculate_area', 'arguments': {'base': 10, 'height': 5}}",
        '<tool_call>\n{"name": "calculate_area", "arguments": {"base": 10, "height": 5}}\n</tool_call>',
        "I'll compute it.\n<tool_call>\ncalculate_area(base=10, height=5)\n</tool_call>",
        "calculate_area(base=10, height=5) ",
    ],
)
def test_answer_shapes_that_make_the_call(answer: str) -> None:
    assert reward(answer) == 1.0


def test_dotted_names_and_their_underscore_spelling() -> None:
    assert reward("math.sqrt(x=4)", "math.sqrt(x=4)") == 1.0
    assert reward("math_sqrt(x=4)", "math.sqrt(x=4)") == 1.0
    strict = load_task({"name": "tool-call", "dotEqualsUnderscore": False})
    assert reward("math_sqrt(x=4)", "math.sqrt(x=4)", strict) == 0.5


def test_several_calls_on_lines_in_a_list_or_in_json() -> None:
    reference = ["get_weather(city='Paris')", "convert_currency(amount=100, from_currency='USD', to_currency='EUR')"]
    for answer in (
        "get_weather(city='Paris')\nconvert_currency(amount=100, from_currency='USD', to_currency='EUR')",
        "[convert_currency(amount=100, from_currency='USD', to_currency='EUR'), get_weather(city='Paris')]",
        "get_weather(city='Paris'); convert_currency(amount=100, from_currency='USD', to_currency='EUR')",
        json.dumps([{"name": "get_weather", "arguments": {"city": "Paris"}},
                    {"name": "convert_currency", "arguments": {"amount": 100, "from_currency": "USD",
                                                               "to_currency": "EUR"}}]),
        "<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}</tool_call>\n"
        "<tool_call>{\"name\": \"convert_currency\", \"arguments\": {\"amount\": 100, \"from_currency\": \"USD\", "
        "\"to_currency\": \"EUR\"}}</tool_call>",
    ):
        assert reward(answer, reference) == 1.0, answer


def test_prose_around_calls_costs_like_an_extra_call() -> None:
    result = score("Sure! Here is the call:\ncalculate_area(base=10, height=5)")
    assert result.reward == 0.5
    assert result.metrics[Metric.UNPARSED] == 1 and result.metrics[Metric.CALLS_CORRECT] == 1
    lenient = load_task({"name": "tool-call", "penalizeUnparsed": False})
    assert reward("Sure! Here is the call:\ncalculate_area(base=10, height=5)", task=lenient) == 1.0


def test_a_quote_or_bracket_in_prose_does_not_swallow_the_calls_after_it() -> None:
    answer = "Here's the call (see below\ncalculate_area(base=10, height=5)"
    result = score(answer)
    assert result.metrics[Metric.CALLS_CORRECT] == 1 and result.metrics[Metric.UNPARSED] == 1


def test_no_call_at_all() -> None:
    for answer in ("", "   ", "The area is 25.", "calculate_area", "[]", "# nothing", "calculate_area(base=10"):
        result = score(answer)
        assert result.reward == 0.0, answer
        assert result.metrics[Metric.CALLS_FOUND] == 0


def test_statements_other_than_calls_are_not_calls() -> None:
    for answer in ("x = calculate_area(base=10, height=5)", "import os", "lambda: calculate_area(base=10)",
                   "calculate_area(base=10, height=5) if True else None", "calculate_area(base=10, height=5)()",
                   "print(calculate_area(base=10, height=5))"):
        assert reward(answer) <= 0.5, answer


def test_repeated_keywords_are_not_a_call() -> None:
    assert reward("calculate_area(base=10, base=10, height=5)") == 0.0


def test_a_tool_definition_is_not_a_call() -> None:
    definition = {"type": "function", "function": {"name": "calculate_area", "description": "Area.", "parameters": {
        "type": "object", "properties": {"base": {"type": "number"}, "height": {"type": "number"}}}}}
    assert reward(json.dumps(definition)) == 0.0
    assert reward(json.dumps([definition["function"]])) == 0.0
    assert reward(json.dumps({"name": "calculate_area", "parameters": definition["function"]["parameters"]})) == 0.0


def test_positional_arguments_match_only_positional_references() -> None:
    assert reward("calculate_area(10, 5)", "calculate_area(10, 5)") == 1.0
    assert reward("calculate_area(10, 5)") == pytest.approx(0.33)  # named in the reference: both missing
    assert reward("calculate_area(10, height=5)", "calculate_area(10, height=5)") == 1.0
    assert reward("calculate_area(5, 10)", "calculate_area(10, 5)") == pytest.approx(0.33 + 0.67 * 0.5)
    assert reward("calculate_area(*[10, 5])", "calculate_area(10, 5)") < 0.5
    assert reward("calculate_area(**{'base': 10, 'height': 5})") < 0.5


def test_no_warning_escapes_the_parser() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert reward('f(path="C:\\data")', 'f(path="C:\\\\data")') == 1.0  # "\d" is an invalid escape
        parse_answer_text("f(a=0in x)")


# ---------------------------------------------------------------------------------------
# Structured tool calls in the message
# ---------------------------------------------------------------------------------------


def test_openai_tool_calls() -> None:
    message = {"role": "assistant", "content": "", "tool_calls": [
        {"id": "1", "type": "function", "function": {"name": "calculate_area",
                                                      "arguments": json.dumps({"base": 10, "height": 5})}}]}
    result = grade_batch([sample(message, ground_truth=AREA)], TASK)[0]
    assert result["aggregate_reward_score"] == 1.0


def test_converse_and_anthropic_tool_blocks() -> None:
    for block in ({"toolUse": {"toolUseId": "t", "name": "calculate_area", "input": {"base": 10, "height": 5}}},
                  {"type": "tool_use", "id": "t", "name": "calculate_area", "input": {"base": 10, "height": 5}}):
        message = {"role": "assistant", "content": [{"text": "Calling."}, block]}
        assert grade_batch([sample(message, ground_truth=AREA)], TASK)[0]["aggregate_reward_score"] == 1.0


def test_harmony_tool_calls() -> None:
    raw = ("<|channel|>analysis<|message|>Compute the area: calculate_area(base=1, height=1).<|end|>"
           "<|start|>assistant<|channel|>commentary to=functions.calculate_area <|constrain|>json"
           '<|message|>{"base": 10, "height": 5}<|call|>')
    assert grade_batch([sample(raw, ground_truth=AREA)], TASK)[0]["aggregate_reward_score"] == 1.0
    recipient_first = '<|start|>assistant to=functions.calculate_area<|channel|>commentary json<|message|>' \
                      '{"base": 10, "height": 5}<|call|>'
    assert grade_batch([sample(recipient_first, ground_truth=AREA)], TASK)[0]["aggregate_reward_score"] == 1.0


def test_structured_calls_win_over_the_text() -> None:
    message = {"role": "assistant", "content": AREA, "tool_calls": [
        {"type": "function", "function": {"name": "send_email", "arguments": "{}"}}]}
    assert grade_batch([sample(message, ground_truth=AREA)], TASK)[0]["aggregate_reward_score"] == 0.0


def test_structured_calls_with_null_content() -> None:
    # samples.read_sample currently rejects a null content; the task itself reads such a message.
    message = {"role": "assistant", "content": None, "tool_calls": [
        {"type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}]}
    parsed = structured_answer({"messages": [message]}, 20_000, 64)
    assert parsed == ParsedAnswer((Call("f", {"a": 1}),), 0)


def test_unreadable_structured_items() -> None:
    message = {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "calculate_area", "arguments": "{not json"}}, "junk", {}]}
    parsed = structured_answer({"messages": [message]}, 20_000, 64)
    assert parsed is not None and parsed.unparsed == 2
    assert parsed.calls[0].name == "calculate_area"
    assert reward_of_sample(sample(message, ground_truth=AREA)) == pytest.approx(0.33 / 3)


def reward_of_sample(raw: dict[str, Any]) -> float:
    return float(grade_batch([raw], TASK)[0]["aggregate_reward_score"])


# ---------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------


def test_partial_credit_per_argument() -> None:
    assert reward("calculate_area(base=10, height=6)") == pytest.approx(0.33 + 0.67 * 0.75)
    assert reward("calculate_area(base=10)") == pytest.approx(0.33 + 0.67 * 0.5)
    assert reward("calculate_area()") == pytest.approx(0.33)
    assert reward("calculate_area(base=1, height=1)") == pytest.approx(0.33 + 0.67 * 0.5)
    assert reward("calculate_area(base=10, height=5, unit='cm')") == pytest.approx(0.33 + 0.67 * 2 / 3)
    assert reward("f()", "f()") == 1.0
    assert reward("f(a=1)", "f()") == pytest.approx(0.33)


def test_weights_are_options() -> None:
    task = load_task({"name": "tool-call", "nameWeight": 0.5, "keyCredit": 0.0, "wrongNameCap": 0.25})
    assert reward("calculate_area(base=10, height=6)", task=task) == pytest.approx(0.5 + 0.5 * 0.5)
    assert reward("other(base=10, height=5)", task=task) == 0.25


def test_missing_and_extra_calls() -> None:
    two = ["f(a=1)", "g(b=2)"]
    assert reward("f(a=1)", two) == 0.5
    assert reward("f(a=1)\ng(b=2)\nh(c=3)", two) == pytest.approx(2 / 3)
    assert reward("f(a=1)\nf(a=1)", "f(a=1)") == 0.5  # a duplicate is an extra call


def test_spraying_calls_does_not_pay() -> None:
    reference = "get_weather(city='Paris')"
    cities = ["Paris", "London", "Tokyo", "Rome", "Berlin", "Madrid", "Oslo", "Cairo"]
    spray = "\n".join(f"get_weather(city={city!r})" for city in cities)
    assert reward(spray, reference) == pytest.approx(1 / len(cities))
    assert reward(spray, reference) < reward("get_weather(city='London')", reference)
    many_names = "\n".join(f"{name}(city='Paris')" for name in ("weather", "get_weather", "fetch_weather"))
    assert reward(many_names, reference) == pytest.approx(1 / 3)


def test_order_any_and_strict() -> None:
    reference = ["f(a=1)", "g(b=2)"]
    assert reward("g(b=2)\nf(a=1)", reference) == 1.0
    strict = load_task({"name": "tool-call", "order": "strict"})
    assert reward("g(b=2)\nf(a=1)", reference, strict) == 0.0
    assert reward("f(a=1)\ng(b=2)", reference, strict) == 1.0
    assert reward("f(a=1)\ng(b=3)", reference, strict) == pytest.approx((1 + 0.33 + 0.67 * 0.5) / 2)


def test_best_assignment_not_greedy() -> None:
    # Greedy pairing would give f(a=1, b=2) to the first reference; the best total pairs crosswise.
    reference = ["f(a=1, b=2)", "f(a=1)"]
    result = score("f(a=1)\nf(a=1, b=2)", reference)
    assert result.reward == 1.0 and result.metrics[Metric.CALLS_CORRECT] == 2


def test_tool_defaults_count_as_given() -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {
        "city": {"type": "string"}, "unit": {"type": "string", "default": "celsius"}}, "required": ["city"]}}}]
    assert reward("get_weather(city='Paris', unit='celsius')", "get_weather(city='Paris')", tools=tools) == 1.0
    assert reward("get_weather(city='Paris')", "get_weather(city='Paris', unit='celsius')", tools=tools) == 1.0
    assert reward("get_weather(city='Paris', unit='kelvin')", "get_weather(city='Paris')", tools=tools) < 1.0
    assert reward("get_weather(city='Paris')", "get_weather(city='Paris', unit='fahrenheit')", tools=tools) < 1.0
    assert reward("get_weather(city='Paris', unit='celsius')", "get_weather(city='Paris')") < 1.0  # no tools
    bfcl_docs = {"metadata": {"tool_definitions": [t["function"] for t in tools]}}
    assert reward("get_weather(city='Paris', unit='celsius')", "get_weather(city='Paris')", **bfcl_docs) == 1.0


def test_bfcl_possible_answers() -> None:
    reference = [{"get_weather": {"city": ["Paris", "paris, france"], "unit": ["", "celsius"]}}]
    assert reward("get_weather(city='Paris')", reference) == 1.0
    assert reward("get_weather(city='Paris, France')", reference) == 1.0
    assert reward("get_weather(city='Paris', unit='celsius')", reference) == 1.0
    assert reward("get_weather(city='Paris', unit='kelvin')", reference) == pytest.approx(0.33 + 0.67 * 0.75)
    assert reward("get_weather(city='Lyon')", reference) == pytest.approx(0.33 + 0.67 * 0.5)


def test_metrics() -> None:
    result = score("f(a=1)\nh(b=2)\nnot a call", ["f(a=1)", "g(b=2)"])
    assert result.metrics == {
        Metric.CALLS_EXPECTED: 2, Metric.CALLS_FOUND: 2, Metric.UNPARSED: 1, Metric.CALLS_CORRECT: 1,
        Metric.NAME_MATCH: 0.5, Metric.ARG_MATCH: 1.0,
    }
    assert result.reward == pytest.approx((1 + 0.5) / 3)


# ---------------------------------------------------------------------------------------
# Guards: huge, deep and hostile input
# ---------------------------------------------------------------------------------------


def test_an_answer_over_the_limit_is_not_read() -> None:
    answer = AREA + " " * 20_000
    result = score(answer)
    assert result.reward == 0.0 and result.metrics[Metric.ANSWER_TOO_LONG] == 1
    roomy = load_task({"name": "tool-call", "maxAnswerChars": 50_000})
    assert reward(answer, task=roomy) == 1.0


def test_too_many_calls() -> None:
    answer = "\n".join([AREA] * 65)
    result = score(answer)
    assert result.reward == 0.0 and result.metrics[Metric.TOO_MANY_CALLS] == 1
    message = {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "calculate_area", "arguments": "{}"}}] * 65}
    assert metrics(grade_batch([sample(message, ground_truth=AREA)], TASK)[0])[Metric.TOO_MANY_CALLS] == 1


@pytest.mark.parametrize(
    "answer",
    [
        "calculate_area(base=" + "[" * 5000 + "]" * 5000 + ")",
        "calculate_area(base=" + "-" * 5000 + "1)",
        "calculate_area(base=" + "(" * 150 + "1" + ")" * 150 + ")",
        "calculate_area(base=" + "[" * 60 + "]" * 60 + ", height=5)",
        '{"name": "calculate_area", "arguments": ' + "[" * 5000 + "]" * 5000 + "}",
        '{"name": "calculate_area", "arguments": {"base": ' + "[" * 100 + "]" * 100 + "}}",
        "calculate_area(base=" + "9" * 5000 + ")",
        "calculate_area(base=\x00)",
        "calculate_area(base=10, height=5)\x00",
        "calculate_area(base='" + "x" * 19_000 + "')",
        "(" * 10_000,
        '"' * 10_000,
        "'''" + "\n" * 5000,
        "calculate_area(base=NaN, height=Infinity)",
        '{"name": "calculate_area", "arguments": {"base": NaN}}',
        "\ud800calculate_area(base=10)",
    ],
)
def test_hostile_answers_score_without_raising(answer: str) -> None:
    result = score(answer)
    assert 0.0 <= result.reward < 1.0


def test_deep_reference_is_malformed_not_a_crash() -> None:
    deep = "f(a=" + "[" * 40 + "]" * 40 + ")"
    result = TASK.scorer.score("f(a=1)", {"ground_truth": deep})
    assert isinstance(result, Malformed) and "ground_truth" in result.reason
    nested: Any = []
    for _ in range(2000):
        nested = [nested]
    results = grade_batch([sample("f()", ground_truth=nested), sample(AREA, ground_truth=AREA)], TASK)
    assert metrics(results[0]).get("malformed") == 1
    assert results[1]["aggregate_reward_score"] == 1.0


# ---------------------------------------------------------------------------------------
# References
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ground_truth",
    [
        "f(a=1)\ng(b='x')",
        "[f(a=1), g(b='x')]",
        '["f(a=1)", "g(b=\'x\')"]',
        "['f(a=1)', \"g(b='x')\"]",
        ["f(a=1)", "g(b='x')"],
        ["[f(a=1), g(b='x')]"],
        [{"name": "f", "arguments": {"a": 1}}, {"name": "g", "arguments": '{"b": "x"}'}],
        '[{"name": "f", "arguments": {"a": 1}}, {"name": "g", "arguments": {"b": "x"}}]',
        [{"f": {"a": [1]}}, {"g": {"b": ["x"]}}],
    ],
)
def test_reference_shapes(ground_truth: Any) -> None:
    refs = parse_reference(ground_truth)
    assert [(ref.name, {key: list(values) for key, values in ref.args.items()}) for ref in refs] == [
        ("f", {"a": [1]}), ("g", {"b": ["x"]}),
    ]


@pytest.mark.parametrize(
    ("ground_truth", "message"),
    [
        ("", "ground_truth: empty"),
        ([], "ground_truth: an empty list"),
        ("the area", "ground_truth: not a function call"),
        ("f(a=x)", "ground_truth: f: argument a is not a literal value"),
        ("f(**kw)", "ground_truth: f: unpacked arguments is not a literal value"),
        (["f(a=1)", 5], "ground_truth[1]: expected a call string or object"),
        ([{"not": "a call"}], "ground_truth[0]: expected a call object"),
        (5, "ground_truth: expected a call string"),
        ("f(a='" + "x" * 100_000 + "')", "ground_truth: longer than"),
        (["f()"] * 65, "ground_truth: more than 64 calls"),
    ],
)
def test_reference_problems_name_the_field(ground_truth: Any, message: str) -> None:
    result = TASK.scorer.score("f(a=1)", {"ground_truth": ground_truth})
    assert isinstance(result, Malformed)
    assert result.reason.startswith(message), result.reason


def test_long_references_and_strings_are_read_uncached() -> None:
    text = "x" * 5000
    reference = f"send_email(to='a@example.com', body={text!r})"
    assert reward(f"send_email(body={text.upper()!r}, to='A@example.com')", reference) == 1.0
    assert reward(f"send_email(body={text + 'y'!r}, to='a@example.com')", reference) < 1.0
    as_list = [reference]
    assert reward(f"send_email(body={text!r}, to='a@example.com')", as_list) == 1.0
    clear_caches()
    assert reward(f"send_email(body={text!r}, to='a@example.com')", as_list) == 1.0


def test_malformed_reference_costs_only_its_sample() -> None:
    results = grade_batch([sample(AREA, ground_truth="nope"), sample(AREA, ground_truth=AREA), sample(AREA)], TASK)
    assert [metrics(result).get("malformed") for result in results] == [1, None, 1]
    assert results[1]["aggregate_reward_score"] == 1.0


def test_where_the_problem_is_named_for_each_field() -> None:
    for fields, where in (({"metadata": {"ground_truth": "?"}}, "metadata.ground_truth"),
                          ({"reference_answer": {"ground_truth": "?"}}, "reference_answer.ground_truth"),
                          ({"reference_answer": "?"}, "reference_answer")):
        result = TASK.scorer.score("f()", fields)
        assert isinstance(result, Malformed) and result.reason.startswith(where + ":"), result


# ---------------------------------------------------------------------------------------
# The dataset check
# ---------------------------------------------------------------------------------------

WEATHER_TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather.", "parameters": {
    "type": "object", "properties": {
        "city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer"}},
    "required": ["city"]}}}]


def record(ground_truth: Any = 'get_weather(city="Paris")', **fields: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": "Weather in Paris?"}], "tools": WEATHER_TOOLS,
            "reference_answer": {"ground_truth": ground_truth}, **fields}


def test_check_record_accepts_a_good_record() -> None:
    assert TASK.check_record(record()) == []
    assert TASK.check_record(record('get_weather(city="Paris", unit="fahrenheit", days=3)')) == []


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"reference_answer": None}, "no ground_truth"),
        ({"reference_answer": {"ground_truth": "get weather"}}, "reference_answer.ground_truth: not a function call"),
        ({"ground_truth": 'get_weather(city="Rome")'}, "ground_truth and reference_answer.ground_truth name different"),
        ({"reference_answer": {"ground_truth": 'weather(city="Paris")'}}, "reference_answer.ground_truth: weather is "
                                                                          "not a function of tools (get_weather)"),
        ({"reference_answer": {"ground_truth": "get_weather(unit='celsius')"}}, "reference_answer.ground_truth: "
                                                                               "get_weather lacks its required"),
        ({"reference_answer": {"ground_truth": "get_weather(city='Paris', country='FR')"}}, "reference_answer."
                                                                                           "ground_truth: get_weather "
                                                                                           "has no parameter country"),
        ({"reference_answer": {"ground_truth": "get_weather(city='Paris', days='3')"}}, "reference_answer.ground_truth:"
                                                                                       " get_weather: days is '3', "
                                                                                       "expected integer"),
        ({"reference_answer": {"ground_truth": "get_weather(city='Paris', unit='kelvin')"}}, "reference_answer."
                                                                                            "ground_truth: get_weather:"
                                                                                            " unit is 'kelvin', not "
                                                                                            "one of its enum"),
        ({"tools": "get_weather"}, "tools must be a non-empty list"),
        ({"tools": [*WEATHER_TOOLS, {"function": {}}]}, "tools[1]: expected"),
    ],
)
def test_check_record_problems(bad: dict[str, Any], message: str) -> None:
    problems = TASK.check_record({**record(), **bad})
    assert any(problem.startswith(message) for problem in problems), problems


def test_check_record_ignores_a_prose_reference_answer_beside_ground_truth() -> None:
    assert TASK.check_record({**record(), "ground_truth": 'get_weather(city="Paris")',
                              "reference_answer": "Call get_weather for Paris."}) == []


# ---------------------------------------------------------------------------------------
# Options and loading
# ---------------------------------------------------------------------------------------


def test_loads_with_its_defaults() -> None:
    assert TASK.name == "tool-call"
    assert TASK.pass_at == 1.0
    assert TASK.options["order"] == "any" and TASK.options["stringMatch"] == "normalized"
    assert "AST" in TASK.description


@pytest.mark.parametrize("options", [{"order": "random"}, {"nameWeight": 2}, {"maxCalls": 0}, {"bogus": True}])
def test_invalid_options_are_rejected(options: dict[str, Any]) -> None:
    with pytest.raises(TaskError):
        load_task({"name": "tool-call", **options})


# ---------------------------------------------------------------------------------------
# The assignment
# ---------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 5).flatmap(lambda rows: st.integers(1, 5).flatmap(lambda columns: st.lists(
    st.lists(st.sampled_from([0.0, 0.25, 0.33, 0.5, 0.665, 1.0]), min_size=columns, max_size=columns),
    min_size=rows, max_size=rows))))
def test_assign_finds_the_best_total(scores: list[list[float]]) -> None:
    rows, columns = len(scores), len(scores[0])
    chosen = assign(scores)
    used = [column for column in chosen if column >= 0]
    assert len(used) == len(set(used)) == min(rows, columns)
    total = sum(scores[row][column] for row, column in enumerate(chosen) if column >= 0)
    permutations = itertools.permutations
    if rows <= columns:
        totals = (sum(scores[r][c] for r, c in enumerate(perm)) for perm in permutations(range(columns), rows))
    else:
        totals = (sum(scores[r][c] for c, r in enumerate(perm)) for perm in permutations(range(rows), columns))
    best = max(totals)
    assert total == pytest.approx(best)


# ---------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------

IDENTIFIERS = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(
    lambda name: not keyword.iskeyword(name) and name not in ("true", "false", "null")
)
SCALARS = (st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=12))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)
CALLS = st.tuples(
    st.lists(IDENTIFIERS, min_size=1, max_size=3).map(".".join),
    st.dictionaries(IDENTIFIERS, VALUES, max_size=4),
)


def render(name: str, args: dict[str, Any]) -> str:
    return f"{name}(" + ", ".join(f"{key}={value!r}" for key, value in args.items()) + ")"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_scores_in_range_without_raising(text: str) -> None:
    for ground_truth in (AREA, ["f(a=1)", "g(b='x')"]):
        result = SCORER.score(text, {"ground_truth": ground_truth})
        assert isinstance(result, Score)
        assert 0.0 <= result.reward <= 1.0 and math.isfinite(result.reward)


CODEISH = st.text(alphabet=st.sampled_from(list("f(a=1,b)[]{}\"':\n #`<>_.x-")), max_size=80)


@settings(max_examples=300, deadline=None)
@given(CODEISH)
def test_code_like_text_scores_in_range_without_raising(text: str) -> None:
    result = SCORER.score(text, {"ground_truth": "f(a=1, b='x')"})
    assert isinstance(result, Score) and 0.0 <= result.reward <= 1.0


@settings(max_examples=200, deadline=None)
@given(CALLS)
def test_a_reference_call_rendered_back_scores_one(call: tuple[str, dict[str, Any]]) -> None:
    name, args = call
    text = render(name, args)
    assert reward(text, text) == 1.0
    assert reward(json.dumps({"name": name, "arguments": args}), text) == 1.0


@settings(max_examples=200, deadline=None)
@given(CALLS, st.randoms(use_true_random=False))
def test_permuting_keyword_arguments_keeps_one(call: tuple[str, dict[str, Any]], rng: Any) -> None:
    name, args = call
    items = list(args.items())
    rng.shuffle(items)
    assert reward(render(name, dict(items)), render(name, args)) == 1.0


@settings(max_examples=200, deadline=None)
@given(CALLS, IDENTIFIERS)
def test_a_wrong_name_earns_at_most_half(call: tuple[str, dict[str, Any]], suffix: str) -> None:
    name, args = call
    assert reward(render(name + "x" + suffix, args), render(name, args)) <= 0.5


@settings(max_examples=100, deadline=None)
@given(st.lists(CALLS, min_size=1, max_size=3, unique_by=lambda c: c[0]), st.lists(CALLS, min_size=1, max_size=4))
def test_extra_calls_never_raise_the_reward(reference: list[Any], extra: list[Any]) -> None:
    rendered = [render(name, args) for name, args in reference]
    exact = reward("\n".join(rendered), rendered)
    sprayed = reward("\n".join(rendered + [render(name, args) for name, args in extra]), rendered)
    assert exact == 1.0
    assert sprayed <= len(rendered) / (len(rendered) + len(extra)) + 1e-9


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(JSON, JSON)
def test_any_sample_grades_without_raising(message: Any, ground_truth: Any) -> None:
    raws = [
        sample({"role": "assistant", "content": "", "tool_calls": message}, ground_truth=ground_truth),
        sample({"role": "assistant", "content": [{"text": "x"}, {"toolUse": message}]}, ground_truth=AREA),
        sample(json.dumps(message), ground_truth=ground_truth),
        {"id": 1, "messages": message, "ground_truth": ground_truth},
    ]
    reasons: list[str] = []
    results = grade_batch(raws, TASK, on_malformed=lambda index, sample_id, reason: reasons.append(reason))
    assert all(0.0 <= result["aggregate_reward_score"] <= 1.0 for result in results)
    assert not [reason for reason in reasons if "a bug" in reason]  # bad data is malformed, never a task error


def test_a_task_bug_costs_only_its_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    task = load_task("tool-call")
    original = task.scorer.score_sample

    def flaky(parsed: Any) -> Any:
        if parsed.sample_id == "bad":
            raise RuntimeError("boom")
        return original(parsed)

    monkeypatch.setattr(task.scorer, "score_sample", flaky)
    reasons: list[str] = []
    results = grade_batch([sample(AREA, "bad", ground_truth=AREA), sample(AREA, "ok", ground_truth=AREA)], task,
                          on_malformed=lambda index, sample_id, reason: reasons.append(reason))
    assert [result["aggregate_reward_score"] for result in results] == [0.0, 1.0]
    assert reasons and "boom" in reasons[0]


def test_refcall_and_not_literal_shapes() -> None:
    refs = parse_reference("f(a=-1.5, b=[1, (2, 3)], c={'k': None}, d=true)")
    assert refs == (RefCall("f", {"a": (-1.5,), "b": ([1, [2, 3]],), "c": ({"k": None},), "d": (True,)}),)
    assert parse_answer_text("f(a=g())").calls[0].args["a"] is NOT_LITERAL


# ---------------------------------------------------------------------------------------
# The dataset
# ---------------------------------------------------------------------------------------


def _read(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]


def test_the_dataset_files_are_what_the_generator_writes() -> None:
    training, validation = dataset_generator("tool-call").build()
    assert _read("training.jsonl") == training and _read("validation.jsonl") == validation
    assert dataset_generator("tool-call").build() == (training, validation)  # deterministic
    assert len(training) >= 100 and len(validation) >= 10


def test_the_dataset_validates() -> None:
    from stacks.dataset import validate_training_set

    training, validation = validate_training_set(DATA / "training.jsonl", DATA / "validation.jsonl", TASK)
    assert training.records >= 100 and validation is not None and validation.records >= 10


def test_every_reference_of_the_dataset_scores_one_when_answered() -> None:
    records = _read("training.jsonl") + _read("validation.jsonl")
    raws = []
    for index, line in enumerate(records):
        truth = line["reference_answer"]["ground_truth"]
        answer = truth if isinstance(truth, str) else "\n".join(reversed(truth))
        raws.append({**line, "id": index, "messages": [*line["messages"], {"role": "assistant", "content": answer}]})
    results = grade_batch(raws, TASK)
    assert all(result["aggregate_reward_score"] == 1.0 for result in results)
    assert {name for line in records for name in _names(line)} == {
        "get_weather", "convert_currency", "create_event", "triangle_area", "compound_interest", "translate_text"}
    assert any(isinstance(line["reference_answer"]["ground_truth"], list) for line in records)
    assert any(any("\u3040" <= char <= "\u30ff" for char in line["messages"][-1]["content"]) for line in records)


def _names(line: dict[str, Any]) -> list[str]:
    return [ref.name for ref in parse_reference(line["reference_answer"]["ground_truth"])]


def test_the_dataset_offers_every_tool_in_the_prompt() -> None:
    for line in _read("validation.jsonl"):
        system = line["messages"][0]["content"]
        assert all(tool["function"]["name"] in system for tool in line["tools"])


def test_parse_sample_reads_a_dataset_record_with_an_answer() -> None:
    line = _read("validation.jsonl")[0]
    parsed = parse_sample({**line, "messages": [*line["messages"], {"role": "assistant", "content": "x()"}]})
    assert not isinstance(parsed, type(None))
    assert SCORER.references(line, None) == parse_reference(line["reference_answer"]["ground_truth"],
                                                            "reference_answer.ground_truth")
