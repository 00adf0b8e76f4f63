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
# Quotes, markdown, list numbers ("1. "), invisible characters: what may precede a refusal.
_LEADING_NON_LETTERS = regex.compile(r"(?:[^\p{L}\p{N}]|\p{Default_Ignorable_Code_Point}|\d+[.)](?=\s))+", regex.V1)
# An answer of fewer letters than this is never called an echo ("東京" in a prompt naming it).
MIN_ECHO_CHARS = 4
# An edited echo brings at most this many letters of its own (a prefix "OK", a typo, a changed particle),
# judged on runs of GRAM letters (shorter runs match by chance: "pla" of "explain" in "plan").
ECHO_NEW_LETTERS = 2
GRAM = 4
# A refusal, matched on the folded answer after its leading non-letters (quotes, markdown, list numbers,
# invisible characters). Openers are refusals only with what makes them one ("Unfortunately, I can't",
# "すみませんが"); a factual answer may start "Unfortunately, the Titanic sank" or "「すみません」は".
_CANNOT = r"(?:can(?:no|['’]|\s+no)t|cannot|won['’]t|will\s+not|must\s+decline|am\s+not\s+going\s+to)"
_HELP = r"(?:help|answer|assist|provide|comply|respond|share|discuss|do\s+that|say)"
_REFUSAL_START = regex.compile(
    rf"(?:i['’]?m\s+sorry|i\s+am\s+sorry|sorry(?:[^\p{{L}}\s]|\s+but\b|$)|i\s+apologi[sz]e|(?:my\s+)?apologies[,.!]|"
    rf"unfortunately,?\s+i\s+(?:{_CANNOT}|am\s+(?:unable|not\s+able))|"
    rf"i['’]?m\s+(?:afraid|unable|not\s+able|not\s+going\s+to)|i\s+am\s+(?:afraid|unable|not\s+able)|"
    rf"i\s+{_CANNOT}\s+{_HELP}|as\s+an\s+(?:ai|language\s+model)\b|"
    r"i\s+(?:do\s+not|don['’]t)\s+know(?:[,.!]|$)|"
    r"申し訳(?:ありません|ございません|ない)|(?:すみません|済みません)(?:が|、|。|$)|ごめんなさい|"
    r"(?:(?:わか|分か|判)りません|存じません)(?:。|、|が|$)|残念ながら.{0,20}(?:でき(?:ません|かねます)|お答え|わかりません|分かりません))",
)
# Searched in the first sentence: a refusal whatever comes before it ("それについてはお答えできません").
_REFUSAL_FIRST_SENTENCE = regex.compile(
    rf"(?:(?:お答え|回答|ご回答|お手伝い|ご説明|説明)(?:すること|いたすこと)?(?:は|が)?(?:でき(?:ません|かねます)|いたしかねます|しかねます)|"
    rf"(?:お答え|回答|ご回答|説明)(?:を|は)(?:控え|差し控え|お控え)|"
    rf"\bi\s+{_CANNOT}\s+{_HELP}|\bunable\s+to\s+{_HELP})"
)
_FIRST_SENTENCE = regex.compile(r"[^。！？.!?\n]{0,80}")


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
    """What an answer is compared with to call it an echo: the prompt's folded letters, their GRAM-letter runs, and
    the letters (and the letters and digits) of ``whole_prompt`` (default: the prompt; char-limit passes
    its prompt without the limit phrase as ``prompt``, and the prompt as it was as ``whole_prompt``)."""
    letters = _NOT_LETTER.sub("", fold(prompt))
    whole = fold(prompt if whole_prompt is None else whole_prompt)
    return (letters, frozenset(letters[i : i + GRAM] for i in range(len(letters) - GRAM + 1)),
            _NOT_LETTER.sub("", whole), _NOT_LETTER_OR_DIGIT.sub("", whole))


def is_echo(folded: str, basis: EchoBasis, share: float = 0.5, *, edited: bool = True) -> bool:
    """The folded answer repeats the prompt: it holds all of the prompt's letters; or its letters and
    digits are a piece of the whole prompt's, at least ``share`` of it long ("富士山について30文字"); or,
    with ``edited``, it is the prompt's letters reordered or lightly edited: at most ECHO_NEW_LETTERS of
    its letters lie outside every run of GRAM letters it shares with the prompt, and it repeats at least
    ``share`` of the prompt's distinct runs. (A one-word answer beside words of the prompt, "A renewable energy
    source: wind.", brings more new letters than that.)"""
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
    if not edited:
        return False
    # Letter i is the prompt's when a GRAM-letter run holding it is (one starting at most GRAM-1 before
    # it); most answers bring new letters within their first few, so the scan stops early.
    covered_up_to = -1
    new = 0
    shared: set[str] = set()
    last_start = len(said) - GRAM
    for index in range(len(said)):
        if index <= last_start:
            run = said[index : index + GRAM]
            if run in asked_grams:
                covered_up_to = index + GRAM - 1
                shared.add(run)
        if index > covered_up_to:
            new += 1
            if new > ECHO_NEW_LETTERS:
                return False
    return len(shared) >= share * len(asked_grams)


def echoes(answer: str, prompt: str, share: float = 0.5, *, edited: bool = True) -> bool:
    """``is_echo`` of a raw answer and prompt (for tasks that do not fold the answer themselves)."""
    return is_echo(fold(answer), echo_basis(prompt), share, edited=edited)


def is_refusal(folded: str) -> bool:
    """The folded answer refuses or apologises instead of answering: at its start (after quotes, markdown
    and invisible characters), or with a strong refusal ("お答えできません", "I can't help") in its first
    sentence."""
    start = _LEADING_NON_LETTERS.match(folded)
    position = start.end() if start else 0
    if _REFUSAL_START.match(folded, position) is not None:
        return True
    sentence = _FIRST_SENTENCE.match(folded, position)
    return sentence is not None and _REFUSAL_FIRST_SENTENCE.search(sentence[0]) is not None


def clear_caches() -> None:
    echo_basis.cache_clear()
