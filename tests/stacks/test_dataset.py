"""Tests for stacks/dataset.py and the shipped training data."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from lambda_reward.runtime.tasks.char_limit import extract_char_limit
from stacks.dataset import (
    MESSAGE_PROBLEM_CAP,
    VALIDATION_MIN_RECORDS,
    DatasetError,
    DatasetProblem,
    DatasetSummary,
    check_disjoint,
    validate_dataset,
    validate_training_set,
)

DATA_DIR = Path(__file__).resolve().parents[2] / "training-data"
SHIPPED_TRAINING = DATA_DIR / "char-limit/training.jsonl"
SHIPPED_VALIDATION = DATA_DIR / "char-limit/validation.jsonl"

KANJI_DIGITS = "〇一二三四五六七八九"
FULLWIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")



def limit_range(path: str | Path) -> tuple[int, int]:
    """(smallest, largest) limit the records of a valid char-limit file yield, as the grader reads them."""
    from lambda_reward.runtime.tasks.char_limit import MISSING, explicit_limit, parse_explicit_char_limit

    limits = []
    for line in Path(path).read_text(encoding="utf-8-sig").split("\n"):
        if not line:
            continue
        record = json.loads(line)
        explicit = explicit_limit(record, None)
        if explicit is not MISSING:
            limits.append(parse_explicit_char_limit(explicit))
        else:
            text = record["messages"][-1]["content"]
            text = text if isinstance(text, str) else "".join(block["text"] for block in text)
            limits.append(extract_char_limit(text))
    return min(limits), max(limits)


def kanji_numeral(n: int) -> str:
    """1..199 as the kanji numerals a Japanese prompt would use (十五, 百二十)."""
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    return (
        ("百" if hundreds else "")
        + ("" if tens == 0 else ("十" if tens == 1 else KANJI_DIGITS[tens] + "十"))
        + (KANJI_DIGITS[ones] if ones else "")
    )


def topic_code(index: int) -> str:
    """A unique digit-free word per index (A, B, ..., Z, AA, ...): no stray numbers in prompts."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def record(content: Any, char_limit: int | None = None, **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"messages": [user(content)], **extra}
    if char_limit is not None:
        fields["char_limit"] = char_limit
    return fields


def good_record(index: int, limit: int = 30) -> dict[str, Any]:
    return record(f"話題{topic_code(index)}について{limit}文字以内で説明して", limit)


def write_lines(path: Path, lines: list[str | bytes]) -> Path:
    encoded = [line if isinstance(line, bytes) else line.encode("utf-8") for line in lines]
    path.write_bytes(b"".join(line + b"\n" for line in encoded))
    return path


def write_records(path: Path, records: list[Any]) -> Path:
    return write_lines(path, [json.dumps(item, ensure_ascii=False) for item in records])


def problems_of(path: Path, **bounds: int) -> list[DatasetProblem]:
    with pytest.raises(DatasetError) as caught:
        validate_dataset(path, **bounds)
    return caught.value.problems


# --- valid files ----------------------------------------------------------------------------


def test_valid_file_gives_summary(tmp_path: Path) -> None:
    records = [good_record(i, limit=10 + i) for i in range(100)]
    path = write_records(tmp_path / "train.jsonl", records)

    summary = validate_dataset(path)

    assert summary == DatasetSummary(
        path=str(path),
        records=100,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        task="char-limit",
        prompts=frozenset(item["messages"][0]["content"] for item in records),
    )
    assert limit_range(path) == (10, 109)


def test_accepts_system_history_text_blocks_and_extra_fields(tmp_path: Path) -> None:
    system = {"role": "system", "content": "簡潔に答えてください。"}
    blocks = [{"type": "text", "text": "天気について"}, {"type": "text", "text": "20文字以内で教えて"}]
    records = [
        {
            "messages": [system, user("AIとは何か30文字以内で説明して")],
            "reference_answer": {"any": ["json", 1]},
            "difficulty": "easy",
        },
        {"messages": [user("挨拶して"), {"role": "assistant", "content": "こんにちは"}, user(blocks)]},
        record([{"text": "Describe tea in at most 40 characters."}]),  # Converse-style block
        record("Say hello.", 12),  # the limit may come from the field alone
    ]

    summary = validate_dataset(write_records(tmp_path / "ok.jsonl", records), min_records=1)

    assert (summary.records, *limit_range(summary.path)) == (4, 12, 40)
    assert "天気について20文字以内で教えて" in summary.prompts


