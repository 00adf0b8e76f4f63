"""The stack's RFT job: which one it is, and how far it has come (Nova and mantle alike)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from stacks.rft_job.runtime.contract import Output, Variant

from .console import bar, format_duration, format_number
from .context import CommandContext
from .errors import EXIT_CHECK_FAILED, CliError

if TYPE_CHECKING:
    from stacks.rft_job.runtime.job_state import JobState
    from stacks.rft_job.runtime.ledger import JobLedger

    from .stack import DeployedStack

# Nova reports three stages in statusDetails, in this order.
NOVA_STAGES = (
    ("validationDetails", "validation"),
    ("dataProcessingDetails", "data processing"),
    ("trainingDetails", "training"),
)
NOVA_NOT_STARTED = "NotStarted"
# One page of the newest events is enough to find the latest metrics for status.
RECENT_EVENTS = 100


@dataclass(frozen=True)
class JobProgress:
    """A job's state plus whatever progress its API reports."""

    state: JobState
    created_at: datetime | None = None
    ended_at: datetime | None = None
    stages: list[tuple[str, str]] = field(default_factory=list)  # Nova: (stage, status)
    step: int | None = None  # mantle: from the newest metrics event
    total_steps: int | None = None
    reward_metrics: dict[str, float] = field(default_factory=dict)  # mantle: newest reward values
    estimated_finish: datetime | None = None

    def elapsed_seconds(self, now: datetime) -> float | None:
        if self.created_at is None:
            return None
        return ((self.ended_at or now) - self.created_at).total_seconds()

    @property
    def stages_done(self) -> int:
        # A stage reports the job statuses' words: done is the API's "succeeded".
        return sum(status == self.state.statuses.succeeded for _, status in self.stages)

    def fraction(self) -> float | None:
        """How far along the job is, when the API says: steps (mantle) or stages (Nova)."""
        if self.state.succeeded:
            return 1.0
        if self.step is not None and self.total_steps:
            return min(1.0, self.step / self.total_steps)
        if self.stages:
            return self.stages_done / len(self.stages)
        return None

    def progress_label(self, now: datetime) -> str:
        parts = [self.state.status]
        if self.step is not None and self.total_steps:
            parts.append(f"step {self.step}/{self.total_steps}")
        done = self.state.statuses.succeeded
        current = next((name for name, status in self.stages if status not in (done, NOVA_NOT_STARTED)), None)
        if current and not self.state.terminal:
            parts.append(f"stage: {current}")
        elapsed = self.elapsed_seconds(now)
        if elapsed is not None:
            parts.append(f"elapsed {format_duration(elapsed)}")
        if self.reward_metrics:
            parts.append(" ".join(f"{k}={format_number(v)}" for k, v in self.reward_metrics.items()))
        return ", ".join(parts)


def job_id_for(ctx: CommandContext, stack: DeployedStack, explicit: str | None) -> str:
    """``--job``, else the tracker's live job id parameter, else the stack's JobId output."""
    from stacks.rft_job.runtime.job_api import is_job_id

    from .stack import read_live_value

    if explicit:
        return explicit
    candidates = [
        read_live_value(ctx.clients, stack, Output.JOB_ID_PARAMETER_NAME),
        stack.optional_output(Output.JOB_ID),
    ]
    for candidate in candidates:
        if candidate and is_job_id(stack.variant, candidate):
            return candidate
    raise CliError(
        f"stack {stack.name} has not launched an RFT job (was it deployed with rft:launchJob=false?): pass --job JOB_ID"
    )


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _from_epoch(seconds: int | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, tz=UTC) if seconds else None


def _nova_progress(ctx: CommandContext, stack: DeployedStack, job_id: str) -> JobProgress:
    # One GetModelCustomizationJob call gives both the JobState (mapped as the tracker maps it)
    # and the statusDetails/timestamps that only this CLI shows.
    from stacks.rft_job.runtime.nova import job_state as nova_job_state

    job = ctx.clients.client("bedrock", stack.region).get_model_customization_job(jobIdentifier=job_id)
    state = nova_job_state(job, job_id)
    details = job.get("statusDetails") or {}
    stages = (
        [(label, (details.get(key) or {}).get("status", "NotStarted")) for key, label in NOVA_STAGES] if details else []
    )
    return JobProgress(
        state=state,
        created_at=_aware(job.get("creationTime")),
        ended_at=_aware(job.get("endTime")) if state.terminal else None,
        stages=stages,
    )


def reward_keys(values: dict[str, Any]) -> list[str]:
    """Metric names that are rewards ("critic_rewards_mean", "val_reward", ...), numeric only."""
    return [
        key
        for key, value in values.items()
        if "reward" in key.lower() and isinstance(value, (int, float)) and not isinstance(value, bool)
    ]


def metric_events(events: Any) -> list[dict[str, Any]]:
    """The ``data`` of every metrics event, oldest step first."""
    found = [event.data for event in events if event.type == "metrics" and isinstance(event.data, dict)]
    return sorted(found, key=lambda data: data.get("step") if isinstance(data.get("step"), (int, float)) else -1)


