"""rftctl preflight: is RFT worth paying for? Sample the base model and grade it first."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lambda_reward.runtime.contract import ResultKey

if TYPE_CHECKING:
    from lambda_reward.runtime.tasks import Task

    from ..samples import PromptRecord
    from ..stack import DeployedStack

from stacks.models import inference_model_id

from ..console import add_json_argument, format_number, format_percent, format_table, truncate
from ..context import CommandContext
from ..errors import EXIT_OK, CliError
from ..grading import metric, passed

HELP = "sample the base model on the validation prompts and say whether RFT is a good fit"
# Rewards closer than this count as equal: GRPO's advantage is reward minus the group mean.
SAME_REWARD_TOLERANCE = 1e-9
JSON_KIND, JSON_VERSION = "preflight", 1
# The verdict, as a word for scripts (the JSON document's summary.verdict).
RFT_UNNECESSARY, SFT_FIRST, RFT_FIT = "rft-unnecessary", "sft-first", "rft-fit"


@dataclass(frozen=True)
class PromptOutcome:
    record: PromptRecord
    rewards: list[float]
    passes: list[bool]
    prompt_value: float | None = None  # the task's metric of the prompt (char-limit: the limit)
    answer_values: list[float | None] = field(default_factory=list)  # its metric per answer (the lengths)

    @property
    def uniform(self) -> bool:
        """Every sample got the same reward, so this prompt's group teaches GRPO nothing."""
        return max(self.rewards) - min(self.rewards) <= SAME_REWARD_TOLERANCE


@dataclass(frozen=True)
class PreflightReport:
    outcomes: list[PromptOutcome]
    samples_per_prompt: int
    prompt_metric: tuple[str, str] | None = None  # (metric, label) from the task
    answer_metric: tuple[str, str] | None = None

    @property
    def sample_count(self) -> int:
        return sum(len(outcome.rewards) for outcome in self.outcomes)

    @property
    def mean_reward(self) -> float:
        return sum(sum(outcome.rewards) for outcome in self.outcomes) / self.sample_count

    @property
    def pass_rate(self) -> float:
        return sum(sum(outcome.passes) for outcome in self.outcomes) / self.sample_count

    @property
    def uniform_share(self) -> float:
        return sum(outcome.uniform for outcome in self.outcomes) / len(self.outcomes)


def verdict_code(pass_rate: float, *, unnecessary_at: float, sft_first_at: float) -> str:
    """AWS's guidance as one word: RFT needs some, but not all, samples to succeed."""
    if pass_rate >= unnecessary_at:
        return RFT_UNNECESSARY
    if pass_rate <= sft_first_at:
        return SFT_FIRST
    return RFT_FIT


def verdict(pass_rate: float, *, unnecessary_at: float, sft_first_at: float) -> str:
    """AWS's guidance in plain words: RFT needs some, but not all, samples to succeed."""
    code = verdict_code(pass_rate, unnecessary_at=unnecessary_at, sft_first_at=sft_first_at)
    if code == RFT_UNNECESSARY:
        return (
            f"RFT is unnecessary: the base model already passes {format_percent(pass_rate)} of the time "
            f"(>= {format_percent(unnecessary_at)}). Use it as is, or make the task harder."
        )
    if code == SFT_FIRST:
        return (
            f"Start with supervised fine-tuning (SFT): the base model passes only {format_percent(pass_rate)} "
            f"(<= {format_percent(sft_first_at)}), so RFT would see almost no rewarded answers to learn from."
        )
    return (
        f"RFT is a good fit: the base model passes {format_percent(pass_rate)}, so GRPO has both successes "
        "and failures to learn from."
    )


