"""The Makefile's deploy: the paid-job check runs first, and the deploy takes what it checked."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
@pytest.mark.parametrize("yes,flag", [("", "--confirm"), ("0", "--confirm"), ("no", "--confirm"),
                                      ("1", "--confirm --yes"), ("yes", "--confirm --yes")])
def test_deploy_asks_before_it_deploys_the_checked_assembly(yes: str, flag: str) -> None:
    result = subprocess.run(["make", "-n", "deploy", f"YES={yes}"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    commands = [line.strip() for line in result.stdout.splitlines()]
    plan = next(i for i, line in enumerate(commands) if "/rftctl plan" in line)
    deploy = next(i for i, line in enumerate(commands) if " cdk deploy " in f" {line} ")
    synth = next(i for i, line in enumerate(commands) if " cdk synth " in f" {line} ")
    assert synth < plan < deploy
    assert commands[plan].endswith(f"plan {flag}")
    assert "--app cdk.out" in commands[deploy]
    # What is deployed was checked by aws-cdk-lib's built-in template validation too.
    assert "--no-validation" not in commands[synth]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
def test_the_fast_synth_skips_the_builtin_validation() -> None:
    result = subprocess.run(["make", "-n", "synth"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    (synth,) = [line for line in result.stdout.splitlines() if " cdk synth " in f" {line} "]
    assert synth.rstrip().endswith("--no-validation")
