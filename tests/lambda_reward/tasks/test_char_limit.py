"""Limit extraction, character counting and the length reward (lambda_reward.runtime.tasks.char_limit)."""

from __future__ import annotations

import sys
import time
import unicodedata
from functools import cache

import pytest
import regex
from hypothesis import given, settings, strategies as st

from lambda_reward.runtime.tasks.char_limit import (
    _COMMON_BLOCKS,
    MAX_CHAR_LIMIT,
    _joins_in_window,
    count_characters,
    count_graphemes_raw,
    extract_char_limit,
    length_reward,
    parse_explicit_char_limit,
    parse_number,
)

GRAPHEME_CLUSTER = regex.compile(r"\X")
KANJI_DIGITS = "〇一二三四五六七八九"


def to_kanji(number: int) -> str:
    """1..99,999,999 in kanji numerals, the way people write them (三十, 百二十, 一万)."""

    def below_man(value: int) -> str:
        text = ""
        for unit_value, unit in ((1000, "千"), (100, "百"), (10, "十")):
            digit, value = divmod(value, unit_value)
            if digit:
                text += ("" if digit == 1 else KANJI_DIGITS[digit]) + unit
        return text + (KANJI_DIGITS[value] if value else "")

    man, rest = divmod(number, 10_000)
    return (below_man(man) + "万" if man else "") + below_man(rest)


def to_full_width(number: int) -> str:
    return "".join(chr(ord(digit) + 0xFEE0) for digit in str(number))


# ---------------------------------------------------------------------------------------
# extract_char_limit: each phrasing
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "limit"),
    [
        ("AIとは何か30文字以内で説明して", 30),
        ("機械学習を25字以内で説明して", 25),
        ("富士山について50文字以下でまとめて", 50),
        ("光合成を40文字までで答えて", 40),
        ("日本の首都を10文字未満で答えて", 9),
        ("30 文字 以内で", 30),
        ("30\u3000文字以内", 30),
        ("ＡＩとは？３０文字以内", 30),
        ("三十文字以内で説明して", 30),
        ("百二十字以内", 120),
        ("十五文字以内", 15),
        ("二十五文字以内", 25),
        ("二百五十文字以下", 250),
        ("千文字以内", 1000),
        ("一〇〇文字以内", 100),
        ("1万字以内", 10_000),
        ("1,000文字以内", 1000),
        ("Explain AI within 30 characters.", 30),
        ("Explain AI in 30 characters or less.", 30),
        ("Explain AI in 30 characters or fewer.", 30),
        ("Answer in at most 30 characters.", 30),
        ("Use no more than 30 characters.", 30),
        ("Use not more than 30 characters.", 30),
        ("Answer in under 30 characters.", 29),
        ("Answer in less than 30 characters.", 29),
        ("Answer in fewer than 30 chars.", 29),
        ("Answer below 30 characters.", 29),
        ("Keep it up to 30 characters.", 30),
        ("a maximum of 30 characters", 30),
        ("max 30 chars", 30),
        ("30 characters max", 30),
        ("Respect a 30-character limit.", 30),
        ("within 1 character", 1),
        ("WITHIN 30 CHARACTERS", 30),
        ("Within 1,000 characters please", 1000),
        ("within ３０ characters", 30),
        ("Make it no longer than 30 characters.", 30),
        ("Answer in 30 characters or shorter.", 30),
        ("Answer in anon less than 30 characters", 29),  # "no" inside a word is no negation
    ],
)
def test_extract_char_limit_phrasings(prompt: str, limit: int) -> None:
    assert extract_char_limit(prompt) == limit


@pytest.mark.parametrize(
    "prompt",
    [
        "",
        "AIとは何か説明して",
        "数百文字以内で説明して",  # "several hundred": no number
        "何文字以内でもよい",
        "30文字以上で説明して",  # a minimum, not a limit
        "Explain AI in 30 characters.",  # no "at most" wording
        "Explain AI in 30 words or less.",
        "0文字以内",
        "1文字未満",
        "under 1 character",
        "within 2000000 characters",  # above MAX_CHAR_LIMIT
        "within 1.5 characters",
        "十十文字以内",  # not a numeral
        "1" * 5000 + "文字以内",  # a digit run far too long for a limit
        "Write no less than 30 characters.",  # minimums, not limits
        "Use not fewer than 30 characters.",
        "NO SHORTER THAN 30 CHARACTERS",
        "Write not under 30 chars",
    ],
)
def test_extract_char_limit_none(prompt: str) -> None:
    assert extract_char_limit(prompt) is None


