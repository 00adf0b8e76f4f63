"""What every task that reads free text asks of an answer: does it show anything, echo the prompt, refuse.

Shared by char-limit (which rejects such answers) and llm-judge (which scores them 0.0 without paying
for a judge call), so both judge "empty", "echo" and "refusal" the same way. The echo and refusal
checks read the answer folded (``fold``: full-width and half-width forms as plain letters, case folded).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import regex

# A letter or digit that is not default-ignorable (U+3164 HANGUL FILLER is a "letter" nobody sees).
_VISIBLE = regex.compile(r"[[\p{L}\p{N}]--\p{Default_Ignorable_Code_Point}]", regex.V1)
_ASCII_VISIBLE = re.compile(r"[A-Za-z0-9]")
# What an echo is compared on: letters only (digits are the limit's, or facts an answer may repeat).
_NOT_LETTER = regex.compile(r"[^\p{L}]+|\p{Default_Ignorable_Code_Point}+", regex.V1)
_NOT_LETTER_OR_DIGIT = regex.compile(r"[^\p{L}\p{N}]+|\p{Default_Ignorable_Code_Point}+", regex.V1)
_LEADING_NON_LETTERS = regex.compile(r"(?:[^\p{L}\p{N}]|\p{Default_Ignorable_Code_Point})+", regex.V1)
# An answer of fewer letters than this is never called an echo ("東京" in a prompt naming it).
MIN_ECHO_CHARS = 4
# An echo is made of the prompt: at least this share of its letter trigrams are the prompt's.
ECHO_INSIDE_SHARE = 0.8
# Matched on the folded answer after its leading non-letters (quotes, markdown, invisible characters).
_REFUSAL = regex.compile(
    r"(?:i['’]?m\s+(?:sorry|afraid|unable|not\s+able)|i\s+am\s+(?:sorry|afraid|unable|not\s+able)|sorry\b|"
    r"i\s+apologi[sz]e|(?:my\s+)?apologies|unfortunately\b|"
    r"i\s+(?:can(?:no|['’])t|cannot|won['’]t|will\s+not|must\s+decline|decline|do\s+not\s+know|don['’]t\s+know)\b|"
    r"as\s+an\s+(?:ai|language\s+model)\b|no\s+comment\b|"
    r"申し訳|すみません|済みません|ごめんなさい|恐れ入り|残念ながら|"
    r"(?:お答え|回答|お手伝い|対応|説明)(?:すること|いたすこと)?(?:は|が)?(?:できません|いたしかねます|しかねます)|"
    r"(?:お答え|回答|ご回答|説明)を(?:控え|差し控え|お控え)|"
    r"(?:わか|分か|判)りません|存じません|知りません)",
)


def has_visible_content(answer: str) -> bool:
    """Whether the answer shows a reader anything: at least one visible letter or digit."""
    if answer.isascii():
        return _ASCII_VISIBLE.search(answer) is not None
    return _VISIBLE.search(answer) is not None


# The Halfwidth and Fullwidth Forms block: where answers hold compatibility letters ("ＡＩ", "ｶﾀｶﾅ").
_WIDTH_FORMS = re.compile("[\uff01-\uffef]+")


def _nfkc(match: re.Match[str]) -> str:
    return unicodedata.normalize("NFKC", match[0])


def fold(text: str) -> str:
    """Full-width and half-width forms as their plain letters (NFKC of that block only: the whole text's
    NFKC costs ten times as much on a long Japanese answer), then case folded."""
    if _WIDTH_FORMS.search(text) is not None:
        text = _WIDTH_FORMS.sub(_nfkc, text)
    return text.casefold()


EchoBasis = tuple[str, frozenset[str], str, str]


@lru_cache(maxsize=4096)
def echo_basis(prompt: str, whole_prompt: str | None = None) -> EchoBasis:
    """What an answer is compared with to call it an echo: the prompt's folded letters, their trigrams, and
    the letters (and the letters and digits) of ``whole_prompt`` (default: the prompt; char-limit passes
    its prompt without the limit phrase as ``prompt``, and the prompt as it was as ``whole_prompt``)."""
    letters = _NOT_LETTER.sub("", fold(prompt))
    whole = fold(prompt if whole_prompt is None else whole_prompt)
    return (letters, frozenset(letters[i : i + 3] for i in range(len(letters) - 2)),
            _NOT_LETTER.sub("", whole), _NOT_LETTER_OR_DIGIT.sub("", whole))


def is_echo(folded: str, basis: EchoBasis, share: float = 0.5) -> bool:
    """The folded answer repeats the prompt: it holds all of the prompt's letters; or it is made of the
    prompt (at least ECHO_INSIDE_SHARE of its letter trigrams, by position, are the prompt's: in any
    order, edited or not) and repeats at least ``share`` of the prompt's distinct trigrams; or its letters
    and digits are a piece of the whole prompt's, at least ``share`` of it long ("富士山について30文字")."""
    asked, asked_grams, whole_letters, whole = basis
    if len(asked) < MIN_ECHO_CHARS:
        return False
    said = _NOT_LETTER.sub("", folded)
    if len(said) < MIN_ECHO_CHARS:
        return False
    if asked in said:
        return True
    if said in whole_letters:  # a piece of the prompt, letter for letter: compare with its digits too
        said_whole = _NOT_LETTER_OR_DIGIT.sub("", folded)
        if len(said_whole) >= share * len(whole) and said_whole in whole:
            return True
    positions = len(said) - 2
    budget = (1 - ECHO_INSIDE_SHARE) * positions
    outside = 0
    for index in range(positions):  # most answers leave the prompt within their first few trigrams
        if said[index : index + 3] not in asked_grams:
            outside += 1
            if outside > budget:
                return False
    common = len({said[i : i + 3] for i in range(positions)} & asked_grams)
    return common >= share * len(asked_grams)


def echoes(answer: str, prompt: str, share: float = 0.5) -> bool:
    """``is_echo`` of a raw answer and prompt (for tasks that do not fold the answer themselves)."""
    return is_echo(fold(answer), echo_basis(prompt), share)


def is_refusal(folded: str) -> bool:
    """The folded answer starts (after quotes, markdown and invisible characters) by refusing or apologising."""
    start = _LEADING_NON_LETTERS.match(folded)
    return _REFUSAL.match(folded, start.end() if start else 0) is not None


def clear_caches() -> None:
    echo_basis.cache_clear()
