"""One self-contained HTML page per RFT run: what was trained, how the rewards went, what the grader
did, how the tuned model compares, and how to call it.

Gathered online from the stack (``gather_report``) or read offline from saved files (``load_report``:
the directory ``rftctl report --save-data`` writes), then rendered by ``render_html`` into one HTML
string: no external resources (the charts are PNG data: URIs, the styles inline, no script), every
text escaped (prompts and answers are model output), Japanese in a CJK font when the reader has one.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lambda_reward.runtime.contract import METRICS_NAMESPACE
from stacks.rft_job.runtime.contract import JOB_RESOURCE_TYPE, JobProperty, Output, Variant, default_mantle_base_url

from .console import format_duration, format_number, format_percent, is_finite_number, json_document
from .documents import DocumentError, field_of, read_json_document, write_json_document
from .errors import CliError
from .reward_metrics import (
    METRICS_KIND,
    METRICS_VERSION,
    TRAINING,
    VALIDATION,
    JobMetrics,
    MetricSeries,
    SavedMetrics,
    combine,
    load_metrics_file,
    metrics_payload,
    smooth,
    smoothing_window,
)

if TYPE_CHECKING:
    from .context import CommandContext
    from .grader_metrics import GraderMetrics
    from .jobs import JobProgress
    from .stack import DeployedStack

RUN_KIND, RUN_VERSION = "run", 1
PREFLIGHT_KIND, PREFLIGHT_VERSION = "preflight", 1
COMPARE_KIND, COMPARE_VERSION = "compare", 1
# What --save-data writes and --from reads.
RUN_FILE = "run.json"
METRICS_FILE = "metrics.json"
GRADER_METRICS_FILE = "grader-metrics.json"
PREFLIGHT_FILE = "preflight.json"
COMPARE_FILE = "compare.json"
# A compare of thousands of prompts stays a readable page: the first rows, and a note of the rest.
MAX_PROMPT_ROWS = 200
MAX_TABLE_ROWS = 500
FIGURE_DPI = 100
EXAMPLE_MAX_TOKENS = 512


# --- what a report holds -----------------------------------------------------------------------


@dataclass
class JobInfo:
    id: str | None = None
    name: str | None = None
    status: str | None = None
    created_at: str | None = None
    ended_at: str | None = None
    failure_message: str | None = None


@dataclass
class TunedModel:
    id: str | None = None  # what to call: Nova's deployment ARN, mantle's fine_tuned_model
    model: str | None = None  # what the job produced: Nova's custom model ARN, mantle's fine_tuned_model
    note: str | None = None  # why there is nothing to call yet


@dataclass
class RunInfo:
    stack: str | None = None
    region: str | None = None
    variant: str | None = None
    base_model: str | None = None
    task: dict[str, Any] | None = None
    hyper_parameters: dict[str, Any] | None = None
    fingerprint: str | None = None
    job: JobInfo = field(default_factory=JobInfo)
    tuned_model: TunedModel = field(default_factory=TunedModel)
    grader_function_arn: str | None = None
    grader_version_arn: str | None = None
    grader_service: str | None = None
    mantle_base_url: str | None = None
    created_at: str | None = None
    note: str | None = None  # e.g. "illustrative data, not a real run"
    notes: list[str] = field(default_factory=list)


@dataclass
class RunReport:
    run: RunInfo
    metrics: JobMetrics | None = None
    grader: GraderMetrics | None = None
    preflight: dict[str, Any] | None = None
    compare: dict[str, Any] | None = None
    sources: list[tuple[str, str]] = field(default_factory=list)  # (what, where it came from)
    created_at: str = ""


# --- run.json ------------------------------------------------------------------------------------


def run_payload(run: RunInfo) -> dict[str, Any]:
    job, tuned = run.job, run.tuned_model
    return {
        "note": run.note,
        "stack": run.stack,
        "region": run.region,
        "variant": run.variant,
        "createdAt": run.created_at,
        "baseModel": run.base_model,
        "task": run.task,
        "hyperParameters": run.hyper_parameters,
        "fingerprint": run.fingerprint,
        "job": {"id": job.id, "name": job.name, "status": job.status, "createdAt": job.created_at,
                "endedAt": job.ended_at, "failureMessage": job.failure_message},
        "tunedModel": {"id": tuned.id, "model": tuned.model, "note": tuned.note},
        "grader": {"functionArn": run.grader_function_arn, "versionArn": run.grader_version_arn,
                   "service": run.grader_service},
        "mantleBaseUrl": run.mantle_base_url,
        "notes": run.notes,
    }


def run_document(run: RunInfo) -> dict[str, Any]:
    """The rftctl.run document: what the report says about the run besides its metrics."""
    return json_document(RUN_KIND, RUN_VERSION, run_payload(run))


def _object(data: Mapping[str, Any], name: str, path: Path) -> dict[str, Any]:
    return field_of(data, name, dict, path, required=False) or {}


def load_run(path: Path) -> RunInfo:
    data = read_json_document(path, RUN_KIND, RUN_VERSION)

    def text(source: Mapping[str, Any], name: str, where: str = "") -> str | None:
        return field_of(source, name, str, path, where, required=False)

    job, tuned, grader = _object(data, "job", path), _object(data, "tunedModel", path), _object(data, "grader", path)
    variant = text(data, "variant")
    if variant is not None and variant not in {v.value for v in Variant}:
        raise DocumentError(f"{path}: variant is {variant!r}, expected nova or mantle")
    return RunInfo(
        stack=text(data, "stack"), region=text(data, "region"), variant=variant,
        base_model=text(data, "baseModel"),
        task=field_of(data, "task", dict, path, required=False),
        hyper_parameters=field_of(data, "hyperParameters", dict, path, required=False),
        fingerprint=text(data, "fingerprint"),
        job=JobInfo(text(job, "id", "job."), text(job, "name", "job."), text(job, "status", "job."),
                    text(job, "createdAt", "job."), text(job, "endedAt", "job."),
                    text(job, "failureMessage", "job.")),
        tuned_model=TunedModel(text(tuned, "id", "tunedModel."), text(tuned, "model", "tunedModel."),
                               text(tuned, "note", "tunedModel.")),
        grader_function_arn=text(grader, "functionArn", "grader."),
        grader_version_arn=text(grader, "versionArn", "grader."),
        grader_service=text(grader, "service", "grader."),
        mantle_base_url=text(data, "mantleBaseUrl"),
        created_at=text(data, "createdAt"),
        note=text(data, "note"),
        notes=[str(note) for note in field_of(data, "notes", list, path, required=False) or []],
    )


def _checked_prompts(data: dict[str, Any], path: Path) -> dict[str, Any]:
    field_of(data, "summary", dict, path)
    for index, prompt in enumerate(field_of(data, "prompts", list, path, required=False) or []):
        if not isinstance(prompt, dict):
            raise DocumentError(f"{path}: prompts[{index}] is {type(prompt).__name__}, expected an object")
    return data


def load_preflight(path: Path) -> dict[str, Any]:
    """An rftctl.preflight document (``rftctl preflight --json > FILE``)."""
    return _checked_prompts(read_json_document(path, PREFLIGHT_KIND, PREFLIGHT_VERSION), path)


def load_compare(path: Path) -> dict[str, Any]:
    """An rftctl.compare document (``rftctl compare --json-out FILE``)."""
    data = _checked_prompts(read_json_document(path, COMPARE_KIND, COMPARE_VERSION), path)
    for side in ("base", "tuned"):
        field_of(data["summary"], side, dict, path, "summary.")
    return data


# --- offline: the saved files ----------------------------------------------------------------


@dataclass(frozen=True)
class SavedFiles:
    """Which files an offline report reads: --from DIR's, unless a flag names another."""

    directory: Path | None = None
    metrics: Sequence[Path] = ()
    grader_metrics: Path | None = None
    preflight: Path | None = None
    compare: Path | None = None


