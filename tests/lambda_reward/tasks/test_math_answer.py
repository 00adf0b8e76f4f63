"""The math-answer task: reading final answers and numbers, references in AWS's GSM8K shapes, options, scoring."""

from __future__ import annotations

import ast
import json
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from lambda_reward.runtime.grader import grade_batch
from lambda_reward.runtime.samples import samples_of_event
from lambda_reward.runtime.tasks import TaskError, defaults_of, load_task, math_answer as ma, option_problems
from lambda_reward.runtime.tasks.math_answer import (
    MAX_DIGITS,
    MAX_MARKERS,
    SPAN_CHARS,
    Extraction,
    Metric,
    Number,
    ReferenceError,
    check_record,
    extract_answer,
    numbers_match,
    parse_number,
    parse_reference,
    read_reference,
)
from stacks.dataset import validate_training_set
from tests.conftest import dataset_generator

ROOT = Path(__file__).resolve().parents[3]
GSM8K_INSTRUCTION = "Let's think step by step and output the final answer after \"####\"."
NATALIA = "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. " \
          "How many clips did Natalia sell altogether in April and May?"
NATALIA_REFERENCE = ("Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n"
                     "Natalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n#### 72")
REASONING = "In May she sold 48/2 = 24 clips.\nAltogether she sold 48 + 24 = 72 clips.\n"


def value(number: Number | None) -> Fraction | None:
    return None if number is None else Fraction(number.numerator, number.denominator)


def sample(answer: Any, reference: Any = NATALIA_REFERENCE, *, where: str = "top", sample_id: Any = "s1",
           prompt: str = f"{NATALIA} {GSM8K_INSTRUCTION}") -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": sample_id,
        "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}],
    }
    if where == "top":
        raw["reference_answer"] = reference
    elif where == "metadata":
        raw["metadata"] = {"reference_answer": reference}
    return raw


def grade(answers: list[str], reference: Any = NATALIA_REFERENCE, task: Any = "math-answer") -> list[dict[str, Any]]:
    return grade_batch([sample(answer, reference, sample_id=index) for index, answer in enumerate(answers)],
                       load_task(task))


def metrics(result: dict[str, Any]) -> dict[str, float]:
    return {metric["name"]: metric["value"] for metric in result["metrics_list"]}


# ---------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("72", Fraction(72)),
        ("72.0", Fraction(72)),
        ("72.00", Fraction(72)),
        ("-2", Fraction(-2)),
        ("+2", Fraction(2)),
        ("−2", Fraction(-2)),  # U+2212 MINUS SIGN
        ("1,234", Fraction(1234)),
        ("1,234,567.5", Fraction(2469135, 2)),
        ("$1,234.50", Fraction(246900, 200)),
        ("-$5", Fraction(-5)),
        ("$-5", Fraction(-5)),
        ("€12", Fraction(12)),
        ("¥1,000", Fraction(1000)),
        (".5", Fraction(1, 2)),
        ("3/4", Fraction(3, 4)),
        ("3 / 4", Fraction(3, 4)),
        ("-3/4", Fraction(-3, 4)),
        ("1.5/3", Fraction(1, 2)),
        ("1.5e3", Fraction(1500)),
        ("2E-2", Fraction(1, 50)),
        ("50%", Fraction(50)),
        ("50 percent", Fraction(50)),
        ("７２", Fraction(72)),
        ("１，２３４", Fraction(1234)),
        ("\\frac{3}{4}", Fraction(3, 4)),
        ("\\dfrac{3}{4}", Fraction(3, 4)),
        ("\\tfrac12", Fraction(1, 2)),
        ("-\\frac{1}{2}", Fraction(-1, 2)),
        ("1{,}234", Fraction(1234)),
        ("1\\,234", Fraction(1234)),
        ("\\$72", Fraction(72)),
        ("50\\%", Fraction(50)),
        ("\\text{72 apples}", Fraction(72)),
        ("72 apples", Fraction(72)),
        ("72個", Fraction(72)),
        ("x = 5", Fraction(5)),
        ("**72**", Fraction(72)),
        ("  72\n", Fraction(72)),
    ],
)
def test_parse_number_reads_each_style(text: str, expected: Fraction) -> None:
    assert value(parse_number(text)) == expected


def test_parse_number_marks_percents() -> None:
    assert parse_number("50%") == Number(50, 1, True)
    assert parse_number("12.5 percent") == Number(125, 10, True)
    assert parse_number("50") == Number(50, 1, False)


@pytest.mark.parametrize(
    "text",
    [
        "", "   ", "seventy-two", "5, 6", "5 or 6", "5-6", "3 + 4", "2^10", "2\\pi", "\\sqrt{2}", "x2",
        "1" * (MAX_DIGITS + 1), "0." + "1" * MAX_DIGITS, "3/0", "1e61", "1e-61", "1e1000", "10^3", "v1.2.3",
    ],
)
def test_parse_number_refuses_what_is_not_one_number(text: str) -> None:
    assert parse_number(text) is None


def test_parse_number_takes_the_longest_number_allowed() -> None:
    assert value(parse_number("9" * MAX_DIGITS)) == 10**MAX_DIGITS - 1
    assert value(parse_number("1e60")) == 10**60


@pytest.mark.parametrize(
    ("answer", "reference", "expected"),
    [
        ("72", "72", True),
        ("72.0", "72", True),
        ("72", "72.000", True),
        ("$72", "72", True),
        ("71", "72", False),
        ("3/4", "0.75", True),
        ("\\frac{1}{3}", "1/3", True),
        ("0.333", "1/3", False),  # no tolerance: exact
        ("50%", "50", True),  # a percent is its number...
        ("50%", "0.5", True),  # ... or its number / 100
        ("50", "50%", True),
        ("0.5", "50%", True),
        ("50%", "50%", True),
        ("5%", "50", False),
        ("-2", "2", False),
        (str(10**30 + 1), str(10**30), False),  # big integers exactly
        ("1e3", "1000", True),
    ],
)
def test_numbers_match_exactly(answer: str, reference: str, expected: bool) -> None:
    given_number, expected_number = parse_number(answer), parse_number(reference)
    assert given_number is not None and expected_number is not None
    assert numbers_match(given_number, expected_number) is expected


def test_numbers_match_within_tolerances() -> None:
    third, reading = Number(1, 3), Number(333, 1000)
    assert not numbers_match(reading, third)
    assert numbers_match(reading, third, absolute=0.001)
    assert not numbers_match(reading, third, absolute=0.0001)
    assert numbers_match(Number(1010, 1), Number(1000, 1), relative=0.01)
    assert not numbers_match(Number(1011, 1), Number(1000, 1), relative=0.01)
    assert numbers_match(Number(1011, 1), Number(1000, 1), absolute=11, relative=0.01)  # the larger bound
    assert numbers_match(Number(499, 10, True), Number(1, 2), absolute=0.01)  # 49.9% is 0.499


