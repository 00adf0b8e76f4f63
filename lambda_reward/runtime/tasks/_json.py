"""Strict JSON for what a model writes: duplicate keys, NaN, Infinity and 1e999 are refused, not guessed.

Python's ``json`` keeps the last of two equal keys and reads ``NaN`` and ``1e999`` (as inf): a policy
could hide a second answer in a duplicate key or break a comparison with a non-number. Shared by the
tasks that read JSON from answers or replies (json-schema, tool-call, llm-judge).
"""

from __future__ import annotations

import json
import math
from typing import Any, Final

DUPLICATE_KEY: Final = "duplicate_key"  # an object names a key twice
NON_FINITE: Final = "non_finite"  # NaN, Infinity, or a number too large for a double (1e999)
TOO_DEEP: Final = "too_deep"  # nested deeper than the decoder's recursion allows


class StrictJsonError(ValueError):
    """JSON text that parses, but not strictly; ``reason`` is one of the constants above (or a caller's)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise StrictJsonError(DUPLICATE_KEY)
    return result


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses as inf
        raise StrictJsonError(NON_FINITE)
    return value


def _no_constant(name: str) -> Any:
    raise StrictJsonError(NON_FINITE)  # NaN, Infinity, -Infinity: not JSON


_DECODER: Final = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_float=_finite_float,
                                   parse_constant=_no_constant)


def loads_strict(text: str) -> Any:
    """``text`` as strict JSON; raises StrictJsonError (with its reason), or ValueError when it is not JSON."""
    try:
        return _DECODER.decode(text)
    except RecursionError:
        raise StrictJsonError(TOO_DEEP) from None


def raw_decode_strict(text: str, start: int) -> tuple[Any, int]:
    """The strict JSON value starting at ``start`` and where it ends (``json.JSONDecoder.raw_decode``)."""
    try:
        return _DECODER.raw_decode(text, start)
    except RecursionError:
        raise StrictJsonError(TOO_DEEP) from None