def test_last_limit_in_the_prompt_wins() -> None:
    assert extract_char_limit("例: 「10文字以内」の答え。では、AIを30文字以内で説明して") == 30
    assert extract_char_limit("Within 50 characters was too long; now answer within 20 characters") == 20
    assert extract_char_limit("Answer within 20 characters. 日本語なら30文字以内") == 30
    assert extract_char_limit("30文字以内、いや、within 20 characters") == 20


@pytest.mark.parametrize(
    "prompt",
    [
        "1" * 100_000 + "x字",  # a digit run not followed by a limit phrase
        "一" * 100_000 + "x字",
        "1" * 100_000 + " characters" + "x" * 10,
        "1" + " " * 100_000 + "xchar",
        ("1 " * 50_000) + "文字",
    ],
)
def test_extract_char_limit_takes_linear_time(prompt: str) -> None:
    # A backtracking pattern took about 40 s on the first of these (quadratic in the run).
    start = time.perf_counter()
    assert extract_char_limit.__wrapped__(prompt) is None
    assert time.perf_counter() - start < 1.0


def test_japanese_limit_next_to_latin_text() -> None:
    assert extract_char_limit("Explain AIを30文字以内で") == 30
    assert extract_char_limit("答えはwithin 30 charactersで") == 30


# ---------------------------------------------------------------------------------------
# extract_char_limit: round trips for any N, phrasing and digit style
# ---------------------------------------------------------------------------------------

JA_PHRASES = [("{n}文字以内", 0), ("{n}字以内", 0), ("{n}文字以下", 0), ("{n}文字まで", 0),
              ("{n}字まで", 0), ("{n}文字未満", 1), ("{n} 文字以内", 0)]
EN_PHRASES = [("within {n} characters", 0), ("{n} characters or less", 0),
              ("{n} characters or fewer", 0), ("at most {n} characters", 0),
              ("no more than {n} characters", 0), ("under {n} characters", 1),
              ("within {n} chars", 0), ("at most {n} character", 0), ("less than {n} char", 1)]
DIGIT_STYLES = {
    "ascii": str,
    "full-width": to_full_width,
    "kanji": to_kanji,
    "grouped": lambda n: f"{n:,}",
}


@settings(max_examples=300, deadline=None)
@given(
    n=st.integers(min_value=2, max_value=MAX_CHAR_LIMIT),
    phrase=st.sampled_from(JA_PHRASES),
    style=st.sampled_from(sorted(DIGIT_STYLES)),
    prefix=st.sampled_from(["", "AIとは何か", "クラウドについて、"]),
    suffix=st.sampled_from(["", "で説明して", "で答えてください。"]),
)
def test_japanese_round_trip(n: int, phrase: tuple[str, int], style: str, prefix: str, suffix: str) -> None:
    template, strict = phrase
    prompt = prefix + template.format(n=DIGIT_STYLES[style](n)) + suffix
    assert extract_char_limit(prompt) == n - strict


@settings(max_examples=300, deadline=None)
@given(
    n=st.integers(min_value=2, max_value=MAX_CHAR_LIMIT),
    phrase=st.sampled_from(EN_PHRASES),
    style=st.sampled_from(["ascii", "full-width", "grouped"]),
    case=st.sampled_from([str.lower, str.upper, str.title, str.capitalize]),
    prefix=st.sampled_from(["", "Explain AI ", "What is pi? Answer "]),
)
def test_english_round_trip(n: int, phrase: tuple[str, int], style: str, case, prefix: str) -> None:
    template, strict = phrase
    prompt = case(prefix + template.format(n="{n}")).replace("{N}", "{n}").format(n=DIGIT_STYLES[style](n))
    assert extract_char_limit(prompt + ".") == n - strict


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_extract_char_limit_any_text(prompt: str) -> None:
    limit = extract_char_limit(prompt)
    assert limit is None or (isinstance(limit, int) and 1 <= limit <= MAX_CHAR_LIMIT)


@pytest.mark.parametrize(
    ("token", "value"),
    [("30", 30), ("３０", 30), ("三十", 30), ("十五", 15), ("二十五", 25), ("百二十", 120),
     ("二百五十", 250), ("千", 1000), ("一千", 1000), ("二千五", 2005), ("一〇〇", 100),
     ("百万", 1_000_000), ("一万二千", 12_000), ("2千", 2000), ("1,000", 1000), ("零", 0)],
)
def test_parse_number(token: str, value: int) -> None:
    assert parse_number(token) == value


@pytest.mark.parametrize("token", ["十十", "百千", "万万", "", "abc", "1" * 17])
def test_parse_number_rejects(token: str) -> None:
    assert parse_number(token) is None


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=1, max_value=99_999_999))
def test_parse_number_reads_kanji(n: int) -> None:
    assert parse_number(to_kanji(n)) == n