def build_report(
    records: Sequence[PromptRecord], answers: Sequence[str], samples_per_prompt: int, task: Task | None = None,
    *, prompt_opens_reasoning: bool = False,
) -> PreflightReport:
    """Grade ``answers`` (``samples_per_prompt`` consecutive answers per record) with grade_batch."""
    from lambda_reward.runtime.grader import default_task, grade_batch

    task = task or default_task()
    samples = [
        record.answered(answers[index * samples_per_prompt + k], index * samples_per_prompt + k)
        for index, record in enumerate(records)
        for k in range(samples_per_prompt)
    ]
    results = grade_batch(samples, task, prompt_opens_reasoning=prompt_opens_reasoning)
    outcomes = []
    for index, record in enumerate(records):
        group = results[index * samples_per_prompt : (index + 1) * samples_per_prompt]
        outcomes.append(
            PromptOutcome(
                record=record,
                rewards=[float(result[ResultKey.REWARD]) for result in group],
                passes=[passed(result) for result in group],
                prompt_value=metric(group[0], task.prompt_metric[0]) if task.prompt_metric else None,
                answer_values=[metric(result, task.answer_metric[0]) for result in group] if task.answer_metric else [],
            )
        )
    return PreflightReport(outcomes, samples_per_prompt, task.prompt_metric, task.answer_metric)


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..samples import add_prompt_arguments

    parser = subparsers.add_parser(
        "preflight",
        help=HELP,
        description=(
            "Before paying for training: ask the stack's base model for --samples answers per "
            "validation prompt at --temperature (like RFT's rollouts), grade them with the grader's task "
            "(--task, else the deployed grader's, else cdk.json's), "
            "and report mean reward, pass rate, the share of prompts whose samples all got the same "
            "reward (those teach GRPO nothing) and a verdict: RFT unnecessary when the base model "
            "already passes >= --unnecessary-above, SFT first when it passes <= --sft-below, else RFT "
            "is a good fit. Prompts: FILE, else the task's training-data/<task>/validation.jsonl, else the "
            "stack's ValidationDataUri."
        ),
    )
    add_prompt_arguments(parser)
    parser.add_argument("--samples", type=int, default=4, metavar="K", help="answers per prompt (default 4)")
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default 1.0)")
    parser.add_argument("--max-tokens", type=int, default=512, help="answer token limit (default 512)")
    parser.add_argument(
        "--model-id",
        help="model to invoke (default: the stack's BaseModel, mapped to its inference id, "
        "e.g. amazon.nova-2-lite-v1:0:256k -> us.amazon.nova-2-lite-v1:0)",
    )
    parser.add_argument("--concurrency", type=int, default=4, help="parallel model calls (default 4)")
    parser.add_argument(
        "--unnecessary-above",
        type=float,
        default=0.95,
        metavar="RATE",
        help="pass rate from which RFT is unnecessary (default 0.95)",
    )
    parser.add_argument(
        "--sft-below",
        type=float,
        default=0.05,
        metavar="RATE",
        help="pass rate up to which SFT should come first (default 0.05)",
    )
    add_json_argument(parser)
    parser.set_defaults(run=run)


def run(ctx: CommandContext, args: argparse.Namespace) -> int:
    from ..inference import GenerationSettings, Request, chat_model, generate_all
    from ..samples import selected_prompts
    from ..task_choice import opens_reasoning, stack_task
    from .compare import check_generation_options

    if args.samples < 1 or args.concurrency < 1 or args.max_tokens < 1:
        raise CliError("--samples, --concurrency and --max-tokens must be at least 1")
    check_generation_options(args)
    if not 0.0 <= args.sft_below < args.unnecessary_above <= 1.0:
        raise CliError("need 0 <= --sft-below < --unnecessary-above <= 1")
    # The prompts are checked with the task they are graded with: the deployed grader's unless --task.
    stack = ctx.stack()
    task = stack_task(args, stack)
    source, records = selected_prompts(ctx, args, task)
    model_id = args.model_id or inference_model_id(stack.base_model)
    model = chat_model(ctx, stack, model_id)
    ctx.note(f"{stack.describe()}: sampling {model_id} {args.samples}x on {len(records)} prompts from {source}, "
             f"task {task.name}")

    requests = [Request(model, record.messages) for record in records for _ in range(args.samples)]
    settings = GenerationSettings(temperature=args.temperature, max_tokens=args.max_tokens)
    answers = generate_all(ctx, requests, settings, concurrency=args.concurrency, label="sampling")
    report = build_report(records, answers, args.samples, task,
                          prompt_opens_reasoning=opens_reasoning(stack.base_model))
    if args.json:
        ctx.print_json(JSON_KIND, JSON_VERSION, report_payload(
            report, args, stack=stack, task=task, source=source, model_id=model_id,
            created_at=ctx.utc_now().isoformat(timespec="seconds")))
        if _spread_note_applies(report, args):
            ctx.note(SPREAD_NOTE)
        return EXIT_OK
    _print_report(ctx, report, model_id, args)
    return EXIT_OK


