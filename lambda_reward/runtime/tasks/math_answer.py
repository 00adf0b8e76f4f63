"""Math word problems (GSM8K): the final answer compared numerically with the reference answer.

The final answer is read from the model's visible answer (reasoning already removed) by the
``extract`` option:

* ``hash``: ``#### 72``, the GSM8K format (exactly four #, then the number: ``#### Step 1`` is a
  heading, not an answer; ``#### 72 apples`` is 72, ``#### 2^10`` no number);
* ``boxed``: ``\\boxed{72}`` (LaTeX; the box must hold exactly one number);
* ``answer``: ``ANSWER: 72``, ``Final answer: 72``, ``The answer is 72``, ``答え：72``, ``答えは72``
  (the word in lower, title or upper case, then the number);
* ``last-number``: the last number of the answer;
* ``marker``: the first kind present of ``hash``, ``boxed``, ``answer`` (in that order);
* ``auto`` (default): as ``marker``, else the last number (scored, but not well formed).

Numbers are compared exactly, as rationals (``72``, ``72.0``, ``72.00`` and ``$72`` are equal;
``1,234``, ``1234.5``, ``.5``, ``-2``, ``3/4``, ``\\frac{3}{4}``, ``1.5e3``, full-width digits),
within ``absoluteTolerance`` / ``relativeTolerance`` when set. A percent (``50%``, ``50 percent``)
equals its number either way: ``50%`` matches a reference of ``50`` and of ``0.5``.

An answer scores 1.0 when its final answer equals the reference, ``partialCredit`` (default 0)
when it is well formed (an explicit marker, or any number under ``last-number``) but wrong, and
0.0 otherwise. Final answers that disagree (two ``####`` with different numbers, a box holding
two numbers, more than ``MAX_MARKERS`` markers of the kind read) score 0.0 as ``ambiguous``:
listing candidates never pays.

The reference is the sample's ``reference_answer`` (top level, else ``metadata``), as AWS's GSM8K
samples write it: a text ending ``#### 72`` (the GSM8K answer; the number after the last
``####``), an object with ``final_answer`` (AWS's Nova sample), ``answer`` (AWS's FinQA sample)
or ``text`` (a text ending ``#### 72``; AWS's GPT-OSS grader), or a bare number (``72``,
``"72"``). A reference that is none of these makes the sample malformed, with the reason.

Full-width digits and signs are read as ASCII and invisible characters (zero-width spaces, soft
hyphens) ignored, so an answer is read as a reader sees it. Every regular expression runs in
linear time, numbers longer than ``MAX_DIGITS`` digits are never converted, and the work per
answer is bounded however long or repetitive it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, Final, NamedTuple

from lambda_reward.runtime.samples import ParsedSample, describe_value
from lambda_reward.runtime.tasks import Malformed, Score

DESCRIPTION: Final = "Math word problems: the final answer (#### 72, \\boxed{72}, ANSWER: 72) equals the reference"

# A number with more digits than this (integer and fraction together) is not compared: nobody's
# answer has them, and int() on a long digit string is slow (and refused past 4,300 digits).
MAX_DIGITS: Final = 40
# Largest |exponent| of a number written 1.5e3.
MAX_EXPONENT: Final = 60
# More final-answer markers of one kind than this make an answer ambiguous.
MAX_MARKERS: Final = 16
# More occurrences of a marker's text than this (####, \boxed, answer) make an answer ambiguous
# without reading further: the work per answer stays bounded.
MAX_OCCURRENCES: Final = 256
# How far after a `####` or `ANSWER:` marker its number is looked for on the line, and the longest
# \boxed{...} content read.
PAYLOAD_CHARS: Final = 200
# The last number's token starts at most this many characters before its last digit.
_TOKEN_REACH: Final = 160
# Windows read backwards for the last number before giving up (each at least _NEAR_REACH long).
MAX_WINDOWS: Final = 32

REFERENCE_FIELD: Final = "reference_answer"
# Keys of an object reference_answer holding the final answer, in order of preference.
REFERENCE_KEYS: Final = ("final_answer", "answer", "text")


class Metric:
    """Names of this task's metrics_list entries."""

    CORRECT: Final = "correct"  # 1: the final answer equals the reference
    WELL_FORMED: Final = "well_formed"  # 1: the answer gave its final answer as the format asks
    # Present (1) only on the answers they describe; each scored 0.0.
    NO_ANSWER: Final = "no_answer"  # no final answer that can be read
    AMBIGUOUS: Final = "ambiguous"  # final answers that disagree, or too many of them


