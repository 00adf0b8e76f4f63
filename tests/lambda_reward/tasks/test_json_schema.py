"""The json-schema task: reading the answer's JSON, compiling schemas, the field match, the record check."""

from __future__ import annotations

import json
import math
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from lambda_reward.runtime.grader import grade_batch
from lambda_reward.runtime.samples import MISSING
from lambda_reward.runtime.tasks import (
    Deadline,
    TaskError,
    defaults_of,
    json_schema as js,
    load_task,
    option_problems,
    task_names,
)
from lambda_reward.runtime.tasks.json_schema import (
    Metric,
    _Rejected,
    compile_schema,
    extract_json,
    field_match,
    is_date_time,
    is_time,
)
from stacks.dataset import validate_training_set
from tests.conftest import dataset_generator

ROOT = Path(__file__).resolve().parents[3]

ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "customer": {"type": "string"},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"product": {"type": "string"}, "quantity": {"type": "integer", "minimum": 1}},
                "required": ["product", "quantity"],
                "additionalProperties": False,
            },
        },
        "total": {"type": "number"},
        "paid": {"type": "boolean"},
    },
    "required": ["customer", "items", "total", "paid"],
    "additionalProperties": False,
}
ORDER = {"customer": "Ava Moore", "items": [{"product": "lamp", "quantity": 3}], "total": 73.5, "paid": False}
# ORDER's leaves: customer, items.0.product, items.0.quantity, total, paid.
ORDER_LEAVES = 5


def make_sample(answer: Any, sample_id: Any = 0, **fields: Any) -> dict[str, Any]:
    fields.setdefault("schema", ORDER_SCHEMA)
    fields.setdefault("reference_answer", ORDER)
    return {
        "id": sample_id,
        "messages": [{"role": "user", "content": "Extract the order as JSON."},
                     {"role": "assistant", "content": answer}],
        **{name: value for name, value in fields.items() if value is not MISSING},
    }


def grade(answer: Any, task: Any = None, **fields: Any) -> dict[str, Any]:
    (result,) = grade_batch([make_sample(answer, **fields)], task or load_task("json-schema"))
    return result


def metrics(result: dict[str, Any]) -> dict[str, float]:
    return {entry["name"]: entry["value"] for entry in result["metrics_list"]}


def rejection(answer: str, **options: Any) -> str:
    with pytest.raises(_Rejected) as caught:
        extract_json(answer, **options)
    return caught.value.reason


def test_loads_by_name_with_valid_defaults() -> None:
    assert "json-schema" in task_names()
    loaded = load_task("json-schema")
    assert dict(loaded.options) == defaults_of(js.OPTIONS)
    assert option_problems(js.OPTIONS, defaults_of(js.OPTIONS)) == []
    assert set(defaults_of(js.OPTIONS)) == set(js.OPTIONS["properties"])  # every option has a default
    assert loaded.pass_at == 1.0
    assert "JSON Schema" in loaded.description
    assert load_task("json_schema").name == "json-schema"


# ---------------------------------------------------------------------------------------
# Reading the answer's JSON
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "value"),
    [
        ('{"a": 1}', {"a": 1}),
        ('  \n{"a": 1}\n\n', {"a": 1}),
        ('\ufeff{"a": 1}', {"a": 1}),
        ('[1, 2.5, "x", null, true]', [1, 2.5, "x", None, True]),
        ("42", 42),
        ('"text"', "text"),
        ('```json\n{"a": 1}\n```', {"a": 1}),
        ('```JSON\n{"a": 1}\n```', {"a": 1}),
        ('```\n{"a": 1}\n```', {"a": 1}),
        ('````json\n{"a": 1}\n````', {"a": 1}),
        ('```json\r\n{"a": 1}\r\n```\r\n', {"a": 1}),
        ('  ```json\n  {"a": 1}\n  ```', {"a": 1}),
        ('```json\n{\n  "a": [\n    1\n  ]\n}\n```', {"a": [1]}),
        ('{"code": "```json"}', {"code": "```json"}),  # backticks inside a string are no fence
        ('{\n"code": "```"\n}', {"code": "```"}),
    ],
)
def test_accepted_answers(answer: str, value: Any) -> None:
    assert extract_json(answer) == value


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("", Metric.NOT_JSON),
        ("   \n\t", Metric.NOT_JSON),
        ("\ufeff", Metric.NOT_JSON),
        ("not json at all", Metric.NOT_JSON),
        ("{'a': 1}", Metric.NOT_JSON),  # Python, not JSON
        ('{"a": 1,}', Metric.NOT_JSON),
        ("[1, 2", Metric.NOT_JSON),
        ("1" * 5000, Metric.NOT_JSON),  # past Python's 4,300-digit integer limit
        ('Here is the order: {"a": 1}', Metric.PROSE),
        ('{"a": 1}\nHope this helps!', Metric.PROSE),
        ('{"a": 1} {"a": 2}', Metric.PROSE),
        ('Sure:\n```json\n{"a": 1}\n```', Metric.PROSE),
        ('```json\n{"a": 1}\n```\nDone.', Metric.PROSE),
        ('```json\n{"a": 1}\n```\n```json\n{"a": 2}\n```', Metric.SEVERAL_FENCES),
        ('```json\n{"a": 1}\n```\n\n```\n{"a": 1}\n```', Metric.SEVERAL_FENCES),
        ('```json\n{"a": 1}', Metric.PROSE),  # a fence left open is text, around the JSON
        ('```python\n{"a": 1}\n```', Metric.NOT_JSON),
        ('```json\n{"a": 1}\n```json\n', Metric.PROSE),  # a fence with a language closes nothing
        ('```json\n{"a": 1, "b": [1\n', Metric.NOT_JSON),  # cut off
        ('```json\nnope\n```', Metric.NOT_JSON),
        ('{"a": 1, "a": 2}', Metric.DUPLICATE_KEY),
        ('{"a": {"b": 1, "b": 1}}', Metric.DUPLICATE_KEY),
        ('```json\n[{"k": 1, "k": 1}]\n```', Metric.DUPLICATE_KEY),
        ('{"a": NaN}', Metric.NON_FINITE),
        ('[Infinity]', Metric.NON_FINITE),
        ('[-Infinity]', Metric.NON_FINITE),
        ('{"a": 1e999}', Metric.NON_FINITE),
        ("[" * 33 + "]" * 33, Metric.TOO_DEEP),
        ('{"a":' * 33 + "1" + "}" * 33, Metric.TOO_DEEP),
        ("[" * 100_000 + "]" * 100_000, Metric.TOO_LARGE),
    ],
)
def test_rejected_answers(answer: str, reason: str) -> None:
    assert rejection(answer) == reason


