"""rftctl compare: base model vs tuned model on the same prompts, graded, side by side, with 95% intervals."""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lambda_reward.runtime.contract import ResultKey

if TYPE_CHECKING:
    from lambda_reward.runtime.tasks import Task

    from ..samples import PromptRecord
    from ..statistics import Interval

from stacks.models import inference_model_id

from ..console import FAIL_MARK, PASS_MARK, add_json_argument, format_number, format_percent, format_table, truncate
from ..context import CommandContext
from ..errors import EXIT_OK, CliError
from ..grading import passed

HELP = "run the base and the tuned model on the same prompts and compare graded results, with confidence intervals"
PROMPT_COLUMN_WIDTH = 24
MAX_SAMPLES = 64  # answers per prompt per model: beyond this the prompts, not the answers, limit the precision
JSON_KIND, JSON_VERSION = "compare", 1
CONFIDENCE_METHOD = (
    "Student t intervals over prompts (the unit of independence; n_prompts - 1 degrees of freedom) on each "
    "prompt's mean reward and pass rate, and on the paired per-prompt differences tuned - base; clipped to "
    "[0, 1] ([-1, 1] for differences); with one sample per prompt a model's pass rate takes Wilson's score "
    "interval; when every prompt has the same value (no spread for t to work from), a model's mean reward "
    "and pass rate take Wilson's interval over the prompts at that value, and a difference has none; no "
    "interval with fewer than two prompts"
)
CSV_COLUMNS_HELP = (
    "CSV columns: line, prompt, sample (1..K), then per model (base_, tuned_) pass (1/0), reward and every "
    "metric the task reported (e.g. base_char_count), then base_answer and tuned_answer; one row per prompt "
    "and sample"
)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


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
        value = _finite(self.metrics.get(answer_metric)) if answer_metric else None
        return f"{mark} {format_number(value)}" if value is not None else f"{mark} {self.reward:.2f}"


@dataclass(frozen=True)
class PromptAnswers:
    """One model's graded answers to one prompt (--samples of them)."""

    answers: list[GradedAnswer]

    @property
    def pass_count(self) -> int:
        return sum(answer.passed for answer in self.answers)

    @property
    def pass_rate(self) -> float:
        return self.pass_count / len(self.answers)

    @property
    def mean_reward(self) -> float:
        return math.fsum(answer.reward for answer in self.answers) / len(self.answers)

    def cell(self, answer_metric: str | None = None) -> str:
        """One answer: the seed article's "o 17"; several: passes of answers and the mean reward, "3/4 0.61"."""
        if len(self.answers) == 1:
            return self.answers[0].cell(answer_metric)
        return f"{self.pass_count}/{len(self.answers)} {self.mean_reward:.2f}"


@dataclass(frozen=True)
class ComparisonRow:
    record: PromptRecord
    base: PromptAnswers
    tuned: PromptAnswers

    def prompt_value(self, prompt_metric: str | None) -> float | None:
        """The task's metric about the prompt (char-limit: its limit), as the grader read it."""
        return _finite(self.base.answers[0].metrics.get(prompt_metric)) if prompt_metric else None


@dataclass(frozen=True)
class ModelTotals:
    count: int  # answers
    prompts: int
    pass_count: int
    mean_reward: float | None  # None without answers
    mean_reward_ci: Interval | None  # None with fewer than two prompts
    pass_rate_ci: Interval | None
    mean_answer_metric: float | None  # None when the task has no answer metric

    @property
    def pass_rate(self) -> float | None:
        return self.pass_count / self.count if self.count else None


@dataclass(frozen=True)
class Difference:
    """tuned - base, paired by prompt."""

    mean_reward: float | None
    mean_reward_ci: Interval | None
    pass_rate: float | None
    pass_rate_ci: Interval | None