def _mantle_progress(ctx: CommandContext, stack: DeployedStack, job_id: str) -> JobProgress:
    from stacks.rft_job.runtime.mantle import job_state as mantle_job_state

    client = ctx.mantle(stack)
    job = client.fine_tuning.jobs.retrieve(job_id)
    state = mantle_job_state(job)
    recent = client.fine_tuning.jobs.list_events(job_id, limit=RECENT_EVENTS).data
    metrics = metric_events(recent)
    latest = metrics[-1] if metrics else {}
    step, total = latest.get("step"), latest.get("total_steps")
    return JobProgress(
        state=state,
        # getattr: the mantle API's job object is OpenAI-shaped, but not every field is confirmed.
        created_at=_from_epoch(getattr(job, "created_at", None)),
        ended_at=_from_epoch(getattr(job, "finished_at", None)),
        step=int(step) if isinstance(step, (int, float)) else None,
        total_steps=int(total) if isinstance(total, (int, float)) else None,
        reward_metrics={key: float(latest[key]) for key in reward_keys(latest)},
        estimated_finish=_from_epoch(getattr(job, "estimated_finish", None)),
    )


# What each API reports beyond the job's state: Nova its stages, mantle its steps and metrics.
PROGRESS: dict[Variant, Callable[[CommandContext, DeployedStack, str], JobProgress]] = {
    Variant.NOVA: _nova_progress,
    Variant.MANTLE: _mantle_progress,
}


def job_progress(ctx: CommandContext, stack: DeployedStack, job_id: str) -> JobProgress:
    return PROGRESS[stack.variant](ctx, stack, job_id)


def status_lines(stack: DeployedStack, progress: JobProgress, now: datetime) -> list[str]:
    """The status report: what a person checking on the job wants, one fact per line."""
    state = progress.state
    lines = [f"stack      {stack.describe()}", f"job        {state.job_id}"]
    if state.job_name:
        lines.append(f"name       {state.job_name}")
    lines.append(f"status     {state.status}")
    if progress.stages:
        lines.append("stages     " + ", ".join(f"{name} {status}" for name, status in progress.stages))
    elapsed = progress.elapsed_seconds(now)
    if elapsed is not None:
        lines.append(f"{'took' if state.terminal else 'elapsed':<10} {format_duration(elapsed)}")
    fraction = progress.fraction()
    if fraction is not None and not state.terminal:
        detail = (
            f"step {progress.step}/{progress.total_steps}"
            if progress.step is not None and progress.total_steps
            else f"{progress.stages_done}/{len(progress.stages)} stages done"
        )
        lines.append(f"progress   {bar(fraction)} {fraction * 100:.0f}%  {detail}")
    if progress.estimated_finish and not state.terminal:
        lines.append(f"eta        {progress.estimated_finish.isoformat(timespec='minutes')}")
    if progress.reward_metrics:
        lines.append("rewards    " + "  ".join(f"{k} {format_number(v)}" for k, v in progress.reward_metrics.items()))
    if state.output_model:
        lines.append(f"model      {state.output_model}")
    if state.failure_message:
        lines.append(f"failure    {' '.join(state.failure_message.split())}")
    dashboard = stack.optional_output(Output.DASHBOARD_URL)  # absent on a stack from before monitoring
    if dashboard:
        lines.append(f"dashboard  {dashboard}")
    return lines


def status_data(stack: DeployedStack, progress: JobProgress, now: datetime) -> dict[str, Any]:
    """What status_lines says, as data (status --json): every fact, None where the API reports none."""
    state = progress.state
    return {
        "stack": stack.name,
        "region": stack.region,
        "variant": stack.variant.value,
        "jobId": state.job_id,
        "jobName": state.job_name,
        "status": state.status,
        "ended": state.terminal,
        "succeeded": state.succeeded,
        "stages": [{"name": name, "status": status} for name, status in progress.stages],
        "createdAt": progress.created_at,
        "endedAt": progress.ended_at,
        "elapsedSeconds": progress.elapsed_seconds(now),
        "progress": progress.fraction(),
        "step": progress.step,
        "totalSteps": progress.total_steps,
        "estimatedFinish": progress.estimated_finish,
        "rewardMetrics": progress.reward_metrics,
        "outputModel": state.output_model,
        "failureMessage": " ".join(state.failure_message.split()) if state.failure_message else None,
        "dashboardUrl": stack.optional_output(Output.DASHBOARD_URL),
    }


def job_ledger(ctx: CommandContext, stack: DeployedStack) -> JobLedger:
    """The stack's job ledger (JobLedgerUri output): one entry per job the stack launched."""
    from stacks.rft_job.runtime.ledger import JobLedger

    return JobLedger(ctx.clients.client("s3", stack.region), stack.output(Output.JOB_LEDGER_URI))


def resolve_job(ctx: CommandContext, stack: DeployedStack, given: str | None) -> str:
    """The job to act on: --job as an id, ARN or job name, else the stack's current job.

    An API that takes job names (Nova) gets the name as it is. A mantle job has no name on the
    service side, so a name is looked up in the stack's job ledger; an entry without a job id
    (its create got no definite answer) is looked for by its request token and training file.
    """
    from stacks.rft_job.runtime.job_api import api_class

    if given is None:
        return job_id_for(ctx, stack, None)
    if api_class(stack.variant).takes_job_names or stack.optional_output(Output.JOB_LEDGER_URI) is None:
        return given
    entry = job_ledger(ctx, stack).get(given)
    if entry is None:
        return given  # not one of our names: a job id
    if entry.job_id:
        return entry.job_id
    found = ctx.job_api(stack).find(entry)
    if found is None:
        raise CliError(
            f"job {given} has no id on record (its create got no definite answer) and no job with its request "
            "token or training file was found among the newest jobs: most likely it was never created",
            EXIT_CHECK_FAILED,
        )
    return found.job_id


def stop_job(ctx: CommandContext, stack: DeployedStack, job_id: str) -> str:
    """Stop (Nova) or cancel (mantle) the job unless it already ended; the adapter's outcome."""
    return ctx.job_api(stack).stop(job_id)