def test_nesting_up_to_max_depth_is_accepted() -> None:
    assert extract_json("[" * 32 + "]" * 32) is not None
    assert rejection("[" * 9 + "]" * 9, max_depth=8) == Metric.TOO_DEEP
    assert extract_json("[" * 8 + "]" * 8, max_depth=8) is not None


def test_recursion_is_too_deep_not_a_crash() -> None:
    deep = "[" * 50_000 + "]" * 50_000
    assert rejection(deep, max_chars=200_000) == Metric.TOO_DEEP
    assert rejection("Here: " + deep, max_chars=200_000, allow_prose=True) == Metric.TOO_DEEP


def test_size_cap_counts_the_whole_answer() -> None:
    text = json.dumps({"a": "x" * 100})
    assert extract_json(text, max_chars=len(text)) == {"a": "x" * 100}
    assert rejection(text, max_chars=len(text) - 1) == Metric.TOO_LARGE
    assert rejection(text + " ", max_chars=len(text)) == Metric.TOO_LARGE  # before any stripping


@pytest.mark.parametrize(
    ("answer", "value"),
    [
        ('Here is the order: {"a": 1}', {"a": 1}),
        ('{"a": 1}\nHope this helps!', {"a": 1}),
        ('The list [as asked]: {"a": 1}', {"a": 1}),  # the first [ is prose; the first { is the JSON
        ("Values: [1, 2] and more", [1, 2]),
        ('Sure:\n```json\n{"a": 1}\n```\nAnything else?', {"a": 1}),
        ('{"a": 1} {"a": 2}', {"a": 1}),  # the first value counts, never a choice
        ('```json\n{"a": 1}', {"a": 1}),  # an open fence is text like any other
        ('{"a": 1}', {"a": 1}),
        ("7", 7),
    ],
)
def test_prose_allowed(answer: str, value: Any) -> None:
    assert extract_json(answer, allow_prose=True) == value


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("The answer is 7", Metric.NOT_JSON),  # only objects and arrays are found in prose
        ('Two:\n```json\n{"a": 1}\n```\nand\n```json\n{"a": 1}\n```', Metric.SEVERAL_FENCES),
        ('Text\n```python\nprint(1)\n```\n{"a": 1}', Metric.NOT_JSON),  # the one block is not JSON
        ('Text {"a": 1, "a": 2}', Metric.DUPLICATE_KEY),
        ("Text {'a': 1}", Metric.NOT_JSON),
    ],
)
def test_prose_allowed_still_rejects(answer: str, reason: str) -> None:
    assert rejection(answer, allow_prose=True) == reason


