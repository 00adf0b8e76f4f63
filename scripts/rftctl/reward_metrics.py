"""Training and validation reward metrics of a job: fetched, tabulated, plotted, saved and read back.

Nova: which CSV files an RFT job writes under its output prefix is UNCONFIRMED, so every
``*.csv`` for the job is read by its headers: an x column (step, step_number, epoch, ...) and
every column whose name contains "reward". Mantle: the ``metrics`` events (``data.step``,
``data.total_steps``, reward values) and the checkpoints' ``metrics``.

Every reward column goes into the tables; only reward means become curves (a std or max column
on the same axes reads as a second reward). The curves are drawn on one 0-1 axis for both
panels (the grader clamps rewards to [0, 1]), raw points faint and a centred moving average bold.

The saved form is the ``rftctl.metrics`` JSON document (``metrics --json`` / ``--json-out``);
``load_metrics_file`` reads it back, or a Nova metrics CSV, for ``rftctl report`` offline (through
documents.py, the one reader and writer of rftctl's files).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

from stacks.rft_job.runtime.contract import Output

matplotlib.use("Agg")  # files only: never open a window, work without a display

from matplotlib.figure import Figure  # noqa: E402 (the backend must be chosen first)
from matplotlib.ticker import MaxNLocator  # noqa: E402

from stacks.rft_job.runtime.contract import Variant  # noqa: E402
from stacks.rft_job.runtime.job_spec import JobSpecError, split_s3_uri  # noqa: E402

from .console import json_document  # noqa: E402
from .context import CommandContext  # noqa: E402
from .documents import DocumentError, field_of, objects_of, read_json_document, read_text_file  # noqa: E402
from .errors import CliError  # noqa: E402
from .jobs import metric_events, reward_keys  # noqa: E402
from .stack import DeployedStack  # noqa: E402

TRAINING = "training"
VALIDATION = "validation"
SPLITS = (TRAINING, VALIDATION)
# x-axis columns, most specific first: steps give a finer curve than epochs.
X_COLUMNS = ("step", "step_number", "global_step", "training_step", "epoch", "epoch_number")
# Name parts of a reward column that is a spread or an extreme, not the mean: tables only.
NOT_A_MEAN = frozenset({
    "std", "stdev", "stddev", "sd", "var", "variance", "max", "maximum", "min", "minimum", "sum", "count",
    "median", "p50", "p90", "p95", "p99", "range", "ci", "lower", "upper", "sem",
})
METRICS_KIND = "metrics"
METRICS_VERSION = 1
# Rewards are clamped to [0, 1] by the grader: every panel shows that range.
REWARD_RANGE = (0.0, 1.0)


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
    total_steps: int | None = None  # mantle: the job's step count (its metrics events say it)


def _normalized(name: str) -> str:
    # camelCase splits too: "rewardStd" has the parts reward and std.
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")


def is_reward_mean(column: str) -> bool:
    """A reward column that is a mean ("train_reward_mean", "critic/rewards/mean", "val_reward"), not
    its std, max or min: only means are curves."""
    return not NOT_A_MEAN.intersection(_normalized(column).split("_"))


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
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


def _table_only_note(source: str, columns: Sequence[str]) -> str | None:
    spreads = [column for column in columns if not is_reward_mean(column)]
    if not spreads:
        return None
    return f"{source}: {', '.join(spreads)} in the table only (the curves show reward means)"


def metrics_from_csv(source: str, text: str) -> tuple[MetricTable | None, list[MetricSeries], str | None]:
    """(table, curves, note) from one CSV; no table and a note when it holds no reward curve.

    The table has every reward column; the curves only the means (the note names the others).
    """
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    headers = [header.strip() for header in (reader.fieldnames or []) if header is not None]
    reader.fieldnames = headers
    by_normalized = {_normalized(header): header for header in headers}
    x_column = next((by_normalized[name] for name in X_COLUMNS if name in by_normalized), None)
    reward_columns = [header for header in headers if "reward" in header.lower() and header != x_column]
    if x_column is None or not reward_columns:
        missing = "no step/epoch column" if x_column is None else "no reward column"
        return None, [], f"skipped {source}: {missing} (columns: {', '.join(headers) or 'none'})"

    x_name = _normalized(x_column)
    series = {
        column: MetricSeries(column, _split_of(column, source), x_name)
        for column in reward_columns
        if is_reward_mean(column)
    }
    rows: list[list[Any]] = []
    for record in reader:
        x = _number(record.get(x_column))
        if x is None:
            continue
        row: list[Any] = [x]
        for column in reward_columns:
            y = _number(record.get(column))
            row.append(y)
            if y is not None and column in series:
                series[column].xs.append(x)
                series[column].ys.append(y)
        rows.append(row)
    table = MetricTable(source, [x_name, *reward_columns], rows)
    return table, [curve for curve in series.values() if curve.xs], _table_only_note(source, reward_columns)


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
    series = {key: MetricSeries(f"{label_prefix}{key}", _split_of(key, ""), x_name) for key in keys
              if is_reward_mean(key)}
    rows = []
    for index, (x, values) in enumerate(points):
        row: list[Any] = [x, *(column_values[index] for _, column_values in extra_columns)]
        for key in keys:
            y = _number(values.get(key))
            row.append(y)
            if y is not None and key in series:
                series[key].xs.append(x)
                series[key].ys.append(y)
        rows.append(row)
    columns = [x_name, *(name for name, _ in extra_columns), *keys]
    return MetricTable(source, columns, rows), [curve for curve in series.values() if curve.xs]


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
        note = _table_only_note(f"{job_id} metrics events", table.columns[2:])
        if note:
            result.notes.append(note)
        known_totals = [int(total) for total in totals if _number(total) is not None and float(total) > 0]
        result.total_steps = known_totals[-1] if known_totals else None
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


# --- smoothing and the figure -----------------------------------------------------------------


def smoothing_window(points: int) -> int:
    """Points in the moving average: none below 10 points (validation every N steps), then about a
    tenth of the curve, odd so that it is centred, at most 25."""
    if points < 10:
        return 1
    return min(25, max(3, (points // 10) | 1))


def smooth(ys: Sequence[float], window: int) -> list[float]:
    """Centred moving average over ``window`` points (odd), the window shrinking at both ends so the
    curve spans every x. Centred rather than an exponential average: an EMA lags behind a rising
    reward and would draw it lower than it is at each step."""
    if window < 1 or window % 2 == 0:
        raise ValueError(f"the smoothing window must be an odd number of points, got {window}")
    half = window // 2
    values = [float(y) for y in ys]
    # fsum over each window (at most 25 points): exact, so a raw point stays itself with a window of 1.
    return [math.fsum(values[max(0, i - half):i + half + 1]) / (min(len(values), i + half + 1) - max(0, i - half))
            for i in range(len(values))]


def _sorted_points(curve: MetricSeries) -> tuple[list[float], list[float]]:
    pairs = sorted(zip(curve.xs, curve.ys, strict=True), key=lambda pair: pair[0])
    return [x for x, _ in pairs], [y for _, y in pairs]


def reward_axis_limits(values: Iterable[float]) -> tuple[float, float]:
    """(0, 1), extended to take in a value outside it (a grader that does not clamp, another metric)."""
    low, high = REWARD_RANGE
    for value in values:
        low, high = min(low, value), max(high, value)
    return low, high


def build_reward_figure(
    series: Iterable[MetricSeries], title: str = "", *, total_steps: int | None = None
) -> Figure:
    """Training rewards on the left, validation rewards on the right, on one 0-1 reward axis.

    Each curve is its raw points (faint; gid ``raw:<label>``) and, from 10 points on, a centred moving
    average (bold; gid ``smoothed:<label>``; the legend says the window). With ``total_steps`` (mantle)
    a step axis runs to the job's last step and the training title says how far the job is.
    """
    curves = list(series)
    figure = Figure(figsize=(12, 4.5), layout="constrained")
    left = figure.add_subplot(1, 2, 1)
    axes = {TRAINING: left, VALIDATION: figure.add_subplot(1, 2, 2, sharey=left)}
    plotted = {TRAINING: 0, VALIDATION: 0}
    x_names: dict[str, set[str]] = {TRAINING: set(), VALIDATION: set()}
    latest_step: dict[str, float] = {}
    colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, curve in enumerate(curves):
        ax = axes[curve.split]
        xs, ys = _sorted_points(curve)
        colour = colours[index % len(colours)]
        window = smoothing_window(len(ys))
        if window == 1:
            ax.plot(xs, ys, color=colour, marker="o", markersize=4, linewidth=2, label=curve.label,
                    gid=f"raw:{curve.label}", clip_on=False)
        else:
            ax.plot(xs, ys, color=colour, marker="o", markersize=2.5, linewidth=0.8, alpha=0.3,
                    label=f"_{curve.label} (raw)", gid=f"raw:{curve.label}", clip_on=False)
            ax.plot(xs, smooth(ys, window), color=colour, linewidth=2.2,
                    label=f"{curve.label} (centred mean of {window})", gid=f"smoothed:{curve.label}", clip_on=False)
        plotted[curve.split] += 1
        x_names[curve.split].add(curve.x_name)
        if xs and curve.x_name == "step":
            latest_step[curve.split] = max(latest_step.get(curve.split, xs[-1]), xs[-1])
    low, high = reward_axis_limits(y for curve in curves for y in curve.ys)
    for split, ax in axes.items():
        heading = f"{split.capitalize()} reward"
        step_axis = x_names[split] == {"step"}
        if total_steps and split == TRAINING and split in latest_step:
            heading += f": step {latest_step[split]:g} of {total_steps}"
        ax.set_title(heading)
        ax.set_xlabel(" / ".join(sorted(x_names[split])) or "step")
        ax.set_ylabel("reward (mean)")
        ax.set_ylim(low, high)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))  # 0, 10, 20 rather than 8, 16
        ax.grid(True, alpha=0.3)
        if total_steps and step_axis:
            ax.set_xlim(0, total_steps)
        if plotted[split]:
            ax.legend(fontsize="small", loc="lower right")
        else:
            ax.text(0.5, 0.5, f"no {split} reward metrics", ha="center", va="center", transform=ax.transAxes)
    if (low, high) != REWARD_RANGE:
        figure.text(0.5, 0.005, f"some values lie outside [0, 1]: the reward axis runs from {low:g} to {high:g}",
                    ha="center", va="bottom", fontsize="small", color="#b00020")
    if title:
        figure.suptitle(title)
    return figure


# --- the saved document ------------------------------------------------------------------------


@dataclass
class SavedMetrics:
    """Metrics read back from a file, with whatever the file says about their job."""

    metrics: JobMetrics
    source: Path
    stack: str | None = None
    region: str | None = None
    variant: str | None = None
    job_id: str | None = None
    created_at: str | None = None


def metrics_payload(metrics: JobMetrics, *, stack: DeployedStack | None, job_id: str | None,
                    created_at: str) -> dict[str, Any]:
    return {
        "stack": stack.name if stack else None,
        "region": stack.region if stack else None,
        "variant": stack.variant.value if stack else None,
        "jobId": job_id,
        "createdAt": created_at,
        "totalSteps": metrics.total_steps,
        "series": [
            {"label": s.label, "split": s.split, "xName": s.x_name, "xs": s.xs, "ys": s.ys} for s in metrics.series
        ],
        "tables": [{"source": t.source, "columns": t.columns, "rows": t.rows} for t in metrics.tables],
        "notes": metrics.notes,
    }


def metrics_document(metrics: JobMetrics, *, stack: DeployedStack | None, job_id: str | None,
                     created_at: str) -> dict[str, Any]:
    """The rftctl.metrics document (json-shapes: metrics --json, --json-out, report --save-data)."""
    return json_document(METRICS_KIND, METRICS_VERSION,
                         metrics_payload(metrics, stack=stack, job_id=job_id, created_at=created_at))


def _numbers(values: Any, path: Path, where: str) -> list[float]:
    if not isinstance(values, list):
        raise DocumentError(f"{path}: {where} is {type(values).__name__}, expected a list of numbers")
    numbers = []
    for index, value in enumerate(values):
        number = _number(value)
        if number is None or isinstance(value, str):
            raise DocumentError(f"{path}: {where}[{index}] is {json.dumps(value)[:40]}, expected a number")
        numbers.append(number)
    return numbers


def metrics_from_document(data: Mapping[str, Any], path: Path) -> SavedMetrics:
    series = []
    for where, item in objects_of(data, "series", path):
        split = field_of(item, "split", str, path, where)
        if split not in SPLITS:
            raise DocumentError(f"{path}: {where}split is {split!r}, expected {' or '.join(SPLITS)}")
        xs = _numbers(item.get("xs"), path, f"{where}xs")
        ys = _numbers(item.get("ys"), path, f"{where}ys")
        if len(xs) != len(ys):
            raise DocumentError(f"{path}: {where}xs has {len(xs)} values and ys {len(ys)}: they must pair up")
        series.append(MetricSeries(field_of(item, "label", str, path, where), split,
                                   field_of(item, "xName", str, path, where), xs, ys))
    tables = []
    for where, item in objects_of(data, "tables", path):
        columns = field_of(item, "columns", list, path, where)
        rows = field_of(item, "rows", list, path, where)
        for row_index, row in enumerate(rows):
            if not isinstance(row, list) or len(row) != len(columns):
                raise DocumentError(f"{path}: {where}rows[{row_index}] must be a list of {len(columns)} cells")
            for cell_index, cell in enumerate(row):
                # What a table cell can be: a value, never an object, and no number too large to print.
                if not (cell is None or isinstance(cell, str) or _number(cell) is not None):
                    raise DocumentError(f"{path}: {where}rows[{row_index}][{cell_index}] is "
                                        f"{json.dumps(cell)[:40]}, expected a number, a string or null")
        tables.append(MetricTable(field_of(item, "source", str, path, where), [str(c) for c in columns], rows))
    notes = field_of(data, "notes", list, path, required=False) or []
    total_steps = field_of(data, "totalSteps", int, path, required=False)
    if total_steps is not None and total_steps <= 0:
        raise DocumentError(f"{path}: totalSteps is {total_steps}, expected a positive number or null")
    return SavedMetrics(
        metrics=JobMetrics(tables=tables, series=series, notes=[str(note) for note in notes], total_steps=total_steps),
        source=path,
        stack=field_of(data, "stack", str, path, required=False),
        region=field_of(data, "region", str, path, required=False),
        variant=field_of(data, "variant", str, path, required=False),
        job_id=field_of(data, "jobId", str, path, required=False),
        created_at=field_of(data, "createdAt", str, path, required=False),
    )


def load_metrics_document(path: Path) -> SavedMetrics:
    """An rftctl.metrics document written by ``rftctl metrics --json-out`` (or ``--json``)."""
    return metrics_from_document(read_json_document(path, METRICS_KIND, METRICS_VERSION), path)


def load_metrics_csv(path: Path) -> SavedMetrics:
    """A metrics CSV as a Nova job writes it (downloaded from its output prefix)."""
    table, series, note = metrics_from_csv(str(path), read_text_file(path, "a metrics CSV"))
    if table is None:
        raise DocumentError(f"{path}: no reward metrics to read: {note}")
    return SavedMetrics(JobMetrics(tables=[table], series=series, notes=[note] if note else []), path)


def load_metrics_file(path: Path) -> SavedMetrics:
    """A saved rftctl.metrics document (.json) or a metrics CSV (.csv)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return load_metrics_csv(path)
    if suffix == ".json":
        return load_metrics_document(path)
    raise DocumentError(f"{path}: metrics are read from an rftctl.metrics .json document or a .csv file")


def combine(saved: Sequence[SavedMetrics]) -> JobMetrics:
    """Several saved sources (a job's CSV files) as one set of metrics."""
    combined = JobMetrics()
    for item in saved:
        combined.tables += item.metrics.tables
        combined.series += item.metrics.series
        combined.notes += item.metrics.notes
        combined.total_steps = combined.total_steps or item.metrics.total_steps
    return combined