class Extract:
    """Values of the ``extract`` option."""

    AUTO: Final = "auto"
    MARKER: Final = "marker"
    HASH: Final = "hash"
    BOXED: Final = "boxed"
    ANSWER: Final = "answer"
    LAST_NUMBER: Final = "last-number"


EXTRACT_MODES: Final = (Extract.AUTO, Extract.MARKER, Extract.HASH, Extract.BOXED, Extract.ANSWER,
                        Extract.LAST_NUMBER)

OPTIONS: Final = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "extract": {
            "enum": list(EXTRACT_MODES), "default": Extract.AUTO,
            "description": "where the final answer is read: hash (#### 72), boxed (\\boxed{72}), answer "
                           "(ANSWER: 72), marker (the first of those present), last-number, or auto (a marker, "
                           "else the last number, which is then not well formed)",
        },
        "absoluteTolerance": {
            "type": "number", "minimum": 0, "default": 0,
            "description": "an answer within this distance of the reference is correct",
        },
        "relativeTolerance": {
            "type": "number", "minimum": 0, "maximum": 1, "default": 0,
            "description": "an answer within this share of the reference's magnitude is correct",
        },
        "partialCredit": {
            "type": "number", "minimum": 0, "exclusiveMaximum": 1, "default": 0,
            "description": "reward of a well-formed final answer that is wrong",
        },
    },
}


# ---------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------


class Number(NamedTuple):
    """An exact number: ``numerator / denominator`` (denominator > 0), and whether it was a percent."""

    numerator: int
    denominator: int
    percent: bool = False


_POW10: Final = tuple(10**power for power in range(MAX_DIGITS + MAX_EXPONENT + 1))
_CURRENCY: Final = "$€£¥￥₹"
# One number as people write it in an answer. It starts at a sign, a currency symbol or a digit not
# preceded by an ASCII letter, digit, "_" or "." (so "x2", "v1.2.3"'s "2" and "3" are not numbers,
# while "合計72個" holds 72). Every repetition is possessive or bounded: linear time.
_NUMBER: Final = re.compile(
    r"(?<![A-Za-z0-9_.])"
    r"(?P<sign>[-+])?"
    rf"(?:[{_CURRENCY}] ?(?P<sign2>-)?)?"
    r"(?:(?P<int>[0-9]{1,3}(?:,[0-9]{3}(?![0-9]))++|[0-9]++)(?:\.(?P<frac>[0-9]++))?|\.(?P<frac_only>[0-9]++))"
    r"(?:[eE](?P<exp>[-+]?[0-9]++))?"
    r"(?: ?/ ?(?P<den>[0-9]++(?:\.[0-9]++)?))?"
    r"(?P<percent> ?%| ?[Pp]er ?cent(?![A-Za-z]))?"
)
# Characters folded before reading: full-width forms, the minus sign, no-break spaces; and characters
# nobody sees (zero-width spaces and joiners, the soft hyphen, a byte order mark) removed, so "7\u200b2"
# is read as the 72 a reader sees.
_INVISIBLE: Final = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_FOLD: Final = str.maketrans(
    {
        **{chr(0xFF10 + digit): str(digit) for digit in range(10)},
        "，": ",", "．": ".", "％": "%", "＄": "$", "／": "/", "＃": "#", "＋": "+", "－": "-", "−": "-",
        "＝": "=", "＊": "*", "\u00a0": " ", "\u202f": " ", "\u2009": " ",
        **{char: None for char in _INVISIBLE},
    }
)
_FOLDABLE: Final = re.compile(f"[０-９，．％＄／＃＋－−＝＊\u00a0\u202f\u2009{_INVISIBLE}]")


def fold(text: str) -> str:
    """``text`` with full-width digits and signs, the minus sign and no-break spaces made ASCII, and
    invisible characters removed."""
    if text.isascii() or _FOLDABLE.search(text) is None:
        return text
    return text.translate(_FOLD)