@dataclass(frozen=True)
class Comparison:
    rows: list[ComparisonRow]
    samples_per_prompt: int = 1
    prompt_metric: tuple[str, str] | None = None  # (metric, label), from the task
    answer_metric: tuple[str, str] | None = None

    def totals(self, which: str) -> ModelTotals:
        from ..statistics import bounded_interval, mean, wilson_interval

        per_prompt: list[PromptAnswers] = [getattr(row, which) for row in self.rows]
        answers = [answer for group in per_prompt for answer in group.answers]
        name = self.answer_metric[0] if self.answer_metric else None
        values = [value for a in answers if (value := _finite(a.metrics.get(name) if name else None)) is not None]
        pass_count = sum(group.pass_count for group in per_prompt)
        if self.samples_per_prompt == 1:
            # One answer per prompt: independent pass/fail trials, Wilson's interval.
            pass_ci = wilson_interval(pass_count, len(per_prompt)) if len(per_prompt) > 1 else None
        else:
            pass_ci = bounded_interval([group.pass_rate for group in per_prompt])
        return ModelTotals(
            count=len(answers),
            prompts=len(per_prompt),
            pass_count=pass_count,
            # Every prompt has the same number of answers: the mean over answers is the mean over prompts.
            mean_reward=mean([answer.reward for answer in answers]),
            mean_reward_ci=bounded_interval([group.mean_reward for group in per_prompt]),
            pass_rate_ci=pass_ci,
            mean_answer_metric=mean(values),
        )

    def difference(self) -> Difference:
        from ..statistics import mean, t_interval

        rewards = [row.tuned.mean_reward - row.base.mean_reward for row in self.rows]
        rates = [row.tuned.pass_rate - row.base.pass_rate for row in self.rows]
        return Difference(
            mean_reward=mean(rewards),
            mean_reward_ci=t_interval(rewards, bounds=(-1.0, 1.0)),
            pass_rate=mean(rates),
            pass_rate_ci=t_interval(rates, bounds=(-1.0, 1.0)),
        )


