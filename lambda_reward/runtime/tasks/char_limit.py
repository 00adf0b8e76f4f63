"""Answer within a character limit ("30文字以内で説明して"), the seed article's task, hardened.

The limit is the sample's own ``char_limit`` field (top level, else metadata; null counts as
absent), else its ``reference_answer.char_limit`` (read the same way), otherwise what the last
user prompt asks for (``30文字以内``, ``within 30 characters``...). Length is counted in
user-perceived characters (grapheme clusters after NFC, surrounding whitespace trimmed). Within
the limit an answer scores 1.0, an overshoot less than 0.5 (``length_reward``). An answer scores
0.0 when it has no visible content (only format, control or invisible characters, lone
combining marks, punctuation or symbols: one emoji is not an answer), echoes the prompt,
restates a limit, or refuses; each reason is a metric of the result. Options: a minimum share of
the limit (``minShare``), and each rejection can be switched off. No limit at all scores 0.0,
flagged ``no_limit``; an invalid explicit limit makes the sample malformed.

Pure functions with no AWS dependency, so the grader, the tests and the operator tools
share exactly one definition of "how long is this answer" and "what is the limit".
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Final

import regex

from lambda_reward.runtime.samples import MISSING, ParsedSample, describe_value, message_text, sample_field
from lambda_reward.runtime.tasks import Malformed, Score
from lambda_reward.runtime.tasks._text import EchoBasis, echo_basis, fold, has_visible_content, is_echo, is_refusal

# A limit above this is not a length instruction anyone can satisfy through a Lambda
# payload (6 MB), so such a phrase is ignored; the bound also keeps int() away from
# arbitrarily long digit runs.
MAX_CHAR_LIMIT = 1_000_000

# ---------------------------------------------------------------------------------------
# Counting characters
# ---------------------------------------------------------------------------------------

_GRAPHEME_CLUSTER = regex.compile(r"\X")
# Blocks common in answers whose code points all
#  * have Grapheme_Cluster_Break Other, Control or LF, so between two of them there is
#    always a cluster boundary (UAX #29, GB4-GB999; CR is left out for CR LF);
#  * are NFC-inert in a way that keeps counts: canonical combining class 0, never the
#    second half of a composition, and NFC maps each to exactly one code point.
# (Tests check both against the Unicode data in use.) Text made of them has one cluster
# per code point; elsewhere only the runs of other code points, each with one
# neighbour on either side, need normalising and segmenting.
_COMMON_BLOCKS = (
    "\x00-\x0c\x0e-\x7f"  # ASCII but CR
    "\u00a0-\u00ac\u00ae-\u02ff"  # Latin-1 (not the soft hyphen), Latin extended
    "\u2010-\u2027\u2030-\u205e"  # general punctuation
    "\u2100-\u2adb\u2add-\u2bff"  # symbols, arrows, dingbats (not U+2ADC: NFC splits it)
    "\u3000-\u3029\u3030-\u303f"  # CJK punctuation (not the tone marks U+302A-302F)
    "\u3041-\u3096\u309b-\u30ff"  # kana (not the combining voicing marks U+3099-309A)
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # kanji
    "\uff01-\uff9d"  # full-width forms, half-width katakana (not U+FF9E-FF9F)
    "\U0001f300-\U0001f3fa\U0001f400-\U0001faff"  # emoji (not the skin tones U+1F3FB-1F3FF)
)
_COMMON_RUN = re.compile(f"[{_COMMON_BLOCKS}]*")
_UNCOMMON_RUN = re.compile(f"[^{_COMMON_BLOCKS}]+")


def _count_clusters(text: str, nfc: bool, position: int) -> int:
    """Grapheme clusters in ``text`` (after NFC if ``nfc``), whose first ``position``
    code points are known to be common.

    Starts from one cluster per code point and, for each window (an uncommon run plus
    its neighbours), replaces the window's code points by its clusters. A window can be
    normalised and segmented on its own: every segmentation rule that looks back or
    ahead (GB3, GB9b, GB9c, GB11, GB12/13) only looks through uncommon code points up
    to a neighbour, and a common neighbour is an NFC boundary. Overlapping windows share
    one common code point, which NFC does not merge, so no boundary is counted twice.
    """
    count = length = len(text)
    while position < length:
        run_end = _UNCOMMON_RUN.match(text, position).end()  # type: ignore[union-attr]  # text[position] is uncommon
        window = text[max(position - 1, 0) : run_end + 1]
        if len(window) <= _CACHED_WINDOW:
            count -= _joins_in_window(window, nfc)
        else:
            count -= _joins_in_window.__wrapped__(window, nfc)
        position = _COMMON_RUN.match(text, run_end).end()  # type: ignore[union-attr]  # matches ''
    return count


# Short windows repeat (the same emoji, the same accented letter) and are cached; long
# ones (a paragraph in another script) rarely repeat and would only fill the memory.
_CACHED_WINDOW = 32


@lru_cache(maxsize=4096)
def _joins_in_window(window: str, nfc: bool) -> int:
    """Code points of ``window`` (after NFC if ``nfc``) minus its grapheme clusters."""
    segmented = unicodedata.normalize("NFC", window) if nfc else window
    return len(window) - len(_GRAPHEME_CLUSTER.findall(segmented))


def count_graphemes_raw(text: str) -> int:
    """Number of Unicode extended grapheme clusters in ``text`` as given: the number of
    ``regex`` ``\\X`` matches, without normalising or trimming."""
    if text.isascii():
        return len(text) - text.count("\r\n")  # CR LF is the only ASCII cluster of two
    return _count_clusters(text, False, _COMMON_RUN.match(text).end())  # type: ignore[union-attr]  # matches ''


# Longer runs of combining marks are cut to this many before counting: a run is one cluster with
# its base whatever its length, and NFC's canonical reordering of a long run is not linear.
MAX_COMBINING_RUN = 32
_LONG_COMBINING_RUN = regex.compile(rf"(\p{{M}}{{{MAX_COMBINING_RUN}}})\p{{M}}+")


def count_characters(text: str) -> int:
    """User-perceived length of an answer.

    NFC-normalises, trims surrounding whitespace (``str.strip``: Unicode White_Space,
    including the ideographic space U+3000, plus the separators U+001C-001F), then
    counts extended grapheme clusters, so an emoji ZWJ family or a letter with combining
    marks is one character. (Trimming first gives the same result: NFC never merges,
    splits or changes whitespace, which tests check.)
    """
    text = text.strip()
    if text.isascii():
        return len(text) - text.count("\r\n")  # CR LF is the only ASCII cluster of two
    common_prefix_end = _COMMON_RUN.match(text).end()  # type: ignore[union-attr]  # matches ''
    if common_prefix_end == len(text):  # typical Japanese: one cluster per code point
        return common_prefix_end
    if len(text) - common_prefix_end > MAX_COMBINING_RUN:
        text = _LONG_COMBINING_RUN.sub(r"\1", text)
    return _count_clusters(text, True, common_prefix_end)


# ---------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------


def length_reward(length: int, limit: int) -> float:
    """Reward for an answer of ``length`` characters under a limit of ``limit`` (>= 1).

    * 0 characters: 0.0 (an empty answer must never pay, or the model learns silence);
    * 1..limit: 1.0;
    * over the limit: 0.5 * (2 * limit - length) / limit, i.e. just under 0.5 at
      limit + 1, falling linearly to 0.0 at twice the limit and staying 0.0 beyond.
      Every overshoot scores below every answer within the limit, and shorter overshoots
      score higher, so a group that overshoots entirely still has a gradient.
    """
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    if length <= 0:
        return 0.0
    if length <= limit:
        return 1.0
    if length >= 2 * limit:
        return 0.0
    return 0.5 * (2 * limit - length) / limit


# ---------------------------------------------------------------------------------------
# Reading limits
# ---------------------------------------------------------------------------------------

_DIGITS = "0-9０-９"  # ASCII and full-width
_KANJI_NUMERALS = "〇零一二三四五六七八九十百千万"
_NUMERAL_DIGIT_VALUES = {
    **{str(d): d for d in range(10)},
    **{chr(0xFF10 + d): d for d in range(10)},  # full-width ０-９
    **{kanji: d for d, kanji in enumerate("〇一二三四五六七八九")},
    "零": 0,
}
_KANJI_UNIT_VALUES = {"十": 10, "百": 100, "千": 1000}
_KANJI_MAN = "万"
# A number must not continue a longer one (1.5, 12,34). In Japanese, 数/何/幾 before it
# mean "several"/"how many" (数百文字), which is no limit.
_NOT_BEFORE_EN_NUMBER = f"{_DIGITS}.,，"
_NOT_BEFORE_JA_NUMBER = f"{_NOT_BEFORE_EN_NUMBER}{_KANJI_NUMERALS}数何幾"


def _number(numerals: str, not_before: str) -> str:
    """Regex for a run of ``numerals`` not preceded by ``not_before``, in linear time.

    It starts with a character class (not a lookbehind), so the engine skips ahead to
    candidate characters; the lookbehind after the first character rejects a start inside
    a longer run at once, and the possessive quantifiers never backtrack into the run.
    (Without both, a long digit run not followed by a limit phrase takes quadratic time.)
    """
    return rf"[{numerals}](?<![{not_before}][{numerals}])[{numerals}]*+(?:[,，][{_DIGITS}]{{3}})*+"


# 30文字以内 / 30字以下 / 三十文字まで / 30文字未満 (strict). Kanji or mixed: 百二十, 1万.
_JA_NUMERALS = _DIGITS + _KANJI_NUMERALS
_JA_LIMIT = re.compile(
    rf"(?P<number>{_number(_JA_NUMERALS, _NOT_BEFORE_JA_NUMBER)})"
    r"\s*+文?字\s*+(?:(?P<strict>未満)|以内|以下|まで)"
)
# "30 characters", then optionally "or less" / "or fewer" / "max" / "at most" / "limit".
# ASCII-letter lookarounds, not \b: Japanese letters are \w and prompts mix scripts.
_EN_LIMIT = re.compile(
    rf"(?P<number>{_number(_DIGITS, _NOT_BEFORE_EN_NUMBER)})(?![{_DIGITS}])"
    r"\s*+(?:-\s*+)?char(?:acter)?s?(?![a-z])"
    r"(?P<suffix>\s*(?:or\s+(?:less|fewer|shorter)|max(?:imum)?|at\s+most|limit)(?![a-z]))?",
    re.IGNORECASE,
)
# Words that may come right before "30 characters"; the strict ones mean N-1, and the
# minimum ones ("no less than 30 characters") set no limit at all.
_EN_KEYWORDS = (
    "within", "at most", "no more than", "not more than", "up to", "no longer than",
    "not longer than", "a maximum of", "a max of", "maximum of", "max of", "a maximum", "a max",
    "maximum", "max",
)
_EN_STRICT_KEYWORDS = ("under", "below", "less than", "fewer than", "shorter than")
_EN_MINIMUM_KEYWORDS = tuple(
    f"{negation} {keyword}" for negation in ("no", "not") for keyword in _EN_STRICT_KEYWORDS
)


def _reversed_alternatives(phrases: tuple[str, ...]) -> str:
    """Regex alternatives matching each phrase written backwards, longest first."""
    return "|".join(
        r"\s+".join(word[::-1] for word in reversed(phrase.split()))
        for phrase in sorted(phrases, key=len, reverse=True)
    )


# Matched at the start of the reversed text before the number, so only one position is
# tried: "within 30" reads "nihtiw" after the spaces. No letter may precede the keyword.
_EN_KEYWORD_BEFORE_REVERSED = re.compile(
    rf"\s+(?:(?P<minimum>{_reversed_alternatives(_EN_MINIMUM_KEYWORDS)})"
    rf"|(?P<strict>{_reversed_alternatives(_EN_STRICT_KEYWORDS)})"
    rf"|{_reversed_alternatives(_EN_KEYWORDS)})(?![a-z])",
    re.IGNORECASE,
)
_EN_KEYWORD_REACH = 40  # characters looked back for a keyword, spaces included


def parse_number(token: str) -> int | None:
    """Value of a numeral in ASCII, full-width or kanji digits, or None if it is not one.

    Kanji follow the usual reading: 三十 = 30, 百二十 = 120, 二百五十 = 250, 千 = 1000,
    positional 一〇〇 = 100, and one 万 group (1万 = 10000). Units inside a group must
    decrease (十百 is rejected). Commas are thousands separators.
    """
    if "," in token or "，" in token:
        token = token.replace(",", "").replace("，", "")
    if not token or len(token) > 16:  # 九千九百九十九万九千九百九十九 has 15
        return None
    if token.isdecimal():
        return int(token)
    total = 0  # the 万 group, once closed
    section = 0  # value below 万 gathered from unit terms
    pending_digits: int | None = None  # a positional digit run not yet multiplied by a unit
    previous_unit = 10_000
    seen_man = False
    for char in token:
        digit = _NUMERAL_DIGIT_VALUES.get(char)
        if digit is not None:
            pending_digits = digit if pending_digits is None else pending_digits * 10 + digit
        elif char in _KANJI_UNIT_VALUES:
            unit = _KANJI_UNIT_VALUES[char]
            if unit >= previous_unit:
                return None
            section += (1 if pending_digits is None else pending_digits) * unit
            pending_digits, previous_unit = None, unit
        elif char == _KANJI_MAN and not seen_man:
            total = (section + (pending_digits or 0) or 1) * 10_000
            section, pending_digits, previous_unit, seen_man = 0, None, 10_000, True
        else:
            return None
    return total + section + (pending_digits or 0)


def _last_japanese_limit(prompt: str) -> tuple[int, int] | None:
    """(position, limit) of the last valid Japanese limit phrase."""
    last = None
    for match in _JA_LIMIT.finditer(prompt):
        start = match.start()
        value = parse_number(match["number"])
        if value is not None:
            if match["strict"]:
                value -= 1
            if 1 <= value <= MAX_CHAR_LIMIT:
                last = start, value
    return last


def _last_english_limit(prompt: str) -> tuple[int, int] | None:
    """(position, limit) of the last valid English limit phrase."""
    last = None
    for match in _EN_LIMIT.finditer(prompt):
        start = match.start()
        text_before = prompt[max(start - _EN_KEYWORD_REACH, 0) : start]
        keyword = _EN_KEYWORD_BEFORE_REVERSED.match(text_before[::-1])
        if keyword is None and match["suffix"] is None:
            continue  # "30 characters" alone is no limit
        if keyword is not None and keyword["minimum"]:
            continue  # "no less than 30 characters" is a minimum
        value = parse_number(match["number"])
        if value is not None:
            if keyword is not None and keyword["strict"]:
                value -= 1
            if 1 <= value <= MAX_CHAR_LIMIT:
                last = (start - keyword.end() if keyword else start), value
    return last


# Large enough for every prompt of a training set (at most 20,000 records), so a warm
# Lambda container reads each prompt once per job.
@lru_cache(maxsize=32_768)
def extract_char_limit(prompt: str) -> int | None:
    """The character limit a prompt asks for, or None.

    Japanese: N文字以内, N字以内, N文字以下, N文字まで, N文字未満 (less than N: limit N-1),
    N in ASCII, full-width or kanji digits. English (any case): within / at most /
    no more than / not more than / no longer than / up to / max(imum) (of) N characters,
    N characters or less / or fewer / or shorter / max / at most, an N-character limit;
    under / below / less than / fewer than / shorter than N characters mean N-1, and
    with "no" / "not" before them ("no less than N characters") they are a minimum, no
    limit. "char", "chars" and "character" work too. When several limits appear the
    LAST one in the prompt wins: the instruction usually ends the prompt, after any
    examples or quoted text. Limits outside 1..MAX_CHAR_LIMIT are ignored.

    Cached: the samples of one GRPO group share their prompt.
    """
    japanese = _last_japanese_limit(prompt) if "字" in prompt else None
    english = _last_english_limit(prompt) if "char" in prompt.lower() else None
    if japanese is None or english is None:
        found = japanese or english
    else:
        found = max(japanese, english)  # the later position
    return found[1] if found else None


def clear_caches() -> None:
    """Forget cached prompt limits, echo bases, results and segmented windows, as in a fresh Lambda container."""
    extract_char_limit.cache_clear()
    _joins_in_window.cache_clear()
    prompt_echo_basis.cache_clear()
    _result.cache_clear()


def parse_explicit_char_limit(value: object) -> int | None:
    """A sample's own ``char_limit`` field as an int, or None if it is not a valid limit.

    Accepts a whole number (``30``, and ``30.0`` as JSON writers produce it; not a bool) or a
    string of decimal digits with an optional ``.0`` fraction, surrounding whitespace allowed,
    in 1..MAX_CHAR_LIMIT.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        digits, _, fraction = value.strip().partition(".")
        whole_fraction = not fraction or (fraction.isdecimal() and not fraction.strip("0"))
        if not digits.isdecimal() or len(digits) > 7 or not whole_fraction:
            return None
        value = int(digits)
    elif isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    if isinstance(value, int) and 1 <= value <= MAX_CHAR_LIMIT:
        return value
    return None


# ---------------------------------------------------------------------------------------
# The task
# ---------------------------------------------------------------------------------------

CHAR_LIMIT_FIELD: Final = "char_limit"
REFERENCE_ANSWER_FIELD: Final = "reference_answer"


class Metric:
    """Names of this task's metrics_list entries."""

    CHAR_COUNT: Final = "char_count"
    CHAR_LIMIT: Final = "char_limit"  # 0: no limit is known
    # Present (1) only on the answers they describe; each scored 0.0.
    EMPTY: Final = "empty"  # nothing visible: no letter or digit
    ECHO: Final = "echo"  # the prompt, or most of it, repeated
    RESTATED_LIMIT: Final = "restated_limit"  # the answer states a character limit itself
    REFUSAL: Final = "refusal"


NO_LIMIT_FLAG: Final = "no_limit"
# What rftctl's tables show: the limit per prompt, the length per answer ("o 17" as in the seed article).
PROMPT_METRIC: Final = (Metric.CHAR_LIMIT, "limit")
ANSWER_METRIC: Final = (Metric.CHAR_COUNT, "length")

OPTIONS: Final = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "minShare": {
            "type": "number", "minimum": 0, "maximum": 1, "default": 0,
            "description": "answers shorter than this share of the limit earn count / (share x limit)",
        },
        "rejectEcho": {"type": "boolean", "default": True,
                       "description": "0.0 for an answer that repeats the prompt (echoShare of it or more)"},
        "echoShare": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 0.5,
                      "description": "share of the prompt's letters and digits an echo repeats"},
        "rejectRestatedLimit": {"type": "boolean", "default": True,
                                "description": "0.0 for an answer that states a character limit itself"},
        "rejectRefusals": {"type": "boolean", "default": True,
                           "description": "0.0 for an answer that starts by refusing or apologising"},
    },
}