def _present(directory: Path | None, name: str) -> Path | None:
    if directory is None:
        return None
    path = directory / name
    return path if path.exists() else None


def read_extras(preflight: Path | None, compare: Path | None) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    return (load_preflight(preflight) if preflight else None, load_compare(compare) if compare else None)


def load_report(files: SavedFiles, created_at: str) -> RunReport:
    """A report from saved files only: no AWS call."""
    from .grader_metrics import load_grader_metrics

    directory = files.directory
    if directory is not None and not directory.is_dir():
        raise CliError(f"--from {directory}: no such directory (rftctl report --save-data DIR writes one)")
    sources: list[tuple[str, str]] = []
    run_path = directory / RUN_FILE if directory else None
    run = load_run(run_path) if run_path else RunInfo()
    if run_path:
        sources.append(("run", str(run_path)))

    metric_paths = list(files.metrics)
    if not metric_paths and directory is not None:
        saved_json = _present(directory, METRICS_FILE)
        metric_paths = [saved_json] if saved_json else sorted(directory.glob("*.csv"))
    saved: list[SavedMetrics] = [load_metrics_file(path) for path in metric_paths]
    sources += [("metrics", str(path)) for path in metric_paths]
    metrics = combine(saved) if saved else None
    for item in saved:  # a run.json-less report still says whose metrics these are
        run.stack, run.region = run.stack or item.stack, run.region or item.region
        run.variant, run.job.id = run.variant or item.variant, run.job.id or item.job_id

    grader_path = files.grader_metrics or _present(directory, GRADER_METRICS_FILE)
    grader = load_grader_metrics(grader_path) if grader_path else None
    if grader_path:
        sources.append(("grader metrics", str(grader_path)))
    preflight_path = files.preflight or _present(directory, PREFLIGHT_FILE)
    compare_path = files.compare or _present(directory, COMPARE_FILE)
    preflight, compare = read_extras(preflight_path, compare_path)
    sources += [(what, str(path)) for what, path in (("preflight", preflight_path), ("compare", compare_path)) if path]
    return RunReport(run, metrics, grader, preflight, compare, sources, created_at)


def save_report_data(report: RunReport, directory: Path, preflight_path: Path | None,
                     compare_path: Path | None) -> list[Path]:
    """Write what ``load_report`` reads back: run.json, metrics.json, grader-metrics.json, and the
    preflight and compare documents given (as they were read)."""
    from .grader_metrics import grader_metrics_document

    run = report.run
    written = []

    def write(name: str, document: Mapping[str, Any]) -> None:
        path = directory / name
        write_json_document(path, document, "--save-data")
        written.append(path)

    write(RUN_FILE, run_document(run))
    if report.metrics is not None:
        payload = metrics_payload(report.metrics, stack=None, job_id=run.job.id, created_at=report.created_at)
        payload.update(stack=run.stack, region=run.region, variant=run.variant)
        write(METRICS_FILE, json_document(METRICS_KIND, METRICS_VERSION, payload))
    if report.grader is not None:
        write(GRADER_METRICS_FILE, grader_metrics_document(
            report.grader, stack=run.stack, region=run.region, variant=run.variant, job_id=run.job.id,
            created_at=report.created_at))
    for name, document, given in ((PREFLIGHT_FILE, report.preflight, preflight_path),
                                  (COMPARE_FILE, report.compare, compare_path)):
        if document is not None and (given is None or given.resolve() != (directory / name).resolve()):
            write(name, document)
    return written


