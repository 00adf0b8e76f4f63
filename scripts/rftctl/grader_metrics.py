"""What the grader did during a job: its CloudWatch metrics over the job's time window.

Two sources, one GetMetricData call (paginated):
- the handler's own metrics (namespace BedrockRft, dimension ``service`` = the grader's Powertools
  service name, ``<name prefix>-reward``): samples scored, passed, malformed and flagged, invalid events
  (sums per period) and the batch mean reward (average of the batches' means in the period);
- AWS/Lambda's metrics of the grader function (dimension FunctionName: every version, so the pinned one
  the job calls and any ``rftctl grade --remote``): invocations, errors, throttles, duration p50/p99.

The saved form is the ``rftctl.grader-metrics`` JSON document, which ``rftctl report`` reads offline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lambda_reward.runtime.contract import METRICS_NAMESPACE, BatchMetric

from .console import json_document
from .documents import DocumentError, field_of, objects_of, read_json_document

GRADER_METRICS_KIND = "grader-metrics"
GRADER_METRICS_VERSION = 1
LAMBDA_NAMESPACE = "AWS/Lambda"
SERVICE_DIMENSION = "service"  # Powertools Metrics' default dimension
FUNCTION_DIMENSION = "FunctionName"
# A chart of more points than this is no clearer and the request gets slow.
MAX_POINTS = 500
# CloudWatch keeps 1-minute points for 15 days, then 5-minute points until 63 days, then hourly ones:
# an older window asks for what is still kept.
COARSER_AFTER = ((timedelta(days=15), 300), (timedelta(days=63), 3600))
NICE_PERIODS = (60, 120, 180, 300, 600, 900, 1200, 1800, 3600)


@dataclass(frozen=True)
class Query:
    id: str  # GetMetricData query id (lowercase first letter, [A-Za-z0-9_])
    label: str
    namespace: str
    metric: str
    stat: str
    unit: str  # what the values are, for the charts: count, ms, reward

    @property
    def grader_own(self) -> bool:
        return self.namespace == METRICS_NAMESPACE


QUERIES = (
    Query("invocations", "invocations", LAMBDA_NAMESPACE, "Invocations", "Sum", "count"),
    Query("errors", "errors", LAMBDA_NAMESPACE, "Errors", "Sum", "count"),
    Query("throttles", "throttles", LAMBDA_NAMESPACE, "Throttles", "Sum", "count"),
    Query("duration_p50", "duration p50", LAMBDA_NAMESPACE, "Duration", "p50", "ms"),
    Query("duration_p99", "duration p99", LAMBDA_NAMESPACE, "Duration", "p99", "ms"),
    Query("samples_scored", "samples scored", METRICS_NAMESPACE, BatchMetric.SAMPLES_SCORED, "Sum", "count"),
    Query("passed_samples", "passed", METRICS_NAMESPACE, BatchMetric.PASSED_SAMPLES, "Sum", "count"),
    Query("malformed_samples", "malformed", METRICS_NAMESPACE, BatchMetric.MALFORMED_SAMPLES, "Sum", "count"),
    Query("flagged_samples", "flagged", METRICS_NAMESPACE, BatchMetric.FLAGGED_SAMPLES, "Sum", "count"),
    Query("invalid_events", "invalid events", METRICS_NAMESPACE, BatchMetric.INVALID_EVENTS, "Sum", "count"),
    Query("mean_reward", "mean reward", METRICS_NAMESPACE, BatchMetric.MEAN_REWARD, "Average", "reward"),
)
QUERY_BY_ID = {query.id: query for query in QUERIES}


@dataclass
class GraderSeries:
    id: str
    label: str
    stat: str
    unit: str
    timestamps: list[datetime] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def total(self) -> float:
        return sum(self.values)


@dataclass
class GraderMetrics:
    service: str
    function_name: str | None
    start: datetime
    end: datetime
    period_seconds: int
    series: list[GraderSeries] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    namespace: str = METRICS_NAMESPACE

    def get(self, series_id: str) -> GraderSeries | None:
        return next((series for series in self.series if series.id == series_id), None)

    @property
    def has_data(self) -> bool:
        return any(series.values for series in self.series)


def period_for(start: datetime, end: datetime, now: datetime) -> int:
    """Seconds per point: at most MAX_POINTS over the window, a round number of minutes (hours past an
    hour), and no finer than CloudWatch still keeps for a window that started ``now - start`` ago."""
    needed = max(60.0, (end - start).total_seconds()) / MAX_POINTS
    for age, coarser in COARSER_AFTER:
        if now - start > age:
            needed = max(needed, coarser)
    nice = next((period for period in NICE_PERIODS if period >= needed), None)
    return nice if nice is not None else math.ceil(needed / 3600) * 3600


def _queries(service: str, function_name: str | None, period: int) -> list[dict[str, Any]]:
    queries = []
    for query in QUERIES:
        if query.grader_own:
            dimensions = [{"Name": SERVICE_DIMENSION, "Value": service}]
        elif function_name:
            dimensions = [{"Name": FUNCTION_DIMENSION, "Value": function_name}]
        else:
            continue
        queries.append({
            "Id": query.id,
            "Label": query.label,
            "MetricStat": {
                "Metric": {"Namespace": query.namespace, "MetricName": query.metric, "Dimensions": dimensions},
                "Period": period,
                "Stat": query.stat,
            },
            "ReturnData": True,
        })
    return queries


def fetch_grader_metrics(
    cloudwatch: Any,
    *,
    service: str,
    function_name: str | None,
    start: datetime,
    end: datetime,
    now: datetime,
) -> GraderMetrics:
    """The grader's metrics from ``start`` to ``end`` (the job's creation to its end, or now)."""
    start, end = start.astimezone(UTC), min(end, now).astimezone(UTC)
    if end <= start:
        end = start + timedelta(minutes=1)
    period = period_for(start, end, now)
    result = GraderMetrics(service=service, function_name=function_name, start=start, end=end, period_seconds=period)
    by_id: dict[str, list[tuple[datetime, float]]] = {}
    request: dict[str, Any] = {
        "MetricDataQueries": _queries(service, function_name, period),
        # Whole periods: the start rounded down, the end up (the last, partial period included).
        "StartTime": datetime.fromtimestamp(start.timestamp() // period * period, tz=UTC),
        "EndTime": datetime.fromtimestamp(-(-end.timestamp() // period) * period, tz=UTC),
        "ScanBy": "TimestampAscending",
    }
    while True:
        response = cloudwatch.get_metric_data(**request)
        for item in response.get("MetricDataResults", []):
            points = by_id.setdefault(item["Id"], [])
            points += zip(item.get("Timestamps", []), item.get("Values", []), strict=False)
            if item.get("StatusCode") in ("Forbidden", "InternalError"):
                detail = "; ".join(m.get("Value", "") for m in item.get("Messages", []))
                result.notes.append(f"CloudWatch could not return {item['Id']}: {item['StatusCode']} {detail}".strip())
        for message in response.get("Messages", []):
            result.notes.append(f"CloudWatch: {message.get('Code', '')} {message.get('Value', '')}".strip())
        token = response.get("NextToken")
        if not token:
            break
        request["NextToken"] = token
    for query in QUERIES:
        if query.id not in by_id and not query.grader_own and function_name is None:
            continue
        # Pages may repeat a timestamp at their boundary: one value per time, in order.
        points = sorted({_aware(time): float(value) for time, value in by_id.get(query.id, [])}.items())
        result.series.append(GraderSeries(query.id, query.label, query.stat, query.unit,
                                          [time for time, _ in points], [value for _, value in points]))
    if function_name is None:
        result.notes.append("the grader's function name is unknown (no GraderFunctionArn output): no Lambda metrics")
    if not result.has_data:
        result.notes.append(
            f"the grader published no metrics between {start.isoformat(timespec='minutes')} and "
            f"{end.isoformat(timespec='minutes')}: the job has not called it (yet), or CloudWatch no longer keeps them"
        )
    return result


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class GraderSummary:
    invocations: float | None
    errors: float | None
    throttles: float | None
    samples: float
    passed: float
    malformed: float
    flagged: float
    invalid_events: float
    mean_reward: float | None  # approximate: each period's average batch mean, weighted by its samples
    duration_p50_median_ms: float | None
    duration_p99_max_ms: float | None

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.samples if self.samples else None


def summarize(metrics: GraderMetrics) -> GraderSummary:
    def total(series_id: str) -> float:
        series = metrics.get(series_id)
        return series.total() if series else 0.0

    def lambda_total(series_id: str) -> float | None:
        return total(series_id) if metrics.function_name else None

    mean_reward = None
    means, scored = metrics.get("mean_reward"), metrics.get("samples_scored")
    if means and means.values:
        weights = dict(zip(scored.timestamps, scored.values, strict=True)) if scored else {}
        pairs = [(value, weights.get(time, 0.0)) for time, value in zip(means.timestamps, means.values, strict=True)]
        weight = sum(w for _, w in pairs)
        mean_reward = (sum(v * w for v, w in pairs) / weight) if weight else sum(means.values) / len(means.values)
    p50, p99 = metrics.get("duration_p50"), metrics.get("duration_p99")
    return GraderSummary(
        invocations=lambda_total("invocations"),
        errors=lambda_total("errors"),
        throttles=lambda_total("throttles"),
        samples=total("samples_scored"),
        passed=total("passed_samples"),
        malformed=total("malformed_samples"),
        flagged=total("flagged_samples"),
        invalid_events=total("invalid_events"),
        mean_reward=mean_reward,
        duration_p50_median_ms=_median(p50.values) if p50 and p50.values else None,
        duration_p99_max_ms=max(p99.values) if p99 and p99.values else None,
    )


# --- the saved document ------------------------------------------------------------------------


def grader_metrics_document(metrics: GraderMetrics, *, stack: str | None, region: str | None, variant: str | None,
                            job_id: str | None, created_at: str) -> dict[str, Any]:
    return json_document(GRADER_METRICS_KIND, GRADER_METRICS_VERSION, {
        "stack": stack,
        "region": region,
        "variant": variant,
        "jobId": job_id,
        "createdAt": created_at,
        "namespace": metrics.namespace,
        "service": metrics.service,
        "functionName": metrics.function_name,
        "start": metrics.start,
        "end": metrics.end,
        "periodSeconds": metrics.period_seconds,
        "series": [
            {"id": s.id, "label": s.label, "stat": s.stat, "unit": s.unit, "timestamps": s.timestamps,
             "values": s.values}
            for s in metrics.series
        ],
        "notes": metrics.notes,
    })


def _time(value: Any, path: Path, where: str) -> datetime:
    try:
        if not isinstance(value, str):
            raise ValueError
        return _aware(datetime.fromisoformat(value))
    except ValueError:
        raise DocumentError(f"{path}: {where} is {value!r}, expected an ISO 8601 time") from None


def grader_metrics_from_document(data: Mapping[str, Any], path: Path) -> GraderMetrics:
    period = field_of(data, "periodSeconds", int, path)
    if period <= 0:
        raise DocumentError(f"{path}: periodSeconds is {period}, expected a positive number of seconds")
    series = []
    for where, item in objects_of(data, "series", path):
        series_id = field_of(item, "id", str, path, where)
        times = [_time(value, path, f"{where}timestamps[{i}]")
                 for i, value in enumerate(field_of(item, "timestamps", list, path, where))]
        values = field_of(item, "values", list, path, where)
        for value_index, value in enumerate(values):
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise DocumentError(f"{path}: {where}values[{value_index}] is {value!r}, expected a number")
        if len(times) != len(values):
            raise DocumentError(f"{path}: {where}timestamps has {len(times)} entries and values {len(values)}")
        known = QUERY_BY_ID.get(series_id)
        series.append(GraderSeries(
            series_id,
            field_of(item, "label", str, path, where, required=False) or (known.label if known else series_id),
            field_of(item, "stat", str, path, where, required=False) or (known.stat if known else ""),
            field_of(item, "unit", str, path, where, required=False) or (known.unit if known else ""),
            times, [float(v) for v in values],
        ))
    return GraderMetrics(
        service=field_of(data, "service", str, path),
        function_name=field_of(data, "functionName", str, path, required=False),
        start=_time(data.get("start"), path, "start"),
        end=_time(data.get("end"), path, "end"),
        period_seconds=period,
        series=series,
        notes=[str(note) for note in field_of(data, "notes", list, path, required=False) or []],
        namespace=field_of(data, "namespace", str, path, required=False) or METRICS_NAMESPACE,
    )


def load_grader_metrics(path: Path) -> GraderMetrics:
    """An rftctl.grader-metrics document (``rftctl report --save-data``)."""
    return grader_metrics_from_document(read_json_document(path, GRADER_METRICS_KIND, GRADER_METRICS_VERSION), path)


# --- the figure --------------------------------------------------------------------------------


# A chart of per-minute counts of a bursty grader is a zig-zag: the charts sum them into at most this
# many bins (the summary's totals use every point).
DISPLAY_BINS = 48


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def binned(metrics: GraderMetrics, bins: int = DISPLAY_BINS) -> tuple[int, dict[str, tuple[list[float], list[float]]]]:
    """(seconds per bin, series id -> (bin centres in hours since the start, values)) for the charts.

    Sums add up, p50 takes the bins' median, p99 their maximum (an upper bound of the bin's p99), and the
    mean reward is weighted by the samples scored in each period. A bin is a whole number of periods.
    """
    span = max(1.0, (metrics.end - metrics.start).total_seconds())
    per_bin = metrics.period_seconds * max(1, math.ceil(span / metrics.period_seconds / bins))
    scored = metrics.get("samples_scored")
    weights = dict(zip(scored.timestamps, scored.values, strict=True)) if scored else {}
    result: dict[str, tuple[list[float], list[float]]] = {}
    for series in metrics.series:
        groups: dict[int, list[tuple[float, float]]] = {}
        for time, value in zip(series.timestamps, series.values, strict=True):
            # CloudWatch aligns the first period down to a whole period, before the job's start: bin 0.
            index = max(0, int((time - metrics.start).total_seconds() // per_bin))
            groups.setdefault(index, []).append((value, weights.get(time, 0.0)))
        xs, ys = [], []
        for index in sorted(groups):
            values = [value for value, _ in groups[index]]
            if series.stat == "Sum":
                y = sum(values)
            elif series.stat.startswith("p") and series.stat != "p50":
                y = max(values)
            elif series.stat == "p50":
                y = _median(values)
            else:
                total = sum(weight for _, weight in groups[index])
                y = (sum(v * w for v, w in groups[index]) / total) if total else sum(values) / len(values)
            xs.append((index + 0.5) * per_bin / 3600)
            ys.append(y)
        result[series.id] = (xs, ys)
    passed, scored_bins = result.get("passed_samples"), result.get("samples_scored")
    if passed and scored_bins:
        passed_at = dict(zip(*passed, strict=True))
        rates = [(x, passed_at[x] / n) for x, n in zip(*scored_bins, strict=True) if n > 0 and x in passed_at]
        result["pass_rate"] = ([x for x, _ in rates], [rate for _, rate in rates])
    return per_bin, result


def _per(seconds: int) -> str:
    return f"per {seconds // 60} min" if seconds < 3600 or seconds % 3600 else f"per {seconds // 3600} h"


def build_grader_figure(metrics: GraderMetrics) -> Any:
    """Four panels over hours since the job started: calls, duration, reward and pass rate, samples."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from .reward_metrics import reward_axis_limits

    per_bin, points = binned(metrics)
    labels = {query.id: query.label for query in QUERIES} | {series.id: series.label for series in metrics.series}
    labels["pass_rate"] = "pass rate"
    figure = Figure(figsize=(12, 6.5), layout="constrained")
    grid = figure.subplots(2, 2, sharex=True)

    def draw(ax: Any, ids: Sequence[str], title: str, ylabel: str) -> None:
        drawn = 0
        for series_id in ids:
            xs, ys = points.get(series_id, ([], []))
            if not ys:
                continue
            ax.plot(xs, ys, linewidth=1.6, marker="o", markersize=2.5, label=labels[series_id],
                    gid=f"grader:{series_id}")
            drawn += 1
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        if ylabel == "count":
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if drawn:
            ax.legend(fontsize="small")
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)

    per = _per(per_bin)
    draw(grid[0][0], ("invocations", "errors", "throttles"), f"Grader Lambda calls ({per})", "count")
    draw(grid[0][1], ("duration_p50", "duration_p99"), f"Grader duration ({per})", "ms")
    draw(grid[1][0], ("mean_reward", "pass_rate"), f"Reward the grader gave ({per})", "reward")
    grid[1][0].set_ylim(*reward_axis_limits([*points.get("mean_reward", ([], []))[1],
                                             *points.get("pass_rate", ([], []))[1]]))
    draw(grid[1][1], ("samples_scored", "malformed_samples", "flagged_samples"), f"Samples ({per})", "count")
    span = (metrics.end - metrics.start).total_seconds() / 3600
    for row in grid:
        for ax in row:
            ax.set_xlim(0, max(span, 1 / 60))
    for ax in grid[1]:
        ax.set_xlabel("hours since the job started")
    return figure