SPREAD_NOTE = (
    "note: most prompts give no reward spread; raise trainingSamplePerPrompt or vary the prompts' "
    "difficulty so groups mix passes and misses"
)


def _spread_note_applies(report: PreflightReport, args: argparse.Namespace) -> bool:
    return report.uniform_share > 0.5 and args.sft_below < report.pass_rate < args.unnecessary_above


def report_payload(
    report: PreflightReport, args: argparse.Namespace, *, stack: DeployedStack, task: Task, source: str,
    model_id: str, created_at: str,
) -> dict[str, Any]:
    """The rftctl.preflight document (version 1) without its kind and version."""
    thresholds = {"unnecessary_at": args.unnecessary_above, "sft_first_at": args.sft_below}
    return {
        "stack": stack.name,
        "region": stack.region,
        "variant": stack.variant.value,
        "task": task.spec,
        "promptSource": source,
        "createdAt": created_at,
        "model": {"id": model_id},
        "settings": {
            "temperature": args.temperature,
            "maxTokens": args.max_tokens,
            "samplesPerPrompt": report.samples_per_prompt,
            "unnecessaryAbove": args.unnecessary_above,
            "sftBelow": args.sft_below,
        },
        "promptMetric": {"name": report.prompt_metric[0], "label": report.prompt_metric[1]}
        if report.prompt_metric else None,
        "answerMetric": {"name": report.answer_metric[0], "label": report.answer_metric[1]}
        if report.answer_metric else None,
        "summary": {
            "samples": report.sample_count,
            "prompts": len(report.outcomes),
            "meanReward": report.mean_reward,
            "passRate": report.pass_rate,
            "sameRewardShare": report.uniform_share,
            "verdict": verdict_code(report.pass_rate, **thresholds),
            "verdictText": verdict(report.pass_rate, **thresholds),
        },
        "prompts": [
            {
                "line": outcome.record.line,
                "prompt": outcome.record.prompt,
                "promptMetric": outcome.prompt_value,
                "rewards": outcome.rewards,
                "passes": outcome.passes,
                "answerMetrics": outcome.answer_values,
                "uniform": outcome.uniform,
            }
            for outcome in report.outcomes
        ],
    }


def _print_report(ctx: CommandContext, report: PreflightReport, model_id: str, args: argparse.Namespace) -> None:
    rows: list[list[Any]] = []
    for outcome in report.outcomes:
        rows.append(
            [
                truncate(outcome.record.prompt, 28),
                *([format_number(outcome.prompt_value) if outcome.prompt_value else "-"]
                  if report.prompt_metric else []),
                *([" ".join(format_number(v) for v in outcome.answer_values)] if report.answer_metric else []),
                " ".join(f"{reward:.2f}" for reward in outcome.rewards),
                f"{sum(outcome.passes)}/{len(outcome.passes)}",
                "none" if outcome.uniform else "yes",
            ]
        )
    labels = [*([report.prompt_metric[1]] if report.prompt_metric else []),
              *([report.answer_metric[1] + "s"] if report.answer_metric else [])]
    pass_column = 2 + len(labels)
    right = (1, pass_column) if report.prompt_metric else (pass_column,)
    ctx.print(format_table(["prompt", *labels, "rewards", "pass", "spread"], rows, right_align=right))
    ctx.print()
    ctx.print(
        f"model            {model_id} (temperature {args.temperature}, {report.samples_per_prompt} samples per prompt)"
    )
    ctx.print(f"samples          {report.sample_count} over {len(report.outcomes)} prompts")
    ctx.print(f"mean reward      {report.mean_reward:.3f}")
    ctx.print(f"pass rate        {format_percent(report.pass_rate)}")
    ctx.print(
        f"same-reward      {format_percent(report.uniform_share)} of prompts gave every sample the same reward "
        "(no learning signal for GRPO)"
    )
    ctx.print()
    ctx.print(
        "verdict: " + verdict(report.pass_rate, unnecessary_at=args.unnecessary_above, sft_first_at=args.sft_below)
    )
    if _spread_note_applies(report, args):
        ctx.print(SPREAD_NOTE)