# ---------------------------------------------------------------------------------------
# The field match
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "answer", "share"),
    [
        (ORDER, ORDER, 1.0),
        (ORDER, {**ORDER, "total": 73.50}, 1.0),
        (ORDER, {**ORDER, "total": 73}, 0.8),
        (ORDER, {**ORDER, "customer": "  Ava   Moore "}, 1.0),  # normalized: whitespace runs
        (ORDER, {**ORDER, "customer": "ava moore"}, 0.8),  # case counts unless casefold
        (ORDER, {**ORDER, "items": []}, 0.6),
        (ORDER, {**ORDER, "items": [{"product": "lamp", "quantity": 3}, {"product": "pen", "quantity": 1}]}, 5 / 6),
        (ORDER, {**ORDER, "extra": "keys are the schema's business"}, 1.0),
        (ORDER, {"customer": "Ava Moore"}, 0.2),
        (ORDER, [], 0.0),
        (ORDER, "Ava Moore", 0.0),
        ({"n": 5}, {"n": 5.0}, 1.0),
        ({"n": 5.0}, {"n": 5}, 1.0),
        ({"n": 1}, {"n": True}, 0.0),
        ({"b": True}, {"b": 1}, 0.0),
        ({"b": False}, {"b": 0}, 0.0),
        ({"b": False}, {"b": None}, 0.0),
        ({"n": 5}, {"n": "5"}, 0.0),
        ({"s": "5"}, {"s": 5}, 0.0),
        ({"x": None}, {"x": None}, 1.0),
        ({"x": None}, {}, 0.0),  # absent is not null
        ({"x": None}, {"x": "null"}, 0.0),
        ({"x": {}}, {"x": {}}, 1.0),
        ({"x": {}}, {"x": {"y": 1}}, 0.0),
        ({"x": []}, {"x": []}, 1.0),
        ({"x": []}, {"x": [1]}, 0.0),
        ({}, {"anything": 1}, 0.0),
        ([1, 2, 3], [1, 2, 3], 1.0),
        ([1, 2, 3], [3, 2, 1], 1 / 3),  # arrays by position
        ([1, 2], [1, 2, 3, 4], 0.5),  # two extra items: two misses
        ("東京", "東京", 1.0),
        ("ＡＢＣ１２３", "ABC123", 1.0),  # NFKC
        (3, 3, 1.0),
    ],
)
def test_field_match(reference: Any, answer: Any, share: float) -> None:
    assert field_match(reference, answer) == pytest.approx(share)


def test_string_forms() -> None:
    exact, casefold = js.STRING_FORMS["exact"], js.STRING_FORMS["casefold"]
    assert field_match("Tokyo", "Tokyo", exact) == 1.0
    assert field_match("Tokyo", " Tokyo", exact) == 0.0
    assert field_match("Tokyo", "ｔｏｋｙｏ", casefold) == 1.0
    assert field_match("Straße", "STRASSE", casefold) == 1.0
    assert field_match("Tokyo", "tokyo", js.STRING_FORMS["normalized"]) == 0.0


# ---------------------------------------------------------------------------------------
# Compiling schemas
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (5, "must be a JSON Schema (an object or a boolean), got 5"),
        ([{"type": "object"}], "must be a JSON Schema"),
        ("not json", "is a string that is not JSON text of a schema"),
        ({"type": "objekt"}, "is not a valid JSON Schema"),
        ({"properties": {"a": {"minimum": "3"}}}, "(at properties.a.minimum)"),
        ({"type": "string", "pattern": "("}, "is not a valid JSON Schema"),
        ({"$schema": 7}, "$schema must be a string"),
        ({"$schema": "https://example.com/my-draft"}, "is no JSON Schema draft jsonschema knows"),
        ({"$ref": "https://example.com/order.json"}, "$ref 'https://example.com/order.json' does not resolve"),
        ({"properties": {"a": {"$ref": "#/$defs/missing"}}}, "$ref '#/$defs/missing' does not resolve"),
        ({"$defs": {"a": {"$ref": "other.json#/x"}}}, "$ref 'other.json#/x' does not resolve"),
        ({"$dynamicRef": "#nowhere"}, "$dynamicRef '#nowhere' does not resolve"),
        ({"$ref": "#"}, "recurses without end when validating {} (a $ref loop?)"),
        ({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}, "recurses"),
        ({"$id": "http://[not-a-uri", "type": "object"}, "cannot be used as a schema: ValueError"),
        ({"$id": "https://example.com/", "properties": {"a": {"$id": "http://[x"}}},
         "cannot be used as a schema: ValueError"),
    ],
)
def test_unusable_schemas(schema: Any, expected: str) -> None:
    reason = compile_schema(schema)
    assert isinstance(reason, str)
    assert expected in reason


