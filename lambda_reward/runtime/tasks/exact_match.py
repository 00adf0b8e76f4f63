"""Exact match: the answer is the record's reference answer (case, width and spacing aside).

The worked example of a team's own task (docs/tasks.md): one function, ``score``, is a whole
task; ``check_record`` is the one optional extra it adds, so synth and ``rftctl validate`` reject a
record without a reference.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from lambda_reward.runtime.tasks import field_of


def normalized(text: str) -> str:
    """NFKC (full-width and half-width alike), case folded, runs of whitespace as one space, a final
    full stop dropped: "Tokyo." and "ｔｏｋｙｏ" are "tokyo"."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split()).rstrip(".。")


def score(answer: str, sample: dict[str, Any]) -> float:
    reference = field_of(sample, "reference_answer")
    return 1.0 if isinstance(reference, str) and normalized(answer) == normalized(reference) != "" else 0.0


def check_record(record: dict[str, Any]) -> list[str]:
    reference = record.get("reference_answer")
    if not isinstance(reference, str) or not normalized(reference):
        return ["reference_answer must be a non-empty string (the answer the model should give)"]
    return []