def restates_limit(folded: str) -> bool:
    """The (folded) answer states a character limit itself: "30文字以内", "within 30 characters"."""
    # Past the cache: answers would push the prompts' limits out of it.
    return ("字" in folded or "char" in folded) and extract_char_limit.__wrapped__(folded) is not None


@lru_cache(maxsize=4096)
def prompt_echo_basis(prompt: str) -> EchoBasis:
    """The prompt as an echo is judged against: without its limit phrases ("30文字以内で"), which an
    answer repeating the rest of the prompt would otherwise not be charged for."""
    return echo_basis(_EN_LIMIT.sub(" ", _JA_LIMIT.sub(" ", prompt)), prompt)


class CharLimit:
    """The configured task: scores a batch (prompt limits cached per GRPO group) and checks records."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.min_share = float(options["minShare"])
        self.reject_echo = bool(options["rejectEcho"])
        self.echo_share = float(options["echoShare"])
        self.reject_restated = bool(options["rejectRestatedLimit"])
        self.reject_refusals = bool(options["rejectRefusals"])

    def score_batch(self, samples: list[ParsedSample], deadline: object = None) -> list[Any]:
        scores: list[Any] = []
        append = scores.append
        # The samples of one GRPO group share their prompt and usually arrive together:
        # comparing with the previous prompt is cheaper than the cache's hashing.
        previous_prompt: str | None = None
        previous_limit: int | None = None
        for sample in samples:
            explicit = explicit_limit(sample.top_level, sample.metadata)
            if explicit is not MISSING:
                limit = parse_explicit_char_limit(explicit)
                if limit is None:
                    append(Malformed(f"invalid char_limit {describe_value(explicit)}: expected an integer >= 1"))
                    continue
            elif sample.prompt == previous_prompt:
                limit = previous_limit
            else:
                limit = previous_limit = extract_char_limit(sample.prompt)
                previous_prompt = sample.prompt
            append(self.score(sample.answer, sample.prompt, limit))
        return scores

    def score(self, answer: str, prompt: str, limit: int | None) -> Any:
        count = count_characters(answer)
        if limit is None:
            return _result(0.0, count, 0, flag=NO_LIMIT_FLAG)
        if count == 0:
            return _result(0.0, count, limit, reason=Metric.EMPTY)
        if count >= 2 * limit:  # 0.0 whatever else is wrong with it: no need to look further
            return _result(0.0, count, limit)
        if not has_visible_content(answer):
            return _result(0.0, count, limit, reason=Metric.EMPTY)
        folded = fold(answer)
        if self.reject_restated and restates_limit(folded):
            return _result(0.0, count, limit, reason=Metric.RESTATED_LIMIT)
        if self.reject_refusals and is_refusal(folded):
            return _result(0.0, count, limit, reason=Metric.REFUSAL)
        if self.reject_echo and is_echo(folded, prompt_echo_basis(prompt), self.echo_share):
            return _result(0.0, count, limit, reason=Metric.ECHO)
        if count <= limit and self.min_share > 0:
            least = math.ceil(self.min_share * limit)
            if count < least:
                return _result(count / least, count, limit, passed=False)
        return _result(length_reward(count, limit), count, limit)

    def check_record(self, record: dict[str, Any]) -> list[str]:
        return check_record(record)


def configure(options: Mapping[str, Any]) -> CharLimit:
    return CharLimit(options)


def explicit_limit(top_level: Mapping[str, Any], metadata: Mapping[str, Any] | None) -> Any:
    """The limit a sample declares: ``char_limit`` (read as every extra field is, ``sample_field``), else
    ``reference_answer.char_limit`` read the same way; MISSING when it declares none (null is none)."""
    value = sample_field(top_level, metadata, CHAR_LIMIT_FIELD)
    if value is not None:
        return value
    reference = sample_field(top_level, metadata, REFERENCE_ANSWER_FIELD)
    if isinstance(reference, dict) and reference.get(CHAR_LIMIT_FIELD) is not None:
        return reference[CHAR_LIMIT_FIELD]
    return MISSING


@lru_cache(maxsize=65536)
def _result(reward: float, count: int, limit: int, *, reason: str | None = None, flag: str | None = None,
            passed: bool | None = None) -> Any:
    metrics = {Metric.CHAR_COUNT: count, Metric.CHAR_LIMIT: limit}
    if reason is not None:
        metrics[reason] = 1
    return Score(reward, metrics, passed=passed, flag=flag)


# ---------------------------------------------------------------------------------------
# The dataset check
# ---------------------------------------------------------------------------------------


def check_record(record: Mapping[str, Any]) -> list[str]:
    """Every record must yield a limit: from ``char_limit`` and/or the prompt's wording, agreeing.

    ``char_limit`` must be a whole JSON number (``30`` or ``30.0``; the grader would also take
    ``"30"``, but training data we write should not need that leniency); ``reference_answer`` is a
    string or an object, and when it is an object with a ``char_limit``, that must agree too.
    """
    problems: list[str] = []
    declared: list[tuple[str, Any]] = []
    if CHAR_LIMIT_FIELD in record:
        declared.append((CHAR_LIMIT_FIELD, record[CHAR_LIMIT_FIELD]))
    if REFERENCE_ANSWER_FIELD in record:
        reference = record[REFERENCE_ANSWER_FIELD]
        if isinstance(reference, dict):
            if CHAR_LIMIT_FIELD in reference:
                declared.append((f"{REFERENCE_ANSWER_FIELD}.{CHAR_LIMIT_FIELD}", reference[CHAR_LIMIT_FIELD]))
        elif reference is not None and not isinstance(reference, str):
            problems.append(f"reference_answer must be a string or an object, got {describe_value(reference)}")
    limits: list[tuple[str, int]] = []
    for name, value in declared:
        limit = _whole_limit(value)
        if limit is None:
            problems.append(f"{name} must be an integer from 1 to {MAX_CHAR_LIMIT}, got {describe_value(value)}")
            return problems
        limits.append((name, limit))
    if len({limit for _, limit in limits}) > 1:
        problems.append("char_limit is {} but reference_answer.char_limit is {}".format(*(v for _, v in limits)))
        return problems
    prompt = _last_user_prompt(record)
    if prompt is None:
        return problems  # the generic check reports the messages
    stated = extract_char_limit(prompt)
    if not limits:
        if stated is None:
            problems.append(
                "no character limit: add a char_limit field or state the limit in the prompt "
                f"(e.g. '30文字以内'): {describe_value(prompt)}"
            )
    elif stated is not None and stated != limits[0][1]:
        problems.append(
            f"{limits[0][0]} is {limits[0][1]} but the prompt asks for at most {stated} characters: "
            f"{describe_value(prompt)}"
        )
    return problems


def _last_user_prompt(record: Mapping[str, Any]) -> str | None:
    messages = record.get("messages")
    if not isinstance(messages, list):
        return None
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return message_text(message.get("content"))
    return None


def _whole_limit(value: Any) -> int | None:
    """A limit given as a JSON number: 30 and 30.0 are 30; anything else (true too) is None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    return value if 1 <= value <= MAX_CHAR_LIMIT else None