# ---------------------------------------------------------------------------------------
# parse_explicit_char_limit
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "limit"), [(30, 30), ("30", 30), (" 30 ", 30), ("３０", 30), (1, 1),
                                              # A JSON writer's 30.0 is the limit 30, not a malformed sample.
                                              (30.0, 30), ("30.0", 30), ("30.00", 30)])
def test_explicit_limit_valid(value: object, limit: int) -> None:
    assert parse_explicit_char_limit(value) == limit


@pytest.mark.parametrize(
    "value",
    [0, -5, True, False, 30.5, 0.0, float("nan"), float("inf"), "30.5", "30.0.0", ".5", "1e3", "", "abc", "-3",
     None, [30], {"n": 30}, MAX_CHAR_LIMIT + 1, float(MAX_CHAR_LIMIT + 1), "9" * 5000],
)
def test_explicit_limit_invalid(value: object) -> None:
    assert parse_explicit_char_limit(value) is None


# ---------------------------------------------------------------------------------------
# count_characters
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("", 0),
        ("   ", 0),
        ("\u3000人工知能\u3000", 4),  # ideographic spaces trimmed
        ("人工知能の略で、機械が学習・推論する技術", 20),
        ("hello", 5),
        ("a\r\nb", 3),  # CR LF is one cluster
        ("👨\u200d👩\u200d👧", 1),  # ZWJ family
        ("👍🏽", 1),  # skin-tone modifier
        ("🇯🇵", 1),  # flag: two regional indicators
        ("🇯🇵🇺", 2),
        ("❤\ufe0f", 1),  # variation selector
        ("e\u0301", 1),  # combining acute
        ("a\u0308\u0301", 1),  # two combining marks
        ("か\u3099", 1),  # decomposed が
        ("\u1100\u1161\u11a8", 1),  # Hangul jamo L V T
        ("क्त", 1),  # Devanagari conjunct (GB9c)
        ("\ufeff", 1),
        ("\ud800", 1),  # a lone surrogate (JSON can carry one) is still counted
    ],
)
def test_count_characters(text: str, count: int) -> None:
    assert count_characters(text) == count


def test_long_windows_are_counted_but_not_cached() -> None:
    text = "한국어 문장입니다" * 2000 + "e\u0301" * 5000  # runs outside the common blocks
    assert count_characters(text) == naive_count(text)
    before = _joins_in_window.cache_info()
    assert count_characters("한" * 100_000) == 100_000  # one window of 100,000 code points
    after = _joins_in_window.cache_info()
    assert (after.hits, after.misses) == (before.hits, before.misses)  # it bypassed the cache


def test_runs_of_combining_marks_are_capped_and_still_one_character() -> None:
    # A run is one cluster with its base however long; capping it keeps NFC's reordering short.
    assert count_characters("e" + "\u0301" * 100_000) == 1
    assert count_characters("x" + "\u0301\u0316" * 50_000 + "y") == 2
    assert count_characters("あ" * 10 + "e" + "\u0301" * 40) == naive_count("あ" * 10 + "e" + "\u0301" * 40)


def test_count_characters_normalises_to_nfc() -> None:
    assert count_characters("e\u0301") == count_characters("\u00e9") == 1
    assert count_characters("\u212b") == 1  # ANGSTROM SIGN, NFC to Å


def naive_count(text: str) -> int:
    """The definition, written the slow obvious way."""
    return len(GRAPHEME_CLUSTER.findall(unicodedata.normalize("NFC", text).strip()))


# Code points that exercise every joining rule and NFC composition, mixed with anything.
TRICKY_CODE_POINTS = [
    "\r", "\n", " ", "\u3000", "a", "e", "か", "人", "\u0301", "\u0308", "\u0323", "\u3099",
    "\u200d", "\u200c", "\ufe0f", "\U0001f468", "\U0001f469", "\U0001f3fd", "\U0001f1ef",
    "\U0001f1f5", "\u2702", "\u2701", "\u231a", "\u1100", "\u1161", "\u11a8", "\uac00",
    "\uac01", "\u0915", "\u094d", "\u0924", "\u0600", "\u0903", "\u0e33", "\u00ad",
    "\u212b", "\uf900", "\u0b47", "\u0b3e", "\u0344", "\u2000", "\uff9e",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(TRICKY_CODE_POINTS) | st.characters(), max_size=24).map("".join))
def test_count_characters_matches_definition(text: str) -> None:
    assert count_characters(text) == naive_count(text)
    assert count_graphemes_raw(text) == len(GRAPHEME_CLUSTER.findall(text))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_count_characters_any_text(text: str) -> None:
    assert count_characters(text) == naive_count(text)


