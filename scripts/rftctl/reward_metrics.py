"""Training and validation reward metrics of a job: fetched, tabulated and plotted.

Nova: which CSV files an RFT job writes under its output prefix is UNCONFIRMED, so every
``*.csv`` for the job is read by its headers: an x column (step, step_number, epoch, ...) and
every column whose name contains "reward". Mantle: the ``metrics`` events (``data.step``,
``data.total_steps``, reward values) and the checkpoints' ``metrics``.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib

from stacks.rft_job.runtime.contract import Output

matplotlib.use("Agg")  # files only: never open a window, work without a display

from matplotlib.figure import Figure  # noqa: E402 (the backend must be chosen first)

from stacks.rft_job.runtime.contract import Variant  # noqa: E402
from stacks.rft_job.runtime.job_spec import JobSpecError, split_s3_uri  # noqa: E402

from .context import CommandContext  # noqa: E402
from .errors import CliError  # noqa: E402
from .jobs import metric_events, reward_keys  # noqa: E402
from .stack import DeployedStack  # noqa: E402

TRAINING = "training"
VALIDATION = "validation"
# x-axis columns, most specific first: steps give a finer curve than epochs.
X_COLUMNS = ("step", "step_number", "global_step", "training_step", "epoch", "epoch_number")


@dataclass
class MetricSeries:
    """One curve: reward values over steps or epochs."""

    label: str
    split: str  # TRAINING or VALIDATION
    x_name: str
    xs: list[float] = field(default_factory=list)
    ys: list[float] = field(default_factory=list)


@dataclass
class MetricTable:
    """One source of metrics (a CSV file, the event stream, the checkpoints), for printing."""

    source: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class JobMetrics:
    tables: list[MetricTable] = field(default_factory=list)
    series: list[MetricSeries] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _normalized(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _split_of(column: str, source: str) -> str:
    """Validation when the file or the column says so ("validation_metrics.csv", "val_reward")."""
    # The object key only: a bucket named "...-validation-..." says nothing about the file.
    path = source.split("://", 1)[1].partition("/")[2] if "://" in source else source
    if VALIDATION in path.lower():
        return VALIDATION
    name = _normalized(column)
    if name.startswith(("val_", "valid_", "validation_", "eval_")) or any(
        part in ("val", "valid", "validation", "eval") for part in name.split("_")
    ):
        return VALIDATION
    return TRAINING


def metrics_from_csv(source: str, text: str) -> tuple[MetricTable | None, list[MetricSeries], str | None]:
    """(table, curves, note) from one CSV; no table and a note when it holds no reward curve."""
    reader = csv.DictReader(io.StringIO(text))
    headers = [header for header in (reader.fieldnames or []) if header is not None]
    by_normalized = {_normalized(header): header for header in headers}
    x_column = next((by_normalized[name] for name in X_COLUMNS if name in by_normalized), None)
    reward_columns = [header for header in headers if "reward" in header.lower() and header != x_column]
    if x_column is None or not reward_columns:
        missing = "no step/epoch column" if x_column is None else "no reward column"
        return None, [], f"skipped {source}: {missing} (columns: {', '.join(headers) or 'none'})"

    x_name = _normalized(x_column)
    series = {column: MetricSeries(column, _split_of(column, source), x_name) for column in reward_columns}
    rows: list[list[Any]] = []
    for record in reader:
        x = _number(record.get(x_column))
        if x is None:
            continue
        row: list[Any] = [x]
        for column in reward_columns:
            y = _number(record.get(column))
            row.append(y)
            if y is not None:
                series[column].xs.append(x)
                series[column].ys.append(y)
        rows.append(row)
    table = MetricTable(source, [x_name, *reward_columns], rows)
    return table, [curve for curve in series.values() if curve.xs], None


def nova_metrics(ctx: CommandContext, stack: DeployedStack, job_arn: str) -> JobMetrics:
    """Every metrics CSV of the job under the stack's output prefix (OutputDataUri)."""
    output_uri = stack.output(Output.OUTPUT_DATA_URI)
    try:
        bucket, prefix = split_s3_uri(output_uri)
    except JobSpecError as error:
        raise CliError(f"stack output OutputDataUri is not an s3://bucket/prefix URI: {output_uri}") from error
    job_id = job_arn.rsplit("/", 1)[-1]
    s3 = ctx.clients.client("s3", stack.region)
    csv_keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
        if item["Key"].lower().endswith(".csv")
    ]
    result = JobMetrics()
    own_keys = [key for key in csv_keys if job_id in key]
    if not own_keys and csv_keys:
        # The layout is unconfirmed: if no path names the job, the prefix may be the job's own.
        result.notes.append(f"no CSV path under {output_uri} contains the job id {job_id}; reading all {len(csv_keys)}")
        own_keys = csv_keys
    if not own_keys:
        result.notes.append(
            f"no metrics CSV under {output_uri} yet: Bedrock writes them as the job runs or when it ends"
        )
    for key in sorted(own_keys):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8-sig", "replace")
        table, series, note = metrics_from_csv(f"s3://{bucket}/{key}", body)
        if table is not None:
            result.tables.append(table)
        result.series += series
        if note:
            result.notes.append(note)
    return result


