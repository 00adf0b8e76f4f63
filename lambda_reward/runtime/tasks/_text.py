"""What every task that reads free text asks of an answer: does it show anything, echo the prompt, refuse.

Shared by char-limit (which rejects such answers) and llm-judge (which scores them 0.0 without paying
for a judge call), so both judge "empty" and "echo" the same way.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import regex

# A letter or digit that is not default-ignorable (U+3164 HANGUL FILLER is a "letter" nobody sees).
_VISIBLE = regex.compile(r"[[\p{L}\p{N}]--\p{Default_Ignorable_Code_Point}]", regex.V1)
_ASCII_VISIBLE = re.compile(r"[A-Za-z0-9]")
# What an echo is compared on: letters and digits only, NFKC and case folded.
_NOT_LETTER_OR_DIGIT = regex.compile(r"[^\p{L}\p{N}]+|\p{Default_Ignorable_Code_Point}+", regex.V1)
_IGNORABLE = regex.compile(r"\p{Default_Ignorable_Code_Point}")
# An answer of fewer letters and digits than this is never called an echo ("東京" in a prompt naming it).
MIN_ECHO_CHARS = 4
_REFUSAL = regex.compile(
    r"(?:i['’]?m\s+sorry|i\s+am\s+sorry|sorry[,.!]|i\s+(?:can(?:no|['’])t|cannot|won['’]t)\b|"
    r"i['’]?m\s+(?:unable|not\s+able)|i\s+am\s+(?:unable|not\s+able)|as\s+an\s+ai\b|"
    r"申し訳|すみません|ごめんなさい|(?:お答え|回答|お手伝い|対応)(?:することは)?できません|"
    r"(?:わか|分か)りません)",
    regex.IGNORECASE,
)


def has_visible_content(answer: str) -> bool:
    """Whether the answer shows a reader anything: at least one visible letter or digit."""
    if answer.isascii():
        return _ASCII_VISIBLE.search(answer) is not None
    return _VISIBLE.search(answer) is not None


@lru_cache(maxsize=4096)
def letters_and_digits(text: str) -> str:
    """``text`` reduced to what an echo is judged on: NFKC, case folded, letters and digits only."""
    return _NOT_LETTER_OR_DIGIT.sub("", unicodedata.normalize("NFKC", text).casefold())


def is_echo(answer: str, prompt: str, share: float = 0.5) -> bool:
    """The answer repeats ``share`` of the prompt or more (or all of it), in letters and digits."""
    asked = letters_and_digits(prompt)
    if not asked:
        return False
    # Most answers start with letters the prompt does not have in that order: then the answer cannot
    # lie inside the prompt, and only holding the whole prompt remains (checked on the full text).
    head = answer.lstrip()[: 2 * MIN_ECHO_CHARS].replace(" ", "")[:MIN_ECHO_CHARS]  # spaces never count
    if not (head.isalnum() and unicodedata.is_normalized("NFKC", head) and _IGNORABLE.search(head) is None):
        head = _NOT_LETTER_OR_DIGIT.sub("", unicodedata.normalize("NFKC", answer[:16]).casefold())[:MIN_ECHO_CHARS]
    else:  # already letters and digits as the comparison sees them (the usual answer)
        head = head.casefold()[:MIN_ECHO_CHARS]
    if len(head) == MIN_ECHO_CHARS and head not in asked and asked[:MIN_ECHO_CHARS] not in answer.casefold():
        return False
    said = _NOT_LETTER_OR_DIGIT.sub("", unicodedata.normalize("NFKC", answer).casefold())
    if len(said) < MIN_ECHO_CHARS:
        return False
    if asked in said:
        return True
    return len(said) >= share * len(asked) and said in asked


def is_refusal(answer: str) -> bool:
    return _REFUSAL.match(answer.lstrip()) is not None