# ---------------------------------------------------------------------------------------
# Extracting the final answer
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "mode", "expected", "well_formed"),
    [
        (REASONING + "#### 72", "auto", Fraction(72), True),
        (REASONING + "####72", "hash", Fraction(72), True),
        (REASONING + "#### $72", "hash", Fraction(72), True),
        (REASONING + "#### **72**", "hash", Fraction(72), True),
        (REASONING + "#### 1,234.50 dollars.", "hash", Fraction(246900, 200), True),
        (REASONING + "#### -\\frac{1}{2}", "hash", Fraction(-1, 2), True),
        (REASONING + "#### $\\boxed{72}$", "hash", Fraction(72), True),
        (REASONING + "#### 72 dollars", "hash", Fraction(72), True),
        (REASONING + "#### 72 (72 clips)", "hash", Fraction(72), True),  # the same number again
        (REASONING + "#### 48 + 24 = 72", "hash", Fraction(72), True),  # an equation: its result
        (REASONING + "#### x = 72", "hash", Fraction(72), True),
        (REASONING + "#### *72*", "hash", Fraction(72), True),
        (REASONING.replace("\n", "\r\n") + "#### 72\r\n", "hash", Fraction(72), True),  # CRLF
        ("\ufeff#### 7\u200b2", "hash", Fraction(72), True),  # read as the reader sees it
        ("#### 7\u00ad2\u2060", "hash", Fraction(72), True),
        (REASONING + "＃＃＃＃ ７２", "hash", Fraction(72), True),
        ("#### Step 1: halve 48\n24 in May\n#### 72", "hash", Fraction(72), True),  # a heading is no marker
        ("##### 5\n#### 72", "hash", Fraction(72), True),
        (REASONING + "The answer is $\\boxed{72}$.", "auto", Fraction(72), True),
        ("\\boxed{\\frac{3}{4}}", "boxed", Fraction(3, 4), True),
        ("\\boxed {72}", "boxed", Fraction(72), True),
        ("\\boxed{\\text{72 clips}}", "boxed", Fraction(72), True),
        ("\\boxed{1{,}234}", "boxed", Fraction(1234), True),
        ("\\boxed{72} and again \\boxed{72.0}", "boxed", Fraction(72), True),
        ("ANSWER: 72", "answer", Fraction(72), True),
        ("ANSWER: 66.65%", "answer", Fraction(6665, 100), True),
        ("**Final Answer:** 72", "answer", Fraction(72), True),
        ("**Answer**: 72", "answer", Fraction(72), True),
        ("The answer is 72.", "answer", Fraction(72), True),
        ("The answer is: [72]", "answer", Fraction(72), True),
        ("答え：72個", "answer", Fraction(72), True),
        ("答えは７２です。", "answer", Fraction(72), True),
        ("解答: 72", "answer", Fraction(72), True),
        ("so she sold 72 clips", "auto", Fraction(72), False),  # the last number: read, not well formed
        ("so she sold 72 clips", "last-number", Fraction(72), True),
        ("In total 48 + 24 = 72.", "last-number", Fraction(72), True),
        ("It costs $1,234.50.", "last-number", Fraction(246900, 200), True),
        ("The share is 3/4 of it", "last-number", Fraction(3, 4), True),
        ("x = \\dfrac{123}{4}", "last-number", Fraction(123, 4), True),
        ("合計で７２個です", "last-number", Fraction(72), True),
        ("1" * 500 + " and then 72", "last-number", Fraction(72), True),
        ("a " * 50 + "3 / 4", "last-number", Fraction(3, 4), True),
        (" ".join(map(str, range(300))), "last-number", Fraction(299), True),
        # Markers of every kind present must agree; then any of them is the answer.
        ("#### 72\n\\boxed{72}", "auto", Fraction(72), True),
        ("The answer is $\\boxed{72}$.\n#### 72", "hash", Fraction(72), True),
        ("The answer is 48 + 24 = 72.\n#### 72", "auto", Fraction(72), True),
        ("\\boxed{72}\nANSWER: 72.0", "marker", Fraction(72), True),
        # Other numbers outside the answer span are the working, not candidates.
        ("The answer is 72. Check: 48 + 24 = 72.", "answer", Fraction(72), True),
        ("#### 72\nThanks! 48 + 24 = 72.", "hash", Fraction(72), True),
        ("\\boxed{72}. Check: 48 + 24 = 72.", "boxed", Fraction(72), True),
        ("| month | clips |\n| May | 24 |\n#### 72\n| total | 72 |", "hash", Fraction(72), True),  # tables
        ("ANSWER: 72\nOr, put another way, 72.", "answer", Fraction(72), True),
        # auto without a marker: the last number, when the sentence holding it gives no other.
        (REASONING, "auto", Fraction(72), False),  # "48 + 24 = 72 clips.": the result of its equation
        ("She sold 72 clips. It is made of CO2", "auto", Fraction(72), False),
        ("or 72", "auto", Fraction(72), False),
        ("合計で７２個です", "auto", Fraction(72), False),
        ("72 " + "a" * 1000, "auto", Fraction(72), False),
    ],
)
def test_extract_answer(text: str, mode: str, expected: Fraction, well_formed: bool) -> None:
    extraction = extract_answer(text, mode)
    assert (value(extraction.value), extraction.well_formed, extraction.reason) == (expected, well_formed, None)


