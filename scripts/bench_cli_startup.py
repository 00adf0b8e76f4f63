#!/usr/bin/env python3
"""Benchmark: how fast `rftctl --help` and an offline command start, against bare Python.

Runs each command several times in fresh processes, interleaved, and prints the median wall time
and the ratio to `python -c "import argparse"` (the floor any argparse CLI pays). The target is
`rftctl --help` within 10 times that floor: heavy libraries (boto3, the OpenAI SDK, matplotlib)
load only in the commands that use them.

    .venv/bin/python scripts/bench_cli_startup.py [--runs N] [--check]

With --check the exit status is 1 when `rftctl --help` misses the target.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 10.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    rftctl = str(Path(sys.executable).parent / "rftctl")
    commands = {
        "python -c 'import argparse'": [sys.executable, "-c", "import argparse"],
        "rftctl --help": [rftctl, "--help"],
        "rftctl validate (training file)": [
            rftctl,
            "validate",
            str(ROOT / "training-data" / "char-limit/training.jsonl"),
        ],
        "rftctl status --help": [rftctl, "status", "--help"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():  # interleaved: machine noise hits all alike
            start = time.perf_counter()
            subprocess.run(command, capture_output=True, check=True)
            times[name].append(time.perf_counter() - start)
    floor = statistics.median(times["python -c 'import argparse'"])
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"{name:34} {median * 1000:7.1f} ms  {median / floor:5.1f}x")
    ratio = statistics.median(times["rftctl --help"]) / floor
    print(f"target: rftctl --help at most {TARGET_RATIO:g}x the floor: {'met' if ratio <= TARGET_RATIO else 'MISSED'}")
    return 1 if args.check and ratio > TARGET_RATIO else 0


if __name__ == "__main__":
    sys.exit(main())