def _number_of(match: re.Match[str]) -> Number | None:
    """The value of a ``_NUMBER`` match; None when it has too many digits, a huge exponent or /0."""
    token = match[0]
    if token.isdigit():  # the usual case: "72"
        return Number(int(token), 1) if len(token) <= MAX_DIGITS else None
    integer = match["int"] or ""
    if "," in integer:
        integer = integer.replace(",", "")
    fraction = match["frac"] or match["frac_only"] or ""
    digits = integer + fraction
    if len(digits) > MAX_DIGITS:
        return None
    numerator = int(digits)
    denominator = _POW10[len(fraction)]
    exponent_text = match["exp"]
    if exponent_text is not None:
        if len(exponent_text) > 3:
            return None
        exponent = int(exponent_text)
        if exponent > MAX_EXPONENT or exponent < -MAX_EXPONENT:
            return None
        if exponent >= 0:
            numerator *= _POW10[exponent]
        else:
            denominator *= _POW10[-exponent]
    if (match["sign"] == "-") != (match["sign2"] == "-"):
        numerator = -numerator
    divisor_text = match["den"]
    if divisor_text is not None:
        whole, _, decimals = divisor_text.partition(".")
        if len(whole) + len(decimals) > MAX_DIGITS:
            return None
        divisor = int(whole + decimals)
        if divisor == 0:
            return None
        numerator *= _POW10[len(decimals)]
        denominator *= divisor
    return Number(numerator, denominator, match["percent"] is not None)


# LaTeX as answers write numbers: \frac{3}{4}, \dfrac34, \boxed{\text{72 apples}}, 1{,}234, \$, \%.
_LATEX_FRACTION: Final = re.compile(r"\\[dt]?frac *\{ *([^{}]*?) *\} *\{ *([^{}]*?) *\}|\\[dt]?frac *([0-9])([0-9])")
_LATEX_WRAPPER: Final = re.compile(
    r"\\(?:boxed|fbox|text(?:bf|rm|it|normal)?|math(?:rm|bf|it|sf)|mbox|operatorname) *\{([^{}]*)\}"
)
_LATEX_DROPPED: Final = re.compile(r"\\[,!;: ]|\\(?:left|right|displaystyle|quad|qquad)(?![A-Za-z])|~|\*\*")
_LATEX_SPACED: Final = re.compile(r"\\[()\[\]]|\$\$")


def _fraction(match: re.Match[str]) -> str:
    if match[1] is not None:
        return f"{match[1]}/{match[2]}"
    return f"{match[3]}/{match[4]}"


def unlatex(text: str) -> str:
    """The LaTeX of a short answer as plain text: ``\\frac{3}{4}`` to ``3/4``, wrappers (``\\boxed``,
    ``\\text``...) to their content, ``{,}`` to ``,``, ``\\$`` and ``\\%`` to ``$`` and ``%``, thin
    spaces and ``\\left``/``\\right`` dropped. Unknown commands stay (so ``2\\pi`` is not 2)."""
    if "\\" not in text and "{" not in text and "**" not in text and "$$" not in text:
        return text
    text = text.replace("{,}", ",").replace("\\$", "$").replace("\\%", "%")
    for _ in range(2):  # innermost first: \boxed{\frac{3}{4}}, \frac{\text{3}}{4}
        text = _LATEX_FRACTION.sub(_fraction, text)
        text = _LATEX_WRAPPER.sub(r" \1 ", text)
    text = _LATEX_DROPPED.sub("", text)
    return _LATEX_SPACED.sub(" ", text)


# What may surround the single number of a box or a reference: words (units), spaces, punctuation,
# currency; not the rest of an expression (2^10, 3 + 4, 2\pi, x - 1, \sqrt{2}).
_EXPRESSION: Final = re.compile(r"[\\^_+*×÷·/<>±√π-]")
_ASCII_DIGIT: Final = re.compile("[0-9]")


def parse_number(text: str) -> Number | None:
    """The number ``text`` states, alone: ``72``, ``$1,234.50``, ``50%``, ``-3/4``, ``\\frac{3}{4}``,
    ``72 apples``, ``x = 5``; None when it holds no number, two numbers or an expression."""
    text = fold(text)
    if text.isascii() and text.isdigit():
        return Number(int(text), 1) if len(text) <= MAX_DIGITS else None
    text = unlatex(text)
    matches = _NUMBER.finditer(text)
    first = next(matches, None)
    if first is None or next(matches, None) is not None:
        return None
    rest = text[: first.start()] + text[first.end() :]
    if _EXPRESSION.search(rest) is not None or _ASCII_DIGIT.search(rest) is not None:
        return None
    return _number_of(first)