# --- online: the stack, the job, the ledger, the metrics -----------------------------------------


def _template_job_spec(template: Mapping[str, Any]) -> dict[str, Any] | None:
    """The JobSpec document of the template's job resource (deploy-time references as a placeholder)."""
    for resource in (template.get("Resources") or {}).values():
        if not isinstance(resource, dict) or resource.get("Type") != JOB_RESOURCE_TYPE:
            continue
        spec = (resource.get("Properties") or {}).get(JobProperty.SPEC)
        try:
            if isinstance(spec, dict) and set(spec) == {"Fn::Join"}:
                separator, parts = spec["Fn::Join"]
                spec = separator.join(part if isinstance(part, str) else "DEPLOY-TIME" for part in parts)
            parsed = json.loads(spec) if isinstance(spec, str) else None
        except (TypeError, ValueError):
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def _grader_service(template: Mapping[str, Any]) -> str | None:
    """The grader's Powertools service name: the ``service`` dimension of its metrics."""
    for resource in (template.get("Resources") or {}).values():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::Lambda::Function":
            continue
        variables = ((resource.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}
        service = variables.get("POWERTOOLS_SERVICE_NAME")
        if variables.get("POWERTOOLS_METRICS_NAMESPACE") == METRICS_NAMESPACE and isinstance(service, str):
            return service
    return None


def _deployed_template(ctx: CommandContext, stack: DeployedStack, notes: list[str]) -> dict[str, Any]:
    body = ctx.clients.client("cloudformation", stack.region).get_template(
        StackName=stack.name, TemplateStage="Original")["TemplateBody"]
    try:
        template = json.loads(body) if isinstance(body, str) else body
    except ValueError:
        # CDK writes JSON; a stack deployed from a hand-written YAML template is not one of ours.
        notes.append(f"the deployed template of {stack.name} is not JSON: no job settings or grader metrics read")
        return {}
    return template if isinstance(template, dict) else {}


def _function_name(arn: str | None) -> str | None:
    """The function name in ``arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]``."""
    parts = (arn or "").split(":")
    return parts[6] if len(parts) >= 7 and parts[5] == "function" and parts[6] else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _tuned_model(ctx: CommandContext, stack: DeployedStack, progress: JobProgress) -> TunedModel:
    state = progress.state
    if not state.succeeded or not state.output_model:
        return TunedModel(note=f"the job is {state.status}: a tuned model exists once it succeeds")
    if stack.variant is Variant.MANTLE:
        return TunedModel(id=state.output_model, model=state.output_model)
    from .trained_model import DEPLOYMENT_ACTIVE, existing_deployment

    found = existing_deployment(ctx, stack, state.output_model)
    if found is None:
        return TunedModel(model=state.output_model, note=(
            f"no on-demand deployment yet: rftctl deploy-model --stack {stack.name} creates one"))
    if found["status"] != DEPLOYMENT_ACTIVE:
        return TunedModel(model=state.output_model, note=(
            f"deployment {found['customModelDeploymentArn']} is {found['status']}: rftctl deploy-model waits for it"))
    return TunedModel(id=str(found["customModelDeploymentArn"]), model=state.output_model)


def gather_report(ctx: CommandContext, job: str | None, *, preflight: dict[str, Any] | None,
                  compare: dict[str, Any] | None, sources: Sequence[tuple[str, str]] = ()) -> RunReport:
    """Everything the report shows, read from the deployed stack and its job."""
    from stacks.rft_job.runtime.job_spec import JobSpecError, SpecKey, fingerprint_of_document

    from .grader_metrics import fetch_grader_metrics
    from .jobs import job_ledger, job_progress, resolve_job
    from .reward_metrics import job_metrics

    stack = ctx.stack()
    now = ctx.utc_now()
    progress = job_progress(ctx, stack, resolve_job(ctx, stack, job))
    state = progress.state
    run = RunInfo(
        stack=stack.name, region=stack.region, variant=stack.variant.value,
        base_model=stack.optional_output(Output.BASE_MODEL),
        job=JobInfo(state.job_id, state.job_name, state.status, _iso(progress.created_at), _iso(progress.ended_at),
                    state.failure_message),
        grader_function_arn=stack.optional_output(Output.GRADER_FUNCTION_ARN),
        grader_version_arn=stack.optional_output(Output.GRADER_VERSION_ARN),
        created_at=now.isoformat(),
    )
    if stack.variant is Variant.MANTLE:
        from stacks.rft_job.runtime.clients import mantle_base_url

        run.mantle_base_url = mantle_base_url(stack.region, stack.optional_output(Output.MANTLE_BASE_URL))

    template = _deployed_template(ctx, stack, run.notes)
    run.grader_service = _grader_service(template)
    spec = _template_job_spec(template)
    try:
        template_fingerprint = fingerprint_of_document(spec) if spec else None
    except (KeyError, TypeError, ValueError, JobSpecError):
        template_fingerprint = None
    entry = job_ledger(ctx, stack).find_by_job_id(state.job_id) if stack.optional_output(Output.JOB_LEDGER_URI) \
        else None
    if entry is not None:
        run.fingerprint = entry.fingerprint
        run.base_model = entry.base_model or run.base_model
    elif job is None or state.job_id == stack.optional_output(Output.JOB_ID):
        run.fingerprint = template_fingerprint
        run.notes.append("the job ledger has no entry for this job: its fingerprint is the stack template's")
    same_job = spec is not None and run.fingerprint is not None and run.fingerprint == template_fingerprint
    if spec is not None and same_job:
        run.hyper_parameters = dict(spec.get(SpecKey.HYPER_PARAMETERS) or {})
        task = spec.get(SpecKey.GRADER_TASK)
        run.task = dict(task) if isinstance(task, dict) else None
    elif spec is not None:
        run.notes.append(
            f"the stack's template now defines another job (fingerprint {str(template_fingerprint)[:12]}): "
            "this job's hyperparameters and task are not shown")
    raw_task = stack.optional_output(Output.GRADER_TASK)
    if run.task is None and same_job and raw_task:  # a spec from before tasks: the grader's own output
        try:
            run.task = json.loads(raw_task)
        except ValueError:
            run.notes.append(f"the stack's GraderTask output is not JSON: {raw_task[:80]!r}")
    run.tuned_model = _tuned_model(ctx, stack, progress)

    metrics = job_metrics(ctx, stack, state.job_id)
    grader = None
    if run.grader_service and progress.created_at:
        grader = fetch_grader_metrics(
            ctx.clients.client("cloudwatch", stack.region), service=run.grader_service,
            function_name=_function_name(run.grader_function_arn), start=progress.created_at,
            end=progress.ended_at or now, now=now)
    elif not run.grader_service:
        run.notes.append("the stack's template has no grader function publishing BedrockRft metrics: none shown")
    report_sources = [("stack", f"{stack.name} ({stack.region})"), ("job", state.job_id), *sources]
    return RunReport(run, metrics, grader, preflight, compare, report_sources, now.isoformat())


# --- rendering ---------------------------------------------------------------------------------


def e(value: Any) -> str:
    """Text for the page: every value goes through here (model output may hold markup)."""
    return html.escape("" if value is None else str(value), quote=True)


def fmt_reward(value: Any) -> str:
    return f"{value:.3f}" if is_finite_number(value) else "-"


def fmt_percent(value: Any) -> str:
    return format_percent(value) if is_finite_number(value) else "-"


def fmt_count(value: Any) -> str:
    """A count or a task's answer metric (a length): whole numbers as they are, else one decimal."""
    if not is_finite_number(value):
        return "-"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def fmt_signed(value: Any) -> str:
    return f"{value:+.3f}" if is_finite_number(value) else "-"


def fmt_interval(interval: Any, fmt: Callable[[Any], str]) -> str:
    if isinstance(interval, list | tuple) and len(interval) == 2 and all(is_finite_number(v) for v in interval):
        return f"{fmt(interval[0])} – {fmt(interval[1])}"
    return "-"


def fmt_time(value: str | None) -> str:
    if not value:
        return "-"
    try:
        time = datetime.fromisoformat(value)
    except ValueError:
        return value
    return (time.astimezone(UTC) if time.tzinfo else time).strftime("%Y-%m-%d %H:%M UTC")


def _duration(start: str | None, end: str | None) -> str | None:
    try:
        if start and end:
            return format_duration((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds())
    except (ValueError, TypeError):
        return None
    return None


def _png_data_uri(figure: Any) -> str:
    buffer = io.BytesIO()
    # No Software/date metadata: the same data gives the same bytes.
    figure.savefig(buffer, format="png", dpi=FIGURE_DPI, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _kv_table(rows: Iterable[tuple[str, str]]) -> str:
    """Rows of (label, HTML already escaped)."""
    body = "".join(f"<tr><th scope=\"row\">{e(label)}</th><td>{value}</td></tr>" for label, value in rows)
    return f"<table class=\"kv\"><tbody>{body}</tbody></table>"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Iterable[int] = (),
           css_class: str = "") -> str:
    """Rows of cells already escaped; ``numeric`` columns are right-aligned."""
    right = set(numeric)
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td class=\"num\">{cell}</td>" if i in right else f"<td>{cell}</td>"
                         for i, cell in enumerate(row)) + "</tr>"
        for row in rows
    )
    css = f" class=\"{css_class}\"" if css_class else ""
    return f"<table{css}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _card(label: str, value: str, detail: str = "") -> str:
    extra = f"<div class=\"detail\">{e(detail)}</div>" if detail else ""
    return (f"<div class=\"card\"><div class=\"label\">{e(label)}</div><div class=\"value\">{e(value)}</div>"
            f"{extra}</div>")