def _mantle_table(
    source: str,
    x_name: str,
    points: Sequence[tuple[float, dict[str, Any]]],
    label_prefix: str,
    extra_columns: Sequence[tuple[str, Sequence[Any]]] = (),
) -> tuple[MetricTable, list[MetricSeries]]:
    keys: list[str] = []
    for _, values in points:
        keys += [key for key in reward_keys(values) if key not in keys]
    series = [MetricSeries(f"{label_prefix}{key}", _split_of(key, ""), x_name) for key in keys]
    rows = []
    for index, (x, values) in enumerate(points):
        row: list[Any] = [x, *(column_values[index] for _, column_values in extra_columns)]
        for key, curve in zip(keys, series, strict=True):
            y = _number(values.get(key))
            row.append(y)
            if y is not None:
                curve.xs.append(x)
                curve.ys.append(y)
        rows.append(row)
    columns = [x_name, *(name for name, _ in extra_columns), *keys]
    return MetricTable(source, columns, rows), [curve for curve in series if curve.xs]


def mantle_metrics(ctx: CommandContext, stack: DeployedStack, job_id: str) -> JobMetrics:
    """Reward curves from the job's metrics events, plus each checkpoint's metrics."""
    client = ctx.mantle(stack)
    result = JobMetrics()

    events = metric_events(client.fine_tuning.jobs.list_events(job_id, limit=100))
    event_points = [(float(data["step"]), data) for data in events if _number(data.get("step")) is not None]
    if event_points:
        totals = [data.get("total_steps", "") for _, data in event_points]
        table, series = _mantle_table(f"{job_id} metrics events", "step", event_points, "", [("total_steps", totals)])
        result.tables.append(table)
        result.series += series
    else:
        result.notes.append(f"no metrics events for {job_id} yet")

    checkpoints = sorted(client.fine_tuning.jobs.checkpoints.list(job_id, limit=100), key=lambda c: c.step_number)
    if checkpoints:
        points = [(float(c.step_number), c.metrics.to_dict() if c.metrics else {}) for c in checkpoints]
        names = [c.fine_tuned_model_checkpoint for c in checkpoints]
        table, series = _mantle_table(
            f"{job_id} checkpoints", "step", points, "checkpoint ", [("fine_tuned_model_checkpoint", names)]
        )
        result.tables.append(table)
        result.series += series
    return result


# Where each API keeps a job's reward metrics: Nova in CSV files under the output prefix, mantle in
# its events and checkpoints.
JOB_METRICS: dict[Variant, Callable[[CommandContext, DeployedStack, str], JobMetrics]] = {
    Variant.NOVA: nova_metrics,
    Variant.MANTLE: mantle_metrics,
}


def job_metrics(ctx: CommandContext, stack: DeployedStack, job_id: str) -> JobMetrics:
    return JOB_METRICS[stack.variant](ctx, stack, job_id)


def build_reward_figure(series: Iterable[MetricSeries], title: str = "") -> Figure:
    """Training rewards on the left, validation rewards on the right, one line per series."""
    figure = Figure(figsize=(12, 4.5), layout="constrained")
    axes = {TRAINING: figure.add_subplot(1, 2, 1), VALIDATION: figure.add_subplot(1, 2, 2)}
    plotted = {TRAINING: 0, VALIDATION: 0}
    x_names: dict[str, set[str]] = {TRAINING: set(), VALIDATION: set()}
    for curve in series:
        axes[curve.split].plot(curve.xs, curve.ys, marker="o", markersize=3, linewidth=1.5, label=curve.label)
        plotted[curve.split] += 1
        x_names[curve.split].add(curve.x_name)
    for split, ax in axes.items():
        ax.set_title(f"{split.capitalize()} reward")
        ax.set_xlabel(" / ".join(sorted(x_names[split])) or "step")
        ax.set_ylabel("reward")
        ax.grid(True, alpha=0.3)
        if plotted[split]:
            ax.legend(fontsize="small")
        else:
            ax.text(0.5, 0.5, f"no {split} reward metrics", ha="center", va="center", transform=ax.transAxes)
    if title:
        figure.suptitle(title)
    return figure