def test_fast_path_blocks_never_join_and_are_nfc_inert() -> None:
    """The facts _COMMON_BLOCKS relies on, checked against the Unicode data in use."""
    may_join = regex.compile(r"[^\p{Grapheme_Cluster_Break=Other}\p{Grapheme_Cluster_Break=Control}\r\n]")
    common = regex.compile(f"[{_COMMON_BLOCKS}]")
    second_halves = composition_second_halves()
    for code_point in range(sys.maxunicode + 1):
        char = chr(code_point)
        if not common.match(char):
            continue
        assert not may_join.match(char), f"U+{code_point:04X} may join a neighbour"
        assert unicodedata.combining(char) == 0, f"U+{code_point:04X} is not a starter"
        assert char not in second_halves, f"U+{code_point:04X} composes with what precedes it"
        assert len(unicodedata.normalize("NFC", char)) == 1, f"U+{code_point:04X} NFC length"


def test_fast_path_holds_for_characters_newer_than_this_python() -> None:
    """The Lambda's Python (3.13) knows newer characters than the tests' unicodedata; the
    regex package's newer data shows NFC leaves every one of them in the common blocks alone."""
    common = regex.compile(f"[{_COMMON_BLOCKS}]")
    assigned = regex.compile(r"\p{Assigned}")
    nfc_inert = regex.compile(r"[\p{NFC_Quick_Check=Yes}&&\p{Canonical_Combining_Class=0}]", regex.V1)
    newer = [
        chr(code_point)
        for code_point in range(sys.maxunicode + 1)
        if common.match(chr(code_point))
        and unicodedata.category(chr(code_point)) == "Cn"
        and assigned.match(chr(code_point))
    ]
    assert [f"U+{ord(char):04X}" for char in newer if not nfc_inert.match(char)] == []


def test_whitespace_is_nfc_inert() -> None:
    """Why count_characters may trim before normalising."""
    second_halves = composition_second_halves()
    first_halves = {pair[0] for pair in canonical_pairs()}
    for code_point in range(sys.maxunicode + 1):
        char = chr(code_point)
        if char.isspace():
            assert unicodedata.combining(char) == 0
            assert char not in second_halves and char not in first_halves
            normalised = unicodedata.normalize("NFC", char)
            assert len(normalised) == 1 and normalised.isspace()
        else:
            assert not unicodedata.normalize("NFC", char).isspace()


@cache
def canonical_pairs() -> list[str]:
    pairs = []
    for code_point in range(sys.maxunicode + 1):
        decomposition = unicodedata.decomposition(chr(code_point))
        if decomposition and not decomposition.startswith("<"):
            parts = decomposition.split()
            if len(parts) == 2:
                pairs.append("".join(chr(int(part, 16)) for part in parts))
    return pairs


@cache
def composition_second_halves() -> set[str]:
    # Hangul vowels and trailing consonants compose algorithmically.
    hangul = {chr(c) for c in [*range(0x1161, 0x1176), *range(0x11A8, 0x11C3)]}
    return {pair[1] for pair in canonical_pairs()} | hangul


# ---------------------------------------------------------------------------------------
# length_reward
# ---------------------------------------------------------------------------------------


def test_length_reward_rules() -> None:
    assert length_reward(0, 30) == 0.0
    assert length_reward(1, 30) == 1.0
    assert length_reward(30, 30) == 1.0
    assert 0.0 < length_reward(31, 30) < 0.5
    assert length_reward(45, 30) == pytest.approx(0.25)
    assert length_reward(60, 30) == 0.0
    assert length_reward(10_000, 30) == 0.0
    assert length_reward(1, 1) == 1.0
    assert length_reward(2, 1) == 0.0


def test_length_reward_rejects_bad_limit() -> None:
    with pytest.raises(ValueError, match="limit"):
        length_reward(3, 0)


@settings(max_examples=300, deadline=None)
@given(limit=st.integers(min_value=1, max_value=MAX_CHAR_LIMIT), data=st.data())
def test_overshoot_is_below_every_answer_within_the_limit_and_falls(limit: int, data) -> None:
    within = data.draw(st.integers(min_value=1, max_value=limit))
    over = data.draw(st.integers(min_value=limit + 1, max_value=3 * limit + 1))
    further = data.draw(st.integers(min_value=over, max_value=3 * limit + 2))
    assert length_reward(over, limit) < length_reward(within, limit) == 1.0
    assert length_reward(further, limit) <= length_reward(over, limit)
    if further < 2 * limit:
        assert further == over or length_reward(further, limit) < length_reward(over, limit)
    else:
        assert length_reward(further, limit) == 0.0
    assert 0.0 <= length_reward(over, limit) < 0.5