def _code(value: Any) -> str:
    return f"<code>{e(value)}</code>" if value not in (None, "") else "-"


def _options(values: Mapping[str, Any] | None) -> str:
    if not values:
        return "-"
    return ", ".join(f"<code>{e(key)}={e(json.dumps(value, ensure_ascii=False))}</code>"
                     for key, value in values.items())


def _notes(notes: Iterable[str]) -> str:
    items = "".join(f"<li>{e(note)}</li>" for note in notes)
    return f"<ul class=\"notes\">{items}</ul>" if items else ""


@dataclass(frozen=True)
class CurveSummary:
    series: MetricSeries
    window: int
    first: float
    last: float
    last_smoothed: float
    best: float
    best_at: float


def curve_summaries(metrics: JobMetrics) -> list[CurveSummary]:
    found = []
    for series in metrics.series:
        if not series.ys:
            continue
        pairs = sorted(zip(series.xs, series.ys, strict=True))
        ys = [y for _, y in pairs]
        window = smoothing_window(len(ys))
        best_index = max(range(len(ys)), key=lambda i: ys[i])
        found.append(CurveSummary(series, window, ys[0], ys[-1], smooth(ys, window)[-1], ys[best_index],
                                  pairs[best_index][0]))
    return found


def _headline(report: RunReport) -> str:
    cards = []
    summaries = curve_summaries(report.metrics) if report.metrics else []
    for split in (TRAINING, VALIDATION):
        first = next((s for s in summaries if s.series.split == split), None)
        if first is not None:
            detail = f"{first.series.label}, from {fmt_reward(first.first)}"
            if first.window > 1:
                detail += f" (smoothed over {first.window})"
            cards.append(_card(f"{split} reward at the end", fmt_reward(first.last_smoothed), detail))
    summary = (report.compare or {}).get("summary") or {}
    base, tuned = summary.get("base") or {}, summary.get("tuned") or {}
    if base or tuned:
        cards.append(_card("pass rate, base → tuned",
                           f"{fmt_percent(base.get('passRate'))} → {fmt_percent(tuned.get('passRate'))}",
                           "rftctl compare"))
        cards.append(_card("mean reward, base → tuned",
                           f"{fmt_reward(base.get('meanReward'))} → {fmt_reward(tuned.get('meanReward'))}",
                           "rftctl compare"))
    if report.grader is not None and report.grader.has_data:
        from .grader_metrics import summarize

        grader = summarize(report.grader)
        cards.append(_card("samples graded", fmt_count(grader.samples),
                           f"pass rate {fmt_percent(grader.pass_rate)}, malformed {fmt_count(grader.malformed)}"))
    return f"<div class=\"cards\">{''.join(cards)}</div>" if cards else ""


