"""Terminal output helpers: wide-character alignment and the progress bar's two modes."""

from __future__ import annotations

import io

from rftctl.console import ProgressBar, display_width, format_table, truncate


class TerminalStream(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_japanese_text_is_measured_in_terminal_columns() -> None:
    assert display_width("AIとは何か") == 2 + 4 * 2
    assert truncate("機械学習を20文字以内で説明して", 12) == "機械学習を2…"
    assert display_width(truncate("機械学習を20文字以内で説明して", 12)) <= 12
    table = format_table(["prompt", "limit"], [["機械学習", 20], ["IoT", 15]], right_align=[1])
    header, rule, first, second = table.splitlines()
    assert display_width(first) == display_width(second) == display_width(rule)


def test_progress_redraws_one_line_on_a_terminal() -> None:
    stream = TerminalStream()
    progress = ProgressBar(stream, width=10)
    progress.update(0.5, "step 1/2")
    progress.update(1.0, "step 2/2")
    progress.close()
    assert stream.getvalue() == "\r[#####.....]  50%  step 1/2\r[##########] 100%  step 2/2\n"


def test_progress_in_a_log_writes_only_milestones() -> None:
    stream = io.StringIO()
    progress = ProgressBar(stream, width=10)
    for done in range(21):
        progress.update(done / 20, f"asking {done}/20")
    progress.update(None, "deployment Creating")
    progress.update(None, "deployment Creating")
    progress.update(None, "deployment Active")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 11 + 2  # one per tenth, then one per status
    assert lines[0] == "[..........]   0%  asking 0/20"
    assert lines[10] == "[##########] 100%  asking 20/20"
    assert lines[11].startswith("deployment Creating  (waited ")
    assert lines[12].startswith("deployment Active  (waited ")