def _graded(records: Sequence[PromptRecord], answers: Sequence[str], samples_per_prompt: int, task: Task,
            prompt_opens_reasoning: bool) -> list[PromptAnswers]:
    from lambda_reward.runtime.contract import MetricType
    from lambda_reward.runtime.grader import grade_batch

    if len(answers) != len(records) * samples_per_prompt:
        raise ValueError(f"{len(answers)} answers for {len(records)} prompts x {samples_per_prompt} samples")
    # One batch per model, answers grouped by prompt as RFT's rollouts are (tasks that fill in a
    # neutral reward use the mean of the prompt's group).
    samples = [records[index // samples_per_prompt].answered(answer, index) for index, answer in enumerate(answers)]
    results = grade_batch(samples, task, prompt_opens_reasoning=prompt_opens_reasoning)
    graded = [
        GradedAnswer(
            answer,
            passed(result),
            float(result[ResultKey.REWARD]),
            {m["name"]: m["value"] for m in result[ResultKey.METRICS] if m["type"] == MetricType.METRIC},
        )
        for answer, result in zip(answers, results, strict=True)
    ]
    return [
        PromptAnswers(graded[index : index + samples_per_prompt]) for index in range(0, len(graded), samples_per_prompt)
    ]


def build_comparison(
    records: Sequence[PromptRecord],
    base_answers: Sequence[str],
    tuned_answers: Sequence[str],
    task: Task | None = None,
    *,
    samples_per_prompt: int = 1,
    prompt_opens_reasoning: bool = False,
) -> Comparison:
    """Grade both models' answers (``samples_per_prompt`` consecutive answers per record) with the grader's
    task and pair them per prompt."""
    from lambda_reward.runtime.grader import default_task

    task = task or default_task()
    base = _graded(records, base_answers, samples_per_prompt, task, prompt_opens_reasoning)
    tuned = _graded(records, tuned_answers, samples_per_prompt, task, prompt_opens_reasoning)
    return Comparison(
        [ComparisonRow(*row) for row in zip(records, base, tuned, strict=True)],
        samples_per_prompt,
        task.prompt_metric,
        task.answer_metric,
    )


# --- the table --------------------------------------------------------------------------------------


def _percent_interval(interval: Interval | None) -> str:
    return f" [{format_percent(interval.low)}, {format_percent(interval.high)}]" if interval else ""


def _reward(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _reward_interval(interval: Interval | None) -> str:
    return f" [{interval.low:.3f}, {interval.high:.3f}]" if interval else ""


def _signed_points(fraction: float) -> str:
    return f"{fraction * 100:+.0f}"


def difference_line(comparison: Comparison) -> str:
    difference = comparison.difference()
    if difference.mean_reward is None or difference.pass_rate is None:
        return "tuned - base: no prompts"
    count = len(comparison.rows)
    # Every prompt moved by exactly the same amount: t has no spread to work from, and says nothing.
    no_spread = " [same on every prompt: no interval]" if count > 1 else ""
    reward = f"mean reward {difference.mean_reward:+.3f}"
    if difference.mean_reward_ci:
        reward += f" [{difference.mean_reward_ci.low:+.3f}, {difference.mean_reward_ci.high:+.3f}]"
    else:
        reward += no_spread
    rate = f"pass rate {_signed_points(difference.pass_rate)} points"
    if difference.pass_rate_ci:
        rate += f" [{_signed_points(difference.pass_rate_ci.low)}, {_signed_points(difference.pass_rate_ci.high)}]"
    else:
        rate += no_spread
    return f"tuned - base (paired over {count} prompt{'s' * (count != 1)}): {reward}, {rate}"


def interval_note(comparison: Comparison) -> str:
    if len(comparison.rows) < 2:
        return "no confidence intervals: one prompt (an interval needs two or more)"
    t = f"Student t with {len(comparison.rows) - 1} degrees of freedom"
    how = f"Wilson for the pass rates, {t} for the rest" if comparison.samples_per_prompt == 1 else t
    return f"[low, high]: 95% confidence intervals over the prompts ({how})"


def comparison_table(comparison: Comparison) -> str:
    prompt_metric = comparison.prompt_metric
    answer_metric = comparison.answer_metric[0] if comparison.answer_metric else None
    extra = [prompt_metric[1]] if prompt_metric else []
    rows = []
    for index, row in enumerate(comparison.rows, start=1):
        prompt_cells = [format_number(row.prompt_value(prompt_metric[0]))] if prompt_metric else []
        rows.append([index, truncate(row.record.prompt, PROMPT_COLUMN_WIDTH), *prompt_cells,
                     row.base.cell(answer_metric), row.tuned.cell(answer_metric)])
    base, tuned = comparison.totals("base"), comparison.totals("tuned")
    gap = [""] * len(extra)

    def footer_row(label: str, base_cell: str, tuned_cell: str) -> list[str]:
        return ["", label, *gap, base_cell, tuned_cell]

    footer = [
        footer_row("pass", f"{base.pass_count}/{base.count}", f"{tuned.pass_count}/{tuned.count}"),
        footer_row(
            "pass rate",
            format_percent(base.pass_rate) + _percent_interval(base.pass_rate_ci),
            format_percent(tuned.pass_rate) + _percent_interval(tuned.pass_rate_ci),
        ),
    ]
    if comparison.answer_metric and base.mean_answer_metric is not None and tuned.mean_answer_metric is not None:
        footer.append(footer_row(f"mean {comparison.answer_metric[1]}", f"{base.mean_answer_metric:.1f}",
                                 f"{tuned.mean_answer_metric:.1f}"))
    footer.append(footer_row(
        "mean reward",
        _reward(base.mean_reward) + _reward_interval(base.mean_reward_ci),
        _reward(tuned.mean_reward) + _reward_interval(tuned.mean_reward_ci),
    ))
    width = 2 + len(extra)
    table = format_table(
        ["#", "prompt", *extra, "base", "tuned"], rows, right_align=(0, *range(2, width + 2)), footer=footer
    )
    return "\n".join([table, "", difference_line(comparison), interval_note(comparison)])


# --- CSV and JSON -----------------------------------------------------------------------------------


def write_csv(path: Path, comparison: Comparison) -> None:
    """One row per prompt and sample: both models' pass mark, reward and every metric the task reported."""
    import csv

    names: list[str] = []
    for row in comparison.rows:
        for group in (row.base, row.tuned):
            for graded in group.answers:
                names.extend(name for name in graded.metrics if name not in names)
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(
            [
                "line",
                "prompt",
                "sample",
                *(f"{which}_{column}" for which in ("base", "tuned") for column in ("pass", "reward", *names)),
                "base_answer",
                "tuned_answer",
            ]
        )
        for row in comparison.rows:
            for sample, (base, tuned) in enumerate(zip(row.base.answers, row.tuned.answers, strict=True), start=1):
                writer.writerow(
                    [
                        row.record.line,
                        row.record.prompt,
                        sample,
                        *(
                            value
                            for graded in (base, tuned)
                            for value in (int(graded.passed), graded.reward,
                                          *(graded.metrics.get(n, "") for n in names))
                        ),
                        base.answer,
                        tuned.answer,
                    ]
                )


def _interval_list(interval: Interval | None) -> list[float] | None:
    return interval.as_list() if interval else None


def _model_summary(totals: ModelTotals) -> dict[str, Any]:
    return {
        "count": totals.count,
        "prompts": totals.prompts,
        "passCount": totals.pass_count,
        "passRate": totals.pass_rate,
        "passRateCi95": _interval_list(totals.pass_rate_ci),
        "meanReward": totals.mean_reward,
        "meanRewardCi95": _interval_list(totals.mean_reward_ci),
        "meanAnswerMetric": totals.mean_answer_metric,
    }


def _prompt_answers(group: PromptAnswers) -> dict[str, Any]:
    return {
        "meanReward": group.mean_reward,
        "passRate": group.pass_rate,
        "answers": [
            {"answer": a.answer, "reward": a.reward, "passed": a.passed, "metrics": a.metrics} for a in group.answers
        ],
    }


def _metric_spec(metric: tuple[str, str] | None) -> dict[str, str] | None:
    return {"name": metric[0], "label": metric[1]} if metric else None


@dataclass(frozen=True)
class RunInfo:
    """What the comparison was run on and with: recorded in the JSON document."""

    stack: str
    region: str
    variant: str
    task: dict[str, Any]
    prompt_source: str
    created_at: str
    temperature: float
    max_tokens: int
    base_model: str
    tuned_model: str


def comparison_payload(comparison: Comparison, run: RunInfo) -> dict[str, Any]:
    """The rftctl.compare document (version 1) without its kind and version."""
    from ..statistics import CONFIDENCE_LEVEL

    difference = comparison.difference()
    prompt_metric = comparison.prompt_metric[0] if comparison.prompt_metric else None
    return {
        "stack": run.stack,
        "region": run.region,
        "variant": run.variant,
        "task": run.task,
        "promptSource": run.prompt_source,
        "createdAt": run.created_at,
        "settings": {
            "temperature": run.temperature,
            "maxTokens": run.max_tokens,
            "samplesPerPrompt": comparison.samples_per_prompt,
        },
        "promptMetric": _metric_spec(comparison.prompt_metric),
        "answerMetric": _metric_spec(comparison.answer_metric),
        "models": {"base": {"id": run.base_model}, "tuned": {"id": run.tuned_model}},
        "summary": {
            "base": _model_summary(comparison.totals("base")),
            "tuned": _model_summary(comparison.totals("tuned")),
            "difference": {
                "meanReward": difference.mean_reward,
                "meanRewardCi95": _interval_list(difference.mean_reward_ci),
                "passRate": difference.pass_rate,
                "passRateCi95": _interval_list(difference.pass_rate_ci),
            },
        },
        "confidence": {"level": CONFIDENCE_LEVEL, "method": CONFIDENCE_METHOD},
        "prompts": [
            {
                "line": row.record.line,
                "prompt": row.record.prompt,
                "promptMetric": row.prompt_value(prompt_metric),
                "base": _prompt_answers(row.base),
                "tuned": _prompt_answers(row.tuned),
            }
            for row in comparison.rows
        ],
    }


# --- the command ------------------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..samples import add_prompt_arguments

    parser = subparsers.add_parser(
        "compare",
        help=HELP,
        description=(
            "Ask the base model and the tuned model for --samples answers per prompt (default one, at "
            "temperature 0), grade both with the grader's task (--task, else the deployed grader's, else "
            "cdk.json's) and print each prompt with each model's o (pass) / x (miss) and answer metric "
            "(with several samples: passes/samples and mean reward), then per model the pass rate and mean "
            "reward with 95% confidence intervals over prompts, and the paired difference tuned - base. "
            "Prompts: FILE, else the task's training-data/<task>/validation.jsonl, else the stack's "
            "ValidationDataUri. Tuned model: Nova = the Active on-demand deployment (see deploy-model); "
            "mantle = the job's fine_tuned_model."
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
    parser.add_argument(
        "--samples", type=int, default=1, metavar="K",
        help=f"answers per prompt per model, 1 to {MAX_SAMPLES} (default 1); more than one needs a temperature "
        "above 0 to tell anything new",
    )
    parser.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (default 0)")
    parser.add_argument("--max-tokens", type=int, default=512, help="answer token limit (default 512)")
    parser.add_argument("--concurrency", type=int, default=4, help="parallel model calls (default 4)")
    parser.add_argument(
        "--csv", type=Path, metavar="OUT",
        help="also write every answer, with full prompts, as CSV. " + CSV_COLUMNS_HELP,
    )
    parser.add_argument(
        "--json-out", type=Path, metavar="FILE",
        help="also write the rftctl.compare JSON document (settings, models, summary with intervals, every "
        "answer) to FILE",
    )
    add_json_argument(parser)
    parser.set_defaults(run=run)


def check_generation_options(args: argparse.Namespace) -> None:
    """--samples, --temperature, --max-tokens and --concurrency, before anything is asked of AWS."""
    if args.concurrency < 1 or args.max_tokens < 1:
        raise CliError("--concurrency and --max-tokens must be at least 1")
    if not math.isfinite(args.temperature) or args.temperature < 0:
        raise CliError(f"--temperature {args.temperature}: must be a number of at least 0")


def _check_output_path(option: str, path: Path | None) -> None:
    # Checked now, not after paying for every answer.
    from ..documents import check_output_directory

    if path is not None:
        check_output_directory(path, option)


def run(ctx: CommandContext, args: argparse.Namespace) -> int:
    from ..console import json_document
    from ..documents import write_json_document
    from ..inference import GenerationSettings, Request, chat_model, generate_all
    from ..samples import selected_prompts
    from ..task_choice import opens_reasoning, stack_task
    from ..trained_model import tuned_model_id

    check_generation_options(args)
    if not 1 <= args.samples <= MAX_SAMPLES:
        raise CliError(f"--samples {args.samples}: must be from 1 to {MAX_SAMPLES}")
    _check_output_path("--csv", args.csv)
    _check_output_path("--json-out", args.json_out)
    if args.csv is not None and args.json_out is not None and args.csv.resolve() == args.json_out.resolve():
        raise CliError(f"--csv and --json-out name the same file {args.csv}: give each its own")
    if args.samples > 1 and args.temperature == 0:
        ctx.note(f"warning: --samples {args.samples} at --temperature 0: the answers to a prompt will most likely "
                 "be identical and add no information; raise --temperature (e.g. 1.0) to sample")
    # The prompts are checked with the task they are graded with: the deployed grader's unless --task.
    stack = ctx.stack()
    task = stack_task(args, stack)
    source, records = selected_prompts(ctx, args, task)
    base_id = args.base_model_id or inference_model_id(stack.base_model)
    tuned_id = args.tuned_model_id or tuned_model_id(ctx, stack, args.job)
    base_model = chat_model(ctx, stack, base_id)
    tuned_model = chat_model(ctx, stack, tuned_id)
    samples = args.samples
    ctx.note(f"{stack.describe()}: {len(records)} prompts from {source}"
             + (f", {samples} samples per prompt at temperature {args.temperature:g}" if samples > 1 else ""))
    ctx.note(f"base  {base_id}")
    ctx.note(f"tuned {tuned_id}")

    requests = [Request(model, record.messages)
                for model in (base_model, tuned_model) for record in records for _ in range(samples)]
    settings = GenerationSettings(temperature=args.temperature, max_tokens=args.max_tokens)
    answers = generate_all(ctx, requests, settings, concurrency=args.concurrency, label="asking")
    half = len(records) * samples
    comparison = build_comparison(records, answers[:half], answers[half:], task, samples_per_prompt=samples,
                                  prompt_opens_reasoning=opens_reasoning(stack.base_model))
    run_info = RunInfo(
        stack=stack.name, region=stack.region, variant=stack.variant.value, task=task.spec, prompt_source=source,
        created_at=ctx.utc_now().isoformat(timespec="seconds"), temperature=args.temperature,
        max_tokens=args.max_tokens, base_model=base_id, tuned_model=tuned_id,
    )
    payload = comparison_payload(comparison, run_info)
    if args.json:
        ctx.print_json(JSON_KIND, JSON_VERSION, payload)
    else:
        ctx.print(comparison_table(comparison))
    for option, path, write in (
        ("--csv", args.csv, lambda path: write_csv(path, comparison)),
        ("--json-out", args.json_out,
         lambda path: write_json_document(path, json_document(JSON_KIND, JSON_VERSION, payload), "--json-out")),
    ):
        if path is None:
            continue
        try:
            write(path)
        except OSError as error:
            reason = error.strerror or error
            raise CliError(f"cannot write {option} {path}: {reason} (the comparison above is complete)") from error
        ctx.note(f"written: {path}")
    return EXIT_OK