def _run_section(report: RunReport) -> str:
    run, job = report.run, report.run.job
    where = ", ".join(v for v in (run.region, run.variant) if v)
    task = run.task or {}
    options = {key: value for key, value in task.items() if key != "name"}
    task_text = (f"<code>{e(task.get('name'))}</code>" + (f" {_options(options)}" if options else "")) if task else "-"
    rows = [
        ("Stack", f"{e(run.stack or '-')}" + (f" ({e(where)})" if where else "")),
        ("Base model", _code(run.base_model)),
        ("Task", task_text),
        ("Hyperparameters", _options(run.hyper_parameters)),
        ("Fingerprint", _code(run.fingerprint)),
        ("Job", _code(job.id)),
        ("Job name", _code(job.name)),
        ("Status", f"<strong>{e(job.status or '-')}</strong>"),
        ("Started", e(fmt_time(job.created_at))),
        ("Ended", e(fmt_time(job.ended_at))),
    ]
    took = _duration(job.created_at, job.ended_at)
    if took:
        rows.append(("Took", e(took)))
    if job.failure_message:
        rows.append(("Failure", f"<span class=\"fail\">{e(job.failure_message)}</span>"))
    rows.append(("Grader", _code(run.grader_version_arn or run.grader_function_arn)))
    rows.append(("Tuned model", _code(run.tuned_model.id or run.tuned_model.model)))
    return f"<section id=\"run\"><h2>Run</h2>{_kv_table(rows)}{_notes(run.notes)}</section>"


def _metric_tables(metrics: JobMetrics) -> str:
    parts = []
    for table in metrics.tables:
        rows = table.rows[:MAX_TABLE_ROWS]
        cells = [[e(cell if isinstance(cell, str) else format_number(cell)) for cell in row] for row in rows]
        numeric = [i for i in range(len(table.columns)) if not any(isinstance(row[i], str) for row in rows)]
        more = (f"<p class=\"muted\">first {MAX_TABLE_ROWS} of {len(table.rows)} rows</p>"
                if len(table.rows) > MAX_TABLE_ROWS else "")
        parts.append(f"<details><summary>{e(table.source)} ({len(table.rows)} rows)</summary>"
                     f"{_table(table.columns, cells, numeric)}{more}</details>")
    return "".join(parts)


def _rewards_section(report: RunReport) -> str:
    from .reward_metrics import build_reward_figure

    metrics = report.metrics
    if metrics is None or not metrics.series:
        notes = _notes(metrics.notes) if metrics else ""
        return f"<section id=\"rewards\"><h2>Reward curves</h2><p>No reward metrics for this run.</p>{notes}</section>"
    title = f"{report.run.stack or ''} {(report.run.job.id or '').rsplit('/', 1)[-1]}".strip()
    figure = build_reward_figure(metrics.series, title=title, total_steps=metrics.total_steps)
    summaries = curve_summaries(metrics)
    rows = [[e(s.series.label), e(s.series.split), e(s.series.x_name), fmt_count(len(s.series.ys)),
             fmt_reward(s.first), fmt_reward(s.last), fmt_reward(s.last_smoothed),
             f"{fmt_reward(s.best)} at {e(f'{s.best_at:g}')}", e(s.window if s.window > 1 else "none")]
            for s in summaries]
    windows = sorted({s.window for s in summaries if s.window > 1})
    smoothing = (f"Bold lines are centred moving averages over {', '.join(map(str, windows))} points, faint points the "
                 "raw values; " if windows else "")
    steps = f" The step axis runs to the job's {metrics.total_steps} steps." if metrics.total_steps else ""
    caption = (f"{smoothing}training and validation share one reward axis from 0 to 1 (the grader clamps rewards "
               f"to [0, 1]). Only reward means are drawn; spreads and extremes are in the tables.{steps}")
    table = _table(["series", "split", "x", "points", "first", "last", "last (smoothed)", "best", "window"], rows,
                   numeric=[3, 4, 5, 6])
    return (f"<section id=\"rewards\"><h2>Reward curves</h2><figure><img alt=\"training and validation reward "
            f"curves\" src=\"{_png_data_uri(figure)}\"><figcaption>{e(caption)}</figcaption></figure>{table}"
            f"{_notes(metrics.notes)}{_metric_tables(metrics)}</section>")