@pytest.mark.parametrize(
    ("text", "mode", "reason"),
    [
        ("", "auto", Metric.NO_ANSWER),
        ("I don't know.", "auto", Metric.NO_ANSWER),
        ("so she sold 72 clips", "marker", Metric.NO_ANSWER),  # no marker, no fallback
        ("so she sold 72 clips", "hash", Metric.NO_ANSWER),
        ("#### seventy-two", "hash", Metric.NO_ANSWER),
        ("#### 2^10", "hash", Metric.NO_ANSWER),
        ("#### 5 + 3", "hash", Metric.NO_ANSWER),
        ("#### 5 * 3", "hash", Metric.NO_ANSWER),
        ("#### 5*(3)", "hash", Metric.NO_ANSWER),
        ("#### 5 6", "hash", Metric.NO_ANSWER),
        ("#### 1e999", "hash", Metric.NO_ANSWER),
        ("#### 3/0", "hash", Metric.NO_ANSWER),
        ("#### " + "9" * (MAX_DIGITS + 1), "hash", Metric.NO_ANSWER),
        ("\\boxed{x}", "boxed", Metric.NO_ANSWER),
        ("\\boxed{2\\pi}", "boxed", Metric.NO_ANSWER),
        ("\\boxed{72", "boxed", Metric.NO_ANSWER),  # never closed
        ("ANSWER: unknown", "answer", Metric.NO_ANSWER),
        ("x" * 1000 + "1" * 500, "last-number", Metric.NO_ANSWER),  # a digit run far longer than any number
        ("#### 5\n#### 6", "hash", Metric.AMBIGUOUS),
        ("#### 72\n#### 72\n#### 73", "auto", Metric.AMBIGUOUS),
        ("#### 72\n#### 1e999", "hash", Metric.AMBIGUOUS),
        ("\\boxed{5, 6}", "boxed", Metric.AMBIGUOUS),
        ("\\boxed{72} or \\boxed{73}", "auto", Metric.AMBIGUOUS),
        ("Answer: 5. On second thought, the answer is 6.", "answer", Metric.AMBIGUOUS),
        ("#### 72\n" * (MAX_MARKERS + 1), "hash", Metric.AMBIGUOUS),  # more markers than anyone needs
        ("\\boxed{72}" * (MAX_MARKERS + 1), "boxed", Metric.AMBIGUOUS),
        ("answer: 72\n" * (MAX_MARKERS + 1), "answer", Metric.AMBIGUOUS),
        # A marker's answer span holds one number: the rest of a #### line, of an ANSWER: or a box's sentence.
        ("#### 72 (8 x 9)", "hash", Metric.AMBIGUOUS),
        ("#### 72 apples in 2 bags", "hash", Metric.AMBIGUOUS),
        ("#### 72. Check: 48 + 24 = 72.", "hash", Metric.AMBIGUOUS),  # #### reads the whole line
        ("The answer is 72, since 48 + 24 = 72.", "answer", Metric.AMBIGUOUS),
        ("#### 70 + 2 or 73 = 72", "hash", Metric.AMBIGUOUS),  # a candidate before the equation's result
        ("#### 72" + " " * SPAN_CHARS + "or 73", "hash", Metric.NO_ANSWER),  # runs on past what is read
        ("The answer is 72" + " clips" * 70, "answer", Metric.NO_ANSWER),
        ("\\boxed{72}" + " clips" * 70, "boxed", Metric.NO_ANSWER),
        ("\\boxed{7**2}", "boxed", Metric.AMBIGUOUS),  # a power, not a bold 72
        # Every marker present, of every kind, must agree, whichever kind is read.
        ("#### 72\n\\boxed{73}", "auto", Metric.AMBIGUOUS),
        ("\\boxed{73}\nANSWER: 72", "marker", Metric.AMBIGUOUS),
        ("\\boxed{73}\n#### 72", "hash", Metric.AMBIGUOUS),
        ("#### 72\nANSWER: 73", "hash", Metric.AMBIGUOUS),
        ("#### 72\nThe answer is 2^10.", "hash", Metric.AMBIGUOUS),  # a marker that gives no number
        ("Let \\boxed{x} be the total.\n#### 72", "auto", Metric.AMBIGUOUS),
        # auto without a marker: the sentence holding the last number must give no other.
        ("It is 72 or 73.", "auto", Metric.AMBIGUOUS),
        ("She sold 48 clips, then 72.", "auto", Metric.AMBIGUOUS),
        ("She sold 72\nor 73", "auto", Metric.AMBIGUOUS),  # a sentence opening with "or" joins the one before
        ("It is 72. | 73", "auto", Metric.AMBIGUOUS),
        ("it is 73 or 48 + 24 = 72.", "auto", Metric.AMBIGUOUS),
        ("a" * (SPAN_CHARS + 10) + " 72", "auto", Metric.NO_ANSWER),  # a sentence longer than what is read
        ("#### 72 or 73", "marker", Metric.AMBIGUOUS),  # no fallback to the last number once a marker is there
    ],
)
def test_extract_answer_finds_none(text: str, mode: str, reason: str) -> None:
    assert extract_answer(text, mode) == Extraction(None, False, reason)


# Ways of offering several candidates, the right one (72) first or alone in its marker; each scores 0.0.
HEDGES = [
    "#### 70\n#### 71\n#### 72\n#### 73",
    "\\boxed{70, 71, 72}",
    "\\boxed{70} \\boxed{71} \\boxed{72}",
    "ANSWER: 71\nANSWER: 72",
    "#### 71 or 72",
    # What the review found paid 1.0 (reference 72):
    "#### 72 or 73",
    "#### 72, 73, 74",
    "#### 72 (or 73)",
    "#### 72|73",
    "The answer is 72 or 73",
    "\\boxed{72} or 73",
    "\\boxed{73}\n#### 72",
    "#### 72\nANSWER: 73",
    # And their neighbours:
    "#### 72 | 73",
    "#### 72 and 73",
    "#### $72$ or $73$",
    "#### 72 \\text{ or } 73",
    "#### 72\nor 73",
    "#### 72\n(or 73)",
    "73 or\n#### 72",
    "73 or \\boxed{72}",
    "73 or the answer is 72",
    "$\\boxed{72}$ or $\\boxed{73}$",
    "\\boxed{72}, \\boxed{73}",
    "The answer is 72. Or 73.",
    "The answer is 72. | 73",
    "Final answer: 72 or maybe 73",
    "答えは72個または73個です。",
    "It is 72 or 73.",
    "She sold 72\nor 73",
    "#### 72\n\\boxed{x}",
]


def test_listing_candidates_never_pays() -> None:
    """Every way of offering several answers scores 0.0 even when one of them is right."""
    assert [result["aggregate_reward_score"] for result in grade(HEDGES)] == [0.0] * len(HEDGES)
    for mode in ("marker", "hash", "boxed", "answer"):
        rewards = [result["aggregate_reward_score"] for result in grade(HEDGES, task={"name": "math-answer",
                                                                                     "extract": mode})]
        assert rewards == [0.0] * len(HEDGES), mode


def test_the_reviewed_hedges_are_ambiguous() -> None:
    for hedge in HEDGES[5:13]:
        assert extract_answer(hedge) == Extraction(None, False, Metric.AMBIGUOUS), hedge


def test_last_number_reads_only_the_last_number() -> None:
    """The documented risk of last-number: a list is right only by being right at its end, and a hedge
    whose last candidate is right pays (auto refuses it)."""
    task = {"name": "math-answer", "extract": "last-number"}
    results = grade(["70 71 72 73", "70 71 73 72", "It is 71 or 72.", "#### 72 or 71"], task=task)
    assert [result["aggregate_reward_score"] for result in results] == [0.0, 1.0, 1.0, 0.0]
    assert [result["aggregate_reward_score"] for result in grade(["It is 71 or 72."])] == [0.0]


def test_huge_and_repetitive_answers_are_read_in_bounded_work() -> None:
    """Each of these would take minutes with a quadratic reader; here they are read at once."""
    size = 200_000
    assert extract_answer("9" * size).reason == Metric.NO_ANSWER
    assert extract_answer("#### " + "9" * size).reason == Metric.NO_ANSWER
    assert extract_answer("####" * size).reason == Metric.NO_ANSWER  # one run of #: a heading
    assert extract_answer("#### a " * size).reason == Metric.AMBIGUOUS  # too many markers looked at
    assert extract_answer("\\boxed{" * size).reason == Metric.AMBIGUOUS
    assert extract_answer("\\boxed" * size).reason == Metric.AMBIGUOUS
    assert extract_answer("answer: x " * size).reason == Metric.AMBIGUOUS
    assert extract_answer("1," * size + "5", "last-number").reason == Metric.NO_ANSWER
    assert extract_answer("-" * size + "5", "last-number").value == Number(-5, 1)
    assert extract_answer("{" * size + "5", "last-number").value == Number(5, 1)
    assert extract_answer("\\frac{" * size + "5", "last-number").value == Number(5, 1)
    assert value(extract_answer("x " * size + "#### 72").value) == 72
    assert value(extract_answer("7 " + "x" * size).value) == 7


def test_extract_answer_refuses_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="extract must be one of"):
        extract_answer("#### 72", "first-number")


# Tokens that make answers adversarial for the readers: markers, LaTeX, digits, separators.
ANSWER_TOKENS = st.sampled_from([
    "#", "####", "#####", "\\boxed", "{", "}", "\\frac", "\\dfrac", "\\text{", "ANSWER:", "answer is", "答え：",
    "答えは", "$", "\\$", "%", "percent", "-", "−", "+", "/", ",", ".", "e", "E", "^", "*", "**", " ", "\n", "\t",
    "0", "7", "72", "1,234", "９", "，", "．", "x = ", "\\", "{,}", "\\,", "\u00a0", "\u200b", "<think>",
    " or ", "Or ", "|", "(or ", "=", ". ", "。", "! ", "The ", "the final answer is ", "または", "\u3000", "\r\n",
    " " * 90,
])
ADVERSARIAL_TEXT = st.lists(ANSWER_TOKENS | st.text(max_size=3), max_size=40).map("".join) | st.text(max_size=200)


@settings(max_examples=600, deadline=None)
@given(text=ADVERSARIAL_TEXT, mode=st.sampled_from(ma.EXTRACT_MODES))
def test_any_text_is_read_without_raising(text: str, mode: str) -> None:
    extraction = extract_answer(text, mode)
    assert isinstance(extraction, Extraction)
    assert (extraction.value is None) == (extraction.reason is not None)
    if extraction.value is not None:
        assert extraction.value.denominator > 0
        assert extraction.well_formed or mode == "auto"


@settings(max_examples=300, deadline=None)
@given(
    answers=st.lists(ADVERSARIAL_TEXT, min_size=1, max_size=6),
    reference=st.one_of(
        st.just(NATALIA_REFERENCE), ADVERSARIAL_TEXT, st.integers(), st.floats(allow_nan=False),
        st.fixed_dictionaries({"final_answer": ADVERSARIAL_TEXT | st.integers()}), st.none(), st.booleans(),
        st.lists(st.integers(), max_size=2),
    ),
    options=st.fixed_dictionaries({
        "extract": st.sampled_from(ma.EXTRACT_MODES),
        "partialCredit": st.floats(min_value=0, max_value=0.99),
        "absoluteTolerance": st.floats(min_value=0, max_value=1e6),
        "relativeTolerance": st.floats(min_value=0, max_value=1),
    }),
)
def test_any_sample_gets_a_reward_in_range(answers: list[str], reference: Any, options: dict[str, Any]) -> None:
    malformed: list[str] = []
    results = grade_batch([sample(answer, reference, sample_id=index) for index, answer in enumerate(answers)],
                          load_task({"name": "math-answer", **options}),
                          on_malformed=lambda index, sample_id, reason: malformed.append(reason))
    assert [result["id"] for result in results] == list(range(len(answers)))
    for result in results:
        assert 0.0 <= result["aggregate_reward_score"] <= 1.0
    assert not [reason for reason in malformed if "grader error" in reason]  # malformed data, never a bug


PLAIN_TOKENS = st.sampled_from(["1", "23", "4,567", "8.9", ".5", "-", "+", "$", "%", " percent", " / ", "/", ",",
                                ".", " ", "\n", "e", "e5", "x", "clips", "1e-3", "$-", "９", "−", "，"])


@settings(max_examples=500, deadline=None)
@given(st.lists(PLAIN_TOKENS, max_size=60).map("".join), st.text(alphabet="ab ", max_size=300))
def test_the_last_number_is_the_whole_texts_last_number(tail: str, filler: str) -> None:
    """Reading backwards from the last digit gives what reading the whole text forwards gives."""
    text = ma.fold(filler + tail + filler[: len(filler) // 3])
    matches = list(ma._NUMBER.finditer(text))
    expected = ma._number_of(matches[-1]) if matches else None
    reading = ma._read_last_number(text)
    assert reading == (Metric.NO_ANSWER if matches and expected is None else expected)


@settings(max_examples=800, deadline=None)
@given(st.lists(PLAIN_TOKENS | st.sampled_from([". ", "\n", "。", " or ", "Or ", " = ", "\\frac{1}{2}", "CO2", "|"]),
                max_size=60).map("".join), st.text(alphabet="ab .\n", max_size=300))
def test_auto_reads_the_last_number_or_nothing(tail: str, filler: str) -> None:
    """Without a marker, auto's answer (read from the final sentence) is always the text's last number,
    or none at all: it refuses some answers last-number pays, never pays another number."""
    text = ma.fold(filler + tail)
    reading = ma._read_final_sentence(text)
    if isinstance(reading, Number):
        assert reading == ma._read_last_number(text), text


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(["a", " ", "\t", "\r", "\n", ".", "!", "?", "。", "！", "？", "7", "1.5", "x."]),
                min_size=1, max_size=40).map("".join), st.data())
def test_sentence_starts_are_found_as_the_pattern_finds_them(text: str, data: st.DataObject) -> None:
    """_sentence_start reads backwards with str.rfind what _SENTENCE_STOP reads forwards (from a digit
    or a sentence stop, where the grader starts it)."""
    ends = [index for index, char in enumerate(text) if char in "0123456789\n.!?。！？"]
    if not ends:
        return
    end = data.draw(st.sampled_from(ends))
    floor = data.draw(st.integers(min_value=0, max_value=end))
    newline = text.rfind("\n", floor, end)
    expected = newline + 1 if newline >= 0 else -1
    for stop in ma._SENTENCE_STOP.finditer(text, newline + 1 if newline >= 0 else floor, end):
        expected = stop.end()
    assert ma._sentence_start(text, floor, end) == expected


# How people write one number: each style must read back as the number.
def _grouped(number: int) -> str:
    return f"{number:,}"


def _full_width(text: str) -> str:
    return "".join(chr(ord(char) + 0xFEE0) if char.isdigit() else {",": "，", ".": "．"}.get(char, char)
                   for char in text)


INTEGER_STYLES = [
    str, _grouped, lambda n: f"{'-' if n < 0 else ''}${abs(n):,}", lambda n: f"{n}.0", lambda n: f"{n:,}.00",
    lambda n: _full_width(f"{n:,}"), lambda n: f"{n:,}".replace(",", "{,}"), lambda n: f"\\text{{{n}}}",
    lambda n: f"{n} clips", lambda n: f"{n}個", lambda n: f"**{n}**", lambda n: f"{n:,}".replace("-", "−"),
]
MARKERS = ["#### {}", "####{}", "\\boxed{{{}}}", "$\\boxed{{{}}}$", "ANSWER: {}", "The answer is {}.", "答え：{}"]


@settings(max_examples=400, deadline=None)
@given(number=st.integers(min_value=-(10**15), max_value=10**15), style=st.sampled_from(INTEGER_STYLES),
       marker=st.sampled_from(MARKERS))
def test_an_integer_in_any_style_reads_back(number: int, style: Any, marker: str) -> None:
    written = style(number)
    assert value(parse_number(written)) == number
    extraction = extract_answer(REASONING + marker.format(written))
    assert (value(extraction.value), extraction.well_formed) == (number, True)
    assert value(extract_answer(f"So the result is {written}", "last-number").value) == number


# Ways of offering one more candidate after a final answer (the brief's " or N", and its neighbours).
OFFERS = [" or {}", " or maybe {}", " (or {})", ", or {}", ", {}", " and {}", " | {}", "|{}", "\nor {}", " Or {}.",
          " \\text{{ or }} {}", " or $\\boxed{{{}}}$"]
# What may follow the marker line: nothing, the end of the line, more text without numbers.
ENDINGS = ["", "\n", ".", "\nHope this helps!", "\r\n"]


@settings(max_examples=600, deadline=None)
@given(number=st.integers(min_value=-(10**15), max_value=10**15), other=st.integers(min_value=-(10**15),
       max_value=10**15), style=st.sampled_from(INTEGER_STYLES), other_style=st.sampled_from(INTEGER_STYLES[:6]),
       marker=st.sampled_from(MARKERS), offer=st.sampled_from(OFFERS), ending=st.sampled_from(ENDINGS),
       mode=st.sampled_from(["auto", "marker", "hash", "boxed", "answer"]))
def test_offering_another_number_after_a_right_answer_never_pays(
    number: int, other: int, style: Any, other_style: Any, marker: str, offer: str, ending: str, mode: str
) -> None:
    """A correct marker line with " or N" (N not the reference) appended never keeps its 1.0."""
    if other == number:
        other += 1
    text = REASONING + marker.format(style(number)) + offer.format(other_style(other)) + ending
    scorer = load_task({"name": "math-answer", "extract": mode}).scorer
    assert scorer.score(ma.fold(text), Number(number, 1)).reward == 0.0, text
    assert extract_answer(text, mode).value is None


@settings(max_examples=400, deadline=None)
@given(number=st.integers(min_value=0, max_value=10**6), other=st.integers(min_value=0, max_value=10**6),
       first=st.sampled_from(MARKERS), second=st.sampled_from(MARKERS), between=st.sampled_from(["\n", "\n\n", " "]),
       mode=st.sampled_from(["auto", "marker", "hash", "boxed", "answer"]))
def test_markers_that_disagree_are_ambiguous_whichever_kind_is_read(
    number: int, other: int, first: str, second: str, between: str, mode: str
) -> None:
    if other == number:
        other += 1
    text = REASONING + first.format(number) + between + second.format(other)
    assert extract_answer(text, mode).value is None, text
    agreeing = REASONING + first.format(number) + between + second.format(number)
    reading = extract_answer(agreeing, mode)
    if reading.value is not None:
        assert value(reading.value) == number


@settings(max_examples=400, deadline=None)
@given(number=st.integers(min_value=0, max_value=10**6), other=st.integers(min_value=0, max_value=10**6),
       sentence=st.sampled_from(["It is {} or {}.", "So {}, or maybe {}", "She sold {} clips\nor {}", "{} | {}",
                                 "Maybe {}. Or {}.", "Either {} or {} clips.", "It is {}. | {}"]),
       lead=st.sampled_from(["", REASONING, "Let me think.\n"]))
def test_a_final_sentence_with_two_numbers_never_pays_under_auto(number: int, other: int, sentence: str,
                                                                 lead: str) -> None:
    if other == number:
        other += 1
    text = lead + sentence.format(number, other)
    scorer = load_task("math-answer").scorer
    for reference in (number, other):
        assert scorer.score(text, Number(reference, 1)).reward == 0.0, text
    assert extract_answer(text).reason == Metric.AMBIGUOUS


CONTEXT_TOKENS = st.sampled_from(["7", "72", " ", "\n", "\t", "\u3000", "\f", "or", "Or", "OR", "for", "/", "|",
                                  "*", "$", "(", "[", ">", "_", "-", "the", "The", "final", "Final", "answer", ".",
                                  "または", "もしくは", "あるいは", "x", "\r", "$$", "~", "\\text{ or }", "\\text{",
                                  "}", "{,}", "\\,", "\\"])
CONTEXT = st.lists(CONTEXT_TOKENS, max_size=20).map("".join)


@settings(max_examples=1500, deadline=None)
@given(before=CONTEXT, after=CONTEXT, terminator=st.sampled_from(["\n", ". ", "。", "! ", ".\n"]))
def test_the_quick_tests_never_change_what_the_patterns_decide(before: str, after: str, terminator: str) -> None:
    """_committed tests the text around a marker with str methods before running a regular expression:
    it decides exactly what the regular expressions alone decide."""
    text = before + "#### 72" + terminator + after
    marker, follow, answer = len(before), len(before) + len("#### 72") + len(terminator), Number(72, 1)
    hedged_before = bool(marker) and ma._OR_BEFORE.search(text, max(marker - ma._HEDGE_REACH, 0), marker) is not None
    rest = text[follow:]
    skipped = rest[: len(rest) - len(rest.lstrip(ma._OPENING_STRIPPED))]
    bounds = ma._span_end(text, follow + len(skipped), sentence=True)
    sentence = ma.unlatex(text[follow + len(skipped) : bounds[0] if bounds else None])
    same_line = text[follow - 1] != "\n" and "\n" not in skipped
    offered_after = ma._opens_with_or(sentence, same_line) and ma._only(answer, sentence) != answer
    expected = Metric.AMBIGUOUS if hedged_before or offered_after else answer
    assert ma._committed(text, marker, answer, follow) == expected


@settings(max_examples=300, deadline=None)
@given(numerator=st.integers(min_value=-(10**9), max_value=10**9), places=st.integers(min_value=1, max_value=6))
def test_a_decimal_reads_back_exactly(numerator: int, places: int) -> None:
    exact = Fraction(numerator, 10**places)
    written = f"{'-' if exact < 0 else ''}{abs(numerator) // 10**places:,}.{abs(numerator) % 10**places:0{places}d}"
    assert value(parse_number(written)) == exact
    assert value(extract_answer(f"#### {written}").value) == exact
    assert value(extract_answer(f"total {written}", "last-number").value) == exact
    reading = parse_number(written)
    assert reading is not None and numbers_match(reading, Number(numerator, 10**places))


@settings(max_examples=300, deadline=None)
@given(numerator=st.integers(min_value=-999, max_value=999), denominator=st.integers(min_value=1, max_value=999),
       style=st.sampled_from(["{}/{}", "{} / {}", "\\frac{{{}}}{{{}}}", "\\dfrac{{{}}}{{{}}}"]))
def test_a_fraction_reads_back(numerator: int, denominator: int, style: str) -> None:
    written = ("-" if numerator < 0 else "") + style.format(abs(numerator), denominator)
    assert value(parse_number(written)) == Fraction(numerator, denominator)
    assert value(extract_answer(f"\\boxed{{{written}}}").value) == Fraction(numerator, denominator)


@settings(max_examples=200, deadline=None)
@given(percent=st.integers(min_value=0, max_value=1000))
def test_a_percent_matches_its_number_and_its_share(percent: int) -> None:
    for written in (f"{percent}%", f"{percent} %", f"{percent} percent", f"{percent}\\%"):
        reading = parse_number(written)
        assert reading is not None and reading.percent
        assert numbers_match(reading, Number(percent, 1))
        assert numbers_match(reading, Number(percent, 100))


# ---------------------------------------------------------------------------------------
# The reference answer (AWS's GSM8K sample shapes)
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        (NATALIA_REFERENCE, Fraction(72)),  # GSM8K's answer text (AWS's GPT-OSS and Qwen data)
        ("Step one.\n#### 1,234\n", Fraction(1234)),
        ("#### -3", Fraction(-3)),
        ("#### 7.5", Fraction(15, 2)),
        ({"final_answer": "16", "steps": ["Mimi has 2 x 12 = <<2*12=24>>24 sea shells."]}, Fraction(16)),  # Nova
        ({"final_answer": 16}, Fraction(16)),
        ({"answer": "66.65%"}, Fraction(6665, 100)),  # AWS's FinQA sample
        ({"text": NATALIA_REFERENCE}, Fraction(72)),  # AWS's GPT-OSS grader reads reference_answer.text
        ({"final_answer": None, "text": NATALIA_REFERENCE}, Fraction(72)),
        ("72", Fraction(72)),
        ("$1,234.50", Fraction(246900, 200)),
        ("3/4", Fraction(3, 4)),
        (72, Fraction(72)),
        (72.0, Fraction(72)),
        (0.1, Fraction(1, 10)),  # as written, not the binary float's exact value
        (-2.5, Fraction(-5, 2)),
    ],
)
def test_read_reference(reference: Any, expected: Fraction) -> None:
    assert value(parse_reference(reference)) == expected


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        (None, "no reference_answer (top level or metadata)"),
        ("", "reference_answer is empty"),
        ("Natalia sold 48/2 = 24 clips in May and 72 in all.", "reference_answer is 'Natalia sold 48/2"),
        ("The answer is seventy-two.\n#### seventy-two", "reference_answer has no number after its last '####'"),
        ("#### 5 or 6", "reference_answer has no number after its last '####' (found '5 or 6')"),
        ({"steps": ["one"]}, "reference_answer is an object without final_answer, answer or text"),
        ({"final_answer": ""}, "reference_answer.final_answer is empty"),
        ({"final_answer": "abc"}, "reference_answer.final_answer is 'abc'"),
        ({"final_answer": [16]}, "reference_answer.final_answer is array of 1, expected a number or a text"),
        ({"final_answer": True}, "reference_answer.final_answer is true"),
        ({"text": "no marker here"}, "reference_answer.text is 'no marker here'"),
        ([72], "reference_answer is array of 1"),
        (True, "reference_answer is true"),
        (float("nan"), "reference_answer is nan, not a finite number"),
        (float("inf"), "reference_answer is inf, not a finite number"),
        (10**50, f"reference_answer has more than {MAX_DIGITS} digits"),
        (1e-100, "reference_answer is 1e-100, beyond the numbers compared"),
    ],
)
def test_unusable_references_say_which_field_and_why(reference: Any, message: str) -> None:
    assert str(read_reference(reference)).startswith(message)
    with pytest.raises(ReferenceError, match=re.escape(message)):
        parse_reference(reference)


@settings(max_examples=300, deadline=None)
@given(st.one_of(ADVERSARIAL_TEXT, st.integers(), st.floats(), st.none(), st.booleans(),
                 st.dictionaries(st.sampled_from(["final_answer", "answer", "text", "steps"]),
                                 ADVERSARIAL_TEXT | st.integers() | st.none(), max_size=3)))
def test_any_reference_reads_or_says_why(reference: Any) -> None:
    parsed = read_reference(reference)
    assert isinstance(parsed, Number) or (isinstance(parsed, str) and "reference_answer" in parsed)


# ---------------------------------------------------------------------------------------
# Records and events in AWS's shapes
# ---------------------------------------------------------------------------------------

# AWS's GPT-OSS and Qwen GSM8K data (datasets/rft_train_data.jsonl): the GSM8K answer as the reference.
AWS_OPEN_WEIGHT_RECORD: dict[str, Any] = {
    "messages": [{"role": "user", "content": f"{NATALIA} {GSM8K_INSTRUCTION}"}],
    "reference_answer": NATALIA_REFERENCE,
    "ground_truth": "72",
}
# AWS's Nova GSM8K notebook: a system message, reference_answer {final_answer, steps}, extra fields.
AWS_NOVA_RECORD: dict[str, Any] = {
    "messages": [
        {"role": "system", "content": "You are a helpful math tutor who solves word problems step by step."},
        {"role": "user", "content": f"{NATALIA} {GSM8K_INSTRUCTION}"},
    ],
    "reference_answer": {"final_answer": "72", "steps": NATALIA_REFERENCE.splitlines()[:-1]},
    "task_id": "gsm8k_train_0",
    "domain": "math",
    "difficulty_level": "grade_school",
    "data_source": "openai/gsm8k",
    "original_question": NATALIA,
    "original_answer": NATALIA_REFERENCE,
}


@pytest.mark.parametrize("record", [AWS_OPEN_WEIGHT_RECORD, AWS_NOVA_RECORD], ids=["open-weight", "nova"])
def test_aws_gsm8k_records_validate_as_they_are(record: dict[str, Any], tmp_path: Path) -> None:
    assert check_record(record) == []
    assert load_task("math-answer").check_record(record) == []
    # Through the generic validator too: a training file of such records (distinct prompts) is valid.
    lines = []
    for index in range(110):
        item = json.loads(json.dumps(record))
        item["messages"][-1]["content"] = f"Problem {index}: {NATALIA} {GSM8K_INSTRUCTION}"
        lines.append(json.dumps(item))
    (tmp_path / "training.jsonl").write_text("\n".join(lines[:100]) + "\n", encoding="utf-8")
    (tmp_path / "validation.jsonl").write_text("\n".join(lines[100:]) + "\n", encoding="utf-8")
    validate_training_set(tmp_path / "training.jsonl", tmp_path / "validation.jsonl", load_task("math-answer"))


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({"messages": []}, "reference_answer: missing; math-answer compares each answer with it"),
        ({"reference_answer": None}, "reference_answer: missing"),
        ({"reference_answer": "no final answer here"}, "reference_answer is 'no final answer here'"),
        ({"reference_answer": "Work.\n#### ?"}, "reference_answer has no number after its last '####'"),
        ({"reference_answer": {"steps": []}}, "reference_answer is an object without final_answer"),
        ({"reference_answer": {"final_answer": "x"}}, "reference_answer.final_answer is 'x'"),
        ({"metadata": {"reference_answer": "#### x"}}, "metadata.reference_answer has no number after"),
        ({"reference_answer": {"final_answer": "72", "text": "Work.\n#### 73"}},
         "reference_answer.final_answer and reference_answer.text's '#### <number>' disagree"),
    ],
)
def test_check_record_names_the_field(record: dict[str, Any], problem: str) -> None:
    problems = check_record(record)
    assert len(problems) == 1 and problems[0].startswith(problem), problems


def test_check_record_reads_metadata_like_the_grader() -> None:
    assert check_record({"metadata": {"reference_answer": NATALIA_REFERENCE}}) == []
    assert check_record({"reference_answer": {"final_answer": "72", "text": "#### 72.0"}}) == []


def test_nova_notebook_payload_scores() -> None:
    """The test event of AWS's Nova GSM8K notebook: reference under metadata, {final_answer}."""
    event = [{
        "id": "test_001",
        "messages": [
            {"role": "user", "content": "What is 2 + 2?"},
            {"role": "assistant", "content": "Let me solve this step by step.\n\n2 + 2 = 4\n\n#### 4"},
        ],
        "metadata": {"reference_answer": {"final_answer": "4"}},
    }]
    [result] = grade_batch(event, load_task("math-answer"))
    assert result["id"] == "test_001" and result["aggregate_reward_score"] == 1.0
    assert metrics(result) == {Metric.CORRECT: 1, Metric.WELL_FORMED: 1, "passed": 1.0}


def test_nova_records_with_an_answer_appended_score() -> None:
    """AWS's notebook checks its grader with training records plus a correct assistant message."""
    right, wrong = (json.loads(json.dumps(AWS_NOVA_RECORD)) for _ in range(2))
    right["messages"].append({"role": "assistant", "content": "Working through this step by step...\n\n#### 72"})
    wrong["messages"].append({"role": "assistant", "content": "Working through this step by step...\n\n#### 48"})
    results = grade_batch([right, wrong], load_task("math-answer"))
    assert [result["aggregate_reward_score"] for result in results] == [1.0, 0.0]


def test_gpt_oss_trajectories_event_scores() -> None:
    """AWS's GPT-OSS grader's event: {"trajectories": [...]}, the reference at the top level as text."""
    event = {"trajectories": [
        sample(REASONING + "#### 72", sample_id="traj-1"),
        sample(REASONING + "#### 71", sample_id="traj-2"),
        sample(REASONING + "The answer is 72", {"text": NATALIA_REFERENCE}, sample_id="traj-3"),
        sample([{"type": "text", "text": REASONING + "#### 72"}], sample_id="traj-4"),  # content blocks
        sample("<think>#### 71 maybe?</think>\n" + REASONING + "#### 72", sample_id="traj-5"),
    ]}
    results = grade_batch(samples_of_event(event), load_task("math-answer"))
    assert [(result["id"], result["aggregate_reward_score"]) for result in results] == [
        ("traj-1", 1.0), ("traj-2", 0.0), ("traj-3", 1.0), ("traj-4", 1.0), ("traj-5", 1.0)]


@pytest.mark.parametrize("where", ["top", "metadata"])
def test_reference_is_read_at_the_top_level_or_under_metadata(where: str) -> None:
    [result] = grade_batch([sample("#### 72", where=where)], load_task("math-answer"))
    assert result["aggregate_reward_score"] == 1.0


def test_top_level_reference_wins_over_metadata() -> None:
    raw = sample("#### 72", "#### 72")
    raw["metadata"] = {"reference_answer": "#### 5"}
    [result] = grade_batch([raw], load_task("math-answer"))
    assert result["aggregate_reward_score"] == 1.0


def test_malformed_references_cost_only_their_sample() -> None:
    reasons: dict[Any, str] = {}
    batch = [
        sample("#### 72", sample_id="good"),
        sample("#### 72", None, where="none", sample_id="missing"),
        sample("#### 72", "Natalia sold 72 clips and 24 in May.", sample_id="prose"),
        sample("#### 72", {"final_answer": ""}, where="metadata", sample_id="empty"),
        sample("#### 72", sample_id="good-again"),
    ]
    results = grade_batch(batch, load_task("math-answer"),
                          on_malformed=lambda index, sample_id, reason: reasons.__setitem__(sample_id, reason))
    assert [result["aggregate_reward_score"] for result in results] == [1.0, 0.0, 0.0, 0.0, 1.0]
    assert [metrics(result).get("malformed") for result in results] == [None, 1, 1, 1, None]
    assert reasons["missing"].startswith("no reference_answer (top level or metadata)")
    assert reasons["prose"].startswith("reference_answer is 'Natalia sold 72 clips")
    assert reasons["empty"] == "reference_answer.final_answer is empty"


# ---------------------------------------------------------------------------------------
# Options and scores
# ---------------------------------------------------------------------------------------


def test_default_options_are_valid_and_documented() -> None:
    defaults = defaults_of(ma.OPTIONS)
    assert defaults == {"extract": "auto", "absoluteTolerance": 0, "relativeTolerance": 0, "partialCredit": 0}
    assert option_problems(ma.OPTIONS, defaults) == []
    properties: dict[str, Any] = ma.OPTIONS["properties"]
    assert all(prop.get("description") for prop in properties.values())
    task = load_task("math-answer")
    assert task.options == defaults and task.pass_at == 1.0 and "final answer" in task.description


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"extract": "first-number"}, "extract: 'first-number' is not one of"),
        ({"partialCredit": 1}, "partialCredit: 1 is greater than or equal to the maximum of 1"),
        ({"partialCredit": -0.1}, "partialCredit: -0.1 is less than the minimum of 0"),
        ({"absoluteTolerance": -1}, "absoluteTolerance: -1 is less than the minimum of 0"),
        ({"relativeTolerance": 2}, "relativeTolerance: 2 is greater than the maximum of 1"),
        ({"tolerance": 0.1}, "Additional properties are not allowed ('tolerance' was unexpected)"),
    ],
)
def test_invalid_options_are_refused_naming_the_option(options: dict[str, Any], problem: str) -> None:
    with pytest.raises(TaskError) as error:
        load_task({"name": "math-answer", **options})
    assert any(problem in message for message in error.value.problems), error.value.problems


