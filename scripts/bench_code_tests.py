#!/usr/bin/env python3
"""Benchmark the code-tests task: a GRPO-sized batch of programs through the grader.

Builds 64 samples (8 problems x a group of 8 answers) with 5 test cases each: correct answers
(each textually distinct, as sampled answers are, so nothing is deduplicated away), wrong ones,
crashing ones (an exception, a syntax error, a missing input line) and one infinite loop. Runs them
through ``lambda_reward.runtime.grader.grade_batch`` with the task loaded as the Lambda loads it, best
of ``--repeats``, and prints the wall time, samples/s and runs/s, the CPUs and workers used, whether
the runs were under the seccomp filter, and what the infinite loop cost. ``--identical`` makes each
group's correct answers identical instead, to show what deduplication saves.

    .venv/bin/python scripts/bench_code_tests.py [--samples 64] [--tests 5] [--workers N]
        [--timeout S] [--repeats R] [--identical] [--check]

With ``--check`` the exit status is 1 when the batch takes more than 10 s (the issue's target: 64
samples x 5 tests on 2 cores in at most 10 s, an infinite loop costing one sample its time limit), or
when a sample is flagged (not truly scored: the sandbox refused to run, or the deadline came first).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lambda_reward.runtime.grader import grade_batch  # noqa: E402
from lambda_reward.runtime.tasks import _sandbox, load_task  # noqa: E402

TARGET_SECONDS = 10.0

# (statement, reference function, a correct program, wrong programs, crashing programs).
PROBLEMS: list[tuple[str, Any, str, list[str], list[str]]] = [
    ("Print the sum of the integers on the line.",
     lambda line: str(sum(map(int, line.split()))),
     "print(sum(map(int, input().split())))",
     ["print(sum(map(int, input().split())) + 1)", "print(input().split()[0])"],
     ["print(sum(input()))", "print(sum(map(int, input().split()))"]),
    ("Print the largest of the integers on the line.",
     lambda line: str(max(map(int, line.split()))),
     "print(max(map(int, input().split())))",
     ["print(min(map(int, input().split())))", "print(sorted(input().split())[-1])"],
     ["print(max(input().split(), key=int)[5])", "import sys\nsys.exit(1)"]),
    ("Print the line reversed.",
     lambda line: line[::-1],
     "print(input()[::-1])",
     ["print(input())", "print(' '.join(input().split()[::-1]))"],
     ["print(input()[::-1]", "raise RuntimeError('boom')"]),
    ("Print how many of the integers on the line are even.",
     lambda line: str(sum(int(x) % 2 == 0 for x in line.split())),
     "print(sum(int(x) % 2 == 0 for x in input().split()))",
     ["print(sum(int(x) % 2 for x in input().split()))", "print(len(input().split()))"],
     ["print(len(input().split()) // 0)", "input(); input()"]),
    ("Print the integers on the line sorted ascending, space-separated.",
     lambda line: " ".join(map(str, sorted(map(int, line.split())))),
     "print(*sorted(map(int, input().split())))",
     ["print(*sorted(input().split()))", "print(*sorted(map(int, input().split()), reverse=True))"],
     ["print(*sorted(map(int, input().split()))[0])", "x = [int(v) for v in input()]"]),
    ("Print the product of the integers on the line modulo 1000000007.",
     lambda line: str(_product(line)),
     "p = 1\nfor x in input().split():\n    p = p * int(x) % 1000000007\nprint(p)",
     ["p = 1\nfor x in input().split():\n    p *= int(x)\nprint(p % 1000000006)", "print(1)"],
     ["p = 1\nfor x in input().split():\n    p = p * int(x) % 0\nprint(p)", "print(undefined)"]),
    ("Print the number of distinct integers on the line.",
     lambda line: str(len(set(line.split()))),
     "print(len(set(input().split())))",
     ["print(len(input().split()))", "print(len(set(input())))"],
     ["print(len(set(input().split()))", "print(input().split()[10**6])"]),
    ("Print the sum of the squares of the integers on the line.",
     lambda line: str(sum(int(x) ** 2 for x in line.split())),
     "print(sum(int(x) ** 2 for x in input().split()))",
     ["print(sum(int(x) * 2 for x in input().split()))", "print(sum(map(int, input().split())) ** 2)"],
     ["print(sum(int(x) ** 2 for x in input().split())", "assert False"]),
]
INFINITE_LOOP = "while True:\n    pass"


def _product(line: str) -> int:
    product = 1
    for token in line.split():
        product = product * int(token) % 1_000_000_007
    return product


def build_batch(samples: int, tests: int, identical: bool, loop: bool = True, seed: int = 7) -> list[dict[str, Any]]:
    """``samples`` samples in GRPO groups of 8 per problem (sharing its test cases): 5 correct, 1 wrong,
    2 crashing; the middle sample an infinite loop when ``loop``."""
    rng = random.Random(seed)
    batch: list[dict[str, Any]] = []
    test_cases: list[dict[str, str]] = []
    for index in range(samples):
        statement, solve, correct, wrong, crashing = PROBLEMS[(index // 8) % len(PROBLEMS)]
        if index % 8 == 0:
            lines = [" ".join(str(rng.randint(-99, 999)) for _ in range(rng.randint(1, 12))) for _ in range(tests)]
            test_cases = [{"input": line + "\n", "output": solve(line) + "\n"} for line in lines]
        role = index % 8
        if index == samples // 2 and loop:
            program = INFINITE_LOOP
        elif role < 5:
            program = correct if identical else f"# answer {index}\n{correct}"
        elif role == 5:
            program = f"# answer {index}\n{wrong[index % len(wrong)]}"
        else:
            program = f"# answer {index}\n{crashing[role % len(crashing)]}"
        answer = f"Here is my solution.\n\n```python\n{program}\n```\n"
        batch.append({
            "id": index,
            "messages": [{"role": "user", "content": statement}, {"role": "assistant", "content": answer}],
            "metadata": {"test_cases": test_cases},
        })
    return batch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=64, help="samples in the batch (64)")
    parser.add_argument("--tests", type=int, default=5, help="test cases per sample (5)")
    parser.add_argument("--workers", type=int, default=0, help="runs at once (0: the task's default)")
    parser.add_argument("--timeout", type=float, default=None, help="timeoutSeconds (default: the task's)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats; the best counts (3)")
    parser.add_argument("--identical", action="store_true", help="each group's correct answers identical")
    parser.add_argument("--check", action="store_true", help=f"exit 1 when the batch takes over {TARGET_SECONDS} s")
    args = parser.parse_args(argv)

    spec: dict[str, Any] = {"name": "code-tests", "workers": args.workers}
    if args.timeout is not None:
        spec["timeoutSeconds"] = args.timeout
    task = load_task(spec)
    batch = build_batch(args.samples, args.tests, args.identical)
    runs = len({(s["messages"][1]["content"], case["input"]) for s in batch for case in s["metadata"]["test_cases"]})
    affinity = getattr(os, "sched_getaffinity", None)
    cpus = len(affinity(0)) if affinity is not None else os.cpu_count()

    timings: list[float] = []
    results: list[dict[str, Any]] = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        results = grade_batch(batch, task)
        timings.append(time.perf_counter() - start)
    best = min(timings)
    without_loop = build_batch(args.samples, args.tests, args.identical, loop=False)
    start = time.perf_counter()
    grade_batch(without_loop, task)
    loop_free = time.perf_counter() - start

    probe = _sandbox.probe_sandbox(task.scorer.limits, task.scorer.bootstrap, seccomp=True)
    flagged = sum(any(metric["name"] == "flagged" for metric in result["metrics_list"]) for result in results)
    rewards = [result["aggregate_reward_score"] for result in results]
    loop = results[args.samples // 2]
    loop_metrics = {metric["name"]: metric["value"] for metric in loop["metrics_list"]}
    print(f"code-tests: {args.samples} samples x {args.tests} tests = {runs} distinct runs; "
          f"{cpus} CPUs, {task.scorer.workers} workers, timeoutSeconds {task.options['timeoutSeconds']}")
    print(f"  sandbox: seccomp filter {'in force' if probe.filtered else 'NOT in force: ' + probe.problem}; "
          f"flagged samples {flagged}")
    print(f"  wall time: best {best:.2f} s of {', '.join(f'{t:.2f}' for t in timings)}")
    print(f"  throughput: {args.samples / best:.1f} samples/s, {runs / best:.1f} runs/s")
    print(f"  rewards: mean {sum(rewards) / len(rewards):.3f}; full marks {sum(r == 1.0 for r in rewards)}, "
          f"zero {sum(r == 0.0 for r in rewards)}")
    print(f"  infinite loop (sample {loop['id']}): reward {loop['aggregate_reward_score']}, "
          f"timed out {loop_metrics.get('tests_timed_out', 0)} of {loop_metrics.get('tests_total', 0)} tests; "
          f"the batch with a correct answer in its place: {loop_free:.2f} s")
    if args.check and best > TARGET_SECONDS:
        print(f"FAIL: {best:.2f} s is over the {TARGET_SECONDS} s target")
        return 1
    if args.check and flagged:
        print(f"FAIL: {flagged} samples flagged (not truly scored)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