def _grader_section(report: RunReport) -> str:
    from .grader_metrics import build_grader_figure, summarize

    grader = report.grader
    if grader is None:
        return ""
    heading = "<h2>What the grader did</h2>"
    window = (f"{fmt_time(grader.start.isoformat())} to {fmt_time(grader.end.isoformat())}, "
              f"one point per {grader.period_seconds // 60} min")
    if not grader.has_data:
        return (f"<section id=\"grader\">{heading}<p>No grader metrics from {e(window)}.</p>"
                f"{_notes(grader.notes)}</section>")
    summary = summarize(grader)
    rows = [
        ("Window", e(window)),
        ("Metrics", f"{_code(grader.namespace)} service {_code(grader.service)}"
                    + (f", AWS/Lambda {_code(grader.function_name)}" if grader.function_name else "")),
        ("Invocations", fmt_count(summary.invocations)),
        ("Errors / throttles", f"{fmt_count(summary.errors)} / {fmt_count(summary.throttles)}"),
        ("Samples scored", fmt_count(summary.samples)),
        ("Passed", f"{fmt_count(summary.passed)} ({fmt_percent(summary.pass_rate)})"),
        ("Malformed / flagged", f"{fmt_count(summary.malformed)} / {fmt_count(summary.flagged)}"),
        ("Invalid events", fmt_count(summary.invalid_events)),
        # CloudWatch averages the batch means within a period unweighted: a 2-sample smoke test counts as much
        # as a 256-sample batch there. Only the periods are weighted here, and the label says exactly that.
        ("Mean reward", f"{fmt_reward(summary.mean_reward)} <span class=\"muted\">(approximate: the average "
                        "batch mean per period, periods weighted by their samples; not a per-sample mean)</span>"),
        ("Duration", f"p50 {fmt_count(summary.duration_p50_median_ms)} ms (median over the window), "
                     f"p99 up to {fmt_count(summary.duration_p99_max_ms)} ms"),
    ]
    image = _png_data_uri(build_grader_figure(grader))
    caption = ("CloudWatch: the grader function's invocations, errors, throttles and duration, and the rewards and "
               "samples it reported.")
    return (f"<section id=\"grader\">{heading}{_kv_table(rows)}<figure><img alt=\"grader metrics over the job\" "
            f"src=\"{image}\"><figcaption>{e(caption)}</figcaption></figure>{_notes(grader.notes)}</section>")


def _metric_label(document: Mapping[str, Any], key: str, default: str) -> str:
    metric = document.get(key)
    return str(metric.get("label") or metric.get("name")) if isinstance(metric, dict) else default


def _settings(document: Mapping[str, Any]) -> str:
    settings = document.get("settings")
    return _options(settings) if isinstance(settings, dict) else "-"


def _model_id(document: Mapping[str, Any], *path: str) -> Any:
    value: Any = document
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _prompt_cell(prompt: Mapping[str, Any]) -> str:
    return f"<div class=\"prompt\">{e(prompt.get('prompt'))}</div>"


def _more_rows(total: int) -> str:
    return f"<p class=\"muted\">first {MAX_PROMPT_ROWS} of {total} prompts</p>" if total > MAX_PROMPT_ROWS else ""


def _preflight_section(document: Mapping[str, Any] | None) -> str:
    if document is None:
        return ""
    summary = document.get("summary") or {}
    verdict = summary.get("verdict")
    rows = [
        ("Model", _code(_model_id(document, "model", "id"))),
        ("Prompts", f"{_code(document.get('promptSource'))}, {fmt_count(summary.get('prompts'))} prompts, "
                    f"{fmt_count(summary.get('samples'))} samples"),
        ("Settings", _settings(document)),
        ("Mean reward", fmt_reward(summary.get("meanReward"))),
        ("Pass rate", fmt_percent(summary.get("passRate"))),
        ("Same reward", f"{fmt_percent(summary.get('sameRewardShare'))} of prompts gave every sample the same "
                        "reward (no learning signal for GRPO)"),
        ("Verdict", f"<span class=\"verdict verdict-{e(verdict)}\">{e(summary.get('verdictText') or verdict)}</span>"),
    ]
    label = _metric_label(document, "promptMetric", "prompt metric")
    prompts = [p for p in document.get("prompts") or [] if isinstance(p, dict)]
    table_rows = []
    for prompt in prompts[:MAX_PROMPT_ROWS]:
        rewards = prompt.get("rewards") if isinstance(prompt.get("rewards"), list) else []
        passes = prompt.get("passes") if isinstance(prompt.get("passes"), list) else []
        answer_metrics = prompt.get("answerMetrics") if isinstance(prompt.get("answerMetrics"), list) else []
        table_rows.append([
            e(prompt.get("line")), _prompt_cell(prompt), fmt_count(prompt.get("promptMetric")),
            e(" ".join(fmt_count(v) for v in answer_metrics)), e(" ".join(fmt_reward(v) for v in rewards)),
            f"{sum(1 for p in passes if p is True)}/{len(passes)}", "yes" if prompt.get("uniform") else "",
        ])
    answer_label = _metric_label(document, "answerMetric", "answer metric")
    table = _table(["line", "prompt", label, answer_label, "rewards", "pass", "same reward"], table_rows,
                   numeric=[0, 2, 5], css_class="prompts")
    return (f"<section id=\"preflight\"><h2>Preflight: the base model before training</h2>{_kv_table(rows)}"
            f"<details><summary>per prompt ({len(prompts)})</summary>{table}{_more_rows(len(prompts))}</details>"
            "</section>")