@pytest.mark.parametrize(
    "schema",
    [
        True,
        False,
        {},
        '{"type": "integer"}',
        {"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"p": {"type": "integer"}},
         "properties": {"x": {"$ref": "#/definitions/p"}}},
        {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object"},
        {"$id": "https://example.com/root.json", "$defs": {"p": {"$id": "p.json", "type": "integer"}},
         "properties": {"x": {"$ref": "p.json"}}},
        {"$ref": "https://json-schema.org/draft/2020-12/schema"},  # a meta-schema: known, not fetched
        {"$dynamicAnchor": "node", "type": "object", "properties": {"child": {"$dynamicRef": "#node"}}},
        {"const": {"$ref": "https://example.com/not-a-reference.json"}},  # data, not a reference
        {"properties": {"$ref": {"type": "string"}}},  # a property named $ref
    ],
)
def test_usable_schemas(schema: Any) -> None:
    assert isinstance(compile_schema(schema), js.CompiledSchema)


def test_no_schema_is_ever_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the task tried to fetch a schema")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    remote = {"type": "object", "properties": {"a": {"$ref": "http://127.0.0.1:9/schema.json"}}}
    assert "does not resolve" in str(compile_schema(remote))
    result = grade('{"a": 1}', schema=remote, reference_answer={"a": 1})
    assert metrics(result)["malformed"] == 1


def test_a_schema_that_loops_on_some_answers_makes_them_malformed() -> None:
    schema = {"if": {"type": "string", "minLength": 2}, "then": {"$ref": "#"}}  # loops on longer strings only
    assert isinstance(compile_schema(schema), js.CompiledSchema)
    reasons: list[str] = []
    task = load_task({"name": "json-schema", "matchReference": False})
    results = grade_batch([make_sample('"x"', 0, schema=schema), make_sample('"xyz"', 1, schema=schema)], task,
                          on_malformed=lambda index, sample_id, why: reasons.append(why))
    assert [result["aggregate_reward_score"] for result in results] == [1.0, 0.0]
    assert reasons == ["schema recursed without end on this answer (a $ref loop?)"]


def test_pattern_search_is_time_limited() -> None:
    compiled = compile_schema({"type": "string", "pattern": "^(a|a)+$"})
    assert isinstance(compiled, js.CompiledSchema)
    assert compiled.first_error("aaaa") is None
    error = compiled.first_error("a" * 60 + "!")  # catastrophic backtracking for any regex engine
    assert isinstance(error, js._PatternTimeout)
    task = load_task({"name": "json-schema", "matchReference": False})
    result = grade('"' + "a" * 60 + '!"', task, schema={"type": "string", "pattern": "^(a|a)+$"})
    assert result["aggregate_reward_score"] == 0.0
    assert metrics(result)[Metric.PATTERN_TIMEOUT] == 1
    assert metrics(result)[Metric.SCHEMA_VALID] == 0


def test_patterns_still_match_as_usual() -> None:
    compiled = compile_schema({"pattern": r"^\d{4}-\d{2}-\d{2}$"})
    assert isinstance(compiled, js.CompiledSchema)
    assert compiled.first_error("2026-03-05") is None
    assert compiled.first_error("2026-3-5") is not None
    assert compiled.first_error(20260305) is None  # pattern applies to strings only


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2026-03-05T09:30:00Z", True),
        ("2026-03-05t09:30:00.125+09:00", True),
        ("2026-12-31T23:59:60Z", True),  # a leap second
        ("2026-03-05T09:30:00", False),  # no offset
        ("2026-03-05 09:30:00Z", False),
        ("2026-02-30T09:30:00Z", False),
        ("2026-03-05T24:00:00Z", False),
        ("2026-03-05T09:30:00+24:00", False),
        ("2026-03-05T09:30:00Z\n", False),
        (12, True),
    ],
)
def test_date_time_format(value: Any, valid: bool) -> None:
    assert is_date_time(value) is valid


def test_time_format() -> None:
    assert is_time("09:30:00Z") and is_time("23:59:59.9-05:00") and is_time(None)
    assert not is_time("9:30:00Z") and not is_time("09:30") and not is_time("09:60:00Z")


def test_formats_are_annotations_unless_checked() -> None:
    schema = {"type": "object", "properties": {"day": {"type": "string", "format": "date"},
                                               "mail": {"type": "string", "format": "email"}}}
    bad = '{"day": "2026-02-30", "mail": "nobody"}'
    assert grade(bad, load_task({"name": "json-schema", "matchReference": False}), schema=schema)[
        "aggregate_reward_score"] == 1.0
    checked = load_task({"name": "json-schema", "matchReference": False, "checkFormats": True})
    assert grade(bad, checked, schema=schema)["aggregate_reward_score"] == 0.0
    good = '{"day": "2026-02-28", "mail": "ava@example.com"}'
    assert grade(good, checked, schema=schema)["aggregate_reward_score"] == 1.0


def test_unknown_formats_pass_when_checked() -> None:
    # hostname needs a package the Lambda does not ship: never asserted, here or there.
    checked = load_task({"name": "json-schema", "matchReference": False, "checkFormats": True})
    schema = {"type": "string", "format": "hostname"}
    assert grade('"not a host name!"', checked, schema=schema)["aggregate_reward_score"] == 1.0


def test_one_compilation_per_distinct_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = js.compile_schema

    def counting(schema: Any, **kwargs: Any) -> Any:
        calls.append(schema)
        return real(schema, **kwargs)

    monkeypatch.setattr(js, "compile_schema", counting)
    task = load_task("json-schema")
    reordered = dict(reversed(list(ORDER_SCHEMA.items())))
    samples = [make_sample(json.dumps(ORDER), index, schema=json.loads(json.dumps(ORDER_SCHEMA)))
               for index in range(8)]
    samples.append(make_sample(json.dumps(ORDER), 8, schema=reordered))
    results = grade_batch(samples, task)
    assert [result["aggregate_reward_score"] for result in results] == [1.0] * 9
    assert len(calls) == 1


def test_cache_keeps_one_and_true_apart() -> None:
    # 1 == True in Python: a cache keyed by == would give {"const": true} the validator of {"const": 1}.
    task = load_task({"name": "json-schema", "matchReference": False})
    results = grade_batch(
        [make_sample("true", 0, schema={"const": 1}), make_sample("true", 1, schema={"const": True}),
         make_sample("1.0", 2, schema={"const": 1}), make_sample("1", 3, schema={"const": True})],
        task,
    )
    assert [result["aggregate_reward_score"] for result in results] == [0.0, 1.0, 1.0, 0.0]