def numbers_match(answer: Number, reference: Number, absolute: float = 0.0, relative: float = 0.0) -> bool:
    """Whether ``answer`` equals ``reference`` (exactly, or within the tolerances), a percent read
    either as its number or as its number / 100."""
    a, b, answer_percent = answer
    c, d, reference_percent = reference
    if a * d == c * b:
        return True
    if answer_percent and a * d == c * b * 100:
        return True
    if reference_percent and a * d * 100 == c * b:
        return True
    if absolute <= 0 and relative <= 0:
        return False
    candidates = [(a / b, c / d)]
    if answer_percent:
        candidates.append((a / (b * 100), c / d))
    if reference_percent:
        candidates.append((a / b, c / (d * 100)))
    for given, expected in candidates:
        if abs(given - expected) <= max(absolute, relative * abs(expected)):
            return True
    return False


def _same(first: Number, second: Number) -> bool:
    return first.numerator * second.denominator == second.numerator * first.denominator and (
        first.percent == second.percent
    )


# ---------------------------------------------------------------------------------------
# Extracting the final answer
# ---------------------------------------------------------------------------------------


class Extraction(NamedTuple):
    """What ``extract_answer`` read: the final answer (None: none), whether it came in the asked-for
    format, and why there is none (``Metric.NO_ANSWER`` / ``Metric.AMBIGUOUS``)."""

    value: Number | None
    well_formed: bool
    reason: str | None = None


# A kind's reading: its agreed Number, None when the kind is absent, or a reason (no answer, ambiguous).
_Reading = Number | str | None

# After a line marker, before its number: spaces, bold, a colon or "=", a bracket, "x =".
_AFTER_MARKER: Final = re.compile(r"[ \t\u3000*:=\[(]*+(?:[A-Za-z] ?= ?)?")
# After a line marker's number, the rest of an expression: the number is not the answer (#### 2^10).
_CONTINUED: Final = re.compile(r" ?(?:[\\^_{+×÷·/=<>±√π-]|\*(?!\*) ?[0-9(]|[0-9])")
_HASH_RUN: Final = re.compile(r"#+")
_HASH: Final = "####"
_BOXED: Final = "\\boxed"
# "answer" in lower, title or upper case ("ANSWER:", "Final answer:", "The answer is"), matched at the
# letter before an occurrence of "nswer" / "NSWER"; 答え：/ 答は (回答：, 解答： too) at an occurrence of 答.
# Found with str.find first: a case-insensitive search of the whole answer is many times slower.
_ANSWER_NEEDLES: Final = ("nswer", "NSWER", "答")
_ANSWER_MARKER: Final = re.compile(
    r"(?<![A-Za-z])[Aa](?:nswer|NSWER)\**+[ \t]*+(?:[:：]|(?:is|IS|Is)(?![A-Za-z])[ \t]*+:?)"
)
_ANSWER_MARKER_JA: Final = re.compile(r"答え?[ \t\u3000]*+(?:[:：]|は)")


def _line_marker_value(text: str, start: int) -> Number | str | None:
    """The number right after a line marker ending at ``start`` (``#### 72``, ``ANSWER: $72``):
    a Number, ``NO_ANSWER`` when it cannot be compared, None when no number follows (not a marker:
    ``#### Step 1``)."""
    position = _AFTER_MARKER.match(text, start).end()  # type: ignore[union-attr]  # matches ''
    match = _NUMBER.match(text, position)
    if match is not None and _CONTINUED.match(text, match.end()) is None:
        value = _number_of(match)
        return Metric.NO_ANSWER if value is None else value
    line_end = text.find("\n", start, start + PAYLOAD_CHARS)
    line = text[start : line_end if line_end >= 0 else start + PAYLOAD_CHARS]
    if "\\" not in line and "$" not in line and "{" not in line:
        return Metric.NO_ANSWER if match is not None else None
    line = unlatex(line)
    match = _NUMBER.match(line, _AFTER_MARKER.match(line).end())  # type: ignore[union-attr]  # matches ''
    if match is None:
        return None
    if _CONTINUED.match(line, match.end()) is not None:
        return Metric.NO_ANSWER
    value = _number_of(match)
    return Metric.NO_ANSWER if value is None else value


