"""rftctl compare: base model vs tuned model on the same prompts, graded, side by side."""

from __future__ import annotations

import argparse
import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lambda_reward.runtime.contract import ResultKey

if TYPE_CHECKING:
    from lambda_reward.runtime.tasks import Task

    from ..samples import PromptRecord

from stacks.models import inference_model_id

from ..console import FAIL_MARK, PASS_MARK, format_number, format_percent, format_table, truncate
from ..context import CommandContext
from ..errors import EXIT_OK, CliError
from ..grading import passed

HELP = "run the base and the tuned model on the same prompts at temperature 0 and compare graded results"
PROMPT_COLUMN_WIDTH = 24


@dataclass(frozen=True)
class GradedAnswer:
    answer: str
    passed: bool
    reward: float
    metrics: dict[str, float]  # the task's own, as the grader reported them

    def cell(self, answer_metric: str | None = None) -> str:
        """The seed article's notation: "o 17" for a pass, "x 27" for a miss, with the task's answer
        metric (char-limit: the length), else the reward."""
        mark = PASS_MARK if self.passed else FAIL_MARK
        value = self.metrics.get(answer_metric) if answer_metric else None
        return f"{mark} {format_number(value)}" if value is not None else f"{mark} {self.reward:.2f}"


@dataclass(frozen=True)
class ComparisonRow:
    record: PromptRecord
    base: GradedAnswer
    tuned: GradedAnswer

    def prompt_value(self, prompt_metric: str | None) -> float | None:
        """The task's metric about the prompt (char-limit: its limit), as the grader read it."""
        return self.base.metrics.get(prompt_metric) if prompt_metric else None


@dataclass(frozen=True)
class ModelTotals:
    pass_count: int
    count: int
    mean_reward: float
    mean_answer_metric: float | None  # None when the task has no answer metric

    @property
    def pass_rate(self) -> float:
        return self.pass_count / self.count if self.count else 0.0


@dataclass(frozen=True)
class Comparison:
    rows: list[ComparisonRow]
    prompt_metric: tuple[str, str] | None = None  # (metric, label), from the task
    answer_metric: tuple[str, str] | None = None

    def totals(self, which: str) -> ModelTotals:
        answers: list[GradedAnswer] = [getattr(row, which) for row in self.rows]
        name = self.answer_metric[0] if self.answer_metric else None
        values = [a.metrics[name] for a in answers if name in a.metrics]
        return ModelTotals(
            pass_count=sum(answer.passed for answer in answers),
            count=len(answers),
            mean_reward=sum(answer.reward for answer in answers) / len(answers) if answers else 0.0,
            mean_answer_metric=sum(values) / len(values) if values else None,
        )


def _graded(records: Sequence[PromptRecord], answers: Sequence[str], task: Task | None,
            prompt_opens_reasoning: bool) -> list[GradedAnswer]:
    from lambda_reward.runtime.contract import MetricType
    from lambda_reward.runtime.grader import grade_batch

    results = grade_batch(
        [record.answered(answer, index) for index, (record, answer) in enumerate(zip(records, answers, strict=True))],
        task,
        prompt_opens_reasoning=prompt_opens_reasoning,
    )
    return [
        GradedAnswer(
            answer,
            passed(result),
            float(result[ResultKey.REWARD]),
            {m["name"]: m["value"] for m in result[ResultKey.METRICS] if m["type"] == MetricType.METRIC},
        )
        for answer, result in zip(answers, results, strict=True)
    ]


def build_comparison(
    records: Sequence[PromptRecord],
    base_answers: Sequence[str],
    tuned_answers: Sequence[str],
    task: Task | None = None,
    *,
    prompt_opens_reasoning: bool = False,
) -> Comparison:
    """Grade both models' answers with the grader's task and pair them per prompt."""
    from lambda_reward.runtime.grader import default_task

    task = task or default_task()
    base = _graded(records, base_answers, task, prompt_opens_reasoning)
    tuned = _graded(records, tuned_answers, task, prompt_opens_reasoning)
    return Comparison(
        [ComparisonRow(*row) for row in zip(records, base, tuned, strict=True)], task.prompt_metric, task.answer_metric
    )


def comparison_table(comparison: Comparison) -> str:
    prompt_metric = comparison.prompt_metric
    answer_metric = comparison.answer_metric[0] if comparison.answer_metric else None
    extra = [prompt_metric[1]] if prompt_metric else []
    rows = [
        [
            index,
            truncate(row.record.prompt, PROMPT_COLUMN_WIDTH),
            *([format_number(row.prompt_value(prompt_metric[0])) if row.prompt_value(prompt_metric[0]) else "-"]
              if prompt_metric else []),
            row.base.cell(answer_metric),
            row.tuned.cell(answer_metric),
        ]
        for index, row in enumerate(comparison.rows, start=1)
    ]
    base, tuned = comparison.totals("base"), comparison.totals("tuned")
    gap = [""] * len(extra)
    footer = [
        [
            "",
            "pass",
            *gap,
            f"{base.pass_count}/{base.count} ({format_percent(base.pass_rate)})",
            f"{tuned.pass_count}/{tuned.count} ({format_percent(tuned.pass_rate)})",
        ],
    ]
    if comparison.answer_metric and base.mean_answer_metric is not None and tuned.mean_answer_metric is not None:
        footer.append(
            ["", f"mean {comparison.answer_metric[1]}", *gap, f"{base.mean_answer_metric:.1f}",
             f"{tuned.mean_answer_metric:.1f}"]
        )
    footer.append(["", "mean reward", *gap, f"{base.mean_reward:.3f}", f"{tuned.mean_reward:.3f}"])
    width = 2 + len(extra)
    return format_table(
        ["#", "prompt", *extra, "base", "tuned"], rows, right_align=(0, *range(2, width + 2)), footer=footer
    )