def _side_cell(side: Any, answer_metric: str | None) -> str:
    if not isinstance(side, dict):
        return "-"
    answers = [a for a in side.get("answers") or [] if isinstance(a, dict)]
    passed = side.get("passRate")
    mark = ("<span class=\"pass\">pass</span>" if passed == 1 else "<span class=\"fail\">miss</span>"
            if passed == 0 else f"pass {fmt_percent(passed)}")
    parts = [f"{mark} · reward {fmt_reward(side.get('meanReward'))}"]
    if answers:
        first = answers[0]
        metrics = first.get("metrics") if isinstance(first.get("metrics"), dict) else {}
        if answer_metric and answer_metric in metrics:
            parts[0] += f" · {e(fmt_count(metrics[answer_metric]))}"
        more = f" <span class=\"muted\">(+{len(answers) - 1} more)</span>" if len(answers) > 1 else ""
        parts.append(f"<div class=\"answer\">{e(first.get('answer'))}</div>{more}")
    return "".join(parts)


def _compare_section(document: Mapping[str, Any] | None) -> str:
    if document is None:
        return ""
    summary = document.get("summary") or {}
    answer = document.get("answerMetric") if isinstance(document.get("answerMetric"), dict) else None
    answer_name = str(answer.get("name")) if answer else None
    answer_label = _metric_label(document, "answerMetric", "answer metric")
    rows = []
    for side in ("base", "tuned"):
        values = summary.get(side) or {}
        passes = f"{fmt_count(values.get('passCount'))}/{fmt_count(values.get('count'))}"
        rows.append([e(side), _code(_model_id(document, "models", side, "id")),
                     f"{fmt_percent(values.get('passRate'))} ({passes})",
                     e(fmt_interval(values.get("passRateCi95"), fmt_percent)),
                     fmt_reward(values.get("meanReward")), e(fmt_interval(values.get("meanRewardCi95"), fmt_reward)),
                     fmt_count(values.get("meanAnswerMetric")) if answer else "-"])
    difference = summary.get("difference") or {}
    if difference:
        rate = difference.get("passRate")
        rows.append(["difference", "tuned − base",
                     f"{rate * 100:+.0f} points" if is_finite_number(rate) else "-",
                     e(fmt_interval(difference.get("passRateCi95"), lambda v: f"{v * 100:+.0f}") + " points"),
                     fmt_signed(difference.get("meanReward")),
                     e(fmt_interval(difference.get("meanRewardCi95"), fmt_signed)), ""])
    table = _table(["", "model", "pass rate", "95% CI", "mean reward", "95% CI", f"mean {answer_label}"], rows,
                   numeric=[2, 3, 4, 5, 6], css_class="summary")
    confidence = document.get("confidence") if isinstance(document.get("confidence"), dict) else {}
    method = f"<p class=\"muted\">{e(confidence.get('method'))}</p>" if confidence.get("method") else ""
    prompts = [p for p in document.get("prompts") or [] if isinstance(p, dict)]
    prompt_label = _metric_label(document, "promptMetric", "prompt metric")
    prompt_rows = [[e(p.get("line")), _prompt_cell(p), fmt_count(p.get("promptMetric")),
                    _side_cell(p.get("base"), answer_name), _side_cell(p.get("tuned"), answer_name)]
                   for p in prompts[:MAX_PROMPT_ROWS]]
    per_prompt = _table(["line", "prompt", prompt_label, "base", "tuned"], prompt_rows, numeric=[0, 2],
                        css_class="prompts")
    info = _kv_table([("Prompts", f"{_code(document.get('promptSource'))}, {len(prompts)} prompts"),
                      ("Settings", _settings(document))])
    return (f"<section id=\"compare\"><h2>Base vs tuned</h2>{info}{table}{method}"
            f"<h3>Per prompt</h3>{per_prompt}{_more_rows(len(prompts))}</section>")


def usage_snippets(run: RunInfo, prompt: str) -> list[tuple[str, str]]:
    """(title, code) showing how to call the tuned model."""
    model_id = run.tuned_model.id
    if not model_id:
        return []
    region = run.region or "us-east-1"
    quoted = json.dumps(model_id, ensure_ascii=False)
    prompt_literal = json.dumps(prompt, ensure_ascii=False)
    if run.variant == Variant.MANTLE.value:
        base_url = run.mantle_base_url or default_mantle_base_url(region)
        return [("Python (OpenAI SDK, Bedrock mantle, signed with your AWS credentials)", "\n".join([
            "from openai import OpenAI",
            "from openai.providers import bedrock",
            "",
            "client = OpenAI(provider=bedrock(endpoint=\"mantle\", region=" + json.dumps(region) + ", api_key=None,",
            "                                 base_url=" + json.dumps(base_url) + "))",
            "reply = client.chat.completions.create(",
            f"    model={quoted},",
            f"    messages=[{{\"role\": \"user\", \"content\": {prompt_literal}}}],",
            f"    max_tokens={EXAMPLE_MAX_TOKENS},",
            ")",
            "print(reply.choices[0].message.content)",
        ]))]
    # In single quotes for the shell: a quote in the prompt closes, escapes and reopens them.
    messages = json.dumps([{"role": "user", "content": [{"text": prompt}]}], ensure_ascii=False).replace("'", "'\\''")
    return [
        ("Python (boto3, bedrock-runtime Converse)", "\n".join([
            "import boto3",
            "",
            f"runtime = boto3.client(\"bedrock-runtime\", region_name={json.dumps(region)})",
            "reply = runtime.converse(",
            f"    modelId={quoted},",
            f"    messages=[{{\"role\": \"user\", \"content\": [{{\"text\": {prompt_literal}}}]}}],",
            f"    inferenceConfig={{\"temperature\": 0, \"maxTokens\": {EXAMPLE_MAX_TOKENS}}},",
            ")",
            "print(reply[\"output\"][\"message\"][\"content\"][0][\"text\"])",
        ])),
        ("AWS CLI", "\n".join([
            f"aws bedrock-runtime converse --region {region} \\",
            f"  --model-id {model_id} \\",
            f"  --messages '{messages}' \\",
            f"  --inference-config '{{\"temperature\":0,\"maxTokens\":{EXAMPLE_MAX_TOKENS}}}'",
        ])),
    ]