def test_cache_is_bounded() -> None:
    cache = js.SchemaCache(check_formats=False, size=4)
    for maximum in range(10):
        assert isinstance(cache.get({"maximum": maximum}), js.CompiledSchema)
    assert len(cache._entries) == 4


# ---------------------------------------------------------------------------------------
# Scoring through the grader
# ---------------------------------------------------------------------------------------


def test_the_reference_scores_one() -> None:
    result = grade(json.dumps(ORDER))
    assert result["aggregate_reward_score"] == 1.0
    assert metrics(result) == {Metric.VALID_JSON: 1, Metric.SCHEMA_VALID: 1, Metric.FIELD_MATCH: 1.0, "passed": 1.0}


def test_partial_credit_is_the_share_of_fields() -> None:
    answer = {**ORDER, "total": 70, "paid": True}
    result = grade(json.dumps(answer))
    assert result["aggregate_reward_score"] == pytest.approx(3 / ORDER_LEAVES)
    assert metrics(result)[Metric.FIELD_MATCH] == pytest.approx(3 / ORDER_LEAVES)
    assert metrics(result)["passed"] == 0.0


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=0, max_value=1))
def test_a_full_match_scores_exactly_one_whatever_the_schema_share(share: float) -> None:
    task = load_task({"name": "json-schema", "schemaShare": share})
    assert grade(json.dumps(ORDER), task)["aggregate_reward_score"] == 1.0
    partial = grade(json.dumps({**ORDER, "paid": True}), task)
    assert share <= partial["aggregate_reward_score"] <= 1.0
    assert metrics(partial)["passed"] == 0.0  # even when the reward rounds up to 1.0


def test_schema_share() -> None:
    task = load_task({"name": "json-schema", "schemaShare": 0.4})
    answer = {**ORDER, "total": 70, "paid": True}
    assert grade(json.dumps(answer), task)["aggregate_reward_score"] == pytest.approx(0.4 + 0.6 * 3 / 5)
    assert grade(json.dumps(ORDER), task)["aggregate_reward_score"] == 1.0
    assert grade("{}", task)["aggregate_reward_score"] == 0.0  # {} breaks the schema: nothing


def test_breaking_the_schema_scores_zero_but_reports_the_match() -> None:
    result = grade(json.dumps({**ORDER, "note": "extra"}))
    assert result["aggregate_reward_score"] == 0.0
    assert metrics(result)[Metric.SCHEMA_VALID] == 0
    assert metrics(result)[Metric.VALID_JSON] == 1
    assert metrics(result)[Metric.FIELD_MATCH] == 1.0


def test_not_json_scores_zero_with_its_reason() -> None:
    result = grade("The customer is Ava Moore.")
    assert result["aggregate_reward_score"] == 0.0
    assert metrics(result) == {Metric.VALID_JSON: 0, Metric.SCHEMA_VALID: 0, Metric.FIELD_MATCH: 0.0,
                               Metric.NOT_JSON: 1, "passed": 0.0}


def test_reasoning_is_removed_before_reading() -> None:
    assert grade("<think>the customer is Ava</think>\n" + json.dumps(ORDER))["aggregate_reward_score"] == 1.0


def test_without_matching_validity_is_the_reward() -> None:
    task = load_task({"name": "json-schema", "matchReference": False})
    result = grade(json.dumps({**ORDER, "customer": "someone else"}), task)
    assert result["aggregate_reward_score"] == 1.0
    assert Metric.FIELD_MATCH not in metrics(result)
    no_reference = grade(json.dumps(ORDER), task, reference_answer=MISSING)
    assert no_reference["aggregate_reward_score"] == 1.0


def test_string_match_option() -> None:
    answer = json.dumps({**ORDER, "customer": "AVA MOORE"})
    assert grade(answer)["aggregate_reward_score"] == pytest.approx(0.8)
    casefold = load_task({"name": "json-schema", "stringMatch": "casefold"})
    assert grade(answer, casefold)["aggregate_reward_score"] == 1.0
    exact = load_task({"name": "json-schema", "stringMatch": "exact"})
    assert grade(json.dumps({**ORDER, "customer": "Ava  Moore"}), exact)["aggregate_reward_score"] == pytest.approx(0.8)


def test_allow_prose_option() -> None:
    answer = "Here is the order:\n```json\n" + json.dumps(ORDER) + "\n```\nLet me know if anything is off."
    assert metrics(grade(answer))[Metric.PROSE] == 1
    prose = load_task({"name": "json-schema", "allowProse": True})
    assert grade(answer, prose)["aggregate_reward_score"] == 1.0


def test_size_and_depth_options() -> None:
    small = load_task({"name": "json-schema", "maxChars": 20})
    assert metrics(grade(json.dumps(ORDER), small))[Metric.TOO_LARGE] == 1
    shallow = load_task({"name": "json-schema", "maxDepth": 2})
    assert metrics(grade(json.dumps(ORDER), shallow))[Metric.TOO_DEEP] == 1  # items.0 is depth 3


def test_metadata_fields_are_read() -> None:
    sample = make_sample(json.dumps(ORDER), schema=MISSING, reference_answer=MISSING)
    sample["metadata"] = {"schema": ORDER_SCHEMA, "reference_answer": ORDER}
    (result,) = grade_batch([sample], load_task("json-schema"))
    assert result["aggregate_reward_score"] == 1.0


def test_wrapped_reference_form() -> None:
    wrapped = {"schema": ORDER_SCHEMA, "json": ORDER}
    assert grade(json.dumps(ORDER), schema=MISSING, reference_answer=wrapped)["aggregate_reward_score"] == 1.0
    # With its own schema field, reference_answer is the reference as it is.
    result = grade(json.dumps(ORDER), reference_answer=wrapped)
    assert result["aggregate_reward_score"] == 0.0


def test_schema_as_json_text() -> None:
    assert grade(json.dumps(ORDER), schema=json.dumps(ORDER_SCHEMA))["aggregate_reward_score"] == 1.0


def test_option_schema_and_record_schema() -> None:
    task = load_task({"name": "json-schema", "schema": {"type": "array"}, "matchReference": False})
    assert grade("[1]", task, schema=MISSING)["aggregate_reward_score"] == 1.0
    assert grade(json.dumps(ORDER), task, schema=MISSING)["aggregate_reward_score"] == 0.0
    assert grade(json.dumps(ORDER), task)["aggregate_reward_score"] == 1.0  # the record's schema wins


def test_invalid_option_schema_fails_loading() -> None:
    with pytest.raises(TaskError, match="option schema is not a valid JSON Schema"):
        load_task({"name": "json-schema", "schema": {"type": "objekt"}})
    with pytest.raises(TaskError, match="does not resolve"):
        load_task({"name": "json-schema", "schema": {"$ref": "https://example.com/s.json"}})
    with pytest.raises(TaskError, match="schemaShare"):
        load_task({"name": "json-schema", "schemaShare": 2})
    with pytest.raises(TaskError, match="maxDepth"):
        load_task({"name": "json-schema", "maxDepth": 1000})


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"schema": MISSING}, "no schema"),
        ({"schema": {"type": "objekt"}}, "schema is not a valid JSON Schema"),
        ({"schema": 3}, "schema must be a JSON Schema"),
        ({"schema": {"$ref": "https://example.com/x.json"}}, "schema $ref"),
        ({"reference_answer": MISSING}, "no reference_answer to match"),
        ({"schema": MISSING, "reference_answer": {"schema": {"type": "objekt"}, "json": {}}},
         "reference_answer.schema is not a valid JSON Schema"),
    ],
)
def test_data_that_cannot_be_scored_is_malformed(fields: dict[str, Any], reason: str) -> None:
    seen: list[str] = []
    (result,) = grade_batch([make_sample(json.dumps(ORDER), **fields)], load_task("json-schema"),
                            on_malformed=lambda index, sample_id, why: seen.append(why))
    assert result["aggregate_reward_score"] == 0.0
    assert metrics(result)["malformed"] == 1
    assert reason in seen[0]


def test_a_bad_sample_costs_only_itself() -> None:
    samples = [make_sample(json.dumps(ORDER), 0), make_sample(json.dumps(ORDER), 1, schema={"type": 5}),
               make_sample(json.dumps(ORDER), 2, reference_answer=MISSING), {"id": 3, "messages": "nope"},
               make_sample(json.dumps(ORDER), 4)]
    results = grade_batch(samples, load_task("json-schema"))
    assert [result["aggregate_reward_score"] for result in results] == [1.0, 0.0, 0.0, 0.0, 1.0]
    assert [result["id"] for result in results] == [0, 1, 2, 3, 4]


def test_a_passed_deadline_flags_the_rest() -> None:
    task = load_task("json-schema")
    (result,) = grade_batch([make_sample(json.dumps(ORDER))], task, deadline=Deadline(0.0))
    assert result["aggregate_reward_score"] == 0.0
    assert metrics(result)["flagged"] == 1 and metrics(result)[js.TIMED_OUT_FLAG] == 1


# ---------------------------------------------------------------------------------------
# The record check
# ---------------------------------------------------------------------------------------


def record(**fields: Any) -> dict[str, Any]:
    fields.setdefault("schema", ORDER_SCHEMA)
    fields.setdefault("reference_answer", ORDER)
    return {"messages": [{"role": "user", "content": "Extract the order as JSON."}],
            **{name: value for name, value in fields.items() if value is not MISSING}}


def test_a_good_record_passes() -> None:
    assert load_task("json-schema").check_record(record()) == []
    wrapped = record(schema=MISSING, reference_answer={"schema": ORDER_SCHEMA, "json": ORDER})
    assert load_task("json-schema").check_record(wrapped) == []


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"schema": MISSING}, "no schema"),
        ({"schema": {"type": "objekt"}}, "schema is not a valid JSON Schema (Draft 2020-12)"),
        ({"schema": {"$schema": "http://json-schema.org/draft-07/schema#", "type": 5}}, "(Draft 7)"),
        ({"schema": {"properties": {"a": {"type": "strin"}}}}, "(at properties.a.type)"),
        ({"schema": {"$schema": "https://example.com/draft"}}, "schema $schema"),
        ({"schema": {"$ref": "https://example.com/order.json"}}, "remote references are never fetched"),
        ({"schema": {"$ref": "#/$defs/order"}}, "$ref '#/$defs/order' does not resolve"),
        ({"reference_answer": MISSING}, "reference_answer is missing: matchReference is on"),
        ({"reference_answer": {**ORDER, "total": "73.5"}}, "reference_answer does not validate against schema"),
        ({"reference_answer": {**ORDER, "total": "73.5"}}, "(at total)"),
        ({"reference_answer": {**ORDER, "items": [{"product": "lamp", "quantity": 0}]}}, "(at items.0.quantity)"),
        ({"schema": MISSING, "reference_answer": {"schema": ORDER_SCHEMA}},
         "reference_answer.json is missing"),
        ({"schema": MISSING, "reference_answer": {"schema": ORDER_SCHEMA, "json": None}},
         "reference_answer.json is missing"),
        ({"schema": {"type": "object"}, "reference_answer": {}}, "the trivial answer {} scores 1"),
        ({"schema": {"type": "array"}, "reference_answer": []}, "the trivial answer [] scores 1"),
        ({"schema": True, "reference_answer": None}, "reference_answer is missing"),  # null is absent
        ({"schema": {"type": "array", "items": {"type": "array"}}, "reference_answer": [[[[[[1]]]]]]},
         "nests deeper than maxDepth"),
    ],
)
def test_record_problems(fields: dict[str, Any], expected: str) -> None:
    task = load_task({"name": "json-schema", "maxDepth": 4}) if "maxDepth" in expected else load_task("json-schema")
    problems = task.check_record(record(**fields))
    assert problems and any(expected in problem for problem in problems), problems


def test_a_schema_looping_on_the_reference_is_reported() -> None:
    schema = {"if": {"type": "string", "minLength": 2}, "then": {"$ref": "#"}}
    problems = load_task("json-schema").check_record(record(schema=schema, reference_answer="xyz"))
    assert problems == ["schema recursed without end validating reference_answer (a $ref loop?)"]


def test_schema_only_records_must_not_accept_an_empty_answer() -> None:
    task = load_task({"name": "json-schema", "matchReference": False})
    assert task.check_record(record(reference_answer=MISSING)) == []
    permissive = task.check_record(record(schema={"type": "object"}, reference_answer=MISSING))
    assert permissive and "the trivial answer {} scores 1: schema accepts it" in permissive[0]
    assert "the trivial answer" in task.check_record(record(schema=True, reference_answer=MISSING))[0]
    yes_or_no = task.check_record(record(schema={"type": "boolean"}, reference_answer=MISSING))
    assert yes_or_no and "the trivial answer true scores 1" in yes_or_no[0]


def test_a_reference_of_true_or_zero_is_no_trivial_record() -> None:
    task = load_task("json-schema")
    assert task.check_record(record(schema={"type": "boolean"}, reference_answer=True)) == []
    assert task.check_record(record(schema={"type": "integer"}, reference_answer=0)) == []
    assert task.check_record(record(schema={"type": "string"}, reference_answer="")) != []


def test_option_schema_serves_records_without_one() -> None:
    task = load_task({"name": "json-schema", "schema": ORDER_SCHEMA})
    assert task.check_record(record(schema=MISSING)) == []
    assert "does not validate" in task.check_record(record(schema=MISSING, reference_answer={"a": 1}))[0]


# ---------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=25,
)
ANSWER_TEXT = st.one_of(
    st.text(),
    st.text(alphabet='{}[]":,0123456789.eE+-truefalsn \n\r\t`\ufeffjsoNIfiy\\'),
    JSON_VALUES.map(json.dumps),
    JSON_VALUES.map(lambda value: "```json\n" + json.dumps(value, indent=2) + "\n```"),
    st.tuples(st.text(max_size=20), JSON_VALUES, st.text(max_size=20)).map(
        lambda parts: parts[0] + json.dumps(parts[1]) + parts[2]),
)
TASKS = [load_task("json-schema"), load_task({"name": "json-schema", "allowProse": True, "schemaShare": 0.3}),
         load_task({"name": "json-schema", "matchReference": False, "checkFormats": True, "maxDepth": 3})]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANSWER_TEXT, st.sampled_from(TASKS))
def test_any_answer_scores_in_range(answer: str, task: Any) -> None:
    (result,) = grade_batch([make_sample(answer)], task)
    assert 0.0 <= result["aggregate_reward_score"] <= 1.0
    assert "malformed" not in metrics(result)  # the answer never makes the data unscorable


@settings(max_examples=300, deadline=None)
@given(ANSWER_TEXT, st.booleans())
def test_extract_json_only_rejects(answer: str, allow_prose: bool) -> None:
    try:
        value = extract_json(answer, allow_prose=allow_prose)
    except _Rejected as rejected:
        assert rejected.reason in vars(Metric).values()
    else:
        json.dumps(value, allow_nan=False)  # whatever is accepted is finite JSON


@settings(max_examples=200, deadline=None)
@given(JSON_VALUES, st.sampled_from([True, {}, {"$schema": "http://json-schema.org/draft-07/schema#"}]),
       st.booleans())
def test_any_json_value_passes_a_permissive_schema(value: Any, schema: Any, fenced: bool) -> None:
    text = json.dumps(value, ensure_ascii=False)
    answer = f"```json\n{text}\n```" if fenced else text
    schema_only = load_task({"name": "json-schema", "matchReference": False})
    assert grade(answer, schema_only, schema=schema)["aggregate_reward_score"] == 1.0
    if value is not None:  # a null reference_answer is no reference
        assert grade(answer, schema=schema, reference_answer=value)["aggregate_reward_score"] == 1.0


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, JSON_VALUES)
def test_field_match_is_a_share(reference: Any, answer: Any) -> None:
    share = field_match(reference, answer)
    assert 0.0 <= share <= 1.0
    assert field_match(reference, reference) == 1.0


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON_VALUES, JSON_VALUES, ANSWER_TEXT)
def test_any_record_data_never_crashes(schema: Any, reference: Any, answer: str) -> None:
    task = load_task("json-schema")
    (result,) = grade_batch([make_sample(answer, schema=schema, reference_answer=reference)], task)
    assert 0.0 <= result["aggregate_reward_score"] <= 1.0
    assert all(isinstance(problem, str) for problem in task.check_record(record(schema=schema,
                                                                                 reference_answer=reference)))


URI_TEXT = st.text(alphabet="htps:/[]#%~.-_0123456789abcdefurn$", max_size=20)
SCHEMA_LIKE = st.recursive(
    st.fixed_dictionaries({}, optional={"$id": URI_TEXT, "$ref": URI_TEXT, "$anchor": URI_TEXT,
                                        "$dynamicRef": URI_TEXT, "type": st.sampled_from(["object", "string", 5])}),
    lambda children: st.fixed_dictionaries({}, optional={"properties": st.dictionaries(st.text(max_size=3), children,
                                                                                        max_size=2),
                                                         "$defs": st.dictionaries(URI_TEXT, children, max_size=2),
                                                         "items": children, "$id": URI_TEXT}),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(SCHEMA_LIKE)
def test_any_schema_like_object_compiles_or_says_why(schema: dict[str, Any]) -> None:
    assert isinstance(compile_schema(schema), (str, js.CompiledSchema))
    reasons: list[str] = []
    task = load_task({"name": "json-schema", "matchReference": False})
    samples = [make_sample(answer, schema=schema) for answer in ("{}", "[]", '"x"', "1", "null", '{"a": [1]}')]
    for result in grade_batch(samples, task, on_malformed=lambda index, sample_id, why: reasons.append(why)):
        assert 0.0 <= result["aggregate_reward_score"] <= 1.0
    assert not [reason for reason in reasons if reason.startswith("grader error")]  # data problems, no bug


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["schema", "reference_answer", "metadata", "messages"]), JSON_VALUES),
       st.booleans())
def test_check_record_never_raises(item: dict[str, Any], match_reference: bool) -> None:
    task = load_task({"name": "json-schema", "matchReference": match_reference})
    assert all(isinstance(problem, str) and problem for problem in task.check_record(item))


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="`json{}[]\n \r\"a1", max_size=60))
def test_fence_scanner_finds_closed_blocks_only(text: str) -> None:
    for block in js.fenced_blocks(text):
        assert text[block.start : block.end].lstrip().startswith("```")
        assert text[block.start : block.end].rstrip().endswith("```")
        assert block.body in text


# ---------------------------------------------------------------------------------------
# The example dataset
# ---------------------------------------------------------------------------------------



def test_dataset_is_generated_deterministically_and_valid() -> None:
    generator = dataset_generator("json-schema")
    training, validation = generator.build()
    assert (training, validation) == generator.build()
    assert len(training) >= 100 and len(validation) >= 10
    for name, records in (("training.jsonl", training), ("validation.jsonl", validation)):
        written = (ROOT / "training-data" / "json-schema" / name).read_text(encoding="utf-8")
        assert written == "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in records), name
    validate_training_set(ROOT / "training-data/json-schema/training.jsonl",
                          ROOT / "training-data/json-schema/validation.jsonl", load_task("json-schema"))


def test_dataset_references_are_computed_right() -> None:
    training, validation = dataset_generator("json-schema").build()
    for item in training + validation:
        reference = item["reference_answer"]
        prompt = item["messages"][-1]["content"]
        if "items" in reference:  # an order: the total is the sum of the lines
            cents = sum(round(line["unit_price"] * 100) * line["quantity"] for line in reference["items"])
            assert math.isclose(reference["total"] * 100, cents)
        for value in (reference.get("date"), reference.get("delivery_date")):
            if value is not None:
                year, month, day = map(int, value.split("-"))
                assert f"{year}年{month}月{day}日" in prompt or f"{day}, {year}" in prompt
        assert item["schema"] == json.loads(prompt.rpartition("JSON Schema:\n")[2])  # the prompt shows it