def _agreed(readings: list[Number | str]) -> _Reading:
    """One kind's readings as its answer: the number they all give, or why there is none."""
    if not readings:
        return None
    first = readings[0]
    if len(readings) == 1:
        return first
    if isinstance(first, str):
        return Metric.AMBIGUOUS
    for other in readings[1:]:
        if isinstance(other, str) or not _same(first, other):
            return Metric.AMBIGUOUS
    return first


def _read_hash(text: str) -> _Reading:
    """``#### 72``: exactly four #, directly followed by the number (a ``#### Step 1`` heading is not one)."""
    position = text.find(_HASH)
    if position < 0:
        return None
    readings: list[Number | str] = []
    seen = 0
    while position >= 0:
        seen += 1
        if seen > MAX_OCCURRENCES:
            return Metric.AMBIGUOUS
        end = position + 4
        if text.startswith("#", end):  # ##### or longer: a heading
            end = _HASH_RUN.match(text, end).end()  # type: ignore[union-attr]  # text[end] is "#"
        else:
            reading = _line_marker_value(text, end)
            if reading is not None:
                readings.append(reading)
                if len(readings) > MAX_MARKERS:
                    return Metric.AMBIGUOUS
        position = text.find(_HASH, end)
    return _agreed(readings)


def _box_content(text: str, opening: int) -> str | None:
    """The content of the braces opening at ``text[opening]`` (nested braces counted), or None when
    they do not close within ``PAYLOAD_CHARS``."""
    closing = text.find("}", opening + 1, opening + 2 + PAYLOAD_CHARS)
    if closing < 0:
        return None
    content = text[opening + 1 : closing]
    if "{" not in content:
        return content
    depth = 0
    for index in range(opening, min(len(text), opening + 2 + PAYLOAD_CHARS)):
        char = text[index]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[opening + 1 : index]
    return None


def _read_boxed(text: str) -> _Reading:
    """``\\boxed{72}``: each box must hold exactly one number (``\\boxed{5, 6}`` is ambiguous)."""
    position = text.find(_BOXED)
    if position < 0:
        return None
    readings: list[Number | str] = []
    seen = 0
    while position >= 0:
        seen += 1
        if seen > MAX_OCCURRENCES:
            return Metric.AMBIGUOUS
        opening = position + len(_BOXED)
        while text.startswith(" ", opening):
            opening += 1
        if text.startswith("{", opening):
            if len(readings) == MAX_MARKERS:
                return Metric.AMBIGUOUS
            content = _box_content(text, opening)
            value = parse_number(content) if content is not None else None
            if value is not None:
                readings.append(value)
            elif content is not None and len(_NUMBER.findall(content)) > 1:
                readings.append(Metric.AMBIGUOUS)
            else:
                readings.append(Metric.NO_ANSWER)
        position = text.find(_BOXED, opening)
    return _agreed(readings)


def _read_answer_marker(text: str) -> _Reading:
    """``ANSWER: 72``, ``**Final answer:** 72``, ``The answer is 72``, ``答え：72``, ``答えは72``."""
    positions: list[int] = []
    for needle in _ANSWER_NEEDLES:
        position = text.find(needle)
        while position >= 0:
            positions.append(position)
            if len(positions) > MAX_OCCURRENCES:
                return Metric.AMBIGUOUS
            position = text.find(needle, position + 1)
    if not positions:
        return None
    readings: list[Number | str] = []
    for position in sorted(positions):
        if text[position] == "答":
            marker = _ANSWER_MARKER_JA.match(text, position)
        else:
            marker = _ANSWER_MARKER.match(text, position - 1) if position else None
        if marker is None:
            continue
        reading = _line_marker_value(text, marker.end())
        if reading is not None:
            readings.append(reading)
            if len(readings) > MAX_MARKERS:
                return Metric.AMBIGUOUS
    return _agreed(readings)


_DIGITS: Final = "0123456789"
# What a run of digits is made of.
_TOKEN_CHARS: Final = frozenset("0123456789,.")
# Every character a number can hold but letters (with LaTeX's 1{,}234 and 1\,234; an exponent's e
# and "percent" follow a digit, and the number's lookbehind refuses a letter before a digit).
_NUMBER_CHARS: Final = _TOKEN_CHARS | frozenset(f"{{}}\\/ -+%{_CURRENCY}")
_NEAR_REACH: Final = 24


