"""Math word problems (GSM8K): the final answer compared numerically with the reference answer.

The final answer is read from the model's visible answer (reasoning already removed). Its markers:

* ``#### 72``, the GSM8K format (exactly four #, then the number: ``#### Step 1`` is a heading, not
  an answer); its answer span is the rest of the line;
* ``\\boxed{72}`` (LaTeX; the box must hold exactly one number); its span, the rest of its sentence;
* ``ANSWER: 72``, ``Final answer: 72``, ``The answer is 72``, ``答え：72``, ``答えは72`` (the word in
  lower, title or upper case, then the number); its span, the rest of its sentence.

A marker commits to one number: the number right after it must be the only number of its answer
span (units and words may follow: ``#### 72 dollars``, ``The answer is 72 apples.``; an equation
gives its result: ``#### 48 + 24 = 72``); ``#### 72 or 73``, ``#### 72, 73``, ``\\boxed{72} or 73``
are ambiguous, and so are "or" and a number right before a marker (``73 or \\boxed{72}``) or opening
the next sentence (``#### 72\\nor 73``). Every marker present, of every kind, must give the same
number, whichever kind the ``extract`` option reads:

* ``hash``, ``boxed``, ``answer``: a marker of that kind must be there;
* ``marker``: any kind;
* ``auto`` (default): any kind; without one, the last number, when the sentence holding it gives no
  other number (after its last ``=``: ``48 + 24 = 72`` is 72, ``it is 72 or 73`` ambiguous); scored,
  but not well formed;
* ``last-number``: the last number of the answer, nothing else looked at (``72 or 73`` is 73).

Numbers are compared exactly, as rationals (``72``, ``72.0``, ``72.00`` and ``$72`` are equal;
``1,234``, ``1234.5``, ``.5``, ``-2``, ``3/4``, ``\\frac{3}{4}``, ``1.5e3``, full-width digits),
within ``absoluteTolerance`` / ``relativeTolerance`` when set. A percent (``50%``, ``50 percent``)
equals its number either way: ``50%`` matches a reference of ``50`` and of ``0.5``.

An answer scores 1.0 when its final answer equals the reference, ``partialCredit`` (default 0)
when it is well formed (an explicit marker, or any number under ``last-number``) but wrong, and
0.0 otherwise. Final answers that disagree (markers giving different numbers, a span or a box
holding two numbers, more than ``MAX_MARKERS`` markers of one kind) score 0.0 as ``ambiguous``:
listing candidates never pays.

The reference is the sample's ``reference_answer`` (top level, else ``metadata``), as AWS's GSM8K
samples write it: a text ending ``#### 72`` (the GSM8K answer; the number after the last
``####``), an object with ``final_answer`` (AWS's Nova sample), ``answer`` (AWS's FinQA sample)
or ``text`` (a text ending ``#### 72``; AWS's GPT-OSS grader), or a bare number (``72``,
``"72"``). A reference that is none of these makes the sample malformed, with the reason.

Full-width digits and signs are read as ASCII and invisible characters (zero-width spaces, soft
hyphens) ignored, so an answer is read as a reader sees it. Every regular expression runs in
linear time, numbers longer than ``MAX_DIGITS`` digits are never converted, and the work per
answer is bounded however long or repetitive it is (an answer span or a final sentence longer than
``SPAN_CHARS`` is no answer).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
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
# The longest \boxed{...} content read.
PAYLOAD_CHARS: Final = 200
# The longest answer span read: the rest of a `####` line, of an `ANSWER:` or box's sentence, and the
# final sentence of an answer without a marker (`auto`). A longer one is no answer: whatever it holds
# past this could be a second candidate.
SPAN_CHARS: Final = 400
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
                           "(ANSWER: 72), marker (any of those; all markers present must agree), last-number (the "
                           "last number, hedges like '72 or 73' included), or auto (a marker, else the last number "
                           "when its sentence gives no other, which is then not well formed)",
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


# Builds a Number without the Python-level __new__ of a NamedTuple: _integer(Number, (72, 1, False)).
_integer: Final = tuple.__new__
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
        return _integer(Number, (int(token), 1, False)) if len(token) <= MAX_DIGITS else None
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
# Markdown bold (**72**) is dropped, but not a power (7**2 is no 72).
_LATEX_DROPPED: Final = re.compile(
    r"\\[,!;: ]|\\(?:left|right|displaystyle|quad|qquad)(?![A-Za-z])|~|(?<![0-9])\*\*|\*\*(?![0-9])"
)
_LATEX_SPACED: Final = re.compile(r"\\[()\[\]]|\$\$")


def _fraction(match: re.Match[str]) -> str:
    if match[1] is not None:
        return f"{match[1]}/{match[2]}"
    return f"{match[3]}/{match[4]}"


def _wrapped(match: re.Match[str]) -> str:
    return f" {match[1]} "  # a function: many times faster than the template r" \1 "


def unlatex(text: str) -> str:
    """The LaTeX of a short answer as plain text: ``\\frac{3}{4}`` to ``3/4``, wrappers (``\\boxed``,
    ``\\text``...) to their content, ``{,}`` to ``,``, ``\\$`` and ``\\%`` to ``$`` and ``%``, thin
    spaces and ``\\left``/``\\right`` dropped. Unknown commands stay (so ``2\\pi`` is not 2)."""
    if "\\" not in text and "{" not in text and "**" not in text and "$$" not in text:
        return text
    if "{," in text:
        text = text.replace("{,}", ",")
    if "\\" in text:
        text = text.replace("\\$", "$").replace("\\%", "%")
        for _ in range(2):  # innermost first: \boxed{\frac{3}{4}}, \frac{\text{3}}{4}, \frac{\frac{1}{2}}{3}
            before = text
            if "frac" in text:
                text = _LATEX_FRACTION.sub(_fraction, text)
            if "{" in text:
                text = _LATEX_WRAPPER.sub(_wrapped, text)
            if text == before or "\\" not in text:
                break
    if "\\" in text or "~" in text or "**" in text:
        text = _LATEX_DROPPED.sub("", text)
    if "\\" in text or "$$" in text:
        text = _LATEX_SPACED.sub(" ", text)
    return text


# What may surround the single number of a box or a reference: words (units), spaces, punctuation,
# currency; not the rest of an expression (2^10, 3 + 4, 2\pi, x - 1, \sqrt{2}).
_EXPRESSION: Final = re.compile(r"[\\^_+*×÷·/<>±√π-]")
_ASCII_DIGIT: Final = re.compile("[0-9]")


def parse_number(text: str) -> Number | None:
    """The number ``text`` states, alone: ``72``, ``$1,234.50``, ``50%``, ``-3/4``, ``\\frac{3}{4}``,
    ``72 apples``, ``x = 5``; None when it holds no number, two numbers or an expression."""
    text = fold(text)
    if text.isascii() and text.isdigit():
        return _integer(Number, (int(text), 1, False)) if len(text) <= MAX_DIGITS else None
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


# A reading: the agreed Number, None when there is nothing to read, or a reason (no answer, ambiguous).
_Reading = Number | str | None

# After a marker, before its number: spaces, bold, a colon or "=", a bracket, "x =".
_AFTER_MARKER: Final = re.compile(r"[ \t\u3000*:=\[(]*+(?:[A-Za-z] ?= ?)?")
# After a marker's number, the rest of an expression: the number is not the answer (#### 2^10).
_CONTINUED: Final = re.compile(r" ?(?:[\\^_{+×÷·/=<>±√π-]|\*(?!\*) ?[0-9(]|[0-9])")
_HASH_RUN: Final = re.compile(r"#+")
_HASH: Final = "####"
_BOXED: Final = "\\boxed"
_BOXED_OPENING: Final = "\\boxed{"
# "answer" in lower, title or upper case ("ANSWER:", "Final answer:", "The answer is"), matched at the
# letter before an occurrence of "nswer" / "NSWER"; 答え：/ 答は (回答：, 解答： too) at an occurrence of 答.
# Found with str.find first: a case-insensitive search of the whole answer is many times slower.
_ANSWER_NEEDLES: Final = ("nswer", "NSWER", "答")
_NOWHERE: Final = (-1, -1, -1)
_ANSWER_MARKER: Final = re.compile(
    r"(?<![A-Za-z])[Aa](?:nswer|NSWER)\**+[ \t]*+(?:[:：]|(?:is|IS|Is)(?![A-Za-z])[ \t]*+:?)"
)
_ANSWER_MARKER_JA: Final = re.compile(r"答え?[ \t\u3000]*+(?:[:：]|は)")
# An answer marker directly followed by a box (what _AFTER_MARKER skips, and the $ of inline math):
# "The answer is $\boxed{72}$". The box reader reads it; the marker reads as _READ_BY_BOX.
_BEFORE_BOX: Final = " \t\u3000*:=[($"
_BOX_REACH: Final = 24
_READ_BY_BOX: Final = "read_by_box"

# Where a sentence ends: a line end, 。！？, or . ! ? before a space, a line end or the end of the text
# (not the point of 1.5 or $1,234.50). The answer span of ANSWER: and of a box ends there.
_SENTENCE_END: Final = re.compile(r"[\n。！？]|[.!?](?=[ \t\r\n]|\Z)")
# The same within a line, read backwards from the last number (with str.rfind, by _sentence_start).
_SENTENCE_STOP: Final = re.compile(r"[。！？]|[.!?](?=[ \t\r])")
_STOP_FOLLOWERS: Final = frozenset(" \t\r")
# Words that offer another candidate ("72 or 73", "72. and 73", "72 または 73").
_OR_WORD: Final = r"(?:(?<![A-Za-z])(?:or|OR|Or|and|AND|And)(?![A-Za-z])|または|もしくは|あるいは)"
# In an equation's left side ("73 or 70 + 2 = 72"): a candidate offered before the result.
_OR_IN_EQUATION: Final = re.compile(rf"{_OR_WORD}|\|")
# A sentence or line opening with one, right after a final answer: "#### 72\nor 73", "The answer is 72. Or 73."
_OPENS_WITH_OR: Final = re.compile(rf"[ \t\r\n\f\v\u3000*(\[>_-]*+{_OR_WORD}")
# On the same line after a sentence stop, "/" or "|" too: "The answer is 72. | 73" (a line opening with
# "|" is a Markdown table).
_OPENS_WITH_BAR: Final = re.compile(r"[ \t\u3000*(\[]*+[/|]")
# A number and "or" (or "/", "|" on the same line) right before a marker: "73 or \boxed{72}", "73 or\n#### 72",
# "73 or the answer is 72".
_OR_BEFORE: Final = re.compile(
    rf"[0-9][^0-9\n]{{0,24}}?(?:{_OR_WORD}[ \t\r\n\f\v\u3000*$(\[]*+|[/|][ \t\u3000*$(\[]*+)"
    r"(?:(?:[Tt]he|THE|[Ff]inal|FINAL)[ \t]++){0,2}\Z"
)
# How far before a marker _OR_BEFORE looks.
_HEDGE_REACH: Final = 40
# What the text before a marker ends with (spaces, $*([ and "the"/"final" removed) when _OR_BEFORE may
# match: checked first, as a regular expression search is many times slower.
_HEDGE_ENDINGS: Final = ("or", "OR", "Or", "and", "AND", "And", "/", "|", "または", "もしくは", "あるいは")
_HEDGE_WORDS: Final = ("the", "The", "THE", "final", "Final", "FINAL")
# The last characters of _HEDGE_ENDINGS and _HEDGE_WORDS.
_HEDGE_LAST: Final = frozenset("rRdD/|はeElL")
_HEDGE_STRIPPED: Final = " \t\r\n\f\v\u3000*$(["
# The same for _OPENS_WITH_OR: what the sentence after a span starts with, without what may lead "or".
_OPENING_STRIPPED: Final = " \t\r\n\f\v\u3000*([>_-"
_OPENING_FIRST: Final = frozenset("oOaAまもあ")
_LATEX_FIRST: Final = frozenset("\\$~")
_BARS: Final = frozenset("/|")
# Sentences read back from the last number, when the sentence holding it opens with "or" or holds none.
MAX_SENTENCES: Final = 8
# After the last digit, what a number may still hold: " percent", closing braces of \frac{3}{4}.
_NUMBER_TAIL: Final = 16


# Around the number of the usual answer span (" 72", " **72**", " $72$"): read without a regular expression.
_BARE: Final = " \t\r\n\u3000*$"


def _has_latex(text: str) -> bool:
    return "\\" in text or "{" in text or "$$" in text


def _span_end(text: str, start: int, sentence: bool) -> tuple[int, int] | None:
    """Where the answer span starting at ``start`` ends (its line's end, or with ``sentence`` its
    sentence's), and where what follows it starts (-1: the text ends there); None when it runs on
    past ``SPAN_CHARS``."""
    length = len(text)
    limit = start + SPAN_CHARS
    if sentence:
        found = _SENTENCE_END.search(text, start, min(length, limit + 2))
        if found is not None and found.start() <= limit:
            return found.start(), found.end()
    else:
        end = text.find("\n", start, limit + 1)
        if end >= 0:
            return end, end + 1
    return (length, -1) if length <= limit else None


def _only(value: Number, text: str, start: int = 0, end: int | None = None) -> Number | str:
    """``value``, when every number of ``text[start:end]`` is ``value`` again; else ``AMBIGUOUS``."""
    end = len(text) if end is None else end
    if start >= end or _ASCII_DIGIT.search(text, start, end) is None:  # the usual rest: none, or words
        return value
    for match in _NUMBER.finditer(text, start, end):
        other = _number_of(match)
        if other is None or not _same(other, value):
            return Metric.AMBIGUOUS
    return value


def _read_span(span: str) -> Number | str | None:
    """The one number a marker's answer span states, right after the marker (``72``, ``$1,234.50``,
    ``\\frac{3}{4}``, ``72 apples``, an equation's result ``48 + 24 = 72``): None when no number comes
    first (``#### Step 1``: not a marker), ``NO_ANSWER`` for an expression or a number not compared,
    ``AMBIGUOUS`` when the span holds another number (``72 or 73``, ``72, 73``, ``72 (or 73)``)."""
    bare = span.strip(_BARE)
    if bare.startswith(_BOXED_OPENING) and bare.endswith("}"):  # "The answer is $\\boxed{72}$."
        bare = bare[len(_BOXED_OPENING) : -1].strip(_BARE)
    if bare.isdigit() and bare.isascii():  # the usual span: " 72", " **72**", " $72$"
        return _integer(Number, (int(bare), 1, False)) if len(bare) <= MAX_DIGITS else Metric.NO_ANSWER
    if _has_latex(span):
        span = unlatex(span)
    first = _NUMBER.match(span, _AFTER_MARKER.match(span).end())  # type: ignore[union-attr]  # matches ''
    if first is None:
        return None
    answer = first
    if _CONTINUED.match(span, first.end()) is not None:
        # An expression: an equation answers with the number after its last "=" (48 + 24 = 72).
        equals = span.rfind("=", first.end())
        if equals < 0:
            return Metric.NO_ANSWER
        if _OR_IN_EQUATION.search(span, first.end(), equals) is not None:
            return Metric.AMBIGUOUS
        result = _NUMBER.match(span, _AFTER_MARKER.match(span, equals + 1).end())  # type: ignore[union-attr]
        if result is None or _CONTINUED.match(span, result.end()) is not None:
            return Metric.NO_ANSWER
        answer = result
    value = _number_of(answer)
    if value is None:
        return Metric.NO_ANSWER
    return _only(value, span, answer.end())


def _committed(text: str, marker: int, value: Number, follow: int) -> Number | str:
    """``value``, unless a number and "or" come right before the marker at ``marker`` (``73 or
    \\boxed{72}``) or the sentence after its span (from ``follow``; -1: none) opens with "or" and
    holds another number (``#### 72\\nor 73``): then ``AMBIGUOUS``."""
    if marker and _offered_before(text, marker):
        return Metric.AMBIGUOUS
    if 0 <= follow < len(text) and _offers_after(text, follow, value):
        return Metric.AMBIGUOUS
    return value


def _offered_before(text: str, marker: int) -> bool:
    """Whether a number and "or" come right before the marker at ``marker`` (``73 or \\boxed{72}``)."""
    start = marker - _HEDGE_REACH if marker > _HEDGE_REACH else 0
    # A quick test first (a regular expression search is many times slower): the text before the
    # marker, without spaces, $*([ and "the"/"final" (twice at most), must end with "or", "and", "/", "|".
    before = text[start:marker].rstrip(_HEDGE_STRIPPED)
    if not before or before[-1] not in _HEDGE_LAST:
        return False
    if before.endswith(_HEDGE_WORDS):
        before = before[: -5 if before[-1] in "lL" else -3].rstrip(_HEDGE_STRIPPED)
        if before.endswith(_HEDGE_WORDS):
            before = before[: -5 if before[-1] in "lL" else -3].rstrip(_HEDGE_STRIPPED)
    return before.endswith(_HEDGE_ENDINGS) and _OR_BEFORE.search(text, start, marker) is not None


def _offers_after(text: str, follow: int, value: Number) -> bool:
    """Whether the sentence from ``follow`` (after a final answer's span) opens with "or" and holds
    another number than ``value``: ``#### 72\\nor 73``, ``The answer is 72. Or 73.``, on the same line
    ``The answer is 72. | 73`` (a line opening with "|" is a Markdown table)."""
    rest = text[follow : follow + SPAN_CHARS]
    opened = rest.lstrip(_OPENING_STRIPPED)
    skipped = rest[: len(rest) - len(opened)]
    same_line = text[follow - 1] != "\n" and "\n" not in skipped
    first = opened[:1]
    # A quick test first (regular expressions are many times slower): what may open with "or", also once
    # unlatex() has removed \text{...}, $$ or ~.
    if not (first in _OPENING_FIRST or first in _LATEX_FIRST or (same_line and first in _BARS)):
        return False
    start = follow + len(skipped)
    bounds = _span_end(text, start, sentence=True)
    sentence = text[start : bounds[0] if bounds is not None else start + SPAN_CHARS]
    if _has_latex(sentence):
        sentence = unlatex(sentence)
    return _opens_with_or(sentence, same_line) and _only(value, sentence) != value


def _opens_with_or(sentence: str, same_line: bool) -> bool:
    """Whether ``sentence`` opens with "or" (with ``same_line``, also "/" or "|")."""
    first = sentence.lstrip(_OPENING_STRIPPED)[:1]  # a quick test first: regular expressions are slower
    if first in _OPENING_FIRST:
        return _OPENS_WITH_OR.match(sentence) is not None
    return same_line and first in _BARS and _OPENS_WITH_BAR.match(sentence) is not None


def _marker_value(text: str, marker: int, start: int, sentence: bool) -> Number | str | None:
    """The final answer of the marker at ``marker`` whose answer span starts at ``start`` (the rest of
    the line, or with ``sentence`` of the sentence): None when no number follows (not a marker)."""
    length = len(text)
    limit = start + SPAN_CHARS
    end = -1
    if sentence:
        found = _SENTENCE_END.search(text, start, min(length, limit + 2))
        if found is not None and found.start() <= limit:
            end, follow = found.start(), found.end()
    else:
        end = text.find("\n", start, limit + 1)
        follow = end + 1
    if end < 0:  # the span ends with the text, or runs on past SPAN_CHARS (-2)
        end, follow = (length, -1) if length <= limit else (limit, -2)
    reading = _read_span(text[start:end])
    if not isinstance(reading, Number):
        return reading
    if follow == -2:
        return Metric.NO_ANSWER  # the span runs on past SPAN_CHARS: not a short final answer
    return _committed(text, marker, reading, follow)


def _agreed(readings: list[Number | str]) -> _Reading:
    """Readings as one answer: the number they all give, or why there is none."""
    if not readings:
        return None
    first = readings[0]
    if len(readings) == 1:
        return first
    if isinstance(first, str):
        return Metric.AMBIGUOUS
    for other in readings[1:]:
        if other != first and (isinstance(other, str) or not _same(first, other)):
            return Metric.AMBIGUOUS
    return first


def _read_hash(text: str, position: int | None = None) -> _Reading:
    """``#### 72``: exactly four #, directly followed by the number (a ``#### Step 1`` heading is not
    one), the only number on the rest of the line. ``position``: where the first ``####`` is, if known."""
    if position is None:
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
            reading = _marker_value(text, position, end, sentence=False)
            if reading is not None:
                readings.append(reading)
                if len(readings) > MAX_MARKERS:
                    return Metric.AMBIGUOUS
        position = text.find(_HASH, end)
    return readings[0] if len(readings) == 1 else _agreed(readings)


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


def _box_value(text: str, position: int, opening: int) -> Number | str:
    """The box at ``position`` whose braces open at ``opening``: its one number, the only number of
    the rest of its sentence (``\\boxed{72} or 73`` is ambiguous)."""
    content = _box_content(text, opening)
    if content is None:
        return Metric.NO_ANSWER
    if content.isdigit() and content.isascii() and len(content) <= MAX_DIGITS:  # the usual box: \\boxed{72}
        value: Number | None = _integer(Number, (int(content), 1, False))
    else:
        value = parse_number(content)
    if value is None:
        return Metric.AMBIGUOUS if len(_NUMBER.findall(content)) > 1 else Metric.NO_ANSWER
    after = opening + len(content) + 2
    bounds = _span_end(text, after, sentence=True)
    if bounds is None:
        return Metric.NO_ANSWER  # the sentence runs on past SPAN_CHARS
    rest = text[after : bounds[0]]
    if _ASCII_DIGIT.search(rest) is not None:  # the usual rest ("$.", " clips."): no number
        reading = _only(value, unlatex(rest) if _has_latex(rest) else rest)
        if isinstance(reading, str):
            return reading
    return _committed(text, position, value, bounds[1])


def _read_boxed(text: str, position: int | None = None) -> _Reading:
    """``\\boxed{72}``: each box must hold exactly one number (``\\boxed{5, 6}`` is ambiguous), the only
    number of the rest of its sentence. ``position``: where the first ``\\boxed`` is, if known."""
    if position is None:
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
            readings.append(_box_value(text, position, opening))
        position = text.find(_BOXED, opening)
    return readings[0] if len(readings) == 1 else _agreed(readings)


def _read_answer_marker(text: str, firsts: tuple[int, ...] | None = None) -> _Reading:
    """``ANSWER: 72``, ``**Final answer:** 72``, ``The answer is 72``, ``答え：72``, ``答えは72``: the number
    right after the marker, the only number of the rest of its sentence. ``firsts``: where each of
    ``_ANSWER_NEEDLES`` first is (-1: nowhere), if known."""
    if firsts is None:
        firsts = tuple(text.find(needle) for needle in _ANSWER_NEEDLES)
    positions: Sequence[int]
    kinds = 0
    lower = firsts[0]
    if lower >= 0 and firsts[1] < 0 and firsts[2] < 0 and text.find("nswer", lower + 1) < 0:
        positions = (lower,)  # the usual answer: one "answer"
    else:
        found: list[int] = []
        for index, needle in enumerate(_ANSWER_NEEDLES):
            position = firsts[index]
            if position >= 0:
                kinds += 1
            while position >= 0:
                found.append(position)
                if len(found) > MAX_OCCURRENCES:
                    return Metric.AMBIGUOUS
                position = text.find(needle, position + 1)
        positions = found
    if not positions:
        return None
    readings: list[Number | str] = []
    boxed = False
    for position in sorted(positions) if kinds > 1 else positions:
        if text[position] == "答":
            marker = _ANSWER_MARKER_JA.match(text, position)
        else:
            marker = _ANSWER_MARKER.match(text, position - 1) if position else None
        if marker is None:
            continue
        end = marker.end()
        if text[end : end + _BOX_REACH].lstrip(_BEFORE_BOX).startswith(_BOXED_OPENING):
            # "The answer is $\\boxed{72}$.": the box's reading (its number, the only one of the rest of
            # this sentence, as this marker's span would give) stands for this marker's.
            if _offered_before(text, marker.start()):
                return Metric.AMBIGUOUS
            boxed = True
            continue
        reading = _marker_value(text, marker.start(), end, sentence=True)
        if reading is not None:
            readings.append(reading)
            if len(readings) > MAX_MARKERS:
                return Metric.AMBIGUOUS
    if not readings:
        return _READ_BY_BOX if boxed else None
    return readings[0] if len(readings) == 1 else _agreed(readings)


# The kind of marker a mode requires: 0 ####, 1 \boxed, 2 ANSWER: (the order _read_markers reads them in);
# None: any kind.
_REQUIRED_KIND: Final[Mapping[str, int | None]] = {
    Extract.AUTO: None, Extract.MARKER: None, Extract.HASH: 0, Extract.BOXED: 1, Extract.ANSWER: 2,
}


def _read_markers(text: str, required: int | None) -> _Reading:
    """The final answer the markers present give, all kinds together: their numbers must agree
    (``\\boxed{73}`` and ``#### 72`` are ambiguous whichever kind is read). None when there is no
    marker, or none of the ``required`` kind (0 ``####``, 1 ``\\boxed``, 2 ``ANSWER:``)."""
    # Each reader is called only when its marker's text is there (the usual answer has one kind), with
    # where it is; a one-character search (memchr) first, many times faster than a longer one.
    position = text.find(_HASH) if "#" in text else -1
    hashed = _read_hash(text, position) if position >= 0 else None
    position = text.find(_BOXED) if "\\" in text else -1
    boxed = _read_boxed(text, position) if position >= 0 else None
    firsts = (
        text.find("nswer"),
        text.find("NSWER") if "W" in text else -1,
        -1 if text.isascii() else text.find("答"),
    )
    said = _read_answer_marker(text, firsts) if firsts != _NOWHERE else None
    if required is not None and (hashed, boxed, said)[required] is None:
        return None
    if said == _READ_BY_BOX:  # answer markers that each hold a box: the boxes' reading is theirs
        said = None
    if boxed is None:
        if said is None:
            return hashed
        return said if hashed is None else _agreed([hashed, said])
    if hashed is None:
        return boxed if said is None else _agreed([boxed, said])
    return _agreed([hashed, boxed] if said is None else [hashed, boxed, said])


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


def _last_number(text: str) -> tuple[_Reading, int]:
    """The last number of the text (``NO_ANSWER`` when it cannot be compared), and the last digit of
    the window it was read in (its digits are at or before it).

    Read from a window around the last digit, so a long answer costs no more than its tail; when
    that digit belongs to no number (``CO2``), from a window around the last digit before it, at
    most ``MAX_WINDOWS`` times.
    """
    length = end = len(text)
    last_digit = -1
    for _ in range(MAX_WINDOWS):
        last_digit = -1
        for digit in _DIGITS:
            found = text.rfind(digit, last_digit + 1, end)
            if found > last_digit:
                last_digit = found
        if last_digit < 0:
            return None, -1
        start = _window_start(text, last_digit)
        if start < 0:
            return Metric.NO_ANSWER, last_digit
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
                return Metric.NO_ANSWER, last_digit  # a number running past the window: longer than any compared
            value = _number_of(last)
            return (Metric.NO_ANSWER if value is None else value), last_digit
        if start == 0:
            return None, -1
        end = start
    return Metric.NO_ANSWER, last_digit


def _read_last_number(text: str) -> _Reading:
    """The last number of the text (``NO_ANSWER`` when it cannot be compared): ``last-number``."""
    return _last_number(text)[0]


def _sentence_start(text: str, floor: int, end: int) -> int:
    """Where the sentence holding ``text[end]`` starts, looking no further back than ``floor``: after
    the last line end or sentence stop (``_SENTENCE_STOP``) before ``end``; -1 when there is none from
    ``floor``. Found with str.rfind (a regular expression reads forwards, one character at a time)."""
    newline = text.rfind("\n", floor, end)
    low = newline + 1 if newline >= 0 else floor
    start = newline + 1 if newline >= 0 else -1
    for stop in ".!?":
        position = text.rfind(stop, low, end)
        while position >= 0 and position >= start:
            if text[position + 1] in _STOP_FOLLOWERS:  # text[end] is a digit or a stop: never a space
                start = position + 1
                break
            position = text.rfind(stop, low, position)
    if not text.isascii():
        for stop in "。！？":
            position = text.rfind(stop, low, end)
            if position >= 0 and position >= start:
                start = position + 1
    return start


def _read_final_sentence(text: str) -> _Reading:
    """The last number, when the sentence holding it commits to it (``auto`` without a marker): every
    number of that sentence after its last ``=`` is that number (``48 + 24 = 72`` is 72, ``it is 72 or
    73`` is ambiguous). A sentence opening with "or" is read with the one before it (``72\\nor 73``);
    a sentence running back past ``SPAN_CHARS`` gives no answer.

    The sentence is found back from the last digit (only its tail is read, however long the answer)
    and its numbers read once: its last one is the answer's last number (a sentence stop or a line
    end is never inside a number; with LaTeX, ``_read_last_number`` must read it too). When no number
    holds that digit (``CO2``), the sentence before is read, at most ``MAX_SENTENCES`` of them.
    """
    last_digit = -1
    for digit in _DIGITS:
        found = text.rfind(digit, last_digit + 1)
        if found > last_digit:
            last_digit = found
    if last_digit < 0:
        return None
    floor = max(last_digit - SPAN_CHARS, 0)
    stop = last_digit + _NUMBER_TAIL
    end = last_digit
    latex = False
    for _ in range(MAX_SENTENCES):
        begin = _sentence_start(text, floor, end)
        if begin < 0:
            if floor > 0:
                return Metric.NO_ANSWER  # the sentence is longer than any read
            begin = 0
        tail = text[begin:stop]
        if _has_latex(tail):
            tail, latex = unlatex(tail), True
        numbers = list(_NUMBER.finditer(tail))
        if numbers and (begin == 0 or not _opens_with_or(tail, text[begin - 1] != "\n")):
            break
        if begin == 0:
            return None  # digits, but no number (x2, CO2)
        end = begin - 1
    else:
        return Metric.NO_ANSWER
    last = numbers[-1]
    reading = _number_of(last)
    if reading is None or (latex and reading != _read_last_number(text)):
        return Metric.NO_ANSWER  # LaTeX read two ways (".\\frac{1}{2}"): no answer rather than a guess
    if len(numbers) == 1:
        return reading
    equals = tail.rfind("=", 0, last.start())
    if equals >= 0 and _OR_IN_EQUATION.search(tail, 0, equals) is not None:
        return Metric.AMBIGUOUS  # "73 or 70 + 2 = 72"
    for match in numbers[:-1]:
        if match.start() > equals:
            value = _number_of(match)
            if value is None or not _same(value, reading):
                return Metric.AMBIGUOUS
    return reading


# How each mode reads an answer when it has no marker (None: it gives no answer), and whether that
# reading is well formed.
_FALLBACKS: Final[Mapping[str, tuple[Callable[[str], _Reading], bool]]] = {
    Extract.AUTO: (_read_final_sentence, False),
    Extract.LAST_NUMBER: (_read_last_number, True),
}
_NONE_FOUND: Final = Extraction(None, False, Metric.NO_ANSWER)
_AMBIGUOUS: Final = Extraction(None, False, Metric.AMBIGUOUS)


def extract_answer(text: str, mode: str = Extract.AUTO) -> Extraction:
    """The final answer of ``text`` (a model's visible answer) as ``mode`` reads it (``EXTRACT_MODES``).

    Every marker present, of every kind, must give the same number, the only number of its answer
    span; ``hash``, ``boxed`` and ``answer`` need a marker of their kind. ``auto`` falls back to the
    last number when its sentence commits to it, which is then not well formed; ``last-number``
    reads only the last number.
    """
    if mode not in EXTRACT_MODES:
        raise ValueError(f"extract must be one of {', '.join(EXTRACT_MODES)}, got {mode!r}")
    text = fold(text)
    reading = _read_markers(text, _REQUIRED_KIND[mode]) if mode != Extract.LAST_NUMBER else None
    well_formed = True
    if reading is None and mode in _FALLBACKS:
        fallback, well_formed = _FALLBACKS[mode]
        reading = fallback(text)
    if isinstance(reading, Number):
        return Extraction(reading, well_formed)
    return _AMBIGUOUS if reading == Metric.AMBIGUOUS else _NONE_FOUND


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
        if self.mode not in EXTRACT_MODES:
            raise ValueError(f"extract must be one of {', '.join(EXTRACT_MODES)}, got {self.mode!r}")
        self.absolute = float(options["absoluteTolerance"])
        self.relative = float(options["relativeTolerance"])
        self.partial = float(options["partialCredit"])
        self._reads_markers = self.mode != Extract.LAST_NUMBER
        self._required = _REQUIRED_KIND.get(self.mode)
        fallback = _FALLBACKS.get(self.mode)
        self._fallback: Callable[[str], _Reading] | None = fallback[0] if fallback is not None else None
        fallback_well_formed = fallback is not None and fallback[1]
        # Every score is one of these: shared, never built per sample.
        self._correct = Score(1.0, {Metric.CORRECT: 1, Metric.WELL_FORMED: 1}, passed=True)
        self._wrong = Score(self.partial, {Metric.CORRECT: 0, Metric.WELL_FORMED: 1}, passed=False)
        correct_unmarked = Score(1.0, {Metric.CORRECT: 1, Metric.WELL_FORMED: 0}, passed=True)
        wrong_unmarked = Score(0.0, {Metric.CORRECT: 0, Metric.WELL_FORMED: 0}, passed=False)
        self._fallback_correct = self._correct if fallback_well_formed else correct_unmarked
        self._fallback_wrong = self._wrong if fallback_well_formed else wrong_unmarked
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
        reading = _read_markers(answer, self._required) if self._reads_markers else None
        correct, wrong = self._correct, self._wrong
        if reading is None:
            if self._fallback is None:
                return self._no_answer
            reading = self._fallback(answer)
            correct, wrong = self._fallback_correct, self._fallback_wrong
        if reading is None:
            return self._no_answer
        if isinstance(reading, str):
            return self._ambiguous if reading == Metric.AMBIGUOUS else self._no_answer
        return correct if numbers_match(reading, reference, self.absolute, self.relative) else wrong

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
