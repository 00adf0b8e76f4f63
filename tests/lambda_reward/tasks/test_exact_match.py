"""exact-match: the worked example of a one-function task."""

from __future__ import annotations

import pytest

from lambda_reward.runtime.tasks.exact_match import check_record, normalized, score


@pytest.mark.parametrize(
    ("answer", "reference", "reward"),
    [
        ("Tokyo", "Tokyo", 1.0),
        ("  tokyo. ", "Tokyo", 1.0),
        ("ｔｏｋｙｏ", "Tokyo", 1.0),  # full width
        ("東京。", "東京", 1.0),
        ("New  York", "New York", 1.0),
        ("Tokyo, Japan", "Tokyo", 0.0),
        ("", "", 0.0),  # nothing matches nothing
        ("42", 42, 0.0),  # a reference must be text
    ],
)
def test_score(answer: str, reference: object, reward: float) -> None:
    assert score(answer, {"reference_answer": reference}) == reward


def test_the_reference_may_come_under_metadata() -> None:
    assert score("Paris", {"metadata": {"reference_answer": "paris"}}) == 1.0


def test_check_record() -> None:
    assert check_record({"reference_answer": "x"}) == []
    assert check_record({"reference_answer": " . "}) != []
    assert check_record({}) == ["reference_answer must be a non-empty string (the answer the model should give)"]


def test_normalized() -> None:
    assert normalized("Ｈｅｌｌｏ\u3000World.") == "hello world"
