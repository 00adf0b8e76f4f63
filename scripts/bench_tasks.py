#!/usr/bin/env python3
"""Throughput of the deterministic tasks through the grader, in process: samples per second.

For each task, a reproducible batch is built from its own training data (training-data/<task>/):
every prompt answered by a GRPO-sized group of rollouts (``--group-size``), some right, some
wrong, some malformed-looking, as policies write them. The batch goes through a JSON round trip,
then ``lambda_reward.runtime.grader.grade_batch`` with the task loaded as the Lambda loads it; best
of ``--repeats`` interleaved runs, every cache cleared before each (a fresh container).

    .venv/bin/python scripts/bench_tasks.py [--samples N] [--group-size G] [--repeats R] [--check] [TASK ...]

With --check the exit status is 1 when char-limit or math-answer scores fewer than 100,000
samples/s (the issue's target for the deterministic tasks); the others are printed for reference.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lambda_reward.runtime.grader import clear_caches, grade_batch
from lambda_reward.runtime.tasks import load_task

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"char-limit": 100_000, "math-answer": 100_000}
JA_FRAGMENTS = ["日本一高い山で、", "静岡県と山梨県にまたがる。", "機械が学習する技術。", "データから規則を学ぶ。",
                "約3.1km。"]
EN_FRAGMENTS = ["Plants turn light ", "into sugar. ", "It is a volcano ", "in Japan. ", "Data in, rules out. "]


def records_of(task: str) -> list[dict[str, Any]]:
    path = ROOT / "training-data" / task / "training.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def char_limit_answer(rng: random.Random, record: dict[str, Any]) -> str:
    limit = int(record.get("char_limit") or 40)
    japanese = not record["messages"][-1]["content"].isascii()
    fragments = JA_FRAGMENTS if japanese else EN_FRAGMENTS
    text = ""
    target = int(limit * rng.uniform(0.3, 1.8))
    while len(text) < target:
        text += rng.choice(fragments)
    text = text[:target]
    if rng.random() < 0.15:
        text = f"<think>The user wants something short. {text}</think>\n{text}"
    return text


def math_answer(rng: random.Random, record: dict[str, Any]) -> str:
    reference = record.get("reference_answer")
    final = str(reference).rsplit("####", 1)[-1].strip() if reference is not None else "0"
    if isinstance(reference, dict):
        final = str(reference.get("final_answer", "0"))
    wrong = str(rng.randint(1, 999))
    style = rng.random()
    number = final if rng.random() < 0.5 else wrong
    reasoning = "First add the two amounts, then take away what was spent, which leaves the rest. "
    if style < 0.5:
        return f"{reasoning}So the answer is {number}.\n#### {number}"
    if style < 0.8:
        return f"{reasoning}The answer is \\boxed{{{number}}}."
    return f"{reasoning}That makes {number} in total."


def reference_answer(rng: random.Random, record: dict[str, Any]) -> str:
    reference = next((record[key] for key in ("reference_answer", "ground_truth") if key in record), "")
    text = reference if isinstance(reference, str) else json.dumps(reference, ensure_ascii=False)
    return text if rng.random() < 0.6 else "I am not sure."


ANSWERS: dict[str, Callable[[random.Random, dict[str, Any]], str]] = {
    "char-limit": char_limit_answer,
    "math-answer": math_answer,
}
DETERMINISTIC = ("char-limit", "math-answer", "exact-match", "json-schema", "tool-call")


def build_batch(task: str, samples: int, group_size: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    records = records_of(task)
    answer = ANSWERS.get(task, reference_answer)
    batch: list[dict[str, Any]] = []
    while len(batch) < samples:
        record = rng.choice(records)
        extra = {key: value for key, value in record.items() if key != "messages"}
        for _ in range(group_size):
            messages = [*record["messages"], {"role": "assistant", "content": answer(rng, record)}]
            batch.append({"id": len(batch), "messages": messages, **extra})
    return json.loads(json.dumps(batch[:samples], ensure_ascii=False))  # as Lambda hands it over


def best_rate(task_name: str, batch: list[dict[str, Any]], repeats: int) -> float:
    task = load_task(task_name)
    best = float("inf")
    for _ in range(repeats):
        clear_caches()
        gc.collect()
        start = time.perf_counter()
        grade_batch(batch, task)
        best = min(best, time.perf_counter() - start)
    return len(batch) / best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="*", metavar="TASK", help=f"default: {', '.join(DETERMINISTIC)}")
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--group-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    names = args.tasks or [name for name in DETERMINISTIC if (ROOT / "training-data" / name).is_dir()]
    batches = {name: build_batch(name, args.samples, args.group_size, args.seed) for name in names}
    rates = {name: 0.0 for name in names}
    for _ in range(args.repeats):  # interleaved: a busy moment slows every task alike
        for name in names:
            rates[name] = max(rates[name], best_rate(name, batches[name], 1))
    print(f"batch: {args.samples:,} samples per task, {args.group_size} rollouts per prompt, best of {args.repeats}")
    missed = []
    for name in names:
        target = TARGETS.get(name)
        note = f"(target >= {target:,})" if target else ""
        print(f"{name:<12} {rates[name]:>12,.0f} samples/s {note}")
        if target and rates[name] < target:
            missed.append(name)
    if missed:
        print("targets missed: " + ", ".join(missed))
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