def _usage_section(report: RunReport) -> str:
    from .commands.deploy_model import EXAMPLE_PROMPT

    run, tuned = report.run, report.run.tuned_model
    prompts = (report.compare or {}).get("prompts") or []
    prompt = next((p["prompt"] for p in prompts if isinstance(p, dict) and isinstance(p.get("prompt"), str)),
                  EXAMPLE_PROMPT)
    snippets = usage_snippets(run, prompt)
    if not snippets:
        reason = tuned.note or "no tuned model is recorded for this run"
        model = f"<p>Model: {_code(tuned.model)}</p>" if tuned.model else ""
        return f"<section id=\"usage\"><h2>The tuned model</h2>{model}<p>{e(reason)}</p></section>"
    how = ("the on-demand deployment of the custom model (Nova models are invoked through a deployment)"
           if run.variant == Variant.NOVA.value else "the fine-tuned model id, served by the mantle API as it is")
    blocks = "".join(f"<h3>{e(title)}</h3><pre><code>{e(code)}</code></pre>" for title, code in snippets)
    model = f"<p>Trained model: {_code(tuned.model)}</p>" if tuned.model and tuned.model != tuned.id else ""
    return (f"<section id=\"usage\"><h2>The tuned model</h2><p>Call <code class=\"model-id\">{e(tuned.id)}</code>: "
            f"{e(how)}.</p>{model}{blocks}</section>")


STYLE = """
:root { color-scheme: light; }
body { margin: 0; background: #fff; color: #1d2330; line-height: 1.5;
  font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans CJK JP", "Noto Sans JP", "Hiragino Sans",
    "Yu Gothic", Meiryo, "DejaVu Sans", sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { font-size: 26px; margin: 0 0 2px; }
h2 { font-size: 20px; margin: 34px 0 10px; padding-bottom: 4px; border-bottom: 2px solid #e3e7ee; }
h3 { font-size: 16px; margin: 18px 0 6px; }
.subtitle, .muted, figcaption, ul.notes { color: #5b6475; }
figcaption, ul.notes, .muted { font-size: 13px; }
.banner { background: #fff6db; border: 1px solid #f0d48a; padding: 8px 12px; border-radius: 6px; margin: 12px 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 18px 0 4px; }
.card { flex: 1 1 170px; border: 1px solid #dde2ea; border-radius: 8px; padding: 10px 16px; background: #fafbfd; }
.card .label { color: #5b6475; font-size: 13px; }
.card .value { font-size: 24px; font-weight: 650; font-variant-numeric: tabular-nums; }
.card .detail { color: #5b6475; font-size: 12px; }
table { border-collapse: collapse; font-size: 14px; margin: 8px 0; }
th, td { border: 1px solid #dde2ea; padding: 4px 8px; text-align: left; vertical-align: top; }
thead th { background: #f3f5f9; }
table.kv th { background: #f7f8fb; width: 180px; font-weight: 600; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
table.prompts { width: 100%; }
.prompt { min-width: 220px; }
.answer { white-space: pre-wrap; overflow-wrap: anywhere; max-width: 420px; margin-top: 2px; }
.pass { color: #116329; font-weight: 600; }
.fail { color: #a40e26; font-weight: 600; }
.verdict { font-weight: 650; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", "Noto Sans Mono CJK JP", monospace; font-size: 13px; }
code { overflow-wrap: anywhere; }
pre { background: #f6f8fa; border: 1px solid #e3e7ee; border-radius: 6px; padding: 10px 12px; overflow-x: auto; }
figure { margin: 10px 0; }
figure img { width: 100%; height: auto; border: 1px solid #eef0f4; }
details { margin: 6px 0; }
summary { cursor: pointer; color: #2456a6; }
footer { margin-top: 40px; color: #5b6475; font-size: 12px; }
"""


def render_html(report: RunReport) -> str:
    """The report as one HTML document: no external resources, no script."""
    run = report.run
    title = f"RFT run report: {run.stack or 'saved run'}"
    job_short = (run.job.id or "").rsplit("/", 1)[-1]
    subtitle = " · ".join(e(part) for part in (
        f"{run.stack} ({', '.join(v for v in (run.region, run.variant) if v)})" if run.stack else None,
        f"job {job_short}" if job_short else None, run.job.status, f"task {run.task.get('name')}" if run.task else None,
    ) if part)
    banner = f"<div class=\"banner\">{e(run.note)}</div>" if run.note else ""
    sources = "".join(f"<li>{e(what)}: {e(where)}</li>" for what, where in report.sources)
    footer = (f"<footer>Generated by rftctl report on {e(fmt_time(report.created_at))}."
              f"{f'<ul>{sources}</ul>' if sources else ''}</footer>")
    body = "".join([
        f"<h1>{e(title)}</h1><div class=\"subtitle\">{subtitle}</div>{banner}",
        _headline(report), _run_section(report), _rewards_section(report), _grader_section(report),
        _preflight_section(report.preflight), _compare_section(report.compare), _usage_section(report), footer,
    ])
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        # Nothing may load or run: the page is one file, and its text is model output.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
        "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{e(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )
