"""The strict JSON decoder the tasks share (lambda_reward/runtime/tasks/_json.py)."""

from __future__ import annotations

import pytest

from lambda_reward.runtime.tasks import _json, json_schema
from lambda_reward.runtime.tasks._json import StrictJsonError, loads_strict, raw_decode_strict


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"score": 1, "score": 10}', _json.DUPLICATE_KEY),
        ('{"a": NaN}', _json.NON_FINITE),
        ("[Infinity]", _json.NON_FINITE),
        ("1e999", _json.NON_FINITE),
        ("[" * 100_000 + "]" * 100_000, _json.TOO_DEEP),
    ],
)
def test_what_pythons_json_would_guess_is_refused_with_its_reason(text: str, reason: str) -> None:
    with pytest.raises(StrictJsonError) as error:
        loads_strict(text)
    assert error.value.reason == reason


def test_plain_json_reads_as_usual_and_not_json_is_a_value_error() -> None:
    assert loads_strict('{"a": [1, 2.5, "x", null, true]}') == {"a": [1, 2.5, "x", None, True]}
    assert raw_decode_strict('prose {"a": 1} more', 6) == ({"a": 1}, 14)
    with pytest.raises(ValueError):
        loads_strict("{not json")


def test_the_reasons_are_the_json_schema_tasks_metric_names() -> None:
    assert (_json.DUPLICATE_KEY, _json.NON_FINITE, _json.TOO_DEEP) == (
        json_schema.Metric.DUPLICATE_KEY, json_schema.Metric.NON_FINITE, json_schema.Metric.TOO_DEEP)
