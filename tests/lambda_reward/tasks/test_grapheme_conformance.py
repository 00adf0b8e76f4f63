"""count_characters against Unicode's own answer key, GraphemeBreakTest.txt.

The file comes from the Debian package ``unicode-data`` (CI installs it). Without it the
test fails under CI and is skipped elsewhere. Set GRAPHEME_BREAK_TEST to use another copy.

Version caveat: the ``regex`` package implements a newer Unicode than Debian bookworm's
file (15.0). Unicode 17.0 removed Extended_Pictographic from the 672 assigned characters
that are not emoji (UTC #182, L2/25-006 item 5.1), so rule GB11 (emoji ZWJ sequences)
no longer joins them. For a file older than 17.0, each GB11 "no break" is re-derived
from the Extended_Pictographic values ``regex`` uses; every other boundary must match
the file exactly, and every re-derived boundary must involve a non-emoji character.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest
import regex

from lambda_reward.runtime.tasks.char_limit import count_characters, count_graphemes_raw

TEST_FILE = Path(
    os.environ.get("GRAPHEME_BREAK_TEST", "/usr/share/unicode/auxiliary/GraphemeBreakTest.txt")
)
EXTENDED_PICTOGRAPHIC = regex.compile(r"\p{Extended_Pictographic}")
EMOJI = regex.compile(r"\p{Emoji}")
EXTEND = regex.compile(r"\p{Grapheme_Cluster_Break=Extend}")
# The boundary markers of a comment, each with the number of the rule that decided it.
COMMENT_BOUNDARY = re.compile(r"([÷×]) \[(\d+\.\d+)\]")
UNICODE_17 = (17, 0)


@dataclass(frozen=True)
class BreakCase:
    line_number: int
    text: str
    clusters: int  # as the file says
    adjusted_clusters: int  # after re-deriving GB11 for a pre-17.0 file
    adjusted_code_points: tuple[str, ...]  # code points whose GB11 decision changed


def file_version(header: str) -> tuple[int, ...]:
    match = re.search(r"GraphemeBreakTest-(\d+)\.(\d+)\.(\d+)\.txt", header)
    assert match, f"unrecognised header {header!r}"
    return tuple(int(part) for part in match.groups())


def gb11_still_joins(code_points: list[str], boundary: int) -> bool:
    """Whether GB11 (ExtPict Extend* ZWJ x ExtPict) joins before code_points[boundary]
    with the Extended_Pictographic values of the regex package."""
    if not EXTENDED_PICTOGRAPHIC.match(code_points[boundary]):
        return False
    start = boundary - 2  # code_points[boundary - 1] is the ZWJ
    while start >= 0 and EXTEND.match(code_points[start]):
        start -= 1
    return start >= 0 and EXTENDED_PICTOGRAPHIC.match(code_points[start]) is not None


def parse_line(line_number: int, line: str, version: tuple[int, ...]) -> BreakCase | None:
    data, _, comment = line.partition("#")
    tokens = data.split()
    if not tokens:
        return None
    markers = tokens[0::2]  # ÷ / × around and between the code points
    code_points = [chr(int(token, 16)) for token in tokens[1::2]]
    rules = [rule for _, rule in COMMENT_BOUNDARY.findall(comment)]
    assert len(rules) == len(markers), f"line {line_number}: comment does not match data"

    adjusted = list(markers)
    changed: list[str] = []
    if version < UNICODE_17:
        for boundary in range(1, len(code_points)):
            if markers[boundary] == "×" and rules[boundary] == "11.0":
                if not gb11_still_joins(code_points, boundary):
                    adjusted[boundary] = "÷"
                    changed.append(code_points[boundary])
    return BreakCase(
        line_number=line_number,
        text="".join(code_points),
        clusters=markers[1:].count("÷"),
        adjusted_clusters=adjusted[1:].count("÷"),
        adjusted_code_points=tuple(changed),
    )


@pytest.fixture(scope="module")
def break_cases() -> tuple[tuple[int, ...], list[BreakCase]]:
    if not TEST_FILE.is_file():
        message = (
            f"{TEST_FILE} is missing: install the Debian package unicode-data "
            "(apt-get install -y unicode-data) or set GRAPHEME_BREAK_TEST"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    lines = TEST_FILE.read_text(encoding="utf-8").splitlines()
    version = file_version(lines[0])
    cases = [case for number, line in enumerate(lines, 1) if (case := parse_line(number, line, version))]
    assert len(cases) > 500, "the test file looks truncated"
    return version, cases


def test_raw_cluster_count_matches_every_line(break_cases) -> None:
    _, cases = break_cases
    failures = [
        f"line {case.line_number}: {[f'U+{ord(c):04X}' for c in case.text]} "
        f"expected {case.adjusted_clusters}, got {count_graphemes_raw(case.text)}"
        for case in cases
        if count_graphemes_raw(case.text) != case.adjusted_clusters
    ]
    assert not failures, "\n".join(failures)


def test_count_characters_on_lines_nfc_and_trimming_leave_alone(break_cases) -> None:
    _, cases = break_cases
    unaffected = [case for case in cases if unicodedata.normalize("NFC", case.text).strip() == case.text]
    assert len(unaffected) > 300
    failures = [
        f"line {case.line_number}: expected {case.adjusted_clusters}, got {count_characters(case.text)}"
        for case in unaffected
        if count_characters(case.text) != case.adjusted_clusters
    ]
    assert not failures, "\n".join(failures)


def test_only_the_unicode_17_extended_pictographic_change_is_re_derived(break_cases) -> None:
    version, cases = break_cases
    adjusted = [case for case in cases if case.adjusted_code_points]
    if version >= UNICODE_17:
        assert not adjusted
        return
    for case in adjusted:
        for char in case.adjusted_code_points:
            assert unicodedata.category(char) != "Cn", f"line {case.line_number}: unassigned"
            assert not EMOJI.match(char), f"line {case.line_number}: U+{ord(char):04X} is an emoji"
    # Bookworm's 15.0 file has exactly one such line: U+2701 ZWJ U+2701.
    if version == (15, 0, 0):
        assert [case.text for case in adjusted] == ["\u2701\u200d\u2701"]
        assert [case.clusters - case.adjusted_clusters for case in adjusted] == [-1]