def _far_start(text: str, last_digit: int) -> int:
    """Where the last number's window starts, ``_TOKEN_REACH`` characters before the last digit (no
    number compared is longer); -1 when the last digit is in a digit run longer than any compared.
    A digit run crossing the window's start is taken whole, or skipped when that long."""
    start = last_digit - _TOKEN_REACH
    if start <= 0:
        return 0
    if text[start - 1] not in _TOKEN_CHARS:
        return start
    run_start, floor = start - 1, max(start - 2 * MAX_DIGITS, 0)
    while run_start > floor and text[run_start - 1] in _TOKEN_CHARS:
        run_start -= 1
    if run_start > floor or run_start == 0:
        return max(run_start - 2, 0)  # room for a sign and a currency symbol
    while start <= last_digit and text[start] in _TOKEN_CHARS:  # no number of a run this long is compared
        start += 1
    return start if start <= last_digit else -1


def _window_start(text: str, last_digit: int) -> int:
    """Where to read the number around ``text[last_digit]`` from: back over the characters a number
    is made of, to one it is not (-1: the digit is in a digit run longer than any number compared)."""
    start = max(last_digit - _NEAR_REACH, 0)
    floor = max(start - _NEAR_REACH - MAX_DIGITS, 0)
    while start > floor:
        char = text[start - 1]
        if char in _NUMBER_CHARS or (char in "eE" and start > 1 and text[start - 2] in _TOKEN_CHARS):  # 1.5e-3
            start -= 1
        else:
            break
    if start == floor and start > 0 and text[start - 1] in _NUMBER_CHARS:
        start = _far_start(text, last_digit)  # a long run of digits and separators: a list of numbers?
    if start > 0 and text.find("}", start) >= 0:  # LaTeX: start at a command, never inside one (\dfrac{123}{4})
        command = text.rfind("\\", max(start - _NEAR_REACH - MAX_DIGITS, 0), start)
        if command >= 0:
            start = command
    return start


def _read_last_number(text: str) -> _Reading:
    """The last number of the text (``NO_ANSWER`` when it cannot be compared).

    Read from a window around the last digit, so a long answer costs no more than its tail; when
    that digit belongs to no number (``CO2``), from a window around the last digit before it, at
    most ``MAX_WINDOWS`` times.
    """
    length = end = len(text)
    for _ in range(MAX_WINDOWS):
        last_digit = -1
        for digit in _DIGITS:
            found = text.rfind(digit, last_digit + 1, end)
            if found > last_digit:
                last_digit = found
        if last_digit < 0:
            return None
        start = _window_start(text, last_digit)
        if start < 0:
            return Metric.NO_ANSWER
        # No number starts at or after `end`; one starting before it may run past it.
        stop = length if end == length else min(end + _TOKEN_REACH, length)
        skip = 1 if start else 0  # one character before the window, for the lookbehind
        window = text[start - skip : stop]
        if "\\" in window or "{" in window:
            window = window[:skip] + unlatex(window[skip:])
        last = None
        for last in _NUMBER.finditer(window, skip):  # noqa: B007 - the loop keeps the last match
            pass
        if last is not None:
            if stop < length and last.end() == len(window):
                return Metric.NO_ANSWER  # a number running past the window: longer than any compared
            value = _number_of(last)
            return Metric.NO_ANSWER if value is None else value
        if start == 0:
            return None
        end = start
    return Metric.NO_ANSWER


_MARKER_READERS: Final[tuple[Callable[[str], _Reading], ...]] = (_read_hash, _read_boxed, _read_answer_marker)
_READERS: Final[Mapping[str, tuple[Callable[[str], _Reading], ...]]] = {
    Extract.AUTO: _MARKER_READERS,
    Extract.MARKER: _MARKER_READERS,
    Extract.HASH: (_read_hash,),
    Extract.BOXED: (_read_boxed,),
    Extract.ANSWER: (_read_answer_marker,),
    Extract.LAST_NUMBER: (_read_last_number,),
}
_NONE_FOUND: Final = Extraction(None, False, Metric.NO_ANSWER)
_AMBIGUOUS: Final = Extraction(None, False, Metric.AMBIGUOUS)


