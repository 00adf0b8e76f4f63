"""Terminal output: aligned tables (Japanese prompts are double width), a text progress bar, and the
JSON that every table command prints instead of its table with --json."""

from __future__ import annotations

import argparse
import json
import math
import re
import time
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

PASS_MARK = "o"  # the seed article's table marks a pass "o" and a miss "x"
FAIL_MARK = "x"


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: East Asian wide and full-width characters take two."""
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def truncate(text: str, max_width: int) -> str:
    """``text`` on one line, cut to ``max_width`` columns with an ellipsis when it is longer."""
    text = " ".join(text.split())
    if display_width(text) <= max_width:
        return text
    kept, width = [], 0
    for char in text:
        char_width = display_width(char)
        if width + char_width > max_width - 1:
            break
        kept.append(char)
        width += char_width
    return "".join(kept) + "…"


def _pad(text: str, width: int, right_align: bool) -> str:
    gap = " " * max(0, width - display_width(text))
    return gap + text if right_align else text + gap


def format_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    right_align: Sequence[int] = (),
    footer: Sequence[Sequence[object]] = (),
) -> str:
    """A plain-text table; ``right_align`` lists column indexes (numbers read better right-aligned)."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in [*rows, *footer]]
    widths = [max(display_width(row[i]) for row in cells if i < len(row)) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(_pad(cell, widths[i], i in right_align) for i, cell in enumerate(row)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [line(cells[0]), rule]
    out += [line(row) for row in cells[1 : 1 + len(rows)]]
    if footer:
        out.append(rule)
        out += [line(row) for row in cells[1 + len(rows) :]]
    return "\n".join(out)


def is_finite_number(value: object) -> bool:
    """A JSON number a figure can be made of: not a bool, not NaN or infinite, and not an integer too
    large for a float (JSON allows 10**400; ``math.isfinite`` raises on it)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def format_number(value: float | int | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, int) or float(value).is_integer() and abs(value) < 1e12:
        return str(int(value))
    return f"{value:.{digits}f}"


def format_percent(fraction: float | None) -> str:
    return "-" if fraction is None else f"{fraction * 100:.0f}%"


def format_duration(seconds: float) -> str:
    return str(timedelta(seconds=int(max(0, seconds))))


def bar(fraction: float, width: int = 30) -> str:
    """``[#########.....]`` for a fraction in [0, 1]."""
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "[" + "#" * filled + "." * (width - filled) + "]"


_DIGITS = re.compile(r"\d+")


class ProgressBar:
    """One status line on stderr, redrawn in place on a terminal.

    When stderr is not a terminal (a log file, CI) a new line is written only when something
    worth a line happened: the bar crossed another tenth, the label changed in more than its
    numbers (a new status or stage), or HEARTBEAT_SECONDS passed. A long wait stays readable.
    """

    HEARTBEAT_SECONDS = 300.0

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self._stream = stream
        self._width = width
        self._interactive = bool(getattr(stream, "isatty", lambda: False)())
        self._drawn_width = 0
        self._started = time.monotonic()
        self._logged: tuple[int, str] | None = None  # (tenth, label without numbers) last logged
        self._logged_at = 0.0

    def update(self, fraction: float | None, label: str) -> None:
        """Show ``label``, with a bar when ``fraction`` is known, else the time waited."""
        now = time.monotonic()
        if fraction is None:
            text = f"{label}  (waited {format_duration(now - self._started)})"
        else:
            text = f"{bar(fraction, self._width)} {fraction * 100:3.0f}%  {label}"
        if self._interactive:
            padding = " " * max(0, self._drawn_width - display_width(text))
            self._stream.write("\r" + text + padding)
            self._drawn_width = display_width(text)
            self._stream.flush()
            return
        milestone = (-1 if fraction is None else int(fraction * 10), _DIGITS.sub("#", label))
        if milestone != self._logged or now - self._logged_at >= self.HEARTBEAT_SECONDS:
            self._stream.write(text + "\n")
            self._stream.flush()
            self._logged, self._logged_at = milestone, now

    def close(self) -> None:
        """End the redrawn line so what follows starts on a fresh one."""
        if self._interactive and self._drawn_width:
            self._stream.write("\n")
            self._stream.flush()
        self._drawn_width = 0


# Every JSON document rftctl writes says what it is and which shape it has: {"kind": "rftctl.<command>",
# "version": N, ...}. A reader (rftctl report, a team's script) checks both before trusting a field.
JSON_KIND_PREFIX = "rftctl."


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true",
        help="print the result as one JSON document on stdout instead of the table (notes stay on stderr)",
    )


def json_ready(value: Any) -> Any:
    """``value`` as plain JSON: NaN and infinities become null (JSON has neither), tuples lists, paths and
    times strings, mapping keys strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_ready(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON data: {value!r}")


def json_document(kind: str, version: int, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The document a command prints with --json (or writes to a file): its kind and version first."""
    return {"kind": JSON_KIND_PREFIX + kind, "version": version, **json_ready(payload)}


def json_text(document: Mapping[str, Any]) -> str:
    # Japanese prompts stay readable; allow_nan=False because json_ready already removed them.
    return json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False)
