"""rftctl --help for every command, the launcher script, and `validate` on real and broken data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rftctl.cli import COMMANDS, build_parser, main

REPO = Path(__file__).resolve().parents[2]
TRAINING = REPO / "training-data" / "char-limit/training.jsonl"
VALIDATION = REPO / "training-data" / "char-limit/validation.jsonl"
COMMAND_NAMES = ["validate", "grade", "preflight", "plan", "status", "watch", "history", "stop", "metrics",
                 "deploy-model", "compare", "report"]


def record_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_every_command_is_registered() -> None:
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    assert sorted(subparsers.choices) == sorted(COMMAND_NAMES)
    assert len(COMMANDS) == 11  # status and watch share a module


@pytest.mark.parametrize("command", COMMAND_NAMES)
def test_command_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: rftctl {command}" in out
    assert "--stack" in out and "--region" in out and "--profile" in out
    assert "exit codes" in out


def test_the_console_command_runs_from_anywhere() -> None:
    """`make install` installs the project: .venv/bin/rftctl, no sys.path edits anywhere."""
    rftctl = Path(sys.executable).parent / "rftctl"
    assert rftctl.is_file(), "run make install: it installs the console command"
    result = subprocess.run(
        [str(rftctl), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
    )
    assert result.returncode == 0, result.stderr
    for command in COMMAND_NAMES:
        assert command in result.stdout


def test_global_options_are_accepted_after_the_command(rftctl) -> None:
    result = rftctl("validate", str(TRAINING), "--profile", "nobody", "--stack", "X")
    assert result.code == 0


@pytest.mark.parametrize(
    "argv", [["--stack", "X", "--region", "eu-west-1", "status"], ["status", "--stack", "X", "--region", "eu-west-1"]]
)
def test_global_options_reach_the_command_before_or_after_it(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert (args.stack, args.region, args.profile) == ("X", "eu-west-1", None)


def test_validate_shipped_training_and_validation_sets(rftctl) -> None:
    result = rftctl("validate", str(TRAINING), str(VALIDATION))
    assert result.code == 0, result.out + result.err
    lines = result.out.splitlines()
    assert lines[0].startswith(f"ok  {TRAINING}: {record_count(TRAINING)} records, task char-limit, sha256 ")
    assert lines[1].startswith(f"ok  {VALIDATION}: {record_count(VALIDATION)} records, task char-limit, sha256 ")
    assert lines[2] == "ok  no prompt is in both files"


def test_validate_reports_file_line_and_problem(rftctl, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    good = {"messages": [{"role": "user", "content": "AIとは何か30文字以内で説明して"}]}
    bad.write_text(
        json.dumps(good, ensure_ascii=False)
        + "\n"
        + "{not json\n"
        + json.dumps({"messages": [{"role": "user", "content": "AIを説明して"}]}, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    result = rftctl("validate", str(bad), "--min-records", "1")
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0].startswith(f"{bad}:2: not valid JSON")
    assert lines[1].startswith(f"{bad}:3: no character limit")
    assert "2 problems found" in result.err


def test_validate_checks_that_training_and_validation_are_disjoint(rftctl, tmp_path: Path) -> None:
    validation = tmp_path / "validation.jsonl"
    shared = TRAINING.read_text(encoding="utf-8").splitlines()[:10]
    validation.write_text("\n".join(shared) + "\n", encoding="utf-8")
    result = rftctl("validate", str(TRAINING), str(validation))
    assert result.code == 1
    problems = result.out.splitlines()
    assert len(problems) == 10
    assert all(line.startswith(f"{validation}: prompt also in {TRAINING}") for line in problems)


def test_validate_single_file_uses_the_training_minimum(rftctl) -> None:
    result = rftctl("validate", str(VALIDATION))
    assert result.code == 1
    assert result.out.strip() == f"{VALIDATION}: {record_count(VALIDATION)} records, at least 100 needed"
    assert rftctl("validate", str(VALIDATION), "--min-records", "10").code == 0


def test_validate_rejects_three_files(rftctl) -> None:
    result = rftctl("validate", str(TRAINING), str(VALIDATION), str(VALIDATION))
    assert result.code == 2
    assert result.err.strip() == "rftctl: error: validate takes one file, or two: TRAIN VALIDATION"


HEAVY_LIBRARIES = ("boto3", "botocore", "openai", "matplotlib")


@pytest.mark.parametrize("argv", [["--help"], ["status", "--help"], ["validate", str(TRAINING)]])
def test_help_and_offline_commands_load_no_heavy_library(argv: list[str]) -> None:
    """What makes `rftctl --help` fast (scripts/bench_cli_startup.py measures it): no boto3, no SDK."""
    code = (
        "import sys\n"
        "from rftctl.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print([name for name in {HEAVY_LIBRARIES!r} if name in sys.modules])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd="/")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