def extract_answer(text: str, mode: str = Extract.AUTO) -> Extraction:
    """The final answer of ``text`` (a model's visible answer) as ``mode`` reads it (``EXTRACT_MODES``).

    Markers of one kind that disagree make the answer ambiguous; in ``auto`` and ``marker`` the
    first kind present (``####``, then ``\\boxed``, then ``ANSWER:``) is the one read. ``auto``
    falls back to the last number, which is then not well formed.
    """
    readers = _READERS.get(mode)
    if readers is None:
        raise ValueError(f"extract must be one of {', '.join(EXTRACT_MODES)}, got {mode!r}")
    text = fold(text)
    for reader in readers:
        reading = reader(text)
        if reading is None:
            continue
        if isinstance(reading, str):
            return _AMBIGUOUS if reading == Metric.AMBIGUOUS else _NONE_FOUND
        return Extraction(reading, True)
    if mode == Extract.AUTO:
        reading = _read_last_number(text)
        if isinstance(reading, Number):
            return Extraction(reading, False)
    return _NONE_FOUND


# ---------------------------------------------------------------------------------------
# The reference answer
# ---------------------------------------------------------------------------------------


class ReferenceError(ValueError):
    """A reference answer that gives no number; the message names the field."""


@lru_cache(maxsize=32_768)
def _reference_text(text: str) -> Number | str:
    """A reference text's number (the one after its last ``####``, else the whole text), or why not."""
    if text.isascii() and text.isdigit() and len(text) <= MAX_DIGITS:
        return Number(int(text), 1)
    marker = text.rfind(_HASH)
    if marker >= 0:
        tail = text[marker + len(_HASH) :].strip().strip("*").strip()
        value = parse_number(tail)
        if value is None:
            return f"has no number after its last '####' (found {describe_value(tail)})"
        return value
    if not text.strip():
        return "is empty"
    value = parse_number(text)
    if value is None:
        return f"is {describe_value(text)}: neither a number nor a text ending '#### <number>'"
    return value


def _json_number(value: int | float) -> Number | str:
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return f"is {value!r}, not a finite number"
        parsed = _reference_text(repr(value))  # 0.1 is one tenth, as written, not its binary neighbour
        if isinstance(parsed, str):
            return f"is {value!r}, beyond the numbers compared (exponent at most {MAX_EXPONENT})"
        return parsed
    if abs(value) >= _POW10[MAX_DIGITS]:
        return f"has more than {MAX_DIGITS} digits"
    return Number(value, 1)


def read_reference(value: Any, where: str = REFERENCE_FIELD) -> Number | str:
    """The reference's number, or a reason naming the field (``where`` is its name) that says why not."""
    if isinstance(value, str):
        parsed = _reference_text(value)
        return parsed if isinstance(parsed, Number) else f"{where} {parsed}"
    if isinstance(value, dict):
        for key in REFERENCE_KEYS:
            inner = value.get(key)
            if inner is not None:
                return read_reference(inner, f"{where}.{key}") if not isinstance(inner, (dict, list)) else (
                    f"{where}.{key} is {describe_value(inner)}, expected a number or a text"
                )
        return (f"{where} is an object without {', '.join(REFERENCE_KEYS[:-1])} or {REFERENCE_KEYS[-1]} "
                f"(expected e.g. {{\"final_answer\": \"72\"}})")
    if isinstance(value, bool):
        return f"{where} is {describe_value(value)}, expected a number or a text ending '#### <number>'"
    if isinstance(value, (int, float)):
        parsed = _json_number(value)
        return parsed if isinstance(parsed, Number) else f"{where} {parsed}"
    if value is None:
        return (f"no {REFERENCE_FIELD} (top level or metadata): math-answer compares the final answer with it "
                "(e.g. a GSM8K answer ending '#### 72', or {\"final_answer\": \"72\"})")
    return f"{where} is {describe_value(value)}, expected a number, a text ending '#### <number>' or an object"


def parse_reference(value: Any) -> Number:
    """``read_reference`` that raises ``ReferenceError`` (naming the field) instead of returning a reason."""
    parsed = read_reference(value)
    if isinstance(parsed, str):
        raise ReferenceError(parsed)
    return parsed


def clear_caches() -> None:
    """Forget cached reference parses, as in a fresh Lambda container."""
    _reference_text.cache_clear()


# ---------------------------------------------------------------------------------------
# The task
# ---------------------------------------------------------------------------------------