def test_scores_and_metrics() -> None:
    answers = [
        REASONING + "#### 72",  # right, well formed
        REASONING + "#### 71",  # wrong, well formed
        "she sold 72 clips",  # right, no marker (auto reads the last number)
        "she sold 71 clips",  # wrong, no marker
        "I cannot tell.",  # nothing to read
        "#### 72\n#### 71",  # ambiguous
        "",  # empty
    ]
    results = grade(answers, task={"name": "math-answer", "partialCredit": 0.2})
    assert [result["aggregate_reward_score"] for result in results] == [1.0, 0.2, 1.0, 0.0, 0.0, 0.0, 0.0]
    assert [metrics(result) for result in results] == [
        {"correct": 1, "well_formed": 1, "passed": 1.0},
        {"correct": 0, "well_formed": 1, "passed": 0.0},
        {"correct": 1, "well_formed": 0, "passed": 1.0},
        {"correct": 0, "well_formed": 0, "passed": 0.0},
        {"correct": 0, "well_formed": 0, "no_answer": 1, "passed": 0.0},
        {"correct": 0, "well_formed": 0, "ambiguous": 1, "passed": 0.0},
        {"correct": 0, "well_formed": 0, "no_answer": 1, "passed": 0.0},
    ]


@pytest.mark.parametrize(
    ("extract", "rewards"),
    [
        ("auto", [1.0, 1.0, 1.0, 1.0]),
        ("marker", [1.0, 1.0, 1.0, 0.0]),
        ("hash", [1.0, 0.0, 0.0, 0.0]),
        ("boxed", [0.0, 1.0, 0.0, 0.0]),
        ("answer", [0.0, 0.0, 1.0, 0.0]),
        ("last-number", [1.0, 1.0, 1.0, 1.0]),
    ],
)
def test_extract_option(extract: str, rewards: list[float]) -> None:
    answers = [REASONING + "#### 72", REASONING + "So \\boxed{72}.", REASONING + "ANSWER: 72", REASONING]
    results = grade(answers, task={"name": "math-answer", "extract": extract})
    assert [result["aggregate_reward_score"] for result in results] == rewards


def test_partial_credit_goes_only_to_well_formed_answers() -> None:
    task = {"name": "math-answer", "extract": "hash", "partialCredit": 0.1}
    results = grade(["#### 71", "she sold 71 clips", "#### seventy", "#### 71\n#### 70"], task=task)
    assert [result["aggregate_reward_score"] for result in results] == [0.1, 0.0, 0.0, 0.0]
    results = grade(["she sold 71 clips"], task={**task, "extract": "last-number"})
    assert results[0]["aggregate_reward_score"] == 0.1  # under last-number every number is well formed


def test_tolerance_options() -> None:
    answers = ["#### 72.4", "#### 72.6", "#### 73"]
    exact = grade(answers)
    absolute = grade(answers, task={"name": "math-answer", "absoluteTolerance": 0.5})
    relative = grade(answers, task={"name": "math-answer", "relativeTolerance": 0.014})
    assert [result["aggregate_reward_score"] for result in exact] == [0.0, 0.0, 0.0]
    assert [result["aggregate_reward_score"] for result in absolute] == [1.0, 0.0, 0.0]
    assert [result["aggregate_reward_score"] for result in relative] == [1.0, 1.0, 1.0]


def test_percent_answer_to_a_gsm8k_reference() -> None:
    results = grade(["#### 50%", "#### 0.5", "#### 50"], reference="The rest is half.\n#### 50")
    assert [result["aggregate_reward_score"] for result in results] == [1.0, 0.0, 1.0]


def test_reasoning_is_not_read() -> None:
    """The grader strips a leading reasoning block: its #### is not the answer's."""
    results = grade(["<think>#### 72</think>\nI am not sure.", "<think>maybe 71</think>\n#### 72"])
    assert [result["aggregate_reward_score"] for result in results] == [0.0, 1.0]


def test_reference_parses_are_cached_and_forgotten() -> None:
    ma.clear_caches()
    batch = json.loads(json.dumps([sample("#### 72", sample_id=index) for index in range(8)]))  # 8 equal strings
    grade_batch(batch, load_task("math-answer"))
    info = ma._reference_text.cache_info()
    assert (info.misses, info.hits) == (1, 7)
    ma.clear_caches()
    assert ma._reference_text.cache_info().currsize == 0


# ---------------------------------------------------------------------------------------
# The example dataset
# ---------------------------------------------------------------------------------------



def test_dataset_is_generated_deterministically_and_valid() -> None:
    generator = dataset_generator("math-answer")
    training, validation = generator.build()
    assert (training, validation) == generator.build()
    assert len(training) >= 100 and len(validation) >= 10
    for name, records in (("training.jsonl", training), ("validation.jsonl", validation)):
        written = (ROOT / "training-data" / "math-answer" / name).read_text(encoding="utf-8")
        assert written == "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in records), name
    validate_training_set(ROOT / "training-data/math-answer/training.jsonl",
                          ROOT / "training-data/math-answer/validation.jsonl", load_task("math-answer"))
    prompts = [item["messages"][-1]["content"] for item in training + validation]
    assert sum("####" in prompt for prompt in prompts) == len(prompts)  # every prompt asks for the format
    assert any("ステップごとに" in prompt for prompt in prompts)


def _exact(expression: str) -> Fraction:
    """An arithmetic expression's exact value (independent of the generator's own check)."""
    def walk(node: ast.expr) -> Fraction:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return Fraction(str(node.value))
        assert isinstance(node, ast.BinOp), ast.dump(node)
        left, right = walk(node.left), walk(node.right)
        operations = {ast.Add: left + right, ast.Sub: left - right, ast.Mult: left * right}
        return operations[type(node.op)] if type(node.op) in operations else left / right
    return walk(ast.parse(expression, mode="eval").body)


def test_dataset_references_are_computed_right() -> None:
    """Each calculator note <<expression=result>> is right, the last one is the final answer, and the
    final answer scores 1.0 (an answer off by one scores 0.0)."""
    training, validation = dataset_generator("math-answer").build()
    samples, wrong = [], []
    for index, item in enumerate(training + validation):
        reference = item["reference_answer"]
        notes = re.findall(r"<<([^=<>]+)=([^<>]+)>>", reference)
        assert notes, reference
        for expression, result in notes:
            assert _exact(expression) == Fraction(result), (expression, result)
        final = reference.rpartition("#### ")[2]
        assert Fraction(final) == Fraction(notes[-1][1])
        samples.append(sample(f"Let me work it out.\n#### {final}", reference, sample_id=index))
        wrong.append(sample(f"Let me work it out.\n#### {Fraction(final) + 1}", reference, sample_id=index))
    task = load_task("math-answer")
    assert {result["aggregate_reward_score"] for result in grade_batch(samples, task)} == {1.0}
    assert {result["aggregate_reward_score"] for result in grade_batch(wrong, task)} == {0.0}