def write_csv(path: Path, comparison: Comparison) -> None:
    """One row per prompt: both models' pass mark, reward and every metric the task reported."""
    names: list[str] = []
    for row in comparison.rows:
        for graded in (row.base, row.tuned):
            names.extend(name for name in graded.metrics if name not in names)
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(
            [
                "line",
                "prompt",
                *(f"{which}_{column}" for which in ("base", "tuned") for column in ("pass", "reward", *names)),
                "base_answer",
                "tuned_answer",
            ]
        )
        for row in comparison.rows:
            writer.writerow(
                [
                    row.record.line,
                    row.record.prompt,
                    *(
                        value
                        for graded in (row.base, row.tuned)
                        for value in (int(graded.passed), graded.reward, *(graded.metrics.get(n, "") for n in names))
                    ),
                    row.base.answer,
                    row.tuned.answer,
                ]
            )


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..samples import add_prompt_arguments

    parser = subparsers.add_parser(
        "compare",
        help=HELP,
        description=(
            "Ask the base model and the tuned model for one answer per prompt (temperature 0), grade "
            "both with the grader's task (--task, else the deployed grader's, else cdk.json's) and print "
            "each prompt with each model's o (pass) / x (miss) and reward, then pass count, pass rate "
            "and mean reward per model. Prompts: FILE, else the task's training-data/<task>/validation.jsonl, "
            "else the stack's ValidationDataUri. Tuned "
            "model: Nova = the Active on-demand deployment (see deploy-model); mantle = the job's "
            "fine_tuned_model."
        ),
    )
    add_prompt_arguments(parser)
    parser.add_argument(
        "--base-model-id", help="base model to invoke (default: the stack's BaseModel, mapped to its inference id)"
    )
    parser.add_argument(
        "--tuned-model-id", help="tuned model to invoke (Nova: deployment ARN; mantle: fine-tuned model id)"
    )
    parser.add_argument(
        "--job", metavar="JOB_ID", help="take the tuned model from this job instead of the stack's current one"
    )
    parser.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (default 0)")
    parser.add_argument("--max-tokens", type=int, default=512, help="answer token limit (default 512)")
    parser.add_argument("--concurrency", type=int, default=4, help="parallel model calls (default 4)")
    parser.add_argument(
        "--csv", type=Path, metavar="OUT", help="also write the comparison, with full prompts and answers, as CSV"
    )
    parser.set_defaults(run=run)


def run(ctx: CommandContext, args: argparse.Namespace) -> int:
    from ..inference import GenerationSettings, Request, chat_model, generate_all
    from ..samples import selected_prompts
    from ..task_choice import opens_reasoning, stack_task
    from ..trained_model import tuned_model_id

    if args.concurrency < 1 or args.max_tokens < 1:
        raise CliError("--concurrency and --max-tokens must be at least 1")
    if args.csv is not None and not args.csv.parent.is_dir():
        # Checked now, not after paying for every answer.
        raise CliError(f"--csv {args.csv}: directory {args.csv.parent} does not exist")
    # The prompts are checked with the task they are graded with: the deployed grader's unless --task.
    stack = ctx.stack()
    task = stack_task(args, stack)
    source, records = selected_prompts(ctx, args, task)
    base_id = args.base_model_id or inference_model_id(stack.base_model)
    tuned_id = args.tuned_model_id or tuned_model_id(ctx, stack, args.job)
    base_model = chat_model(ctx, stack, base_id)
    tuned_model = chat_model(ctx, stack, tuned_id)
    ctx.note(f"{stack.describe()}: {len(records)} prompts from {source}")
    ctx.note(f"base  {base_id}")
    ctx.note(f"tuned {tuned_id}")

    requests = [Request(base_model, r.messages) for r in records] + [Request(tuned_model, r.messages) for r in records]
    settings = GenerationSettings(temperature=args.temperature, max_tokens=args.max_tokens)
    answers = generate_all(ctx, requests, settings, concurrency=args.concurrency, label="asking")
    comparison = build_comparison(records, answers[: len(records)], answers[len(records) :], task,
                                  prompt_opens_reasoning=opens_reasoning(stack.base_model))
    ctx.print(comparison_table(comparison))
    if args.csv:
        try:
            write_csv(args.csv, comparison)
        except OSError as error:
            reason = error.strerror or error
            raise CliError(f"cannot write {args.csv}: {reason} (the table above is complete)") from error
        ctx.print(f"\nwritten: {args.csv}")
    return EXIT_OK