class MathAnswer:
    """The configured task: reads each sample's reference (parses cached per text) and scores its answer."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.mode = str(options["extract"])
        if self.mode not in _READERS:
            raise ValueError(f"extract must be one of {', '.join(EXTRACT_MODES)}, got {self.mode!r}")
        self.absolute = float(options["absoluteTolerance"])
        self.relative = float(options["relativeTolerance"])
        self.partial = float(options["partialCredit"])
        self._readers = _READERS[self.mode]
        self._fallback = self.mode == Extract.AUTO
        # Every score is one of these: shared, never built per sample.
        self._correct = Score(1.0, {Metric.CORRECT: 1, Metric.WELL_FORMED: 1}, passed=True)
        self._correct_unmarked = Score(1.0, {Metric.CORRECT: 1, Metric.WELL_FORMED: 0}, passed=True)
        self._wrong = Score(self.partial, {Metric.CORRECT: 0, Metric.WELL_FORMED: 1}, passed=False)
        self._wrong_unmarked = Score(0.0, {Metric.CORRECT: 0, Metric.WELL_FORMED: 0}, passed=False)
        self._no_answer = Score(0.0, {Metric.CORRECT: 0, Metric.WELL_FORMED: 0, Metric.NO_ANSWER: 1}, passed=False)
        self._ambiguous = Score(0.0, {Metric.CORRECT: 0, Metric.WELL_FORMED: 0, Metric.AMBIGUOUS: 1}, passed=False)

    def score_batch(self, samples: list[ParsedSample], deadline: object = None) -> list[Score | Malformed]:
        scores: list[Score | Malformed] = []
        append = scores.append
        previous: Any = None
        previous_reference: Number | str = ""
        for sample in samples:
            raw = sample.top_level.get(REFERENCE_FIELD)
            if raw is None and sample.metadata:
                raw = sample.metadata.get(REFERENCE_FIELD)
            # The samples of one GRPO group share their reference and usually arrive together.
            if raw is not previous or raw is None:
                previous, previous_reference = raw, read_reference(raw)
            if isinstance(previous_reference, str):
                append(Malformed(previous_reference))
            else:
                append(self.score(sample.answer, previous_reference))
        return scores

    def score(self, answer: str, reference: Number) -> Score:
        """The score of one answer against a reference number."""
        if not answer.isascii():
            answer = fold(answer)
        for reader in self._readers:
            reading = reader(answer)
            if reading is None:
                continue
            if isinstance(reading, str):
                return self._ambiguous if reading == Metric.AMBIGUOUS else self._no_answer
            if numbers_match(reading, reference, self.absolute, self.relative):
                return self._correct
            return self._wrong
        if self._fallback:
            reading = _read_last_number(answer)
            if isinstance(reading, Number):
                if numbers_match(reading, reference, self.absolute, self.relative):
                    return self._correct_unmarked
                return self._wrong_unmarked
        return self._no_answer

    def check_record(self, record: dict[str, Any]) -> list[str]:
        return check_record(record)


def configure(options: Mapping[str, Any]) -> MathAnswer:
    return MathAnswer(options)


# ---------------------------------------------------------------------------------------
# The dataset check
# ---------------------------------------------------------------------------------------


def check_record(record: Mapping[str, Any]) -> list[str]:
    """A record must carry a ``reference_answer`` (top level, else under ``metadata``) that gives a
    number; an object's ``final_answer`` and its ``text``'s ``#### N``, when both are there, must agree."""
    value = record.get(REFERENCE_FIELD)
    where = REFERENCE_FIELD
    metadata = record.get("metadata")
    if value is None and isinstance(metadata, dict) and metadata.get(REFERENCE_FIELD) is not None:
        value, where = metadata[REFERENCE_FIELD], f"metadata.{REFERENCE_FIELD}"
    if value is None:
        return [f"{REFERENCE_FIELD}: missing; math-answer compares each answer with it "
                "(e.g. a GSM8K answer ending '#### 72', or {\"final_answer\": \"72\"})"]
    parsed = read_reference(value, where)
    if isinstance(parsed, str):
        return [parsed]
    if isinstance(value, dict) and value.get("final_answer") is not None and isinstance(value.get("text"), str):
        text = read_reference(value["text"], f"{where}.text")
        if isinstance(text, Number) and not _same(parsed, text):
            return [f"{where}.final_answer and {where}.text's '#### <number>' disagree"]
    return []
