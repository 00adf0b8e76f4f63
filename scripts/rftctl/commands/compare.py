"""rftctl compare: base model vs tuned model on the same prompts, graded, side by side."""

from __future__ import annotations

import argparse
import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lambda_reward.runtime.contract import ResultKey, RewardMetric

if TYPE_CHECKING:
    from ..samples import PromptRecord

from stacks.models import inference_model_id

from ..console import FAIL_MARK, PASS_MARK, format_percent, format_table, truncate
from ..context import CommandContext
from ..errors import EXIT_OK, CliError
from ..grading import metric, passed

HELP = "run the base and the tuned model on the same prompts at temperature 0 and compare graded results"
PROMPT_COLUMN_WIDTH = 24


@dataclass(frozen=True)
class GradedAnswer:
    answer: str
    length: int
    passed: bool
    reward: float

    def cell(self) -> str:
        """The seed article's notation: "o 17" within the limit, "x 27" over it."""
        return f"{PASS_MARK if self.passed else FAIL_MARK} {self.length}"


@dataclass(frozen=True)
class ComparisonRow:
    record: PromptRecord
    limit: int | None
    base: GradedAnswer
    tuned: GradedAnswer


@dataclass(frozen=True)
class ModelTotals:
    pass_count: int
    count: int
    mean_length: float

    @property
    def pass_rate(self) -> float:
        return self.pass_count / self.count if self.count else 0.0


@dataclass(frozen=True)
class Comparison:
    rows: list[ComparisonRow]

    def totals(self, which: str) -> ModelTotals:
        answers = [getattr(row, which) for row in self.rows]
        return ModelTotals(
            pass_count=sum(answer.passed for answer in answers),
            count=len(answers),
            mean_length=sum(answer.length for answer in answers) / len(answers) if answers else 0.0,
        )


def _graded(records: Sequence[PromptRecord], answers: Sequence[str]) -> list[tuple[GradedAnswer, int | None]]:
    from lambda_reward.runtime.grader import grade_batch

    results = grade_batch(
        [record.answered(answer, index) for index, (record, answer) in enumerate(zip(records, answers, strict=True))]
    )
    graded = []
    for answer, result in zip(answers, results, strict=True):
        limit = metric(result, RewardMetric.CHAR_LIMIT)
        graded.append(
            (
                GradedAnswer(
                    answer,
                    int(metric(result, RewardMetric.CHAR_COUNT) or 0),
                    passed(result),
                    float(result[ResultKey.REWARD]),
                ),
                int(limit) if limit else None,
            )
        )
    return graded


def build_comparison(
    records: Sequence[PromptRecord], base_answers: Sequence[str], tuned_answers: Sequence[str]
) -> Comparison:
    """Grade both models' answers with the grader and pair them per prompt."""
    base = _graded(records, base_answers)
    tuned = _graded(records, tuned_answers)
    return Comparison(
        [
            ComparisonRow(record, limit, base_answer, tuned_answer)
            for record, (base_answer, limit), (tuned_answer, _) in zip(records, base, tuned, strict=True)
        ]
    )


def comparison_table(comparison: Comparison) -> str:
    rows = [
        [index, truncate(row.record.prompt, PROMPT_COLUMN_WIDTH), row.limit or "-", row.base.cell(), row.tuned.cell()]
        for index, row in enumerate(comparison.rows, start=1)
    ]
    base, tuned = comparison.totals("base"), comparison.totals("tuned")
    footer = [
        [
            "",
            "pass",
            "",
            f"{base.pass_count}/{base.count} ({format_percent(base.pass_rate)})",
            f"{tuned.pass_count}/{tuned.count} ({format_percent(tuned.pass_rate)})",
        ],
        ["", "mean length", "", f"{base.mean_length:.1f}", f"{tuned.mean_length:.1f}"],
    ]
    return format_table(["#", "prompt", "limit", "base", "tuned"], rows, right_align=(0, 2, 3, 4), footer=footer)


def write_csv(path: Path, comparison: Comparison) -> None:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(
            [
                "line",
                "prompt",
                "char_limit",
                "base_chars",
                "base_pass",
                "base_reward",
                "tuned_chars",
                "tuned_pass",
                "tuned_reward",
                "base_answer",
                "tuned_answer",
            ]
        )
        for row in comparison.rows:
            writer.writerow(
                [
                    row.record.line,
                    row.record.prompt,
                    row.limit or "",
                    row.base.length,
                    int(row.base.passed),
                    row.base.reward,
                    row.tuned.length,
                    int(row.tuned.passed),
                    row.tuned.reward,
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
            "both with the grader and print prompt, limit and each model's length with o (pass) / x "
            "(miss), then pass count, pass rate and mean length per model. Prompts: FILE, else "
            "training-data/char-limit-validation.jsonl, else the stack's ValidationDataUri. Tuned "
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
    from ..trained_model import tuned_model_id

    if args.concurrency < 1 or args.max_tokens < 1:
        raise CliError("--concurrency and --max-tokens must be at least 1")
    if args.csv is not None and not args.csv.parent.is_dir():
        # Checked now, not after paying for every answer.
        raise CliError(f"--csv {args.csv}: directory {args.csv.parent} does not exist")
    source, records = selected_prompts(ctx, args)  # a local file is checked before any AWS call
    stack = ctx.stack()
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
    comparison = build_comparison(records, answers[: len(records)], answers[len(records) :])
    ctx.print(comparison_table(comparison))
    if args.csv:
        try:
            write_csv(args.csv, comparison)
        except OSError as error:
            reason = error.strerror or error
            raise CliError(f"cannot write {args.csv}: {reason} (the table above is complete)") from error
        ctx.print(f"\nwritten: {args.csv}")
    return EXIT_OK