def test_strict_limits_agree_with_the_effective_maximum(tmp_path: Path) -> None:
    agreeing = [
        record("AIを30文字未満で説明して", 29),
        record("Explain AI in under 30 characters.", 29),
        record("AIを40文字未満で答えて"),  # from the prompt alone: at most 39
    ]
    summary = validate_dataset(write_records(tmp_path / "ok.jsonl", agreeing), min_records=1)
    assert limit_range(summary.path) == (29, 39)

    off_by_one = write_records(tmp_path / "bad.jsonl", [record("AIを30文字未満で説明して", 30)])
    [problem] = problems_of(off_by_one, min_records=1)
    assert problem.line == 1
    assert "char_limit is 30 but the prompt asks for at most 29" in problem.message


# --- each problem names file and line -------------------------------------------------------

LIMIT_ERROR = "char_limit must be an integer"
USER_X = '"messages": [{"role": "user", "content": "x"}]'
BAD_LINES: dict[str, tuple[str | bytes, str]] = {
    "invalid utf-8": (b'{"messages": "\xff\xfe"}', "not valid UTF-8"),
    "blank line": ("", "blank line"),
    "whitespace line": ("   \t", "blank line"),
    "not json": ("{oops", "not valid JSON"),
    "nan": (f'{{{USER_X}, "char_limit": NaN}}', "not valid JSON"),
    "array": ("[1, 2]", "expected a JSON object"),
    "missing messages": ('{"char_limit": 5}', "missing 'messages'"),
    "null messages": ('{"messages": null, "char_limit": 5}', "non-empty list"),
    "empty messages": ('{"messages": [], "char_limit": 5}', "non-empty list"),
    "string messages": ('{"messages": "hi", "char_limit": 5}', "non-empty list"),
    "message not object": ('{"messages": ["hi"], "char_limit": 5}', "must be an object"),
    "bad role": (
        '{"messages": [{"role": "tool", "content": "x"}], "char_limit": 5}',
        "role must be one of",
    ),
    "missing role": ('{"messages": [{"content": "x"}], "char_limit": 5}', "role must be one of"),
    "empty content": (
        '{"messages": [{"role": "user", "content": ""}], "char_limit": 5}',
        "content must be",
    ),
    "blank content": (
        '{"messages": [{"role": "user", "content": " "}], "char_limit": 5}',
        "content must be",
    ),
    "number content": (
        '{"messages": [{"role": "user", "content": 7}], "char_limit": 5}',
        "content must be",
    ),
    "image block": (
        '{"messages": [{"role": "user", "content": [{"type": "image_url", "text": "x"}]}], "char_limit": 5}',
        "content must be",
    ),
    "late system": (
        '{"messages": [{"role": "user", "content": "a"}, {"role": "system", "content": "b"},'
        ' {"role": "user", "content": "c"}], "char_limit": 5}',
        "only allowed first",
    ),
    "answer included": (
        '{"messages": [{"role": "user", "content": "AIを30文字以内で"}, {"role": "assistant", "content": "人工知能"}]}',
        "last message must be the user prompt",
    ),
    "bool limit": (f'{{{USER_X}, "char_limit": true}}', LIMIT_ERROR),
    "zero limit": (f'{{{USER_X}, "char_limit": 0}}', LIMIT_ERROR),
    "string limit": (f'{{{USER_X}, "char_limit": "30"}}', LIMIT_ERROR),
    "fractional limit": (f'{{{USER_X}, "char_limit": 30.5}}', LIMIT_ERROR),
    "null limit": (f'{{{USER_X}, "char_limit": null}}', LIMIT_ERROR),
    "huge limit": (f'{{{USER_X}, "char_limit": 1000001}}', LIMIT_ERROR),
    "bad limit and messages": ('{"messages": [], "char_limit": -1}', LIMIT_ERROR),
    "no limit": ('{"messages": [{"role": "user", "content": "AIとは何か"}]}', "no character limit"),
    "list reference": (
        f'{{{USER_X}, "char_limit": 30, "reference_answer": [30]}}',
        "reference_answer must be a string or an object, got array of 1",
    ),
    "number reference": (
        f'{{{USER_X}, "char_limit": 30, "reference_answer": 30}}',
        "reference_answer must be a string or an object, got 30",
    ),
    "bad reference limit": (
        f'{{{USER_X}, "reference_answer": {{"char_limit": "x"}}}}',
        "reference_answer.char_limit must be an integer from 1 to 1000000",
    ),
    "references disagree": (
        f'{{{USER_X}, "char_limit": 30, "reference_answer": {{"char_limit": 20}}}}',
        "char_limit is 30 but reference_answer.char_limit is 20",
    ),
    "reference disagrees with prompt": (
        '{"messages": [{"role": "user", "content": "AIを25文字以内で説明して"}], '
        '"reference_answer": {"char_limit": 30}}',
        "reference_answer.char_limit is 30 but the prompt asks for at most 25",
    ),
    "limits disagree": (
        '{"messages": [{"role": "user", "content": "AIを25文字以内で説明して"}], "char_limit": 30}',
        "char_limit is 30 but the prompt asks for at most 25",
    ),
}


@pytest.mark.parametrize(("bad_line", "expected"), BAD_LINES.values(), ids=BAD_LINES.keys())
def test_each_problem_names_file_and_line(tmp_path: Path, bad_line: str | bytes, expected: str) -> None:
    lines: list[str | bytes] = [json.dumps(good_record(i), ensure_ascii=False) for i in range(4)]
    lines.insert(2, bad_line)
    path = write_lines(tmp_path / "data.jsonl", lines)

    problems = problems_of(path, min_records=1)

    assert any(expected in problem.message for problem in problems), problems
    assert all((problem.path, problem.line) == (str(path), 3) for problem in problems)
    assert f"{path}:3: " in str(DatasetError(problems))


def test_a_windows_checkout_reads_as_the_same_dataset(tmp_path: Path) -> None:
    """CRLF line endings and a byte order mark are normalised: same records, same sha256."""
    lines = [json.dumps(good_record(i), ensure_ascii=False) for i in range(3)]
    unix = tmp_path / "unix.jsonl"
    unix.write_bytes(("\n".join(lines) + "\n").encode())
    windows = tmp_path / "windows.jsonl"
    windows.write_bytes(b"\xef\xbb\xbf" + ("\r\n".join(lines) + "\r\n").encode())
    expected = validate_dataset(unix, min_records=1)
    got = validate_dataset(windows, min_records=1)
    assert (
        (got.records, got.sha256, got.prompts)
        == (expected.records, expected.sha256, expected.prompts)
        == (3, expected.sha256, expected.prompts)
    )
    assert expected.sha256 == hashlib.sha256(unix.read_bytes()).hexdigest()


def test_whole_float_limits_and_reference_answers_are_accepted(tmp_path: Path) -> None:
    records = [
        record("AIとは何か30文字以内で説明して", char_limit=30.0),  # type: ignore[arg-type]
        record("量子とは何か、20文字以内で", reference_answer={"char_limit": 20}),
        record("Explain DNS, no rhyme.", reference_answer={"char_limit": 40.0}),
        record("空が青い理由を50文字以内で", 50, reference_answer="レイリー散乱"),
    ]
    summary = validate_dataset(write_records(tmp_path / "data.jsonl", records), min_records=1)
    assert (summary.records, *limit_range(summary.path)) == (4, 20, 50)


def test_unreadable_file_is_a_problem_without_line(tmp_path: Path) -> None:
    for unreadable in (tmp_path / "absent.jsonl", tmp_path):
        [problem] = problems_of(unreadable)
        assert (problem.path, problem.line) == (str(unreadable), None)
        assert problem.message.startswith("cannot read file")


def test_collects_every_problem_not_just_the_first(tmp_path: Path) -> None:
    lines: list[str | bytes] = [
        json.dumps(good_record(0), ensure_ascii=False),
        "{oops",
        f'{{{USER_X}, "char_limit": 0}}',
        "",
        json.dumps(good_record(1), ensure_ascii=False),
    ]
    path = write_lines(tmp_path / "data.jsonl", lines)

    with pytest.raises(DatasetError) as caught:
        validate_dataset(path, min_records=10)

    problems = caught.value.problems
    assert [problem.line for problem in problems] == [2, 3, 4, None]
    assert problems[-1].message == "5 records, at least 10 needed"
    message_lines = str(caught.value).splitlines()
    assert message_lines[0] == "4 problems in RFT training data:"
    assert message_lines[1:] == [str(problem) for problem in problems]


def test_error_message_caps_the_listed_problems() -> None:
    problems = [DatasetProblem("f.jsonl", line, "bad") for line in range(1, 31)]
    message_lines = str(DatasetError(problems)).splitlines()
    assert message_lines[1:-1] == [f"f.jsonl:{n}: bad" for n in range(1, MESSAGE_PROBLEM_CAP + 1)]
    assert message_lines[-1] == f"... and {30 - MESSAGE_PROBLEM_CAP} more"
    assert str(DatasetProblem("f.jsonl", None, "whole file")) == "f.jsonl: whole file"


# --- record counts --------------------------------------------------------------------------


def test_record_count_bounds(tmp_path: Path) -> None:
    path = write_records(tmp_path / "data.jsonl", [good_record(i) for i in range(5)])

    assert validate_dataset(path, min_records=5, max_records=5).records == 5
    [too_few] = problems_of(path, min_records=6)
    [too_many] = problems_of(path, min_records=1, max_records=4)
    assert (too_few.line, too_few.message) == (None, "5 records, at least 6 needed")
    assert (too_many.line, too_many.message) == (None, "5 records, at most 4 allowed")
    # Bedrock's minimum of 100 applies unless told otherwise.
    [default_minimum] = problems_of(path)
    assert default_minimum.message == "5 records, at least 100 needed"


def test_empty_file_has_no_records(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    [problem] = problems_of(path, min_records=1)
    assert problem.message == "0 records, at least 1 needed"


def test_bounds_must_make_sense(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="min_records"):
        validate_dataset(tmp_path / "x.jsonl", min_records=0)
    with pytest.raises(ValueError, match="min_records"):
        validate_dataset(tmp_path / "x.jsonl", min_records=5, max_records=4)


# --- duplicates and disjointness ------------------------------------------------------------


def test_duplicate_prompts_name_both_lines(tmp_path: Path) -> None:
    duplicate = good_record(0)
    padded = record(duplicate["messages"][0]["content"] + "  ", duplicate["char_limit"])
    path = write_records(tmp_path / "dup.jsonl", [duplicate, good_record(1), duplicate, padded])

    problems = problems_of(path, min_records=1)

    assert [problem.line for problem in problems] == [3, 4]
    assert all(p.message.startswith("duplicate prompt, same as line 1: ") for p in problems)


def test_check_disjoint(tmp_path: Path) -> None:
    def summary(name: str, indexes: range | tuple[int, ...]) -> DatasetSummary:
        path = write_records(tmp_path / name, [good_record(i) for i in indexes])
        return validate_dataset(path, min_records=1)

    training = summary("t.jsonl", range(5))
    check_disjoint(training, summary("v.jsonl", range(5, 8)))

    overlapping = summary("o.jsonl", (1, 3, 9))
    with pytest.raises(DatasetError) as caught:
        check_disjoint(training, overlapping)
    problems = caught.value.problems
    assert [p.path for p in problems] == [overlapping.path] * 2
    assert all(f"prompt also in {training.path}: " in p.message for p in problems)
    assert "話題B" in problems[0].message and "話題D" in problems[1].message


def test_validate_training_set_collects_problems_from_both_files(tmp_path: Path) -> None:
    training = write_records(tmp_path / "t.jsonl", [good_record(i) for i in range(99)])
    validation = write_lines(tmp_path / "v.jsonl", ["{oops"])

    with pytest.raises(DatasetError) as caught:
        validate_training_set(training, validation)

    located = {(p.path, p.line) for p in caught.value.problems}
    assert located == {(str(training), None), (str(validation), 1), (str(validation), None)}


def test_validate_training_set_checks_disjointness_and_minimums(tmp_path: Path) -> None:
    training = write_records(tmp_path / "t.jsonl", [good_record(i) for i in range(100)])
    fresh = [good_record(i) for i in range(100, 100 + VALIDATION_MIN_RECORDS)]

    summary, no_validation = validate_training_set(training, None)
    assert (summary.records, no_validation) == (100, None)

    _, validation = validate_training_set(training, write_records(tmp_path / "v.jsonl", fresh))
    assert validation is not None and validation.records == VALIDATION_MIN_RECORDS

    short = write_records(tmp_path / "short.jsonl", fresh[:-1])
    with pytest.raises(DatasetError, match=f"at least {VALIDATION_MIN_RECORDS} needed"):
        validate_training_set(training, short)

    overlap = write_records(tmp_path / "overlap.jsonl", [good_record(7), *fresh])
    with pytest.raises(DatasetError, match="prompt also in") as caught:
        validate_training_set(training, overlap)
    assert len(caught.value.problems) == 1


# --- the shipped data -----------------------------------------------------------------------

NUMERAL = r"(?:[0-9]+|[０-９]+|[一二三四五六七八九十百]+)"
REQUIRED_PHRASINGS = {
    "N文字以内": rf"{NUMERAL}文字以内",
    "N字以内": rf"{NUMERAL}字以内",
    "N文字以下": rf"{NUMERAL}文字以下",
    "N文字まで": rf"{NUMERAL}文字まで",
    "N文字未満": rf"{NUMERAL}文字未満",
    "full-width digits": r"[０-９]+文?字",
    "kanji numerals": r"[一二三四五六七八九十百]+文?字",
    "within N characters": r"within [0-9]+ characters",
    "N characters or less": r"[0-9]+ characters or less",
    "N characters or fewer": r"[0-9]+ characters or fewer",
    "at most N characters": r"at most [0-9]+ characters",
    "no more than N characters": r"no more than [0-9]+ characters",
    "under N characters": r"under [0-9]+ characters",
}
JAPANESE_SCRIPT = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def shipped_prompts() -> list[tuple[str, int]]:
    """(last user prompt, char_limit) of every record in both shipped files."""
    prompts = []
    for path in (SHIPPED_TRAINING, SHIPPED_VALIDATION):
        for line in path.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            prompts.append((item["messages"][-1]["content"], item["char_limit"]))
    return prompts


def test_shipped_data_validates_and_meets_the_spec() -> None:
    training, validation = validate_training_set(SHIPPED_TRAINING, SHIPPED_VALIDATION)

    assert validation is not None
    assert training.records >= 110 and validation.records >= 15
    assert limit_range(training.path)[0] <= 15 and limit_range(training.path)[1] >= 110
    assert limit_range(validation.path)[0] <= 20 and limit_range(validation.path)[1] >= 100

    texts = [text for text, _ in shipped_prompts()]
    english = [text for text in texts if not JAPANESE_SCRIPT.search(text)]
    assert 0.1 <= len(english) / len(texts) <= 0.35
    missing = [
        name for name, pattern in REQUIRED_PHRASINGS.items() if not any(re.search(pattern, text) for text in texts)
    ]
    assert missing == []


def test_shipped_prompts_state_their_limit_as_the_grader_reads_it() -> None:
    # char_limit alone would pass validation; the model only sees the prompt, so it must agree.
    mismatched = [
        (text, limit, extract_char_limit(text))
        for text, limit in shipped_prompts()
        if extract_char_limit(text) != limit
    ]
    assert mismatched == []


def test_every_shipped_record_has_a_reference_answer() -> None:
    """AWS's data guides: messages and reference_answer are the core schema of an RFT record."""
    for path in (SHIPPED_TRAINING, SHIPPED_VALIDATION):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            item = json.loads(line)
            assert item.get("reference_answer") == {"char_limit": item["char_limit"]}, f"{path.name}:{number}"


# --- property tests -------------------------------------------------------------------------

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
# Limit phrases, some of them nonsense (a limit of 0), to reach the limit checks.
limit_phrases = st.sampled_from(
    ["30文字以内", "三十文字以下", "５文字未満", "1文字未満", "under 1 characters", "at most 7 chars", ""]
)
fuzzy_content = st.one_of(
    json_values,
    st.builds(lambda text, phrase: text + phrase, st.text(max_size=20), limit_phrases),
    st.lists(st.fixed_dictionaries({}, optional={"type": st.sampled_from(["text", "image"]), "text": json_values})),
)
fuzzy_message = st.fixed_dictionaries(
    {},
    optional={
        "role": st.sampled_from(["system", "user", "assistant", "tool"]) | json_values,
        "content": fuzzy_content,
    },
)
fuzzy_record = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "messages": st.lists(fuzzy_message, max_size=4) | json_values,
            "char_limit": st.integers(-2, 40) | json_values,
            "reference_answer": json_values,
        },
    ),
)


def assert_summary_or_dataset_error(path: Path) -> None:
    """Either a summary or a DatasetError whose problems all name the file."""
    try:
        summary = validate_dataset(path, min_records=1)
    except DatasetError as error:
        assert error.problems
        assert all(p.path == str(path) and (p.line is None or p.line >= 1) for p in error.problems)
        assert str(path) in str(error)
    else:
        assert summary.records >= 1 and 1 <= limit_range(summary.path)[0] <= limit_range(summary.path)[1]


@PROPERTY_SETTINGS
@given(lines=st.lists(st.binary(max_size=120), max_size=6))
def test_arbitrary_bytes_give_summary_or_dataset_error(tmp_path: Path, lines: list[bytes]) -> None:
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(b"\n".join(lines))
    assert_summary_or_dataset_error(path)


@PROPERTY_SETTINGS
@given(lines=st.lists(st.text(max_size=120), max_size=6))
def test_arbitrary_text_gives_summary_or_dataset_error(tmp_path: Path, lines: list[str]) -> None:
    path = tmp_path / "fuzz.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    assert_summary_or_dataset_error(path)


@PROPERTY_SETTINGS
@given(records=st.lists(fuzzy_record, min_size=1, max_size=6))
def test_arbitrary_json_gives_summary_or_dataset_error(tmp_path: Path, records: list[Any]) -> None:
    assert_summary_or_dataset_error(write_records(tmp_path / "fuzz.jsonl", records))


# Phrasing -> how much the stated number exceeds the effective maximum.
JAPANESE_SUFFIXES = {"文字以内": 0, "字以内": 0, "文字以下": 0, "文字まで": 0, "文字未満": 1}
ENGLISH_PHRASES = {
    "within {n} characters": 0,
    "in {n} characters or less": 0,
    "in {n} characters or fewer": 0,
    "in at most {n} characters": 0,
    "in no more than {n} characters": 0,
    "in under {n} characters": 1,
}


@st.composite
def well_formed_record(draw: st.DrawFn, index: int) -> tuple[dict[str, Any], int]:
    """A valid record with a unique prompt, and the effective limit it should yield."""
    stated = draw(st.integers(2, 199))
    topic = topic_code(index)
    if draw(st.booleans()):
        suffix, strict = draw(st.sampled_from(sorted(JAPANESE_SUFFIXES.items())))
        numeral = draw(st.sampled_from([str(stated), str(stated).translate(FULLWIDTH_DIGITS), kanji_numeral(stated)]))
        prompt = f"{topic}について{numeral}{suffix}で答えて"
    else:
        phrase, strict = draw(st.sampled_from(sorted(ENGLISH_PHRASES.items())))
        prompt = f"Tell me about {topic} {phrase.format(n=stated)}."
    limit = stated - strict
    content: Any = prompt
    if draw(st.booleans()):
        cut = draw(st.integers(1, len(prompt) - 1))
        content = [{"type": "text", "text": prompt[:cut]}, {"text": prompt[cut:]}]
    messages = [user(content)]
    if draw(st.booleans()):
        messages.insert(0, {"role": "system", "content": "Be brief."})
    fields: dict[str, Any] = {"messages": messages}
    if draw(st.booleans()):
        fields["char_limit"] = limit
    if draw(st.booleans()):
        # A string or an object (its char_limit, when it has one, agrees); null counts as absent.
        fields["reference_answer"] = draw(
            st.one_of(
                st.none(),
                st.text(max_size=20),
                st.just({"char_limit": limit}),
                st.dictionaries(st.text(max_size=8).filter(lambda key: key != "char_limit"), json_values, max_size=3),
            )
        )
    return fields, limit


@st.composite
def well_formed_files(draw: st.DrawFn) -> list[tuple[dict[str, Any], int]]:
    return [draw(well_formed_record(index)) for index in range(draw(st.integers(1, 12)))]


@PROPERTY_SETTINGS
@given(generated=well_formed_files())
def test_well_formed_records_always_validate(tmp_path: Path, generated: list[tuple[dict[str, Any], int]]) -> None:
    path = write_records(tmp_path / "good.jsonl", [fields for fields, _ in generated])
    limits = [limit for _, limit in generated]

    summary = validate_dataset(path, min_records=1)

    assert (summary.records, *limit_range(summary.path)) == (
        len(generated),
        min(limits),
        max(limits),
    )
